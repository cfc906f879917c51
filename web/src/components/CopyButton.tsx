import { useEffect, useState } from 'react';
import { Button as AriaButton, Tooltip, TooltipTrigger } from 'react-aria-components';
import { Icon } from './ui';

/** Copies text to the clipboard; falls back to a hidden selection where the Clipboard API is missing (plain http). */
export async function copyText(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.append(area);
  area.select();
  const ok = document.execCommand('copy');
  area.remove();
  if (!ok) throw new Error('copy refused');
}

/** An icon button that copies `value` and says so: the icon turns into a tick and "Copied" is announced. */
export function CopyButton({ value, label }: { value: string; label: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  useEffect(() => {
    if (state === 'idle') return;
    const timer = setTimeout(() => setState('idle'), 2500);
    return () => clearTimeout(timer);
  }, [state]);
  return (
    <span className="copy">
      <TooltipTrigger delay={150}>
        <AriaButton
          className={`icon-btn copy-btn${state === 'copied' ? ' copied' : ''}`}
          aria-label={label}
          onPress={() =>
            copyText(value).then(
              () => setState('copied'),
              () => setState('failed'),
            )
          }
        >
          <Icon name={state === 'copied' ? 'check' : 'copy'} />
        </AriaButton>
        <Tooltip className="tooltip" placement="top">
          Copy value to clipboard
        </Tooltip>
      </TooltipTrigger>
      <span className={`copy-feedback ${state}`} role="status" aria-live="polite">
        {state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed: select and copy by hand' : ''}
      </span>
    </span>
  );
}
