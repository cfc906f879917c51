/** A key's network allowlist and rate limit, as the Add and Edit windows show them. */
import { useState } from 'react';
import { MAX_ALLOWED_CIDRS, MAX_RATE_LIMIT_REQUESTS, MAX_RATE_LIMIT_SECONDS } from '../../../../src/shared/limits.ts';
import type { ApiError } from '../../api/errors';
import { Checkbox, NumberField, TextField } from '../../components/ui';

export interface RateLimitValue {
  requests: number;
  perSeconds: number;
}

export interface GuardErrors {
  allowedCidrs?: string;
  requests?: string;
  perSeconds?: string;
}

/** The entries of the allowlist field: separated by commas, spaces or line breaks. */
export const allowlistEntries = (text: string): string[] => text.split(/[\s,]+/).filter((entry) => entry !== '');

const wholeNumberIn = (value: number, max: number) => Number.isInteger(value) && value >= 1 && value <= max;

/** The form's state for both fields, with what the server expects and the checks it makes. */
export function useGuardFields(initial?: { allowedCidrs: string[]; rateLimit: RateLimitValue | null }) {
  const [allowlist, setAllowlist] = useState((initial?.allowedCidrs ?? []).join(', '));
  const [limited, setLimited] = useState(initial?.rateLimit != null);
  const [requests, setRequests] = useState(initial?.rateLimit?.requests ?? 100);
  const [perSeconds, setPerSeconds] = useState(initial?.rateLimit?.perSeconds ?? 60);
  const check = (): GuardErrors => {
    const errors: GuardErrors = {};
    const count = allowlistEntries(allowlist).length;
    if (count > MAX_ALLOWED_CIDRS) errors.allowedCidrs = `Use at most ${MAX_ALLOWED_CIDRS} addresses or ranges (this list has ${count}).`;
    if (limited) {
      if (!wholeNumberIn(requests, MAX_RATE_LIMIT_REQUESTS)) errors.requests = `Enter a whole number from 1 to ${MAX_RATE_LIMIT_REQUESTS}.`;
      if (!wholeNumberIn(perSeconds, MAX_RATE_LIMIT_SECONDS)) errors.perSeconds = `Enter a whole number of seconds from 1 to ${MAX_RATE_LIMIT_SECONDS}.`;
    }
    return errors;
  };
  return {
    allowlist,
    setAllowlist,
    limited,
    setLimited,
    requests,
    setRequests,
    perSeconds,
    setPerSeconds,
    check,
    /** The body's fields. */
    value: () => ({ allowedCidrs: allowlistEntries(allowlist), rateLimit: limited ? { requests, perSeconds } : null }),
  };
}

export type GuardFieldsState = ReturnType<typeof useGuardFields>;

/** The server's complaints about these fields, in words; undefined when it named none of them. */
export function guardErrorsFrom(error: ApiError, sent: string[]): GuardErrors | undefined {
  const errors: GuardErrors = {};
  const entry = sent.findIndex((_, index) => error.fieldError(`/allowedCidrs/${index}`) !== undefined);
  if (entry !== -1) errors.allowedCidrs = `“${sent[entry]}” is not an IPv4 or IPv6 address or CIDR range.`;
  else if (error.fieldError('/allowedCidrs') !== undefined) errors.allowedCidrs = `Allowed networks ${error.fieldError('/allowedCidrs')}.`;
  const requests = error.fieldError('/rateLimit/requests');
  const perSeconds = error.fieldError('/rateLimit/perSeconds');
  if (requests !== undefined) errors.requests = `Requests ${requests}.`;
  if (perSeconds !== undefined) errors.perSeconds = `Seconds ${perSeconds}.`;
  return Object.keys(errors).length === 0 ? undefined : errors;
}

export function GuardFields({ state, errors, onEdit }: { state: GuardFieldsState; errors: GuardErrors; onEdit: () => void }) {
  return (
    <div className="guard-fields">
      <TextField
        label="Allowed networks (optional)"
        value={state.allowlist}
        onChange={(v) => {
          state.setAllowlist(v);
          onEdit();
        }}
        error={errors.allowedCidrs}
        placeholder="203.0.113.0/24, 2001:db8::/32"
        description={`IPv4 or IPv6 addresses or CIDR ranges, separated by commas (at most ${MAX_ALLOWED_CIDRS}). Empty: any address.`}
      />
      <Checkbox
        isSelected={state.limited}
        onChange={(on) => {
          state.setLimited(on);
          onEdit();
        }}
      >
        Limit the request rate
      </Checkbox>
      {state.limited && (
        <div className="expiration-row">
          <NumberField
            label="Requests"
            value={state.requests}
            onChange={(v) => {
              state.setRequests(v);
              onEdit();
            }}
            step={1}
            formatOptions={{ maximumFractionDigits: 0, useGrouping: false }}
            error={errors.requests}
          />
          <NumberField
            label="Per seconds"
            value={state.perSeconds}
            onChange={(v) => {
              state.setPerSeconds(v);
              onEdit();
            }}
            step={1}
            formatOptions={{ maximumFractionDigits: 0, useGrouping: false }}
            error={errors.perSeconds}
            description="Over the limit the key gets 429 until the window ends. Counted across instances with Redis, per instance without."
          />
        </div>
      )}
    </div>
  );
}
