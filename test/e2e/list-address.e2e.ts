/**
 * Issue 19, "filters and sort kept in the URL": every list keeps its view — filters, typed
 * search, page and rows per page — in the address, so a reload, Back and Forward, and a link
 * opened elsewhere show the same rows. The pages are also checked by axe while filtered.
 */
import { AxeBuilder } from '@axe-core/playwright';
import { expect, type Page, test } from '@playwright/test';
import { BASE_URL, signIn, unique } from './helpers.ts';
import { adminToken, seedInventory } from './seed.ts';

let token: string;

test.beforeAll(async ({ request }) => {
  token = adminToken(unique('list-address'));
  await seedInventory(request, token);
});

test.beforeEach(async ({ page }) => {
  await signIn(page);
});

const menu = (page: Page) => page.getByRole('navigation', { name: 'Main menu' });

async function choose(page: Page, search: string, filter: string, option: string) {
  await page
    .getByRole('search', { name: search })
    .getByRole('button', { name: new RegExp(`${filter}$`) })
    .click();
  await page.getByRole('option', { name: option, exact: true }).click();
}

/** Critical and serious axe findings, as "rule: target" lines. */
async function seriousAxeFindings(page: Page): Promise<string[]> {
  const { violations } = await new AxeBuilder({ page }).analyze();
  return violations.filter((v) => v.impact === 'critical' || v.impact === 'serious').flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(' ')}`));
}

test('assets: filters and the typed name survive a reload, a visit to an asset and Back', async ({ page }) => {
  await menu(page).getByRole('link', { name: 'Assets', exact: true }).click();
  const assets = page.getByRole('grid', { name: 'Assets' });
  await choose(page, 'Filter assets', 'Vendor', 'AWS');
  await choose(page, 'Filter assets', 'Exposure', 'Internet exposed');
  await page.getByRole('searchbox', { name: 'Name' }).fill('web');
  await expect(page).toHaveURL(/[?&]vendor=aws(&|$)/);
  await expect(page).toHaveURL(/[?&]exposure=internet-exposed(&|$)/);
  await expect(page).toHaveURL(/[?&]name=web(&|$)/);
  const shown = ['web-frontend-1', 'web-frontend-2'];
  await expect(assets.getByRole('rowheader')).toHaveText(shown);
  expect(await seriousAxeFindings(page)).toEqual([]);

  await page.reload();
  await expect(page.getByRole('searchbox', { name: 'Name' })).toHaveValue('web');
  await expect(page.getByRole('button', { name: / Vendor$/ })).toContainText('AWS');
  await expect(page.getByRole('button', { name: / Exposure$/ })).toContainText('Internet exposed');
  await expect(assets.getByRole('rowheader')).toHaveText(shown);

  await assets.getByRole('row').filter({ hasText: 'web-frontend-2' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'web-frontend-2' })).toBeVisible();
  await page.goBack();
  await expect(page.getByRole('searchbox', { name: 'Name' })).toHaveValue('web');
  await expect(page.getByRole('button', { name: / Exposure$/ })).toContainText('Internet exposed');
  await expect(assets.getByRole('rowheader')).toHaveText(shown);

  // The "All assets" link of an asset leads back to the same view too.
  await assets.getByRole('row').filter({ hasText: 'web-frontend-1' }).click();
  await page.getByRole('link', { name: '← All assets' }).click();
  await expect(assets.getByRole('rowheader')).toHaveText(shown);

  // A link opened in a fresh page shows the same rows.
  const link = page.url();
  await page.goto('/dashboard');
  await page.goto(link);
  await expect(assets.getByRole('rowheader')).toHaveText(shown);
  // A value the list does not offer is "any", not an error.
  await page.goto('/assets?vendor=oracle&name=orders-db');
  await expect(page.getByRole('button', { name: / Vendor$/ })).toContainText('Any vendor');
  await expect(assets.getByRole('rowheader')).toHaveText(['orders-db-1', 'orders-db-2', 'orders-db-3', 'orders-db-4']);
});

test('users: search and status survive a reload and a round trip through the menu', async ({ page, request }) => {
  const prefix = unique('kept-user');
  for (const n of [1, 2]) {
    const response = await request.post(`${BASE_URL}/api/v1/users`, {
      headers: { authorization: `Bearer ${token}` },
      data: { email: `${prefix}-${n}@tessera.example`, roles: [{ role: 'global-viewer' }] },
    });
    expect(response.status()).toBe(201);
  }
  await menu(page).getByRole('link', { name: 'Users', exact: true }).click();
  const users = page.getByRole('grid', { name: 'Users' });
  await page.getByRole('searchbox', { name: 'Search' }).fill(`${prefix}-2`);
  await choose(page, 'Filter users', 'Status', 'Pending invitation');
  await expect(page).toHaveURL(new RegExp(`[?&]q=${prefix}-2(&|$)`));
  await expect(page).toHaveURL(/[?&]status=pending(&|$)/);
  await expect(users.getByRole('row')).toHaveCount(2);
  await expect(users.getByRole('row').nth(1)).toContainText(`${prefix}-2@tessera.example`);
  expect(await seriousAxeFindings(page)).toEqual([]);

  await page.reload();
  await expect(page.getByRole('searchbox', { name: 'Search' })).toHaveValue(`${prefix}-2`);
  await expect(page.getByRole('button', { name: / Status$/ })).toContainText('Pending invitation');
  await expect(users.getByRole('row')).toHaveCount(2);

  await menu(page).getByRole('link', { name: 'Dashboard', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Dashboard' })).toBeVisible();
  await page.goBack();
  await expect(page.getByRole('searchbox', { name: 'Search' })).toHaveValue(`${prefix}-2`);
  await expect(users.getByRole('row')).toHaveCount(2);
  await expect(users.getByRole('row').nth(1)).toContainText(`${prefix}-2@tessera.example`);

  // Forward and Back again: the box follows the address.
  await page.goForward();
  await expect(page.getByRole('heading', { level: 1, name: 'Dashboard' })).toBeVisible();
  await page.goBack();
  await page.getByRole('searchbox', { name: 'Search' }).fill(prefix);
  await expect(users.getByRole('row')).toHaveCount(3);
});

test('audit: category, action and user survive a reload and Back', async ({ page }) => {
  await menu(page).getByRole('link', { name: 'Audit', exact: true }).click();
  const events = page.getByRole('grid', { name: 'Audit events' });
  await choose(page, 'Filter audit events', 'Category', 'Session');
  await choose(page, 'Filter audit events', 'Action', 'Sign in');
  await page.getByLabel('User', { exact: true }).fill(process.env.E2E_ADMIN_EMAIL!);
  await expect(page).toHaveURL(/[?&]category=session(&|$)/);
  await expect(page).toHaveURL(/[?&]action=sign-in(&|$)/);
  await expect(page).toHaveURL(/[?&]actor=admin%40tessera\.example(&|$)/);
  // The URL changes before the filtered answer arrives: wait until every row is the admin's sign-in.
  const onlyFiltered = async () => {
    await expect(events.getByRole('row').nth(1)).toContainText('Sign in');
    await expect(events.getByRole('row').filter({ hasNotText: 'Sign in' })).toHaveCount(1); // the header
    await expect(events.getByRole('row').filter({ hasNotText: process.env.E2E_ADMIN_EMAIL! })).toHaveCount(1);
  };
  await onlyFiltered();
  const rows = await events.getByRole('row').count();
  expect(await seriousAxeFindings(page)).toEqual([]);

  await page.reload();
  await expect(page.getByRole('button', { name: / Category$/ })).toContainText('Session');
  await expect(page.getByRole('button', { name: / Action$/ })).toContainText('Sign in');
  await expect(page.getByLabel('User', { exact: true })).toHaveValue(process.env.E2E_ADMIN_EMAIL!);
  await onlyFiltered();
  await expect(events.getByRole('row')).toHaveCount(rows);

  await menu(page).getByRole('link', { name: 'Users', exact: true }).click();
  await page.goBack();
  await expect(page.getByRole('button', { name: / Category$/ })).toContainText('Session');
  await expect(events.getByRole('row')).toHaveCount(rows);

  await page.getByRole('button', { name: 'Clear filters' }).click();
  await expect(page).toHaveURL(/\/configuration\/audit$/);
  await expect(page.getByLabel('User', { exact: true })).toHaveValue('');
});

test('pages: the page shown and rows per page survive a reload; Back and Forward turn them', async ({ page, request }) => {
  const prefix = unique('paged');
  for (let n = 0; n < 26; n += 1) {
    const response = await request.post(`${BASE_URL}/api/v1/access-keys`, {
      headers: { authorization: `Bearer ${token}` },
      data: { name: `${prefix}-${String(n).padStart(2, '0')}`, expiration: '7d', roles: [{ role: 'global-viewer' }] },
    });
    expect(response.status()).toBe(201);
  }
  await page.goto('/configuration/api-access-keys');
  const keys = page.getByRole('grid', { name: 'API access keys' });
  await page.getByRole('searchbox', { name: 'Name' }).fill(prefix);
  await page.getByRole('columnheader', { name: 'Name', exact: true }).click();
  await page.getByRole('button', { name: / Rows per page$/ }).click();
  await page.getByRole('option', { name: '25', exact: true }).click();
  await expect(page).toHaveURL(/[?&]size=25(&|$)/);
  await expect(keys.getByRole('rowheader')).toHaveCount(25);
  await expect(keys.getByRole('rowheader').first()).toContainText(`${prefix}-00`);

  await page.getByRole('button', { name: 'Next' }).click();
  await expect(page).toHaveURL(/[?&]after=/);
  await expect(keys.getByRole('rowheader')).toHaveCount(1);
  await expect(keys.getByRole('rowheader')).toContainText(`${prefix}-25`);
  await expect(page.getByText('Keys 26–26')).toBeVisible();

  await page.reload();
  await expect(keys.getByRole('rowheader')).toHaveCount(1);
  await expect(keys.getByRole('rowheader')).toContainText(`${prefix}-25`);
  await expect(page.getByText('Page 2')).toBeVisible();
  await expect(page.getByRole('columnheader', { name: 'Name', exact: true })).toHaveAttribute('aria-sort', 'ascending');

  await page.goBack();
  await expect(keys.getByRole('rowheader')).toHaveCount(25);
  await expect(page.getByText('Page 1')).toBeVisible();
  await page.goForward();
  await expect(keys.getByRole('rowheader')).toHaveCount(1);

  await page.getByRole('button', { name: 'Previous' }).click();
  await expect(keys.getByRole('rowheader')).toHaveCount(25);
  await expect(page).not.toHaveURL(/[?&]after=/);

  // A new filter starts again at the first page, in the same step.
  await page.getByRole('button', { name: 'Next' }).click();
  await expect(page).toHaveURL(/[?&]after=/);
  await page.getByRole('columnheader', { name: 'Name', exact: true }).click();
  await expect(page).not.toHaveURL(/[?&]after=/);
  await expect(keys.getByRole('rowheader').first()).toContainText(`${prefix}-25`);
});
