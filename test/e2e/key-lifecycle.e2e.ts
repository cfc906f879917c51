/**
 * A key's life in the console (issue 17): a description, rolling a key from its row's actions
 * into the same details window as on creation, the policy's limit beside Expiration, and
 * disabling and enabling a key.
 */
import { expect, test, type Page } from '@playwright/test';
import { BASE_URL, openAccessKeys, signIn, unique } from './helpers.ts';

test.beforeEach(async ({ page }) => {
  await signIn(page);
});

async function addKey(page: Page, name: string, description: string): Promise<string> {
  await page.getByRole('button', { name: 'Add access key' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add Access Key' });
  await dialog.getByLabel('Access Key Name').fill(name);
  await dialog.getByLabel('Description (optional)').fill(description);
  await dialog.getByRole('button', { name: /Assigned Role/ }).click();
  await page.getByRole('option', { name: /Global Admin/ }).click();
  await dialog.getByRole('button', { name: 'Add', exact: true }).click();
  const details = page.getByRole('dialog', { name: 'Access Key' });
  const token = (await details.getByTestId('new-key-token').textContent())!.trim();
  await details.getByText('I have saved the access key name and JSON web token').click();
  await details.getByRole('button', { name: 'Close', exact: true }).click();
  await expect(details).toBeHidden();
  return token;
}

const useToken = async (page: Page, token: string) =>
  (await page.request.get(`${BASE_URL}/api/v1/access-keys?limit=1`, { headers: { authorization: `Bearer ${token}` } })).status();

async function rowAction(page: Page, name: string, action: string) {
  const row = page.getByRole('grid', { name: 'API access keys' }).getByRole('row').filter({ hasText: name });
  await row.hover();
  await row.getByRole('button', { name: `Actions for ${name}` }).click();
  await page.getByRole('menuitem', { name: action }).click();
  return row;
}

test('roll an access key from its row: a new token in the details window, the old one kept for the grace period', async ({ page }) => {
  await openAccessKeys(page);
  const name = unique('rolled');
  const oldToken = await addKey(page, name, 'Deploys from CI');
  const row = page.getByRole('grid', { name: 'API access keys' }).getByRole('row').filter({ hasText: name });
  await expect(row).toContainText('Deploys from CI');

  await rowAction(page, name, 'Roll access key');
  const roll = page.getByRole('dialog', { name: 'Roll Access Key' });
  await expect(roll.getByRole('button', { name: /Expiration/ })).toContainText('As when created');
  await expect(roll.getByRole('textbox', { name: 'Grace period (minutes)' })).toHaveValue('60');
  await roll.getByRole('button', { name: 'Roll', exact: true }).click();

  const details = page.getByRole('dialog', { name: 'Access Key' });
  await expect(details).toContainText('has been rolled');
  await expect(details.getByTestId('previous-token-note')).toContainText('keeps working until');
  const newToken = (await details.getByTestId('new-key-token').textContent())!.trim();
  expect(newToken).not.toBe(oldToken);
  // The same close guard as on creation.
  await page.keyboard.press('Escape');
  await expect(details).toBeVisible();
  await details.getByText('I have saved the access key name and JSON web token').click();
  await details.getByRole('button', { name: 'Close', exact: true }).click();
  await expect(details).toBeHidden();
  expect(await useToken(page, newToken)).toBe(200);
  expect(await useToken(page, oldToken)).toBe(200);

  // Rolled again without grace: the token before ends at once.
  await rowAction(page, name, 'Roll access key');
  await roll.getByRole('textbox', { name: 'Grace period (minutes)' }).fill('0');
  await roll.getByRole('button', { name: 'Roll', exact: true }).click();
  await expect(details.getByTestId('previous-token-note')).toHaveText('The previous token no longer works.');
  const third = (await details.getByTestId('new-key-token').textContent())!.trim();
  await details.getByText('I have saved the access key name and JSON web token').click();
  await details.getByRole('button', { name: 'Close', exact: true }).click();
  expect(await useToken(page, newToken)).toBe(401);
  expect(await useToken(page, oldToken)).toBe(401);
  expect(await useToken(page, third)).toBe(200);
});

test('disable and enable an access key from its row', async ({ page }) => {
  await openAccessKeys(page);
  const name = unique('switched');
  const token = await addKey(page, name, 'Switched off and on');
  expect(await useToken(page, token)).toBe(200);

  const row = await rowAction(page, name, 'Disable access key');
  await expect(page.getByText(`The access key “${name}” was disabled.`)).toBeVisible();
  await expect(row).toContainText('Disabled');
  expect(await useToken(page, token)).toBe(401);

  await rowAction(page, name, 'Enable access key');
  await expect(page.getByText(`The access key “${name}” was enabled.`)).toBeVisible();
  await expect(row).toContainText('Active');
  expect(await useToken(page, token)).toBe(200);

  // The description is edited in the Edit window, within its limit.
  await rowAction(page, name, 'Edit access key');
  const edit = page.getByRole('dialog', { name: 'Edit Access Key' });
  const description = edit.getByLabel('Description (optional)');
  await expect(description).toHaveValue('Switched off and on');
  await description.fill('x'.repeat(501));
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(edit.getByText('Use at most 500 characters (this one has 501).')).toBeVisible();
  await description.fill('Nightly inventory export');
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(edit).toBeHidden();
  await expect(row).toContainText('Nightly inventory export');
});

test('the key policy window sets a limit; it is shown beside Expiration, and only allowed choices are offered', async ({ page }) => {
  await openAccessKeys(page);
  const setAdminLimit = async (days: string) => {
    await page.getByRole('button', { name: 'Key policy' }).click();
    const policy = page.getByRole('dialog', { name: 'Access Key Policy' });
    const field = policy.getByRole('textbox', { name: 'Longest lifetime for Global Admin (days)' });
    await field.fill(days);
    await field.blur();
    await policy.getByRole('button', { name: 'Save' }).click();
    await expect(policy).toBeHidden();
    await expect(page.getByText('The access key policy was saved.')).toBeVisible();
  };
  await setAdminLimit('30');
  try {
    await page.getByRole('button', { name: 'Add access key' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add Access Key' });
    await expect(dialog.getByTestId('expiration-limit')).toHaveCount(0);
    await dialog.getByRole('button', { name: /Assigned Role/ }).click();
    await page.getByRole('option', { name: /Global Admin/ }).click();
    await expect(dialog.getByTestId('expiration-limit')).toHaveText('At most 30 days for Global Admin (access key policy).');
    // Six months is not allowed: the longest allowed preset is chosen instead.
    const expiration = dialog.getByRole('button', { name: /Expiration/ });
    await expect(expiration).toContainText('30 days');
    await expiration.click();
    await expect(page.getByRole('option', { name: '7 days' })).toBeVisible();
    await expect(page.getByRole('option', { name: '90 days' })).toHaveCount(0);
    await expect(page.getByRole('option', { name: '6 months' })).toHaveCount(0);
    await page.getByRole('option', { name: 'Custom' }).click();
    const days = dialog.getByRole('textbox', { name: 'Days' });
    await days.fill('31');
    await days.blur();
    await dialog.getByLabel('Access Key Name').fill(unique('limited'));
    await dialog.getByRole('button', { name: 'Add', exact: true }).click();
    await expect(dialog.getByText('Enter a whole number of days from 1 to 30 (access key policy).')).toBeVisible();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
  } finally {
    await setAdminLimit('');
  }
  const saved = await page.request.get(`${BASE_URL}/api/v1/settings/access-key-policy`);
  expect((await saved.json()).maxDays['global-admin']).toBeNull();
});
