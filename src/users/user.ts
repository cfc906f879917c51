import type { Grant } from '../auth/permissions.ts';

/** A person who signs in to the console. */
export interface User {
  id: string;
  email: string;
  displayName: string;
  roles: Grant[];
  status: 'active' | 'pending';
  primary: boolean;
  createdAt: string;
  lastSignInAt: string | null;
}

import { validationFailed } from '../http/errors.ts';

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

/** Trims and checks an email address; throws a validation error naming the field. */
export function normalizeEmail(raw: string): string {
  const email = raw.trim();
  if (!EMAIL.test(email) || !email.split('@')[1]?.includes('.') && !email.endsWith('@localhost') && !email.endsWith('.local')) {
    throw validationFailed('email', 'must be an email address');
  }
  return email;
}

/** The form of an email the unique index compares. */
export function emailKey(email: string): string {
  return email.trim().toLowerCase();
}
