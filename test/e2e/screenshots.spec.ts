/**
 * `npm run screenshots`: refreshes docs/screenshots/ from a real server with a small seeded
 * inventory. Not part of the suite (it writes into docs/).
 */
import { expect, test, type Page } from '@playwright/test';
import { cli, openAccessKeys, signIn } from './helpers.ts';
import { adminToken, seedInventory } from './seed.ts';

const DIR = 'docs/screenshots';
const shot = (page: Page, name: string) => page.screenshot({ path: `${DIR}/${name}.png` });

test('screenshots of the main pages', async ({ page, request }) => {
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
  await page.screenshot({ path: `${DIR}/asset-details.png`, fullPage: true });
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
  await page.screenshot({ path: `${DIR}/reports.png`, fullPage: true });

  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto('/configuration/api-access-keys');
  await expect(page.getByRole('rowheader', { name: 'terraform-ci' })).toBeVisible();
  await shot(page, 'access-keys-narrow');
  await page.getByRole('button', { name: 'Main menu' }).click();
  await shot(page, 'menu-narrow');
});
