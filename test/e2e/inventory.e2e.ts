/**
 * The console's other functions over a small inventory fed through the public API: the
 * dashboard's counts, cloud accounts with their credentials, assets with their details, the
 * policy, and a key granted on chosen accounts, shown by their names.
 */
import { expect, test } from '@playwright/test';
import { openAccessKeys, signIn, unique } from './helpers.ts';
import { adminToken, seedInventory } from './seed.ts';

test.beforeAll(async ({ request }) => {
  await seedInventory(request, adminToken(unique('connector')));
});

test.beforeEach(async ({ page }) => {
  await signIn(page);
});

test('dashboard counts, cloud accounts and credentials', async ({ page }) => {
  await page.goto('/dashboard');
  const cards = page.getByRole('main').locator('.cards');
  await expect(cards.getByText('Cloud accounts', { exact: true }).locator('..')).toContainText('4');
  await expect(cards.getByText('Assets', { exact: true }).locator('..')).toContainText('16');

  await page.getByRole('navigation', { name: 'Main menu' }).getByRole('link', { name: 'Cloud Accounts' }).click();
  const accounts = page.getByRole('grid', { name: 'Cloud accounts' });
  // Credential names, once the credentials have loaded (a regression: rows are cached by the table).
  await expect(accounts.getByRole('row').filter({ hasText: 'Production (AWS)' })).toContainText('AWS connector');
  await expect(accounts.getByRole('row').filter({ hasText: 'Corporate IT (Azure)' })).toContainText('None');
  await expect(page.getByRole('grid', { name: 'Credentials' })).toContainText('accessKeyId, secretAccessKey');

  await page
    .getByRole('search', { name: 'Filter cloud accounts' })
    .getByRole('button', { name: /Vendor$/ })
    .click();
  await page.getByRole('option', { name: 'Google Cloud' }).click();
  await expect(accounts.getByRole('row')).toHaveCount(2);
  await expect(accounts).toContainText('Data platform (GCP)');
});

test('assets: filters and one asset with its CVEs and network', async ({ page }) => {
  await page.goto('/assets');
  const assets = page.getByRole('grid', { name: 'Assets' });
  await page
    .getByRole('search', { name: 'Filter assets' })
    .getByRole('button', { name: /Exposure$/ })
    .click();
  await page.getByRole('option', { name: 'Internet exposed' }).click();
  await expect(assets.getByRole('row')).toHaveCount(6); // header + 4 web front ends + 1 public bucket
  await assets.getByRole('row').filter({ hasText: 'web-frontend-1' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'web-frontend-1' })).toBeVisible();
  const cves = page.getByRole('grid', { name: 'CVEs' });
  await expect(cves.getByRole('row').nth(1)).toContainText('CVE-2021-44228');
  await expect(cves).toContainText('critical');
  await expect(page.getByRole('region', { name: 'Network' })).toContainText('203.0.113.10');
  await expect(page.getByRole('list', { name: 'Tags' })).toContainText('team:web');
});

test('policy: a Global Admin adds a rule', async ({ page }) => {
  await page.goto('/policy');
  const rules = page.getByRole('grid', { name: 'Policy rules' });
  await expect(rules.getByRole('row')).toHaveCount(4);
  const name = unique('Deny RDP');
  await page.getByRole('button', { name: 'Add rule' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add Rule' });
  await dialog.getByLabel('Name').fill(name);
  await dialog.getByLabel('Ports').fill('3389');
  await dialog.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(dialog).toBeHidden();
  await expect(rules.getByRole('row').filter({ hasText: name })).toContainText('3389');
  await expect(rules.getByRole('row')).toHaveCount(5);
});

test('a key granted on chosen accounts lists them by name', async ({ page }) => {
  await openAccessKeys(page);
  const name = unique('two-accounts');
  await page.getByRole('button', { name: 'Add access key' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add Access Key' });
  await dialog.getByLabel('Access Key Name').fill(name);
  await dialog.getByRole('button', { name: /Assigned Role/ }).click();
  await page.getByRole('option', { name: /Cloud Account Viewer/ }).click();
  await dialog.getByRole('button', { name: /Public Cloud Accounts Access/ }).click();
  await page.getByRole('option', { name: 'Production (AWS)' }).click();
  await page.getByRole('option', { name: 'Data platform (GCP)' }).click();
  await page.keyboard.press('Escape');
  await dialog.getByRole('button', { name: 'Add', exact: true }).click();
  const details = page.getByRole('dialog', { name: 'Access Key' });
  await details.getByText('I have saved the access key name and JSON web token').click();
  await details.getByRole('button', { name: 'Close', exact: true }).click();
  await expect(page.getByRole('row').filter({ hasText: name })).toContainText('Cloud Account Viewer (Data platform (GCP), Production (AWS))');
});
