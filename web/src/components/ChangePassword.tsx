import { useState, type FormEvent } from 'react';
import { Form } from 'react-aria-components';
import { useMutation } from '@tanstack/react-query';
import { api, call } from '../api/client';
import { ApiError, messageFor } from '../api/errors';
import { codePointLength, MIN_PASSWORD_LENGTH } from '../../../src/shared/limits.ts';
import { useSession } from '../auth/session';
import { Banner, Button, TextField, Window } from './ui';

/** The signed-in user changes their password; their other sessions end, this one stays. */
export function ChangePassword({ onClose }: { onClose: () => void }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [checked, setChecked] = useState(false);
  const [errors, setErrors] = useState<{ current?: string; next?: string; form?: string }>({});
  const { passwordChanged } = useSession();
  const change = useMutation({
    mutationFn: () => call(api.PUT('/api/v1/session/password', { body: { currentPassword: current, newPassword: next } })),
    onSuccess: passwordChanged,
    onError: (error) => {
      if (error instanceof ApiError && error.fieldError('/currentPassword')) setErrors({ current: 'This is not your current password.' });
      else if (error instanceof ApiError && error.fieldError('/newPassword')) setErrors({ next: `The new password ${error.fieldError('/newPassword')}.` });
      else setErrors({ form: messageFor(error) });
    },
  });
  const tooShort = checked && codePointLength(next) < MIN_PASSWORD_LENGTH ? `Use at least ${MIN_PASSWORD_LENGTH} characters.` : undefined;
  const mismatch = checked && repeat !== next ? 'The passwords do not match.' : undefined;
  function submit(event: FormEvent) {
    event.preventDefault();
    setChecked(true);
    setErrors({});
    if (codePointLength(next) < MIN_PASSWORD_LENGTH || repeat !== next || current === '') return;
    change.mutate();
  }
  return (
    <Window title="Change Password" isOpen size="sm" onOpenChange={(open) => !open && onClose()}>
      {change.isSuccess ? (
        <>
          <div className="dialog-body">
            <Banner tone="success">Your password was changed. Your other sessions were signed out.</Banner>
          </div>
          <footer className="dialog-footer">
            <Button variant="primary" onPress={onClose}>
              Close
            </Button>
          </footer>
        </>
      ) : (
        <Form onSubmit={submit} className="dialog-form" validationBehavior="aria">
          <div className="dialog-body">
            {errors.form && <Banner>{errors.form}</Banner>}
            <TextField
              label="Current password"
              type="password"
              autoComplete="current-password"
              value={current}
              onChange={setCurrent}
              autoFocus
              error={errors.current ?? (checked && current === '' ? 'Enter your current password.' : undefined)}
            />
            <TextField
              label="New password"
              type="password"
              autoComplete="new-password"
              value={next}
              onChange={setNext}
              error={tooShort ?? errors.next}
              description={`At least ${MIN_PASSWORD_LENGTH} characters.`}
            />
            <TextField label="Repeat new password" type="password" autoComplete="new-password" value={repeat} onChange={setRepeat} error={mismatch} />
          </div>
          <footer className="dialog-footer">
            <Button onPress={onClose}>Cancel</Button>
            <Button type="submit" variant="primary" isDisabled={change.isPending}>
              Change password
            </Button>
          </footer>
        </Form>
      )}
    </Window>
  );
}
