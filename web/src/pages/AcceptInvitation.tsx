import { useState, type FormEvent } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Form } from 'react-aria-components';
import { Link, useParams } from 'react-router';
import { api, call } from '../api/client';
import { ApiError, messageFor } from '../api/errors';
import { codePointLength, MIN_PASSWORD_LENGTH } from '../../../src/shared/limits.ts';
import { Banner, Button, TextField } from '../components/ui';
import { useDocumentTitle } from '../lib/title';

/** /invite/<token>: the invited person chooses a password, then signs in. */
export function AcceptInvitation() {
  const { token = '' } = useParams();
  useDocumentTitle('Accept invitation');
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [touched, setTouched] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);

  const invitation = useQuery({ queryKey: ['invitation', token], queryFn: () => call(api.POST('/api/v1/invitations/inspect', { body: { token } })), retry: false });
  const tooShort = codePointLength(password) < MIN_PASSWORD_LENGTH ? `Use at least ${MIN_PASSWORD_LENGTH} characters.` : undefined;
  const mismatch = repeat !== password ? 'The passwords do not match.' : undefined;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setTouched(true);
    if (tooShort !== undefined || mismatch !== undefined) return;
    setBusy(true);
    setError(undefined);
    try {
      await call(api.POST('/api/v1/invitations/accept', { body: { token, password } }));
      setDone(true);
    } catch (err) {
      setError(err instanceof ApiError && err.code === 'validation_failed' ? (err.fieldError('/password') ?? messageFor(err)) : messageFor(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="auth-page">
      <div className="auth-card">
        <div className="auth-brand">
          <img src="/favicon.svg" alt="" width="36" height="36" />
          <span>Tessera</span>
        </div>
        <h1>Set your password</h1>
        {invitation.isError && !done ? (
          <>
            <Banner>{messageFor(invitation.error)}</Banner>
            <Link to="/sign-in" className="btn wide">
              Go to sign in
            </Link>
          </>
        ) : done ? (
          <>
            <Banner tone="success">Your account is ready.</Banner>
            <Link to="/sign-in" className="btn btn-primary wide">
              Go to sign in
            </Link>
          </>
        ) : (
          <>
            <p>
              {invitation.data ? (
                <>
                  Welcome, {invitation.data.displayName || invitation.data.email}. You sign in as <strong>{invitation.data.email}</strong>.{' '}
                </>
              ) : (
                'You have been invited to Tessera. '
              )}
              Choose a password of at least {MIN_PASSWORD_LENGTH} characters to activate your account.
            </p>
            {error !== undefined && <Banner>{error}</Banner>}
            <Form onSubmit={submit} className="stack" validationBehavior="aria">
              <TextField
                label="New password"
                type="password"
                autoComplete="new-password"
                value={password}
                onChange={setPassword}
                isRequired
                autoFocus
                error={touched ? tooShort : undefined}
              />
              <TextField
                label="Repeat password"
                type="password"
                autoComplete="new-password"
                value={repeat}
                onChange={setRepeat}
                isRequired
                error={touched ? mismatch : undefined}
              />
              <Button type="submit" variant="primary" isDisabled={busy} className="wide">
                {busy ? 'Saving…' : 'Set password'}
              </Button>
            </Form>
          </>
        )}
      </div>
    </main>
  );
}
