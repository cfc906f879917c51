/** The Add Access Key window, and the same window for editing a key's roles. */
import { useState, type FormEvent } from 'react';
import { Form } from 'react-aria-components';
import { useMutation } from '@tanstack/react-query';
import { ACCESS_KEY_NAME_MAX_LENGTH, visibleLength } from '../../../../src/shared/limits.ts';
import { api, call } from '../../api/client';
import { ApiError, messageFor } from '../../api/errors';
import type { AccessKey, NewAccessKey } from '../../api/types';
import { draftsFromGrants, grantsFromDrafts, newRoleDraft, RoleBlocks, validateRoles, type RoleDraft, type RoleErrors } from '../../components/RoleBlocks';
import { Banner, Button, NumberField, Select, TextField, Window } from '../../components/ui';
import { formatDate, formatDateTime } from '../../lib/format';
import { EXPIRATION_OPTIONS, expiryDate, MAX_DAYS, toExpiration, type ExpirationChoice } from './expiration';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

interface Errors {
  name?: string;
  days?: string;
  roles?: RoleErrors[];
  form?: string;
}

export function KeyDialog({
  editing,
  onClose,
  onAdded,
  onSaved,
}: {
  /** The key to edit; undefined to add one. */
  editing?: AccessKey;
  onClose: () => void;
  onAdded: (key: NewAccessKey) => void;
  onSaved: (key: AccessKey) => void;
}) {
  const [name, setName] = useState(editing?.name ?? '');
  const [choice, setChoice] = useState<ExpirationChoice>('6mo');
  const [days, setDays] = useState<number>(30);
  const [drafts, setDrafts] = useState<RoleDraft[]>(() => (editing ? draftsFromGrants(editing.roles) : [newRoleDraft()]));
  const [checked, setChecked] = useState(false);
  const [serverErrors, setServerErrors] = useState<Errors>({});

  const check = (): Errors => {
    const errors: Errors = {};
    if (!editing) {
      const trimmed = name.trim();
      if (trimmed === '') errors.name = 'Enter a name for the access key.';
      else if (visibleLength(trimmed) > ACCESS_KEY_NAME_MAX_LENGTH)
        errors.name = `Use at most ${ACCESS_KEY_NAME_MAX_LENGTH} characters (this one has ${visibleLength(trimmed)}).`;
      else if (CONTROL.test(trimmed)) errors.name = 'The name cannot contain control characters.';
      if (choice === 'custom' && (!Number.isInteger(days) || days < 1 || days > MAX_DAYS)) errors.days = `Enter a whole number of days from 1 to ${MAX_DAYS}.`;
    }
    const roleErrors = validateRoles(drafts);
    if (roleErrors.some((e) => e.role !== undefined || e.accounts !== undefined)) errors.roles = roleErrors;
    return errors;
  };
  const local = checked ? check() : {};
  const errors: Errors = { ...local, ...serverErrors, roles: local.roles };

  const save = useMutation({
    mutationFn: async () => {
      const roles = grantsFromDrafts(drafts);
      if (editing) return { saved: await call(api.PATCH('/api/v1/access-keys/{id}', { params: { path: { id: editing.id } }, body: { roles } })) };
      return { added: await call(api.POST('/api/v1/access-keys', { body: { name: name.trim(), expiration: toExpiration(choice, days), roles } })) };
    },
    onSuccess: (result) => {
      if (result.added) onAdded(result.added);
      if (result.saved) onSaved(result.saved);
    },
    onError: (error) => {
      if (error instanceof ApiError) {
        if (error.code === 'name_taken') return setServerErrors({ name: 'An access key with this name already exists. Choose a unique name.' });
        if (error.code === 'validation_failed') {
          const nameError = error.fieldError('/name');
          const daysError = error.fieldError('/expiration');
          if (nameError || daysError) return setServerErrors({ name: nameError ? `Name ${nameError}.` : undefined, days: daysError ? `Days ${daysError}.` : undefined });
        }
      }
      setServerErrors({ form: messageFor(error) });
    },
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    setChecked(true);
    setServerErrors({});
    const found = check();
    if (found.name || found.days || found.roles) return;
    save.mutate();
  }

  const expires = editing ? undefined : expiryDate(choice, days);
  return (
    <Window title={editing ? 'Edit Access Key' : 'Add Access Key'} isOpen onOpenChange={(open) => !open && !save.isPending && onClose()} size="md">
      <Form onSubmit={submit} className="dialog-form" validationBehavior="aria">
        <div className="dialog-body">
          {errors.form !== undefined && <Banner>{errors.form}</Banner>}
          {editing ? (
            <>
              <TextField label="Access Key Name" value={editing.name} isReadOnly description="The name cannot be changed." />
              <p className="read-only-fact">
                <span className="fact-label">Expiration Date</span> {formatDateTime(editing.expiresAt)}
              </p>
            </>
          ) : (
            <>
              <TextField
                label="Access Key Name"
                value={name}
                onChange={(v) => {
                  setName(v);
                  if (serverErrors.name) setServerErrors({ ...serverErrors, name: undefined });
                }}
                error={errors.name}
                autoFocus
                description="Unique; it cannot be changed later."
              />
              <div className="expiration-row">
                <Select label="Expiration" options={EXPIRATION_OPTIONS} value={choice} onChange={(v) => setChoice(v as ExpirationChoice)} className="grow" />
                {choice === 'custom' && (
                  <NumberField
                    label="Days"
                    value={days}
                    onChange={setDays}
                    step={1}
                    formatOptions={{ maximumFractionDigits: 0, useGrouping: false }}
                    error={errors.days}
                    className="days"
                  />
                )}
              </div>
              <p className="field-hint" aria-live="polite">
                {expires ? `The key will expire on ${formatDate(expires)}.` : 'Enter the number of days until the key expires.'}
              </p>
            </>
          )}
          <RoleBlocks drafts={drafts} onChange={setDrafts} errors={errors.roles} />
        </div>
        <footer className="dialog-footer">
          <Button onPress={onClose} isDisabled={save.isPending}>
            Cancel
          </Button>
          <Button type="submit" variant="primary" isDisabled={save.isPending}>
            {editing ? (save.isPending ? 'Saving…' : 'Save') : save.isPending ? 'Adding…' : 'Add'}
          </Button>
        </footer>
      </Form>
    </Window>
  );
}
