/**
 * `npm run screenshots`: refreshes docs/screenshots/ from a real server with a small seeded
 * inventory. Not part of the suite (it writes into docs/).
 */
import { expect, test, type Page } from '@playwright/test';
import { cli, openAccessKeys, signIn } from './helpers.ts';
import { adminToken, seedInventory } from './seed.ts';

const DIR = 'docs/screenshots';
/** After the page's requests have settled, with animations run to their end (the phone menu slides in). */
async function shot(page: Page, name: string, fullPage = false): Promise<void> {
  await page.waitForLoadState('networkidle');
  await page.screenshot({ path: `${DIR}/${name}.png`, animations: 'disabled', fullPage });
}

test('screenshots of the main pages', async ({ page, request }) => {
  // One long walk through every page: more than the suite's minute on a busy machine.
  test.setTimeout(300_000);
  const { accounts } = await seedInventory(request, adminToken('inventory-connector'));
  cli(['keys', 'create', '--name', 'siem-export', '--role', 'global-viewer', '--expires', '1y']);
  cli(['keys', 'create', '--name', 'nightly-report', '--role', `cloud-account-viewer:${accounts[0]!.id},${accounts[2]!.id}`, '--days', '12']);
  cli(['keys', 'create', '--name', 'terraform-ci', '--role', 'global-admin', '--expires', '90d']);
  cli(['users', 'create', '--email', 'viewer@tessera.example', '--role', 'global-viewer', '--password-stdin'], 'viewer-password-0123\n');

  await page.goto('/sign-in');
  await shot(page, 'sign-in');
  await signIn(page);
  await page.goto('/dashboard');
  await expect(page.getByText('Cloud accounts by vendor')).toBeVisible();
  await expect(page.getByText('Access keys expiring within 7 days')).toBeVisible();
  await shot(page, 'dashboard');

  await openAccessKeys(page);
  await expect(page.getByRole('rowheader', { name: 'terraform-ci' })).toBeVisible();
  await page.getByRole('row').filter({ hasText: 'siem-export' }).hover();
  await shot(page, 'access-keys');

  await page.getByRole('button', { name: 'Add access key' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add Access Key' });
  await dialog.getByLabel('Access Key Name').fill('vulnerability-scanner');
  await dialog.getByRole('button', { name: /Expiration/ }).click();
  await page.getByRole('option', { name: 'Custom' }).click();
  await dialog.getByRole('textbox', { name: 'Days' }).fill('60');
  await dialog.getByRole('button', { name: /Assigned Role/ }).click();
  await page.getByRole('option', { name: /Cloud Account Viewer/ }).click();
  await dialog.getByRole('button', { name: /Public Cloud Accounts Access/ }).click();
  await page.getByRole('option', { name: accounts[0]!.displayName }).click();
  await page.getByRole('option', { name: accounts[3]!.displayName }).click();
  await page.keyboard.press('Escape');
  await dialog.getByRole('button', { name: 'Add another role' }).click();
  await dialog
    .getByRole('button', { name: /Assigned Role/ })
    .nth(1)
    .click();
  await page.getByRole('option', { name: /Global Viewer/ }).click();
  await shot(page, 'add-access-key');
  await dialog.getByRole('button', { name: 'Add', exact: true }).click();
  const details = page.getByRole('dialog', { name: 'Access Key' });
  await details.getByRole('button', { name: 'Copy JSON web token' }).click();
  await shot(page, 'access-key-details');
  await details.getByText('I have saved the access key name and JSON web token').click();
  await details.getByRole('button', { name: 'Close', exact: true }).click();

  await page.goto('/configuration/users');
  await expect(page.getByText('viewer@tessera.example')).toBeVisible();
  await shot(page, 'users');
  await page.goto('/configuration/audit');
  await expect(page.getByRole('grid', { name: 'Audit events' }).getByRole('row').filter({ hasText: 'vulnerability-scanner' }).first()).toBeVisible();
  await shot(page, 'audit');
  await page.goto('/assets');
  await page.getByRole('row').filter({ hasText: 'web-frontend-1' }).click();
  await expect(page.getByRole('heading', { name: 'web-frontend-1' })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Network' })).toContainText('203.0.113.10');
  await shot(page, 'asset-details', true);
  await page.goto('/cloud-accounts');
  await expect(page.getByText('Production (AWS)')).toBeVisible();
  await expect(page.getByRole('grid', { name: 'Cloud accounts' }).getByText('AWS connector').first()).toBeVisible();
  await shot(page, 'cloud-accounts');
  await page.goto('/credentials');
  await expect(page.getByRole('rowheader', { name: 'AWS connector' })).toBeVisible();
  await shot(page, 'credentials');
  await page.goto('/cves?cve=CVE-2021-44228');
  await expect(page.getByRole('grid', { name: 'Assets affected by CVE-2021-44228' }).getByRole('link').first()).toBeVisible();
  await shot(page, 'cves');
  await page.goto('/reports');
  await expect(page.getByRole('table', { name: 'CVE findings by severity' })).toBeVisible();
  await shot(page, 'reports', true);

  // The API homepage; the list of keys with its filters read as values; the Authorize dialog.
  await page.goto('/docs');
  await expect(page.getByRole('heading', { name: /Tessera API/ })).toBeVisible({ timeout: 30_000 });
  await shot(page, 'api-homepage');
  const keysList = page.locator('.opblock-get:has(.opblock-summary-path[data-path="/api/v1/access-keys"])');
  await keysList.locator('.opblock-summary').first().click();
  await expect(keysList.locator('tr[data-param-name="status"]')).toContainText('Available values');
  await keysList.evaluate((block) => {
    block.scrollIntoView();
    (document.activeElement as HTMLElement | null)?.blur();
  });
  await shot(page, 'api-homepage-operation');
  await keysList.locator('.opblock-summary').first().click();
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.getByRole('button', { name: 'Authorize' }).first().click();
  await expect(page.getByRole('dialog').getByLabel('API access key or user token')).toBeVisible();
  await shot(page, 'api-homepage-authorize');
  await page.keyboard.press('Escape');

  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto('/configuration/api-access-keys');
  await expect(page.getByRole('rowheader', { name: 'terraform-ci' })).toBeVisible();
  await shot(page, 'access-keys-narrow');
  await page.getByRole('button', { name: 'Main menu' }).click();
  await shot(page, 'menu-narrow');
  await page.goto('/docs');
  await expect(page.getByRole('heading', { name: /Tessera API/ })).toBeVisible({ timeout: 30_000 });
  await shot(page, 'api-homepage-narrow');
});
