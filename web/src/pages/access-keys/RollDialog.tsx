/** The Roll Access Key window: a new token for the key, the old one kept for a grace period. */
import { useState, type FormEvent } from 'react';
import { Form } from 'react-aria-components';
import { useMutation } from '@tanstack/react-query';
import { DEFAULT_ROLL_GRACE_MINUTES, MAX_ROLL_GRACE_MINUTES } from '../../../../src/shared/limits.ts';
import { api, call } from '../../api/client';
import { ApiError, messageFor } from '../../api/errors';
import { useAccessKeyPolicy } from '../../api/queries';
import type { AccessKey, RolledAccessKey } from '../../api/types';
import { Banner, Button, NumberField, Window } from '../../components/ui';
import { ExpirationField, useExpirationChoice } from './ExpirationField';
import { lifetimeLimit } from './expiration';

export function RollDialog({ accessKey, onClose, onRolled }: { accessKey: AccessKey; onClose: () => void; onRolled: (key: RolledAccessKey) => void }) {
  const limit = lifetimeLimit(useAccessKeyPolicy().data, accessKey.roles);
  const expiration = useExpirationChoice(limit, { keep: true });
  const [grace, setGrace] = useState(DEFAULT_ROLL_GRACE_MINUTES);
  const [checked, setChecked] = useState(false);
  const graceError =
    checked && (!Number.isInteger(grace) || grace < 0 || grace > MAX_ROLL_GRACE_MINUTES)
      ? `Enter a whole number of minutes from 0 to ${MAX_ROLL_GRACE_MINUTES}.`
      : undefined;
  const daysError = checked ? expiration.error : undefined;

  const roll = useMutation({
    mutationFn: () =>
      call(
        api.POST('/api/v1/access-keys/{id}/roll', {
          params: { path: { id: accessKey.id } },
          body: { graceMinutes: grace, ...(expiration.value === undefined ? {} : { expiration: expiration.value }) },
        }),
      ),
    onSuccess: onRolled,
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    setChecked(true);
    if (!Number.isInteger(grace) || grace < 0 || grace > MAX_ROLL_GRACE_MINUTES || expiration.error !== undefined) return;
    roll.mutate();
  }

  return (
    <Window title="Roll Access Key" isOpen onOpenChange={(open) => !open && !roll.isPending && onClose()} size="md">
      <Form onSubmit={submit} className="dialog-form" validationBehavior="aria">
        <div className="dialog-body">
          {roll.isError && <Banner>{roll.error instanceof ApiError && roll.error.code === 'policy_violation' ? roll.error.message : messageFor(roll.error)}</Banner>}
          <p>
            Give <strong>{accessKey.name}</strong> a new JSON web token. The key keeps its name, roles and history; the current token keeps working for the grace period,
            so that applications can switch without an outage.
          </p>
          <ExpirationField state={expiration} limit={limit} error={daysError} />
          <NumberField
            label="Grace period (minutes)"
            value={grace}
            onChange={setGrace}
            step={1}
            minValue={0}
            formatOptions={{ maximumFractionDigits: 0, useGrouping: false }}
            error={graceError}
            description="0 ends the current token at once. It never works past its own expiration."
          />
        </div>
        <footer className="dialog-footer">
          <Button onPress={onClose} isDisabled={roll.isPending}>
            Cancel
          </Button>
          <Button type="submit" variant="primary" isDisabled={roll.isPending}>
            {roll.isPending ? 'Rolling…' : 'Roll'}
          </Button>
        </footer>
      </Form>
    </Window>
  );
}
