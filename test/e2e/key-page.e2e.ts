/**
 * A page per key (issue 18): a row click opens it; it shows the key's facts, the addresses it
 * was used from and its requests (as recorded, flushed every ten seconds), the least roles that
 * would have allowed them, and the Edit window's dry run of changed roles before Save.
 */
import { expect, test } from '@playwright/test';
import { BASE_URL, openAccessKeys, signIn, unique } from './helpers.ts';
import { adminToken, seedInventory } from './seed.ts';

test('a Global Admin key that only read two accounts: its page, its activity, the advice and the dry run', async ({ page }) => {
  const { accounts } = await seedInventory(page.request, adminToken(unique('seeder')));
  const [first, second] = accounts;
  if (first === undefined || second === undefined) throw new Error('the seed makes at least two accounts');
  const name = unique('reader');
  const token = adminToken(name);
  for (const account of [first, second, first]) {
    const read = await page.request.get(`${BASE_URL}/api/v1/cloud-accounts/${account.id}`, { headers: { authorization: `Bearer ${token}` } });
    expect(read.status()).toBe(200);
  }

  await signIn(page);
  await openAccessKeys(page);
  await page.getByRole('searchbox', { name: 'Name' }).fill(name);
  await page.getByRole('grid', { name: 'API access keys' }).getByRole('row').filter({ hasText: name }).getByText(name, { exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
  await expect(page).toHaveURL(/\/configuration\/api-access-keys\/[0-9a-f-]{36}$/);
  const overview = page.getByRole('region', { name: 'Overview' });
  await expect(overview).toContainText('Global Admin');
  await expect(overview).toContainText('cli');
  // The key's actions are the row menu's.
  for (const action of ['Edit', 'Roll', 'Disable', 'Remove']) await expect(page.getByRole('button', { name: action, exact: true })).toBeVisible();

  // Activity is written every ten seconds: reload until it is there.
  await expect(async () => {
    await page.reload();
    await expect(page.getByRole('list', { name: 'Addresses, the latest first' })).toContainText('127.0.0.1', { timeout: 1000 });
  }).toPass({ timeout: 30_000 });
  const activity = page.getByRole('grid', { name: 'Activity' });
  await expect(activity).toContainText('GET /api/v1/cloud-accounts/{id}');
  await expect(activity).not.toContainText(first.id.slice(0, 8) + '/'); // templates, not URLs
  await expect(activity.getByRole('row').filter({ hasText: first.displayName })).toContainText('2');

  const advice = page.getByTestId('key-advice');
  await expect(advice).toContainText('3 successful requests');
  await expect(advice).toContainText('Cloud Account Viewer');
  await expect(advice).toContainText(first.displayName);
  await expect(advice).toContainText(second.displayName);

  // The advice opens the Edit window with its roles; the dry run says nothing would be refused.
  await advice.getByRole('button', { name: 'Use these roles…' }).click();
  const edit = page.getByRole('dialog', { name: 'Edit Access Key' });
  await expect(edit.getByTestId('dry-run')).toContainText('would still be allowed');

  // One account less: the dry run names what would be refused, before Save.
  await edit.getByRole('button', { name: /Public Cloud Accounts Access/ }).click();
  await page.getByRole('option', { name: second.displayName }).click();
  await page.keyboard.press('Escape');
  const dryRun = edit.getByTestId('dry-run');
  await expect(dryRun).toContainText('1 of this key');
  await expect(dryRun.getByRole('list', { name: 'Requests these roles would refuse' })).toContainText(`GET /api/v1/cloud-accounts/{id} on ${second.displayName}`);
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(edit).toBeHidden();
  await expect(page.getByText(`The changes to “${name}” were saved.`)).toBeVisible();
  await expect(overview).toContainText(`Cloud Account Viewer — ${first.displayName}`);
  await expect(overview).not.toContainText('Global Admin');
});
