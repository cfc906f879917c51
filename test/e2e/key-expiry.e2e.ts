/**
 * Keys about to expire: the API Access Keys page's banner names those expiring within 7 days and
 * filters the list to them in one click; the dashboard counts them and links to that list.
 */
import { expect, test } from '@playwright/test';
import { cli, openAccessKeys, signIn, unique } from './helpers.ts';

test('the banner names keys expiring within 7 days and filters to them; the dashboard counts them', async ({ page }) => {
  const soon = [unique('expires-in-2-days'), unique('expires-in-5-days')];
  const later = unique('expires-in-60-days');
  cli(['keys', 'create', '--name', soon[0]!, '--role', 'global-viewer', '--days', '2']);
  cli(['keys', 'create', '--name', soon[1]!, '--role', 'global-viewer', '--days', '5']);
  cli(['keys', 'create', '--name', later, '--role', 'global-viewer', '--days', '60']);

  await signIn(page);
  await openAccessKeys(page);
  const banner = page.getByRole('status').filter({ hasText: 'expire within 7 days' });
  await expect(banner).toBeVisible();
  for (const name of soon) await expect(banner).toContainText(name);
  await expect(banner).not.toContainText(later);

  const table = page.getByRole('grid', { name: 'API access keys' });
  await expect(table.getByRole('rowheader', { name: later })).toBeVisible();
  await banner.getByRole('button', { name: 'Show keys expiring within 7 days' }).click();
  for (const name of soon) await expect(table.getByRole('rowheader', { name })).toBeVisible();
  await expect(table.getByRole('rowheader', { name: later })).toHaveCount(0);
  await expect(page.getByRole('search', { name: 'Filter access keys' }).getByRole('button', { name: /Status$/ })).toContainText('Expiring within 7 days');
  // Applied, the button has done its work.
  await expect(banner.getByRole('button', { name: 'Show keys expiring within 7 days' })).toHaveCount(0);

  await page.getByRole('navigation', { name: 'Main menu' }).getByRole('link', { name: 'Dashboard' }).click();
  const count = page.getByRole('link', { name: /access keys expiring within 7 days: show them/ });
  await expect(count).toBeVisible();
  expect(Number((await count.textContent())?.replace(/\D/g, ''))).toBeGreaterThanOrEqual(2);
  await count.click();
  await expect(page.getByRole('heading', { level: 1, name: 'API Access Keys' })).toBeVisible();
  for (const name of soon) await expect(table.getByRole('rowheader', { name })).toBeVisible();
  await expect(table.getByRole('rowheader', { name: later })).toHaveCount(0);
});
