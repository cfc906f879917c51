/**
 * The console's small kit on top of react-aria-components: the library gives the behaviour
 * (labels, focus, keyboard, dialogs that trap focus); this file gives the look, in styles.css.
 */
import { useState, type ReactNode } from 'react';
import {
  Button as AriaButton,
  ButtonContext,
  type ButtonProps as AriaButtonProps,
  Checkbox as AriaCheckbox,
  type CheckboxProps,
  Dialog,
  FieldError,
  Heading,
  Input,
  Label,
  ListBox,
  ListBoxItem,
  Menu,
  MenuItem,
  MenuTrigger,
  Modal,
  ModalOverlay,
  NumberField as AriaNumberField,
  type NumberFieldProps,
  Group,
  Popover,
  Select as AriaSelect,
  SelectValue,
  Text,
  TextField as AriaTextField,
  type TextFieldProps as AriaTextFieldProps,
  Tooltip,
  TooltipTrigger,
  type Key,
} from 'react-aria-components';

export type Variant = 'primary' | 'secondary' | 'danger' | 'quiet';

export function Button({ variant = 'secondary', className, ...props }: AriaButtonProps & { variant?: Variant; ref?: React.Ref<HTMLButtonElement> }) {
  return <AriaButton {...props} className={`btn btn-${variant}${className ? ` ${className}` : ''}`} />;
}

export function Icon({ name, className }: { name: 'copy' | 'check' | 'more' | 'info' | 'plus' | 'close' | 'key' | 'search' | 'menu' | 'out'; className?: string }) {
  const paths: Record<typeof name, ReactNode> = {
    copy: (
      <>
        <rect x="8" y="8" width="12" height="12" rx="2" />
        <path d="M16 8V6a2 2 0 0 0-2-2H6a2 2 0 0 0-2 2v8a2 2 0 0 0 2 2h2" />
      </>
    ),
    check: <path d="M5 12.5l4.5 4.5L19 7.5" />,
    more: (
      <>
        <circle cx="5" cy="12" r="1.4" />
        <circle cx="12" cy="12" r="1.4" />
        <circle cx="19" cy="12" r="1.4" />
      </>
    ),
    info: (
      <>
        <circle cx="12" cy="12" r="9" />
        <path d="M12 11v6M12 7.5v.01" />
      </>
    ),
    plus: <path d="M12 5v14M5 12h14" />,
    close: <path d="M6 6l12 12M18 6L6 18" />,
    key: (
      <>
        <circle cx="8" cy="15" r="4" />
        <path d="M11 12l8-8M16 7l2 2M14 9l2 2" />
      </>
    ),
    search: (
      <>
        <circle cx="11" cy="11" r="6" />
        <path d="M20 20l-4.5-4.5" />
      </>
    ),
    menu: <path d="M4 7h16M4 12h16M4 17h16" />,
    out: (
      <>
        <path d="M15 4h3a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2h-3" />
        <path d="M10 16l-4-4 4-4M6 12h10" />
      </>
    ),
  };
  return (
    <svg
      className={`icon${className ? ` ${className}` : ''}`}
      viewBox="0 0 24 24"
      aria-hidden="true"
      focusable="false"
      fill="none"
      stroke="currentColor"
      strokeWidth="1.8"
      strokeLinecap="round"
      strokeLinejoin="round"
    >
      {paths[name]}
    </svg>
  );
}

interface FieldBits {
  label: string;
  description?: ReactNode;
  /** A message from outside (the server, or a rule the form checks). */
  error?: string | undefined;
}

export function TextField({
  label,
  description,
  error,
  type,
  placeholder,
  inputRef,
  className,
  ...props
}: AriaTextFieldProps & FieldBits & { placeholder?: string; inputRef?: React.Ref<HTMLInputElement>; className?: string }) {
  return (
    <AriaTextField {...props} type={type} isInvalid={error !== undefined || props.isInvalid} className={`field${className ? ` ${className}` : ''}`}>
      <Label>{label}</Label>
      <Input placeholder={placeholder} ref={inputRef} />
      {description !== undefined && (
        <Text slot="description" className="field-hint">
          {description}
        </Text>
      )}
      <FieldError className="field-error">{error}</FieldError>
    </AriaTextField>
  );
}

export function NumberField({ label, description, error, inputRef, ...props }: NumberFieldProps & FieldBits & { inputRef?: React.Ref<HTMLInputElement> }) {
  return (
    <AriaNumberField {...props} isInvalid={error !== undefined || props.isInvalid} className="field">
      <Label>{label}</Label>
      <Group className="number-group">
        <Input ref={inputRef} />
      </Group>
      {description !== undefined && (
        <Text slot="description" className="field-hint">
          {description}
        </Text>
      )}
      <FieldError className="field-error">{error}</FieldError>
    </AriaNumberField>
  );
}

export interface Option {
  id: string;
  label: string;
  description?: string;
}

/** A single-choice select. */
export function Select({
  label,
  options,
  value,
  onChange,
  description,
  error,
  className,
  labelExtra,
  isDisabled,
  placeholder,
}: FieldBits & {
  placeholder?: string;
  options: readonly Option[];
  value: string | null;
  onChange: (value: string) => void;
  className?: string;
  labelExtra?: ReactNode;
  isDisabled?: boolean;
}) {
  return (
    <AriaSelect
      value={value}
      onChange={(key: Key | null) => key !== null && onChange(String(key))}
      isInvalid={error !== undefined}
      isDisabled={isDisabled}
      placeholder={placeholder}
      className={`field select${className ? ` ${className}` : ''}`}
    >
      {/* The Select hands its trigger's props to every Button inside it: clear that for the extra (an info tip). */}
      <div className="label-row">
        <Label>{label}</Label>
        {labelExtra !== undefined && <ButtonContext.Provider value={null}>{labelExtra}</ButtonContext.Provider>}
      </div>
      <AriaButton className="select-trigger">
        <SelectValue className="select-value" />
        <span aria-hidden="true" className="chevron">
          ▾
        </span>
      </AriaButton>
      {description !== undefined && (
        <Text slot="description" className="field-hint">
          {description}
        </Text>
      )}
      <FieldError className="field-error">{error}</FieldError>
      <Popover className="popover">
        <ListBox className="listbox" items={options}>
          {(option) => (
            <ListBoxItem id={option.id} textValue={option.label} className="option">
              <Text slot="label" className="option-label">
                {option.label}
              </Text>
              {option.description !== undefined && (
                <Text slot="description" className="option-description">
                  {option.description}
                </Text>
              )}
            </ListBoxItem>
          )}
        </ListBox>
      </Popover>
    </AriaSelect>
  );
}

/** A multiple-choice select: the chosen options show as chips in the trigger. */
export function MultiSelect({
  label,
  options,
  value,
  onChange,
  description,
  error,
  placeholder,
}: FieldBits & {
  options: readonly Option[];
  value: string[];
  onChange: (value: string[]) => void;
  placeholder?: string;
}) {
  const byId = new Map(options.map((o) => [o.id, o.label]));
  return (
    <AriaSelect
      selectionMode="multiple"
      value={value}
      onChange={(keys: Key[]) => onChange(keys.map(String))}
      isInvalid={error !== undefined}
      placeholder={placeholder}
      className="field select multi"
    >
      <Label>{label}</Label>
      <AriaButton className="select-trigger">
        <SelectValue className="select-value">
          {({ isPlaceholder }) =>
            isPlaceholder ? (
              <span className="placeholder">{placeholder}</span>
            ) : (
              <span className="chips">
                {value.map((id) => (
                  <span key={id} className="chip">
                    {byId.get(id) ?? id}
                  </span>
                ))}
              </span>
            )
          }
        </SelectValue>
        <span aria-hidden="true" className="chevron">
          ▾
        </span>
      </AriaButton>
      {description !== undefined && (
        <Text slot="description" className="field-hint">
          {description}
        </Text>
      )}
      <FieldError className="field-error">{error}</FieldError>
      <Popover className="popover">
        <ListBox className="listbox" items={options}>
          {(option) => (
            <ListBoxItem id={option.id} textValue={option.label} className="option option-check">
              {({ isSelected }) => (
                <>
                  <span className={`tick${isSelected ? ' on' : ''}`} aria-hidden="true">
                    {isSelected ? <Icon name="check" /> : null}
                  </span>
                  <span className="option-label">{option.label}</span>
                </>
              )}
            </ListBoxItem>
          )}
        </ListBox>
      </Popover>
    </AriaSelect>
  );
}

export function Checkbox({ children, ...props }: CheckboxProps & { children: ReactNode }) {
  return (
    <AriaCheckbox {...props} className="checkbox">
      {({ isSelected }) => (
        <>
          <span className={`box${isSelected ? ' on' : ''}`} aria-hidden="true">
            {isSelected ? <Icon name="check" /> : null}
          </span>
          <span>{children}</span>
        </>
      )}
    </AriaCheckbox>
  );
}

/**
 * An ⓘ that explains. Hover and keyboard focus open it, as any tooltip; so do a click and a tap,
 * since a phone has no hover (a press first closes a tooltip, then this opens it again).
 */
export function InfoTip({ label, children }: { label: string; children: ReactNode }) {
  const [open, setOpen] = useState(false);
  return (
    <TooltipTrigger delay={200} isOpen={open} onOpenChange={setOpen}>
      <AriaButton className="info-tip" aria-label={label} onPress={() => setOpen(true)}>
        <Icon name="info" />
      </AriaButton>
      <Tooltip className="tooltip" placement="top">
        {children}
      </Tooltip>
    </TooltipTrigger>
  );
}

/**
 * A modal window. `dismissable` false keeps it open against Escape and clicks outside
 * (the access key details window until its box is ticked).
 */
export function Window({
  title,
  isOpen,
  onOpenChange,
  dismissable = true,
  size = 'md',
  children,
  closeLabel = 'Close window',
  closeDisabled = false,
  alert = false,
}: {
  title: string;
  isOpen: boolean;
  onOpenChange: (open: boolean) => void;
  dismissable?: boolean;
  size?: 'sm' | 'md' | 'lg';
  children: ReactNode;
  closeLabel?: string;
  closeDisabled?: boolean;
  alert?: boolean;
}) {
  return (
    <ModalOverlay isOpen={isOpen} onOpenChange={onOpenChange} isDismissable={dismissable} isKeyboardDismissDisabled={!dismissable} className="overlay">
      <Modal className={`modal modal-${size}`}>
        <Dialog className="dialog" role={alert ? 'alertdialog' : 'dialog'}>
          <header className="dialog-header">
            <Heading slot="title" className="dialog-title">
              {title}
            </Heading>
            <AriaButton className="icon-btn" aria-label={closeLabel} isDisabled={closeDisabled} onPress={() => onOpenChange(false)}>
              <Icon name="close" />
            </AriaButton>
          </header>
          {children}
        </Dialog>
      </Modal>
    </ModalOverlay>
  );
}

export function Banner({ tone = 'error', children }: { tone?: 'error' | 'info' | 'success'; children: ReactNode }) {
  return (
    <div className={`banner banner-${tone}`} role={tone === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

/** One entry of a row's actions menu. */
export interface RowAction {
  id: string;
  label: string;
  danger?: boolean;
  disabled?: boolean;
}

/** The "…" button of a table row (named "Actions for <row>") and the menu it opens. */
export function RowActions({ label, actions, onAction }: { label: string; actions: RowAction[]; onAction: (id: string) => void }) {
  return (
    <MenuTrigger>
      <AriaButton className="icon-btn row-actions" aria-label={label}>
        <Icon name="more" />
      </AriaButton>
      <Popover className="popover" placement="bottom end">
        <Menu className="menu" disabledKeys={actions.filter((a) => a.disabled === true).map((a) => a.id)} onAction={(key) => onAction(String(key))}>
          {actions.map((a) => (
            <MenuItem key={a.id} id={a.id} className={a.danger === true ? 'menu-item danger' : 'menu-item'}>
              {a.label}
            </MenuItem>
          ))}
        </Menu>
      </Popover>
    </MenuTrigger>
  );
}
