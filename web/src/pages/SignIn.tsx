import { useState, type FormEvent } from 'react';
import { Form } from 'react-aria-components';
import { ApiError, messageFor } from '../api/errors';
import { useSession } from '../auth/session';
import { Banner, Button, TextField } from '../components/ui';
import { useDocumentTitle } from '../lib/title';

export function SignIn() {
  const { signIn, state } = useSession();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const expired = state.status === 'signed-out' && state.expired;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await signIn(email.trim(), password);
    } catch (err) {
      setError(err instanceof ApiError && err.code === 'validation_failed' ? 'Enter your email and password.' : messageFor(err));
      setBusy(false);
    }
  }

  useDocumentTitle('Sign in');
  return (
    <main className="auth-page">
      <div className="auth-card">
        <div className="auth-brand">
          <img src="/favicon.svg" alt="" width="36" height="36" />
          <span>Tessera</span>
        </div>
        <h1>Sign in</h1>
        {expired && <Banner tone="info">Your session has ended. Sign in again to continue.</Banner>}
        {error !== undefined && <Banner>{error}</Banner>}
        <Form onSubmit={submit} className="stack" validationBehavior="aria">
          <TextField label="Email" type="email" name="email" autoComplete="username" value={email} onChange={setEmail} isRequired autoFocus />
          <TextField label="Password" type="password" name="password" autoComplete="current-password" value={password} onChange={setPassword} isRequired />
          <Button type="submit" variant="primary" isDisabled={busy} className="wide">
            {busy ? 'Signing in…' : 'Sign in'}
          </Button>
        </Form>
        <details className="first-run">
          <summary>First time here?</summary>
          <p>
            On its first start, Tessera creates a Global Admin user. If <code>TESSERA_ADMIN_EMAIL</code> and <code>TESSERA_ADMIN_PASSWORD</code> were not set, it
            generated a password and printed it, with the email, once in the terminal where the server started. Use those here. Other people join through an invitation
            link from a Global Admin.
          </p>
        </details>
      </div>
    </main>
  );
}
