/**
 * The help page of API Access Keys, step by step: add a key with a Custom expiration and two
 * roles, save both values with the copy icons, the details window's close guard, the new key
 * in the list, edit it, remove it.
 */
import { expect, test } from '@playwright/test';
import { BASE_URL, openAccessKeys, signIn, unique } from './helpers.ts';

test.use({ permissions: ['clipboard-read', 'clipboard-write'] });

test.beforeEach(async ({ page }) => {
  await signIn(page);
});

test('add an access key as the help page describes, then edit and remove it', async ({ page }) => {
  // How Do I Get Here? Main Menu > Configuration > API Access Keys
  await openAccessKeys(page);
  const table = page.getByRole('grid', { name: 'API access keys' });
  for (const header of ['Name', 'Role', 'Created', 'Expiration Date', 'Last used', 'Status']) {
    await expect(table.getByRole('columnheader', { name: header, exact: true })).toBeVisible();
  }

  // Every run starts on a new data folder and this is the suite's first test: no keys yet, and
  // the empty table invites the first one.
  await expect(table.getByRole('heading', { name: 'No API access keys yet' })).toBeVisible();
  await expect(table.getByRole('button', { name: 'Add the first access key' })).toBeVisible();

  // 1. Click on Add access key. The Add Access Key window appears.
  await page.getByRole('button', { name: 'Add access key' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add Access Key' });
  await expect(dialog).toBeVisible();

  // Inline validation before anything is entered.
  await dialog.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(dialog.getByText('Enter a name for the access key.')).toBeVisible();
  await expect(dialog.getByText('Select a role.')).toBeVisible();

  // 2. Enter a unique name for the access key.
  const name = unique('ci-pipeline');
  await dialog.getByLabel('Access Key Name').fill(name);

  // 3. Select an expiration period. The default is six months; Custom asks for the days.
  const expiration = dialog.getByRole('button', { name: /Expiration/ });
  await expect(expiration).toContainText('6 months');
  await expiration.click();
  await page.getByRole('option', { name: 'Custom' }).click();
  const days = dialog.getByRole('textbox', { name: 'Days' });
  await days.fill('0');
  await days.blur();
  await dialog.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(dialog.getByText('Enter a whole number of days from 1 to 730.')).toBeVisible();
  await days.fill('45');
  await days.blur();
  const expected = new Date(Date.now() + 45 * 86_400_000).toLocaleDateString('en-GB', { day: '2-digit', month: 'short', year: 'numeric', timeZone: 'UTC' });
  await expect(dialog.getByText(`The key will expire on ${expected}.`)).toBeVisible();

  // 4. Assign a role: Global Viewer, then Add another role: Cloud Account Viewer on All accounts.
  await dialog
    .getByRole('button', { name: /Assigned Role/ })
    .first()
    .click();
  await page.getByRole('option', { name: /Global Viewer/ }).click();
  await dialog.getByRole('button', { name: 'Add another role' }).click();
  await expect(dialog.getByRole('heading', { name: 'Role 2' })).toBeVisible();
  await dialog
    .getByRole('button', { name: /Assigned Role/ })
    .nth(1)
    .click();
  await page.getByRole('option', { name: /Cloud Account Viewer/ }).click();
  // Cloud Account Viewer needs at least one account, or All accounts.
  await dialog.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(dialog.getByText('Select at least one account, or All accounts.')).toBeVisible();
  await expect(dialog.getByText('Select one or more accounts')).toBeVisible();
  await dialog.getByRole('button', { name: /Public Cloud Accounts Access/ }).click();
  await page.getByRole('option', { name: 'All accounts' }).click();
  await page.keyboard.press('Escape');
  await expect(dialog.getByRole('button', { name: /Public Cloud Accounts Access/ })).toContainText('All accounts');

  // 5. Click Add. The access key details window appears.
  await dialog.getByRole('button', { name: 'Add', exact: true }).click();
  const details = page.getByRole('dialog', { name: 'Access Key' });
  await expect(details).toBeVisible();
  await expect(details).toContainText('will not be shown again');
  const token = (await details.getByTestId('new-key-token').textContent())!.trim();
  expect(token.split('.')).toHaveLength(3);

  // The window cannot be closed before both values are saved: not by Escape, not by a click outside, not by ✕.
  await page.keyboard.press('Escape');
  await expect(details).toBeVisible();
  await page.mouse.click(5, 5);
  await expect(details).toBeVisible();
  await expect(details.getByRole('button', { name: 'Close window' })).toBeDisabled();
  await expect(details.getByRole('button', { name: 'Close', exact: true })).toBeDisabled();

  // 6. To save the access key name, click on the copy icon.
  await details.getByRole('button', { name: 'Copy access key name' }).click();
  await expect(details.getByRole('status').filter({ hasText: 'Copied' })).toHaveCount(1);
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(name);
  // 7. To save the JSON web token, click on the copy icon.
  await details.getByRole('button', { name: 'Copy JSON web token' }).click();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(token);

  // The token works against the API at once, with the roles chosen.
  const me = await page.request.get(`${BASE_URL}/api/v1/access-keys`, { headers: { authorization: `Bearer ${token}` } });
  expect(me.status()).toBe(403);

  // 8. Close the access key details window (after saying both values are saved).
  await details.getByText('I have saved the access key name and JSON web token').click();
  await expect(details.getByRole('checkbox', { name: 'I have saved the access key name and JSON web token' })).toBeChecked();
  await expect(details.getByRole('button', { name: 'Close window' })).toBeEnabled();
  await details.getByRole('button', { name: 'Close', exact: true }).click();
  await expect(details).toBeHidden();

  // The newly added key appears in the list, with its roles, dates and status.
  const row = table.getByRole('row').filter({ hasText: name });
  await expect(row).toBeVisible();
  await expect(row).toContainText('Global Viewer');
  await expect(row).toContainText('Cloud Account Viewer (all accounts)');
  await expect(row).toContainText('Never');
  await expect(row).toContainText('Active');

  // A duplicate name is refused by the server (409) and said on the name field.
  await page.getByRole('button', { name: 'Add access key' }).click();
  const again = page.getByRole('dialog', { name: 'Add Access Key' });
  await again.getByLabel('Access Key Name').fill(name.toUpperCase());
  await again.getByRole('button', { name: /Assigned Role/ }).click();
  await page.getByRole('option', { name: /Global Admin/ }).click();
  await again.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(again.getByText('An access key with this name already exists. Choose a unique name.')).toBeVisible();
  // A name only the server refuses (a zero-width space): its field error (body /name) is said on the name field.
  await again.getByLabel('Access Key Name').fill('zero\u200bwidth');
  await again.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(again.getByText('Name must not contain invisible or control characters (it holds U+200B).')).toBeVisible();
  await again.getByRole('button', { name: 'Cancel' }).click();
  await expect(again).toBeHidden();

  // Edit an access key: hover over the key, click the actions button and select Edit access key.
  const actions = row.getByRole('button', { name: `Actions for ${name}` });
  await expect(actions).toHaveCSS('opacity', '0');
  await row.hover();
  await expect(actions).toHaveCSS('opacity', '1');
  await row.getByRole('button', { name: `Actions for ${name}` }).click();
  await page.getByRole('menuitem', { name: 'Edit access key' }).click();
  const edit = page.getByRole('dialog', { name: 'Edit Access Key' });
  await expect(edit.getByLabel('Access Key Name')).toHaveValue(name);
  await expect(edit.getByLabel('Access Key Name')).toHaveAttribute('readonly', '');
  await edit.getByRole('button', { name: 'Remove role 2' }).click();
  await edit.getByRole('button', { name: /Assigned Role/ }).click();
  await page.getByRole('option', { name: /Global Admin/ }).click();
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(edit).toBeHidden();
  await expect(row).toContainText('Global Admin');
  await expect(row).not.toContainText('Cloud Account Viewer');
  // The edit applies to the key's very next request.
  const after = await page.request.get(`${BASE_URL}/api/v1/access-keys`, { headers: { authorization: `Bearer ${token}` } });
  expect(after.status()).toBe(200);

  // Remove an access key: hover over the key, click the actions button and select Remove access key.
  await row.hover();
  await row.getByRole('button', { name: `Actions for ${name}` }).click();
  await page.getByRole('menuitem', { name: 'Remove access key' }).click();
  const confirm = page.getByRole('alertdialog', { name: 'Remove access key' });
  await expect(confirm).toContainText(name);
  await confirm.getByRole('button', { name: 'Remove' }).click();
  await expect(confirm).toBeHidden();
  await expect(table.getByRole('row').filter({ hasText: name })).toHaveCount(0);
  const removed = await page.request.get(`${BASE_URL}/api/v1/access-keys`, { headers: { authorization: `Bearer ${token}` } });
  expect(removed.status()).toBe(401);
});

test('filters, sorting and the keyboard', async ({ page }) => {
  await openAccessKeys(page);
  const prefix = unique('filter');
  for (const [suffix, role] of [
    ['alpha', 'Global Admin'],
    ['beta', 'Global Viewer'],
  ] as const) {
    await page.getByRole('button', { name: 'Add access key' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add Access Key' });
    await dialog.getByLabel('Access Key Name').fill(`${prefix}-${suffix}`);
    await dialog.getByRole('button', { name: /Expiration/ }).click();
    await page.getByRole('option', { name: '7 days' }).click();
    await dialog.getByRole('button', { name: /Assigned Role/ }).click();
    await page.getByRole('option', { name: new RegExp(role) }).click();
    await dialog.getByRole('button', { name: 'Add', exact: true }).click();
    const details = page.getByRole('dialog', { name: 'Access Key' });
    await details.getByText('I have saved the access key name and JSON web token').click();
    await details.getByRole('button', { name: 'Close', exact: true }).click();
  }
  const table = page.getByRole('grid', { name: 'API access keys' });
  const filters = page.getByRole('search', { name: 'Filter access keys' });

  await page.getByRole('searchbox', { name: 'Name' }).fill(prefix);
  await expect(table.getByRole('row')).toHaveCount(3); // header + 2
  // Keys expiring within 30 days are flagged.
  await expect(table.getByRole('row').filter({ hasText: `${prefix}-alpha` })).toContainText(/Expires in 7 days/);

  await filters.getByRole('button', { name: /Role$/ }).click();
  await page.getByRole('option', { name: 'Global Viewer' }).click();
  await expect(table.getByRole('row')).toHaveCount(2);
  await expect(table).toContainText(`${prefix}-beta`);

  await filters.getByRole('button', { name: /Role$/ }).click();
  await page.getByRole('option', { name: 'Any role' }).click();
  await filters.getByRole('button', { name: /Status$/ }).click();
  await page.getByRole('option', { name: 'Expiring within 30 days' }).click();
  await expect(table.getByRole('row')).toHaveCount(3);
  await filters.getByRole('button', { name: /Status$/ }).click();
  await page.getByRole('option', { name: 'Expired' }).click();
  await expect(table.getByText('No access keys match these filters.')).toBeVisible();
  await page.getByRole('button', { name: 'Clear filters' }).click();

  // Sorting by Name, ascending then descending.
  await page.getByRole('searchbox', { name: 'Name' }).fill(prefix);
  await expect(table.getByRole('row')).toHaveCount(3);
  const nameHeader = table.getByRole('columnheader', { name: 'Name' });
  await nameHeader.click();
  await expect(nameHeader).toHaveAttribute('aria-sort', 'ascending');
  await expect(table.getByRole('rowheader').first()).toHaveText(`${prefix}-alpha`);
  await nameHeader.click();
  await expect(nameHeader).toHaveAttribute('aria-sort', 'descending');
  await expect(table.getByRole('rowheader').first()).toHaveText(`${prefix}-beta`);

  // The row actions are reachable from the keyboard: focus a row (a click would open the key's
  // page), then its actions button.
  await table.getByRole('rowheader').first().focus();
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('End');
  await expect(page.getByRole('button', { name: `Actions for ${prefix}-beta` })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('menuitem', { name: 'Edit access key' })).toBeFocused();
  await page.keyboard.press('Escape');

  // Focus stays inside an open dialog.
  await page.getByRole('button', { name: 'Add access key' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add Access Key' });
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press('Tab');
    expect(await dialog.evaluate((el) => el.contains(document.activeElement))).toBe(true);
  }
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
});

test('the console is served with a content security policy and cannot be framed', async ({ page }) => {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) errors.push(message.text());
  });
  const response = await page.goto(`${BASE_URL}/configuration/api-access-keys`);
  const csp = response?.headers()['content-security-policy'] ?? '';
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(response?.headers()['x-frame-options']).toBe('DENY');
  // The page works under the policy: it renders and opens its dialog without a violation.
  await page.getByRole('button', { name: 'Add access key' }).click();
  await expect(page.getByRole('dialog', { name: 'Add Access Key' })).toBeVisible();
  expect(errors).toEqual([]);
});
