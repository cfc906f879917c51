/**
 * The API homepage (/docs, Swagger UI) under its Content-Security-Policy: it renders, the
 * Authorize dialog's password flow gets a token and "Try it out" calls the API, with no
 * CSP violation reported by the browser; and no other site may frame it.
 */
import { expect, test } from '@playwright/test';

test('the API homepage works under its CSP, with no violation, and refuses framing', async ({ page }) => {
  const violations: string[] = [];
  await page.exposeFunction('reportViolation', (text: string) => violations.push(text));
  await page.addInitScript(() =>
    document.addEventListener('securitypolicyviolation', (e) =>
      (window as unknown as { reportViolation(t: string): void }).reportViolation(`${e.violatedDirective} ${e.sourceFile}:${e.lineNumber}`),
    ),
  );
  const answer = await page.goto('/docs/');
  expect(answer?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
  expect(answer?.headers()['x-frame-options']).toBe('DENY');
  await expect(page.getByRole('heading', { name: /Tessera API/ })).toBeVisible();

  // The password flow: the user's email and password for a token.
  await page.getByRole('button', { name: 'Authorize' }).first().click();
  await page.locator('#oauth_username').fill(process.env.E2E_ADMIN_EMAIL as string);
  await page.locator('#oauth_password').fill(process.env.E2E_ADMIN_PASSWORD as string);
  await page.locator('.auth-btn-wrapper button.authorize').nth(1).click();
  await expect(page.getByText('Authorized', { exact: true })).toBeVisible();
  await page.locator('.auth-btn-wrapper button.btn-done').first().click();

  // Try it out: list the access keys as that user.
  const operation = page.locator('.opblock-get:has(.opblock-summary-path[data-path="/api/v1/access-keys"])');
  await operation.locator('.opblock-summary').click();
  await operation.getByRole('button', { name: 'Try it out' }).click();
  await operation.getByRole('button', { name: 'Execute' }).click();
  await expect(operation.locator('.live-responses-table tbody .response-col_status').first()).toHaveText('200');

  expect(violations).toEqual([]);
});
