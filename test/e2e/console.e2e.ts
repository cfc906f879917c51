/**
 * Issue 19, the console: what cannot be recovered is guarded, focus lands where the user is,
 * tips open on a tap, the Days field takes only whole numbers, the pages people look for are in
 * the menu, filters live in the address, and a generated password is asked to be changed.
 * Runs after access-keys.e2e.ts and before inventory.e2e.ts seeds accounts (files run in order).
 */
import { AxeBuilder } from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { ADMIN, cli, openAccessKeys, signIn, unique } from './helpers.ts';
import { adminToken, seedInventory } from './seed.ts';

async function openAddWindow(page: Page) {
  await openAccessKeys(page);
  await page.getByRole('button', { name: 'Add access key' }).click();
  return page.getByRole('dialog', { name: 'Add Access Key' });
}

async function chooseRole(page: Page, index: number, role: RegExp) {
  await page
    .getByRole('dialog')
    .getByRole('button', { name: /Assigned Role/ })
    .nth(index)
    .click();
  await page.getByRole('option', { name: role }).click();
}

async function addKey(page: Page, name: string) {
  const dialog = await openAddWindow(page);
  await dialog.getByLabel('Access Key Name').fill(name);
  await chooseRole(page, 0, /Global Viewer/);
  await dialog.getByRole('button', { name: 'Add', exact: true }).click();
  return page.getByRole('dialog', { name: 'Access Key' });
}

test.describe('signed in as the first Global Admin', () => {
  test.beforeEach(async ({ page }) => {
    await signIn(page);
  });

  test('before any cloud account, the inventory pages say what to do next', async ({ page }) => {
    const menu = page.getByRole('navigation', { name: 'Main menu' });
    for (const [link, heading] of [
      ['Dashboard', 'Dashboard'],
      ['CVEs', 'CVEs'],
      ['Reports', 'Reports'],
    ] as const) {
      await menu.getByRole('link', { name: link, exact: true }).click();
      await expect(page.getByRole('heading', { level: 1, name: heading })).toBeVisible();
      const empty = page.getByTestId('empty-state');
      await expect(empty).toContainText('npx tessera demo');
      await expect(empty.getByRole('link', { name: 'Add a cloud account' })).toHaveAttribute('href', '/cloud-accounts');
    }
    await menu.getByRole('link', { name: 'Credentials', exact: true }).click();
    await expect(page.getByRole('heading', { name: 'No credentials yet' })).toBeVisible();
    await expect(page.getByTestId('empty-state').getByRole('button', { name: 'Add credential' })).toBeVisible();
  });

  test("the browser's Back button cannot close the token window before the box is ticked", async ({ page }) => {
    await page.goto('/dashboard');
    const details = await addKey(page, unique('back-guard'));
    await expect(details.getByTestId('new-key-token')).toBeVisible();

    await page.goBack();
    // Still here, token and all, with the question asked.
    await expect(page).toHaveURL(/\/configuration\/api-access-keys$/);
    await expect(details.getByTestId('new-key-token')).toBeVisible();
    await expect(details.getByText('Leaving this page now loses the JSON web token for good')).toBeVisible();
    await details.getByRole('button', { name: 'Stay on this page' }).click();
    await expect(details.getByText('Leaving this page now loses')).toHaveCount(0);
    await expect(page).toHaveURL(/\/configuration\/api-access-keys$/);

    // Asked again, the user may choose to leave.
    await page.goBack();
    await details.getByRole('button', { name: 'Leave without the token' }).click();
    await expect(page).toHaveURL(/\/dashboard$/);
    await expect(page.getByRole('dialog', { name: 'Access Key' })).toHaveCount(0);
  });

  test('once the box is ticked, Back leaves freely', async ({ page }) => {
    await page.goto('/dashboard');
    const details = await addKey(page, unique('back-free'));
    await details.getByText('I have saved the access key name and JSON web token').click();
    await page.goBack();
    await expect(page).toHaveURL(/\/dashboard$/);
  });

  test('focus: to the refused field, back to "Add access key", Cancel first in Remove', async ({ page }) => {
    const name = unique('focus');
    const details = await addKey(page, name);
    await details.getByText('I have saved the access key name and JSON web token').click();
    await details.getByRole('button', { name: 'Close', exact: true }).click();
    await expect(page.getByRole('button', { name: 'Add access key' })).toBeFocused();

    // The server refuses the same name again: focus goes to the name field, not to <body>.
    const dialog = await openAddWindow(page);
    await dialog.getByLabel('Access Key Name').fill(name);
    await chooseRole(page, 0, /Global Viewer/);
    await dialog.getByRole('button', { name: 'Add', exact: true }).click();
    await expect(dialog.getByText('An access key with this name already exists.')).toBeVisible();
    await expect(dialog.getByLabel('Access Key Name')).toBeFocused();
    await dialog.getByRole('button', { name: 'Cancel' }).click();

    await page.getByRole('searchbox', { name: 'Name' }).fill(name);
    await page.getByRole('button', { name: `Actions for ${name}` }).click();
    await page.getByRole('menuitem', { name: 'Remove access key' }).click();
    const confirm = page.getByRole('alertdialog', { name: 'Remove access key' });
    await expect(confirm.getByRole('button', { name: 'Cancel' })).toBeFocused();
    // Enter on the first focus keeps the key.
    await page.keyboard.press('Enter');
    await expect(confirm).toHaveCount(0);
    await expect(page.getByRole('grid', { name: 'API access keys' }).getByRole('rowheader', { name })).toBeVisible();
  });

  test('Days refuses decimals and hides the date while invalid', async ({ page }) => {
    const dialog = await openAddWindow(page);
    await dialog.getByRole('button', { name: /Expiration/ }).click();
    await page.getByRole('option', { name: 'Custom' }).click();
    const days = dialog.getByRole('textbox', { name: 'Days' });
    await days.fill('1.5');
    await expect(days).toHaveValue('1.5');
    await expect(dialog.getByText(/The key will expire on/)).toHaveCount(0);
    await dialog.getByLabel('Access Key Name').fill(unique('days'));
    await chooseRole(page, 0, /Global Viewer/);
    await dialog.getByRole('button', { name: 'Add', exact: true }).click();
    await expect(dialog.getByText('Enter a whole number of days from 1 to 730.')).toBeVisible();
    // Out of range: the error, and no date decades away under it.
    await days.fill('9000');
    await expect(dialog.getByText('Enter a whole number of days from 1 to 730.')).toBeVisible();
    await expect(dialog.getByText(/The key will expire on/)).toHaveCount(0);
    await days.fill('15');
    const expected = new Date(Date.now() + 15 * 86_400_000).toLocaleDateString('en-GB', { day: '2-digit', month: 'short', year: 'numeric', timeZone: 'UTC' });
    await expect(dialog.getByText(`The key will expire on ${expected}.`)).toBeVisible();
    await expect(dialog.getByText('Enter a whole number of days')).toHaveCount(0);
  });

  test('a role chosen in one block is not offered in the next', async ({ page }) => {
    const dialog = await openAddWindow(page);
    await chooseRole(page, 0, /Global Viewer/);
    await dialog.getByRole('button', { name: 'Add another role' }).click();
    await dialog
      .getByRole('button', { name: /Assigned Role/ })
      .nth(1)
      .click();
    await expect(page.getByRole('option', { name: /Global Admin/ })).toBeVisible();
    await expect(page.getByRole('option', { name: /Global Viewer/ })).toHaveCount(0);
    await page.getByRole('option', { name: /Global Admin/ }).click();
    await dialog.getByRole('button', { name: 'Add another role' }).click();
    await dialog
      .getByRole('button', { name: /Assigned Role/ })
      .nth(2)
      .click();
    await expect(page.getByRole('option')).toHaveText([/Cloud Account Viewer/]);
    await page.getByRole('option', { name: /Cloud Account Viewer/ }).click();
    // Every role is held: there is none left to add.
    await expect(dialog.getByRole('button', { name: 'Add another role' })).toBeDisabled();
  });

  test('filters and sort of the access key list are kept in the address', async ({ page }) => {
    const name = unique('kept');
    cli(['keys', 'create', '--name', name, '--role', 'global-viewer', '--expires', '7d', '--json']);
    await openAccessKeys(page);
    await page.getByRole('searchbox', { name: 'Name' }).fill(name);
    await page.getByRole('button', { name: / Role$/ }).click();
    await page.getByRole('option', { name: 'Global Viewer' }).click();
    await page.getByRole('columnheader', { name: 'Name', exact: true }).click();
    await expect(page).toHaveURL(new RegExp(`name=${name}`));
    await expect(page).toHaveURL(/role=global-viewer/);
    await expect(page).toHaveURL(/sort=name&order=asc/);

    await page.reload();
    await expect(page.getByRole('searchbox', { name: 'Name' })).toHaveValue(name);
    await expect(page.getByRole('button', { name: / Role$/ })).toContainText('Global Viewer');
    await expect(page.getByRole('columnheader', { name: 'Name', exact: true })).toHaveAttribute('aria-sort', 'ascending');
    await expect(page.getByRole('grid', { name: 'API access keys' }).getByRole('rowheader')).toHaveText([name]);
  });

  test('the account button is named by what it shows, and the page has one title', async ({ page }) => {
    await expect(page.getByRole('button', { name: 'Administrator', exact: true })).toBeVisible();
    expect(await page.locator('title').count()).toBe(1);
    await page.goto('/sign-in');
    expect(await page.locator('title').count()).toBe(1);
  });

  test('on a phone the account menu and Change password are in reach', async ({ page }) => {
    await page.setViewportSize({ width: 390, height: 800 });
    const account = page.getByRole('button', { name: 'Administrator', exact: true });
    await expect(account).toBeVisible();
    await account.click();
    await page.getByRole('menuitem', { name: 'Change password' }).click();
    await expect(page.getByRole('dialog', { name: 'Change Password' })).toBeVisible();
    await page.keyboard.press('Escape');
    await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
  });

  test('secondary text meets 4.5:1 contrast', async ({ page }) => {
    await openAccessKeys(page);
    await page.getByRole('button', { name: 'Add access key' }).click();
    await expect(page.getByRole('dialog', { name: 'Add Access Key' })).toBeVisible();
    const result = await new AxeBuilder({ page }).withRules(['color-contrast']).analyze();
    expect(result.violations.flatMap((v) => v.nodes.map((n) => n.target.join(' ')))).toEqual([]);
  });

  test('CVEs: the assets a CVE affects, from the address; Reports and Credentials', async ({ page, request }) => {
    await seedInventory(request, adminToken(unique('cve-seed')));
    await page.goto('/cves');
    await expect(page.getByRole('heading', { level: 1, name: 'CVEs' })).toBeVisible();
    await page.getByLabel('CVE ID').fill('cve-2021-44228');
    await page.getByRole('button', { name: 'Show affected assets' }).click();
    await expect(page).toHaveURL(/cve=CVE-2021-44228/);
    const table = page.getByRole('grid', { name: 'Assets affected by CVE-2021-44228' });
    await expect(table.getByRole('row')).not.toHaveCount(1);
    await page.getByLabel('CVE ID').fill('log4j');
    await page.getByRole('button', { name: 'Show affected assets' }).click();
    await expect(page.getByText('Enter a CVE id such as CVE-2021-44228.')).toBeVisible();
    await page.goto('/cves?cve=CVE-1999-0001');
    await expect(page.getByText('No asset you may see has CVE-1999-0001.')).toBeVisible();

    await page.getByRole('navigation', { name: 'Main menu' }).getByRole('link', { name: 'Reports' }).click();
    await expect(page.getByRole('table', { name: 'CVE findings by severity' })).toBeVisible();
    await page.getByRole('navigation', { name: 'Main menu' }).getByRole('link', { name: 'Credentials' }).click();
    await page.getByRole('button', { name: / Vendor$/ }).click();
    await page.getByRole('option', { name: 'AWS' }).click();
    await expect(page).toHaveURL(/vendor=aws/);
    await expect(page.getByRole('grid', { name: 'Credentials' }).getByRole('rowheader', { name: 'AWS connector' })).toBeVisible();
  });
});

test('an ⓘ tip opens on a tap', async ({ browser }) => {
  const context = await browser.newContext({ hasTouch: true, isMobile: true, viewport: { width: 390, height: 800 } });
  const page = await context.newPage();
  // On a phone the main menu is folded away; the page itself says the sign-in worked.
  await page.goto('/sign-in');
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).tap();
  await expect(page.getByRole('button', { name: 'Main menu' })).toBeVisible();
  await page.goto('/configuration/api-access-keys');
  await page.getByRole('button', { name: 'Add access key' }).tap();
  await page
    .getByRole('dialog')
    .getByRole('button', { name: /Assigned Role/ })
    .tap();
  await page.getByRole('option', { name: /Global Viewer/ }).tap();
  await page.getByRole('button', { name: 'What Global Viewer grants' }).tap();
  await expect(page.getByRole('tooltip')).toContainText('View-only access to all functions');
  await context.close();
});

test('a user signed in with a generated password is asked to change it', async ({ page }) => {
  const email = `${unique('generated')}@tessera.example`;
  const created = JSON.parse(cli(['users', 'create', '--email', email, '--role', 'global-viewer', '--json'])) as { password: string; passwordGenerated: boolean };
  expect(created.passwordGenerated).toBe(true);
  await signIn(page, email, created.password);
  const prompt = page.getByTestId('generated-password-prompt');
  await expect(prompt).toContainText('password Tessera generated');
  await prompt.getByRole('button', { name: 'Change password' }).click();
  const dialog = page.getByRole('dialog', { name: 'Change Password' });
  await dialog.getByLabel('Current password').fill(created.password);
  await dialog.getByLabel('New password', { exact: true }).fill('my-own-password-0123');
  await dialog.getByLabel('Repeat new password').fill('my-own-password-0123');
  await dialog.getByRole('button', { name: 'Change password' }).click();
  await expect(dialog.getByText('Your password was changed.')).toBeVisible();
  await dialog.getByRole('button', { name: 'Close', exact: true }).click();
  await expect(prompt).toHaveCount(0);
  // The server remembers: after a reload the prompt stays away.
  await page.reload();
  await expect(page.getByRole('navigation', { name: 'Main menu' })).toBeVisible();
  await expect(page.getByTestId('generated-password-prompt')).toHaveCount(0);
});
