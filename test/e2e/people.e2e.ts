/**
 * People in the console: the role-based menu, sign-in and sign-out, invitations from the
 * invite to the first sign-in, and the audit table that records it all.
 */
import { expect, test, type Page } from '@playwright/test';
import { ADMIN, cli, signIn, unique } from './helpers.ts';

test.use({ permissions: ['clipboard-read', 'clipboard-write'] });

const menu = (page: Page) => page.getByRole('navigation', { name: 'Main menu' });

async function signOut(page: Page) {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
}

test('a wrong password is refused with a readable message', async ({ page }) => {
  await page.goto('/');
  await expect(page).toHaveURL(/\/sign-in$/);
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password').fill('not-the-password-at-all');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('The email or password is wrong.');
});

test('a Global Viewer sees only the functions its role can use', async ({ page }) => {
  const email = `${unique('viewer')}@tessera.example`;
  cli(['users', 'create', '--email', email, '--role', 'global-viewer', '--password-stdin'], 'viewer-password-0123\n');
  await signIn(page, email, 'viewer-password-0123');

  const links = menu(page).getByRole('link');
  await expect(links).toHaveText(['Dashboard', 'Cloud Accounts', 'Credentials', 'Assets', 'CVEs', 'Policy', 'Reports', /API homepage/]);
  await expect(menu(page).getByText('Configuration')).toHaveCount(0);
  await expect(page.getByRole('heading', { level: 1, name: 'Dashboard' })).toBeVisible();

  // Reading is allowed, changing is not offered.
  await menu(page).getByRole('link', { name: 'Policy' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Policy' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Add rule' })).toHaveCount(0);
  await menu(page).getByRole('link', { name: 'Cloud Accounts' }).click();
  await expect(page.getByRole('button', { name: 'Add cloud account' })).toHaveCount(0);

  // A page outside its roles, opened by address, says so (and the API refuses it anyway).
  await page.goto('/configuration/api-access-keys');
  await expect(page.getByRole('heading', { level: 1, name: 'Not available' })).toBeVisible();
  const refused = await page.request.get('/api/v1/access-keys');
  expect(refused.status()).toBe(403);

  await signOut(page);
  await page.goto('/dashboard');
  await expect(page).toHaveURL(/\/sign-in$/);
});

test('a Cloud Account Viewer sees accounts, assets, CVEs, reports and the dashboard only', async ({ page }) => {
  const email = `${unique('cav')}@tessera.example`;
  cli(['users', 'create', '--email', email, '--role', 'cloud-account-viewer:all', '--password-stdin'], 'account-viewer-0123\n');
  await signIn(page, email, 'account-viewer-0123');
  await expect(menu(page).getByRole('link')).toHaveText(['Dashboard', 'Cloud Accounts', 'Assets', 'CVEs', 'Reports', /API homepage/]);
});

test('invite a user, who accepts the invitation and signs in', async ({ page, browser }) => {
  await signIn(page);
  await menu(page).getByRole('link', { name: 'Users' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Users' })).toBeVisible();
  // The primary user is marked.
  const primary = page.getByRole('row').filter({ hasText: ADMIN.email });
  await expect(primary).toContainText('Primary');
  // …and protected: it can be edited, never deleted.
  await primary.hover();
  await primary.getByRole('button', { name: `Actions for ${ADMIN.email}` }).click();
  await expect(page.getByRole('menuitem', { name: 'Edit user' })).toBeVisible();
  await expect(page.getByRole('menuitem', { name: 'Delete user' })).toHaveCount(0);
  await page.keyboard.press('Escape');

  const email = `${unique('invitee')}@tessera.example`;
  await page.getByRole('button', { name: 'Invite user' }).click();
  const dialog = page.getByRole('dialog', { name: 'Invite User' });
  await dialog.getByLabel('Email').fill(email);
  await dialog.getByLabel('Display name').fill('Ivy Invitee');
  await dialog.getByRole('button', { name: /Assigned Role/ }).click();
  await page.getByRole('option', { name: /Global Viewer/ }).click();
  await dialog.getByRole('button', { name: 'Invite' }).click();

  const link = page.getByRole('dialog', { name: 'Invitation Link' });
  await expect(link).toContainText(email);
  const first = (await link.getByTestId('invitation-url').textContent())!.trim();
  expect(first).toMatch(/\/invite\/[^/]+$/);
  await link.getByRole('button', { name: 'Copy invitation link' }).click();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(first);
  await link.getByRole('button', { name: 'Close', exact: true }).click();

  const row = page.getByRole('row').filter({ hasText: email });
  await expect(row).toContainText('Pending');

  // A new link kills the old one.
  await row.hover();
  await row.getByRole('button', { name: `Actions for ${email}` }).click();
  await page.getByRole('menuitem', { name: 'New invitation link' }).click();
  const again = page.getByRole('dialog', { name: 'Invitation Link' });
  await expect(again).toContainText('the previous link no longer works');
  const second = (await again.getByTestId('invitation-url').textContent())!.trim();
  expect(second).not.toBe(first);
  await again.getByRole('button', { name: 'Close', exact: true }).click();

  // The invited person, in their own browser.
  const theirs = await browser.newContext();
  const invitee = await theirs.newPage();
  await invitee.goto(new URL(first).pathname);
  await expect(invitee.getByRole('alert')).toContainText('invalid, has already been used, or has expired');
  await expect(invitee.getByRole('button', { name: 'Set password' })).toHaveCount(0);

  await invitee.goto(new URL(second).pathname);
  await expect(invitee.getByText(`You sign in as ${email}`)).toBeVisible();
  await invitee.getByLabel('New password').fill('short');
  await invitee.getByLabel('Repeat password').fill('different');
  await invitee.getByRole('button', { name: 'Set password' }).click();
  await expect(invitee.getByText('Use at least 12 characters.')).toBeVisible();
  await expect(invitee.getByText('The passwords do not match.')).toBeVisible();
  await invitee.getByLabel('New password').fill('ivy-password-0123');
  await invitee.getByLabel('Repeat password').fill('ivy-password-0123');
  await invitee.getByRole('button', { name: 'Set password' }).click();
  await expect(invitee.getByText('Your account is ready.')).toBeVisible();
  await invitee.getByRole('link', { name: 'Go to sign in' }).click();
  await signIn(invitee, email, 'ivy-password-0123');
  await expect(invitee.getByRole('banner')).toContainText('Ivy Invitee');
  await expect(menu(invitee).getByRole('link', { name: 'Users' })).toHaveCount(0);
  await theirs.close();

  await page.reload();
  await expect(page.getByRole('row').filter({ hasText: email })).toContainText('Active');

  // Edit the user's roles, then delete the user.
  await row.hover();
  await row.getByRole('button', { name: `Actions for ${email}` }).click();
  await page.getByRole('menuitem', { name: 'Edit user' }).click();
  const edit = page.getByRole('dialog', { name: 'Edit User' });
  await expect(edit.getByLabel('Email')).toHaveAttribute('readonly', '');
  await edit.getByRole('button', { name: /Assigned Role/ }).click();
  await page.getByRole('option', { name: /Cloud Account Viewer/ }).click();
  await edit.getByRole('button', { name: /Public Cloud Accounts Access/ }).click();
  await page.getByRole('option', { name: 'All accounts' }).click();
  await page.keyboard.press('Escape');
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(edit).toBeHidden();
  await expect(row).toContainText('Cloud Account Viewer (all accounts)');

  await row.hover();
  await row.getByRole('button', { name: `Actions for ${email}` }).click();
  await page.getByRole('menuitem', { name: 'Delete user' }).click();
  await page.getByRole('alertdialog', { name: 'Delete user' }).getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByRole('row').filter({ hasText: email })).toHaveCount(0);
});

test('the audit table records changes and opens their detail', async ({ page }) => {
  const name = unique('audited');
  cli(['keys', 'create', '--name', name, '--role', 'global-viewer']);
  await signIn(page);
  await menu(page).getByRole('link', { name: 'Audit' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Audit' })).toBeVisible();
  const table = page.getByRole('grid', { name: 'Audit events' });
  for (const header of ['Time Stamp', 'User', 'Category', 'Resource', 'Action', 'User IP']) {
    await expect(table.getByRole('columnheader', { name: header, exact: true })).toBeVisible();
  }
  // This sign-in is there, with the user and the address it came from.
  const signInRow = table.getByRole('row').filter({ hasText: ADMIN.email }).filter({ hasText: 'Sign in' }).first();
  await expect(signInRow).toContainText('127.0.0.1');

  // Filter by category, then open the key's event.
  await page
    .getByRole('search', { name: 'Filter audit events' })
    .getByRole('button', { name: /Category$/ })
    .click();
  await page.getByRole('option', { name: 'Access keys' }).click();
  const row = table.getByRole('row').filter({ hasText: name });
  await expect(row).toContainText('Add');
  await expect(table.getByRole('row').filter({ hasText: 'Sign in' })).toHaveCount(0);
  await row.click();
  const detail = page.getByRole('dialog', { name: 'Audit Event' });
  await expect(detail).toContainText(name);
  await expect(detail.getByLabel('Detail JSON')).toContainText('"global-viewer"');
  await expect(detail.getByLabel('Detail JSON')).not.toContainText('eyJ');
  await page.keyboard.press('Escape');
  await expect(detail).toBeHidden();

  // Filter by user as well: the key was added by the CLI, not by the admin, so nothing matches.
  await page.getByLabel('User', { exact: true }).fill(ADMIN.email);
  await expect(table.getByRole('row').filter({ hasText: name })).toHaveCount(0);
  await expect(table.getByRole('gridcell', { name: 'cli', exact: true })).toHaveCount(0);
});

test('a user changes their own password from the account menu', async ({ page }) => {
  const email = `${unique('changer')}@tessera.example`;
  cli(['users', 'create', '--email', email, '--role', 'global-viewer', '--password-stdin'], 'first-password-0123\n');
  await signIn(page, email, 'first-password-0123');
  await page.getByRole('button', { name: email.split('@')[0], exact: true }).click();
  await page.getByRole('menuitem', { name: 'Change password' }).click();
  const dialog = page.getByRole('dialog', { name: 'Change Password' });
  await dialog.getByLabel('Current password').fill('not-my-password-0');
  await dialog.getByLabel('New password', { exact: true }).fill('second-password-0123');
  await dialog.getByLabel('Repeat new password').fill('second-password-0123');
  await dialog.getByRole('button', { name: 'Change password' }).click();
  await expect(dialog.getByText('This is not your current password.')).toBeVisible();
  await dialog.getByLabel('Current password').fill('first-password-0123');
  await dialog.getByRole('button', { name: 'Change password' }).click();
  await expect(dialog.getByText('Your password was changed.')).toBeVisible();
  await dialog.getByRole('button', { name: 'Close', exact: true }).click();
  await signOut(page);
  await signIn(page, email, 'second-password-0123');
});

test('when the session ends, the console asks to sign in again and returns to the page', async ({ page, context }) => {
  await signIn(page);
  await menu(page).getByRole('link', { name: 'API Access Keys' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'API Access Keys' })).toBeVisible();
  await context.clearCookies();
  await menu(page).getByRole('link', { name: 'Users' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await expect(page.getByRole('status').filter({ hasText: 'Your session has ended' })).toBeVisible();
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Users' })).toBeVisible();
});
