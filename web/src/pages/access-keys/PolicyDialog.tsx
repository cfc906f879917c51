/** The Access Key Policy window: lifetime limits per role, dormancy, and required descriptions. */
import { useState, type FormEvent } from 'react';
import { Form } from 'react-aria-components';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api, call } from '../../api/client';
import { ApiError, messageFor } from '../../api/errors';
import type { AccessKeyPolicy } from '../../api/types';
import { Banner, Button, Checkbox, NumberField, Window } from '../../components/ui';
import { ROLE_TITLES, ROLES, type Role } from '../../lib/roles';
import { MAX_DAYS } from './expiration';

/** A day count as the form holds it: NaN for an empty field, which means "no limit". */
const toField = (days: number | null): number => days ?? Number.NaN;
const fromField = (value: number): number | null => (Number.isNaN(value) ? null : value);
const badDays = (value: number, max: number) => !Number.isNaN(value) && (!Number.isInteger(value) || value < 1 || value > max);

export function PolicyDialog({ policy, onClose, onSaved }: { policy: AccessKeyPolicy; onClose: () => void; onSaved: () => void }) {
  const queries = useQueryClient();
  const [maxDays, setMaxDays] = useState<Record<Role, number>>(() => Object.fromEntries(ROLES.map((r) => [r, toField(policy.maxDays[r])])) as Record<Role, number>);
  const [unusedDays, setUnusedDays] = useState(toField(policy.disableAfterUnusedDays));
  const [requireDescription, setRequireDescription] = useState(policy.requireDescription);
  const [checked, setChecked] = useState(false);

  const save = useMutation({
    mutationFn: () =>
      call(
        api.PUT('/api/v1/settings/access-key-policy', {
          body: {
            maxDays: {
              'global-admin': fromField(maxDays['global-admin']),
              'global-viewer': fromField(maxDays['global-viewer']),
              'cloud-account-viewer': fromField(maxDays['cloud-account-viewer']),
            },
            disableAfterUnusedDays: fromField(unusedDays),
            requireDescription,
          },
        }),
      ),
    onSuccess: (saved) => {
      queries.setQueryData(['access-key-policy'], saved);
      onSaved();
    },
  });

  const roleError = (role: Role) => (checked && badDays(maxDays[role], MAX_DAYS) ? `Enter a whole number of days from 1 to ${MAX_DAYS}, or leave it empty.` : undefined);
  const unusedError = checked && badDays(unusedDays, 3650) ? 'Enter a whole number of days from 1 to 3650, or leave it empty.' : undefined;

  function submit(event: FormEvent) {
    event.preventDefault();
    setChecked(true);
    if (ROLES.some((r) => badDays(maxDays[r], MAX_DAYS)) || badDays(unusedDays, 3650)) return;
    save.mutate();
  }

  return (
    <Window title="Access Key Policy" isOpen onOpenChange={(open) => !open && !save.isPending && onClose()} size="md">
      <Form onSubmit={submit} className="dialog-form" validationBehavior="aria">
        <div className="dialog-body">
          {save.isError && <Banner>{save.error instanceof ApiError ? save.error.message : messageFor(save.error)}</Banner>}
          <p>
            The longest lifetime of a key holding each role, in days; a key with several roles gets the smallest. Empty: no limit beyond the server's ({MAX_DAYS} days by
            default). Checked when a key is added, rolled or given new roles.
          </p>
          {ROLES.map((role) => (
            <NumberField
              key={role}
              label={`Longest lifetime for ${ROLE_TITLES[role]} (days)`}
              value={maxDays[role]}
              onChange={(value) => setMaxDays({ ...maxDays, [role]: value })}
              step={1}
              formatOptions={{ maximumFractionDigits: 0, useGrouping: false }}
              error={roleError(role)}
            />
          ))}
          <NumberField
            label="Disable keys unused for (days)"
            value={unusedDays}
            onChange={setUnusedDays}
            step={1}
            formatOptions={{ maximumFractionDigits: 0, useGrouping: false }}
            error={unusedError}
            description="Counted from the last use (or creation, enabling or the last roll); checked hourly. Empty: never."
          />
          <Checkbox isSelected={requireDescription} onChange={setRequireDescription}>
            Require a description on every key
          </Checkbox>
        </div>
        <footer className="dialog-footer">
          <Button onPress={onClose} isDisabled={save.isPending}>
            Cancel
          </Button>
          <Button type="submit" variant="primary" isDisabled={save.isPending}>
            {save.isPending ? 'Saving…' : 'Save'}
          </Button>
        </footer>
      </Form>
    </Window>
  );
}
