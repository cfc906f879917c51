/**
 * The sign-in page after too many failed attempts: it says how long to wait, from the
 * server's Retry-After (regression: "Wait a moment" while the server said 15 minutes).
 */
import { expect, test } from '@playwright/test';
import { unique } from './helpers.ts';

test("the lockout message says how long to wait, from the server's Retry-After", async ({ page }) => {
  // An account of its own: the lock is per account and address, so no other test is locked out.
  const email = `${unique('locked')}@tessera.example`;
  await page.goto('/sign-in');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('not-the-password-at-all');
  const refused = page.waitForResponse((response) => response.url().endsWith('/api/v1/session') && response.status() === 429);
  // Five failures within 15 minutes lock the account from this address; the sixth is refused.
  for (let attempt = 1; attempt <= 6; attempt++) {
    const answered = page.waitForResponse((response) => response.url().endsWith('/api/v1/session'));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await answered;
  }
  const retryAfter = Number((await refused).headers()['retry-after']);
  expect(retryAfter).toBeGreaterThan(14 * 60);
  expect(retryAfter).toBeLessThanOrEqual(15 * 60);
  await expect(page.getByText('Too many attempts. Try again in 15 minutes.')).toBeVisible();
  await expect(page.getByText('Wait a moment')).toHaveCount(0);
});
