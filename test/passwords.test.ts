import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MIN_PASSWORD_LENGTH } from '../src/shared/limits.ts';

// Counts every password check, to show that an unknown email costs the same work as a known one.
vi.mock('../src/auth/passwords.ts', async (importOriginal) => {
  const original = await importOriginal<typeof import('../src/auth/passwords.ts')>();
  return { ...original, verifyPassword: vi.fn(original.verifyPassword) };
});

vi.mock('node:crypto', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:crypto')>();
  return { ...original, scrypt: vi.fn(original.scrypt) };
});

const passwords = await import('../src/auth/passwords.ts');
const { createHarness } = await import('./helpers/harness.ts');
const { addUser, PASSWORD } = await import('./helpers/people.ts');
type Harness = Awaited<ReturnType<typeof createHarness>>;

describe('password hashing', () => {
  it('uses scrypt at OWASP parameters (N=2^16, r=8, p=2) with a random salt', async () => {
    const a = await passwords.hashPassword('a password of some length');
    const b = await passwords.hashPassword('a password of some length');
    const [scheme, n, r, p, salt, key] = a.split('$');
    expect([scheme, n, r, p]).toEqual(['scrypt', '65536', '8', '2']);
    expect(Buffer.from(salt!, 'base64url')).toHaveLength(16);
    expect(Buffer.from(key!, 'base64url')).toHaveLength(32);
    expect(a).not.toBe(b);
    expect(a).not.toContain('a password of some length');
  });

  it('verifies the right password only; a tampered or missing hash never verifies', async () => {
    const hash = await passwords.hashPassword('the right password');
    expect(await passwords.verifyPassword('the right password', hash)).toBe(true);
    expect(await passwords.verifyPassword('the wrong password', hash)).toBe(false);
    const parts = hash.split('$');
    parts[5] = Buffer.alloc(32).toString('base64url');
    expect(await passwords.verifyPassword('the right password', parts.join('$'))).toBe(false);
    expect(await passwords.verifyPassword('the right password', undefined)).toBe(false);
    expect(await passwords.verifyPassword('the right password', null)).toBe(false);
  });

  it('normalizes Unicode (NFKC), so the same password typed differently still verifies', async () => {
    const hash = await passwords.hashPassword('caf\u00e9 au lait!!');
    expect(await passwords.verifyPassword('cafe\u0301 au lait!!', hash)).toBe(true);
  });

  it('requires at least 12 characters', () => {
    expect(MIN_PASSWORD_LENGTH).toBe(12);
  });
});

describe('sign-in costs the same for unknown emails', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness('sqlite');
  });
  afterAll(() => h.close());

  it('a known email, an unknown email and a pending user each cost exactly one full scrypt check', async () => {
    const user = await addUser(h, [{ role: 'global-viewer' }]);
    const adminKey = (await h.key([{ role: 'global-admin' }])).token;
    await h.request(adminKey, { method: 'POST', url: '/api/v1/users', payload: { email: 'pending@example.com', roles: [{ role: 'global-viewer' }] } });
    const verify = vi.mocked(passwords.verifyPassword);
    const cases: Array<[string, string, string]> = [
      [user.email, 'wrong password!', '10.30.0.1'],
      ['nobody@example.com', 'wrong password!', '10.30.0.2'],
      ['pending@example.com', 'wrong password!', '10.30.0.3'],
      [user.email, PASSWORD, '10.30.0.4'],
    ];
    for (const [email, password, ip] of cases) {
      verify.mockClear();
      await h.app.inject({ method: 'POST', url: '/api/v1/session', payload: { email, password }, remoteAddress: ip });
      expect(verify, email).toHaveBeenCalledTimes(1);
      const call = verify.mock.calls[0]!;
      expect(call[0]).toBe(password);
      // A real hash for the known user; for the others the decoy, which has the same parameters.
      if (email === user.email) expect(call[1]).toMatch(/^scrypt\$65536\$8\$2\$/);
      else expect(call[1] ?? undefined).toBeUndefined();
    }
  });

  it('the decoy check runs scrypt with the same parameters and input sizes as a real check', async () => {
    const crypto = await import('node:crypto');
    const scrypt = vi.mocked(crypto.scrypt);
    const real = await passwords.hashPassword('the real password');
    await passwords.verifyPassword('warm-up', undefined); // the decoy hash is made once
    const argsOf = async (stored: string | undefined) => {
      scrypt.mockClear();
      await passwords.verifyPassword('some password', stored);
      expect(scrypt).toHaveBeenCalledTimes(1);
      const [, salt, keyLength, options] = scrypt.mock.calls[0] as unknown as [string, Buffer, number, { N: number; r: number; p: number }];
      return { saltLength: salt.length, keyLength, N: options.N, r: options.r, p: options.p };
    };
    const decoy = await argsOf(undefined);
    expect(decoy).toEqual(await argsOf(real));
    expect(decoy).toEqual({ saltLength: 16, keyLength: 32, N: 65536, r: 8, p: 2 });
  });
});
