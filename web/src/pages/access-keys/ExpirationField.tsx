/** The Expiration select (with its custom day count), offering only what the access key policy allows. */
import { useState } from 'react';
import { Select, TextField } from '../../components/ui';
import { formatDate } from '../../lib/format';
import type { Expiration } from '../../api/types';
import { allowedOptions, describeLimit, expiryDate, maxDaysFor, toExpiration, type ExpirationChoice, type LifetimeLimit } from './expiration';

/** `keep`: on a roll, the preset or day count the key was created with (the server's default). */
export type ExpirationSelection = ExpirationChoice | 'keep';

export interface ExpirationState {
  selection: ExpirationSelection;
  setSelection(selection: ExpirationSelection): void;
  /** The day count as typed: kept as text so "1.5" is refused rather than read as 15. */
  daysText: string;
  setDaysText(text: string): void;
  /** What to send: undefined for `keep`. */
  value: Expiration | undefined;
  /** The local complaint about the day count, if any. */
  error: string | undefined;
  options: Array<{ id: string; label: string }>;
  expires: Date | undefined;
}

/**
 * The expiration being chosen. A choice the limit does not allow gives way to the longest one it
 * does (so changing a key's roles never leaves a forbidden expiration selected).
 */
/** A count typed in digits only; anything else (1.5, 1,5, 1e3, -2, empty) is NaN and so refused. */
export function wholeNumber(text: string): number {
  return /^\s*\d{1,6}\s*$/.test(text) ? Number(text) : Number.NaN;
}

export function useExpirationChoice(limit: LifetimeLimit | undefined, options: { keep?: boolean } = {}): ExpirationState {
  const [chosen, setSelection] = useState<ExpirationSelection>(options.keep === true ? 'keep' : '6mo');
  const [daysText, setDaysText] = useState('30');
  const days = wholeNumber(daysText);
  const allowed = allowedOptions(limit);
  const presets = allowed.filter((o) => o.id !== 'custom');
  const selection: ExpirationSelection = chosen === 'keep' || allowed.some((o) => o.id === chosen) ? chosen : (presets.at(-1)?.id ?? 'custom');
  const maxDays = maxDaysFor(limit);
  const error =
    selection === 'custom' && (!Number.isInteger(days) || days < 1 || days > maxDays)
      ? `Enter a whole number of days from 1 to ${maxDays}${limit === undefined ? '' : ' (access key policy)'}.`
      : undefined;
  return {
    selection,
    setSelection,
    daysText,
    setDaysText,
    value: selection === 'keep' ? undefined : toExpiration(selection, days),
    error,
    options: [...(options.keep === true ? [{ id: 'keep', label: 'As when created' }] : []), ...allowed],
    // No date while the count is refused: a date decades away under an error only misleads.
    expires: selection === 'keep' || error !== undefined ? undefined : expiryDate(selection, days),
  };
}

export function ExpirationField({
  state,
  limit,
  error,
  daysRef,
}: {
  state: ExpirationState;
  limit: LifetimeLimit | undefined;
  error: string | undefined;
  daysRef?: React.Ref<HTMLInputElement>;
}) {
  return (
    <>
      <div className="expiration-row">
        <Select label="Expiration" options={state.options} value={state.selection} onChange={(v) => state.setSelection(v as ExpirationSelection)} className="grow" />
        {state.selection === 'custom' && (
          <TextField label="Days" value={state.daysText} onChange={state.setDaysText} inputMode="numeric" error={error} inputRef={daysRef} className="days" />
        )}
      </div>
      {limit !== undefined && (
        <p className="field-hint" data-testid="expiration-limit">
          {describeLimit(limit)}
        </p>
      )}
      <p className="field-hint" aria-live="polite">
        {state.selection === 'keep'
          ? 'The same period the key was created with, counted from now.'
          : state.expires
            ? `The key will expire on ${formatDate(state.expires)}.`
            : 'Enter the number of days until the key expires.'}
      </p>
    </>
  );
}
