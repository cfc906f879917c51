import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';

const base = () => ({ TESSERA_DATA_DIR: mkdtempSync(join(tmpdir(), 'tessera-config-')), TESSERA_SECRET: 's'.repeat(40) });

describe('configuration', () => {
  it('has the documented defaults and is frozen', () => {
    const config = loadConfig(base());
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      databaseUrl: undefined,
      publicUrl: 'http://127.0.0.1:8080',
      maxKeyDays: 730,
      sessionIdleMinutes: 30,
      sessionAbsoluteHours: 12,
      auditRetentionDays: 365,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('derives the public URL from HOST and PORT, or takes TESSERA_PUBLIC_URL without a trailing slash', () => {
    expect(loadConfig({ ...base(), HOST: '0.0.0.0', PORT: '9000' }).publicUrl).toBe('http://0.0.0.0:9000');
    expect(loadConfig({ ...base(), TESSERA_PUBLIC_URL: 'https://keys.example.com/' }).publicUrl).toBe('https://keys.example.com');
    expect(loadConfig({ ...base(), TESSERA_PUBLIC_URL: 'https://keys.example.com/' }).publicUrlSource).toBe('environment');
    expect(loadConfig({ ...base(), PORT: '9000' }).publicUrlSource).toBe('host-port');
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT="eighty" is not a whole number/],
    [{ PORT: '70000' }, /PORT=70000 is out of range/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL must be a postgres:\/\/ URL/],
    [{ TESSERA_SECRET: 'short' }, /TESSERA_SECRET is too short/],
    [{ TESSERA_PUBLIC_URL: 'ftp://x' }, /TESSERA_PUBLIC_URL="ftp:\/\/x" is not an http\(s\) URL/],
    [{ TESSERA_ADMIN_EMAIL: 'a@example.com' }, /go together/],
    [{ TESSERA_ADMIN_EMAIL: 'nope', TESSERA_ADMIN_PASSWORD: 'long-enough-password' }, /not an email address/],
    [{ TESSERA_ADMIN_EMAIL: 'a@example.com', TESSERA_ADMIN_PASSWORD: 'short' }, /at least 12 characters/],
    [{ TESSERA_MAX_KEY_DAYS: '0' }, /TESSERA_MAX_KEY_DAYS=0 is out of range/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL="loud" is not one of/],
    [{ REDIS_URL: 'http://x' }, /REDIS_URL must be a redis:\/\//],
    [{ TESSERA_TRUSTED_PROXIES: 'lb.example.com' }, /TESSERA_TRUSTED_PROXIES holds "lb.example.com", which is not an IP address or CIDR range/],
    [{ TESSERA_TRUSTED_PROXIES: '10.0.0.0/33' }, /TESSERA_TRUSTED_PROXIES holds "10.0.0.0\/33"/],
    [{ TESSERA_TRUSTED_PROXIES: '2001:db8::/129' }, /TESSERA_TRUSTED_PROXIES holds "2001:db8::\/129"/],
    [{ TESSERA_TRUSTED_PROXIES: '10.0.0.1,,10.0.0.2' }, /TESSERA_TRUSTED_PROXIES holds ""/],
    [{ TESSERA_TRUSTED_PROXIES: '10.0.0.0/8/8' }, /TESSERA_TRUSTED_PROXIES holds "10.0.0.0\/8\/8"/],
    [{ TESSERA_WEBHOOK_ALLOW_PRIVATE: 'yes' }, /TESSERA_WEBHOOK_ALLOW_PRIVATE="yes" is not true or false/],
    [{ TESSERA_EXPIRY_WARNING_DAYS: '30,seven' }, /TESSERA_EXPIRY_WARNING_DAYS holds "seven", which is not a number of days/],
    [{ TESSERA_EXPIRY_WARNING_DAYS: '0' }, /TESSERA_EXPIRY_WARNING_DAYS holds "0"/],
    [{ TESSERA_EXPIRY_WARNING_DAYS: '7,,1' }, /TESSERA_EXPIRY_WARNING_DAYS holds ""/],
    [{ TESSERA_EXPIRY_WARNING_DAYS: '7,7' }, /names a day count twice/],
    [{ TESSERA_EXPIRY_WARNING_DAYS: '1,2,3,4,5,6,7,8,9,10,11' }, /more than 10 entries/],
  ])('refuses %j with a message that says how to fix it', (env, message) => {
    expect(() => loadConfig({ ...base(), ...env })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base(), ...env })).toThrow(message);
  });

  it('reads the webhook and expiry-warning settings, with their defaults', () => {
    expect(loadConfig(base())).toMatchObject({ webhookAllowPrivate: false, expiryWarningDays: [30, 7, 1] });
    expect(loadConfig({ ...base(), TESSERA_WEBHOOK_ALLOW_PRIVATE: 'TRUE', TESSERA_EXPIRY_WARNING_DAYS: ' 3, 14 ,1' })).toMatchObject({
      webhookAllowPrivate: true,
      expiryWarningDays: [14, 3, 1],
    });
    expect(loadConfig({ ...base(), TESSERA_WEBHOOK_ALLOW_PRIVATE: 'false' }).webhookAllowPrivate).toBe(false);
  });

  it('reads TESSERA_TRUSTED_PROXIES as addresses and CIDR ranges, IPv4 and IPv6; unset trusts no proxy', () => {
    expect(loadConfig(base()).trustedProxies).toEqual([]);
    expect(loadConfig({ ...base(), TESSERA_TRUSTED_PROXIES: ' 10.0.0.0/8, 192.0.2.7 ,2001:db8::/32,::1 ' }).trustedProxies).toEqual([
      '10.0.0.0/8',
      '192.0.2.7',
      '2001:db8::/32',
      '::1',
    ]);
  });

  it('requires TESSERA_SECRET with PostgreSQL', () => {
    expect(() => loadConfig({ TESSERA_DATA_DIR: base().TESSERA_DATA_DIR, DATABASE_URL: 'postgres://localhost/x' })).toThrow(
      /TESSERA_SECRET is required with DATABASE_URL/,
    );
  });
});
