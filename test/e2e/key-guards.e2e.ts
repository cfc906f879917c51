/**
 * A key's network allowlist and rate limit in the console (issue 18): set in the Add window,
 * changed and cleared in the Edit window, each field's error shown beside it.
 */
import { expect, test, type Page } from '@playwright/test';
import { BASE_URL, openAccessKeys, signIn, unique } from './helpers.ts';

test.beforeEach(async ({ page }) => {
  await signIn(page);
});

/** The browser's requests reach the server from 127.0.0.1. */
const useToken = async (page: Page, token: string) => {
  const res = await page.request.get(`${BASE_URL}/api/v1/access-keys?limit=1`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status(), code: res.status() >= 400 ? ((await res.json()) as { code: string }).code : undefined, headers: res.headers() };
};

async function openEdit(page: Page, name: string) {
  const row = page.getByRole('grid', { name: 'API access keys' }).getByRole('row').filter({ hasText: name });
  await row.hover();
  await row.getByRole('button', { name: `Actions for ${name}` }).click();
  await page.getByRole('menuitem', { name: 'Edit access key' }).click();
  return page.getByRole('dialog', { name: 'Edit Access Key' });
}

test('an allowlist and a rate limit set in the Add window, changed and cleared in the Edit window', async ({ page }) => {
  await openAccessKeys(page);
  const name = unique('guarded');
  await page.getByRole('button', { name: 'Add access key' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add Access Key' });
  await dialog.getByLabel('Access Key Name').fill(name);
  await dialog.getByRole('button', { name: /Assigned Role/ }).click();
  await page.getByRole('option', { name: /Global Admin/ }).click();
  const allowlist = dialog.getByLabel('Allowed networks (optional)');
  // The server names the bad entry; the window says which one.
  await allowlist.fill('203.0.113.0/24, 10.0.0.0/33');
  await dialog.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(dialog.getByText('“10.0.0.0/33” is not an IPv4 or IPv6 address or CIDR range.')).toBeVisible();
  await allowlist.fill('203.0.113.0/24');
  await dialog.getByText('Limit the request rate').click();
  const requests = dialog.getByRole('textbox', { name: 'Requests' });
  await requests.fill('0');
  await requests.blur();
  await dialog.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(dialog.getByText('Enter a whole number from 1 to 1000000.')).toBeVisible();
  await requests.fill('2');
  await requests.blur();
  const perSeconds = dialog.getByRole('textbox', { name: 'Per seconds' });
  await perSeconds.fill('3600');
  await perSeconds.blur();
  await dialog.getByRole('button', { name: 'Add', exact: true }).click();
  const details = page.getByRole('dialog', { name: 'Access Key' });
  const token = (await details.getByTestId('new-key-token').textContent())!.trim();
  await details.getByText('I have saved the access key name and JSON web token').click();
  await details.getByRole('button', { name: 'Close', exact: true }).click();

  // From 127.0.0.1, outside the allowlist.
  expect(await useToken(page, token)).toMatchObject({ status: 403, code: 'ip_not_allowed' });

  const edit = await openEdit(page, name);
  await expect(edit.getByLabel('Allowed networks (optional)')).toHaveValue('203.0.113.0/24');
  await expect(edit.getByRole('textbox', { name: 'Requests' })).toHaveValue('2');
  await expect(edit.getByRole('textbox', { name: 'Per seconds' })).toHaveValue('3600');
  await edit.getByLabel('Allowed networks (optional)').fill('203.0.113.0/24, 127.0.0.1');
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(edit).toBeHidden();
  const first = await useToken(page, token);
  expect(first).toMatchObject({ status: 200, headers: { 'ratelimit-limit': '2', 'ratelimit-remaining': '1' } });
  expect((await useToken(page, token)).status).toBe(200);
  const limited = await useToken(page, token);
  expect(limited).toMatchObject({ status: 429, code: 'rate_limited' });
  expect(Number(limited.headers['retry-after'])).toBeGreaterThan(3500);

  // The key's own page shows both.
  await page
    .getByRole('row', { name: new RegExp(name) })
    .getByRole('gridcell')
    .first()
    .click();
  await expect(page.getByTestId('key-allowlist')).toHaveText(/203\.0\.113\.0\/24\s+127\.0\.0\.1/);
  await expect(page.getByTestId('key-rate-limit')).toHaveText('2 requests per 3600 seconds');
  await page.goBack();

  // Cleared: any address, no limit.
  const clear = await openEdit(page, name);
  await clear.getByLabel('Allowed networks (optional)').fill('');
  await clear.getByText('Limit the request rate').click();
  await expect(clear.getByRole('textbox', { name: 'Requests' })).toHaveCount(0);
  await clear.getByRole('button', { name: 'Save' }).click();
  await expect(clear).toBeHidden();
  const free = await useToken(page, token);
  expect(free.status).toBe(200);
  expect(free.headers['ratelimit-limit']).toBeUndefined();
});
