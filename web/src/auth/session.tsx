/**
 * Who is signed in. The session lives in an HttpOnly cookie the console cannot read; it asks
 * the server (GET /api/v1/session) and keeps the CSRF token for state-changing requests.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { api, call, onUnauthorized, setCsrfToken } from '../api/client';
import { ApiError } from '../api/errors';
import type { Session, User } from '../api/types';
import type { Permission } from '../lib/roles';
import { can } from '../lib/roles';

type State = { status: 'loading' } | { status: 'signed-out'; expired: boolean } | { status: 'signed-in'; session: Session };

interface SessionApi {
  state: State;
  user: User | undefined;
  /** Whether the signed-in user's roles give this permission (hides what they cannot use). */
  may(permission: Permission): boolean;
  signIn(email: string, password: string): Promise<void>;
  signOut(): Promise<void>;
  /** The user chose a new password: a generated one is no longer theirs to replace. */
  passwordChanged(): void;
}

const SessionContext = createContext<SessionApi | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<State>({ status: 'loading' });
  const queries = useQueryClient();

  const signedIn = useCallback((session: Session) => {
    setCsrfToken(session.csrfToken);
    setState({ status: 'signed-in', session });
  }, []);
  const signedOut = useCallback(
    (expired: boolean) => {
      setCsrfToken(undefined);
      queries.clear();
      setState({ status: 'signed-out', expired });
    },
    [queries],
  );

  useEffect(() => {
    let live = true;
    call(api.GET('/api/v1/session')).then(
      (session) => live && signedIn(session),
      (error) => live && (error instanceof ApiError && error.status === 401 ? signedOut(false) : setState({ status: 'signed-out', expired: false })),
    );
    return () => {
      live = false;
    };
  }, [signedIn, signedOut]);

  useEffect(() => {
    onUnauthorized(() =>
      setState((current) => {
        if (current.status !== 'signed-in') return current;
        setCsrfToken(undefined);
        return { status: 'signed-out', expired: true };
      }),
    );
    return () => onUnauthorized(undefined);
  }, []);

  const value = useMemo<SessionApi>(() => {
    const user = state.status === 'signed-in' ? state.session.user : undefined;
    return {
      state,
      user,
      may: (permission) => can(user?.roles, permission),
      async signIn(email, password) {
        signedIn(await call(api.POST('/api/v1/session', { body: { email, password } })));
      },
      passwordChanged() {
        setState((current) =>
          current.status === 'signed-in'
            ? { status: 'signed-in', session: { ...current.session, user: { ...current.session.user, passwordGenerated: false } } }
            : current,
        );
      },
      async signOut() {
        try {
          await call(api.DELETE('/api/v1/session'));
        } finally {
          signedOut(false);
        }
      },
    };
  }, [state, signedIn, signedOut]);

  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionApi {
  const value = useContext(SessionContext);
  if (value === null) throw new TypeError('useSession() needs a <SessionProvider> above it');
  return value;
}
