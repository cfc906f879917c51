/**
 * Main Menu > Configuration > Webhooks: add one (a private address is refused), see its secret
 * once, send a test event and see its delivery, remove it.
 */
import { expect, test } from '@playwright/test';
import { signIn } from './helpers.ts';

test('add a webhook, keep its secret, send a test event, remove it', async ({ page }) => {
  await signIn(page);
  await page.getByRole('navigation', { name: 'Main menu' }).getByRole('link', { name: 'Webhooks' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Webhooks' })).toBeVisible();

  await page.getByRole('button', { name: 'Add webhook' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add Webhook' });
  // The e2e server does not allow private addresses: the field says why.
  await dialog.getByRole('textbox', { name: 'URL' }).fill('http://127.0.0.1:9/hooks');
  await dialog.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(dialog.getByText(/loopback, private or link-local address/)).toBeVisible();

  const target = `https://203.0.113.7/hooks/${Date.now()}`;
  await dialog.getByRole('textbox', { name: 'URL' }).fill(target);
  await dialog.getByRole('checkbox', { name: /Key added/ }).press('Space');
  await expect(dialog.getByRole('checkbox', { name: /Key added/ })).toBeChecked();
  await dialog.getByRole('button', { name: 'Add', exact: true }).click();

  const secret = page.getByRole('dialog', { name: 'Webhook Secret' });
  await expect(secret.getByTestId('webhook-secret')).toHaveText(/^whsec_[A-Za-z0-9+/]{43}=$/);
  await expect(secret.getByRole('button', { name: 'Close', exact: true })).toBeDisabled();
  await secret.getByText('I have saved the signing secret').click();
  await expect(secret.getByRole('checkbox', { name: 'I have saved the signing secret' })).toBeChecked();
  await secret.getByRole('button', { name: 'Close', exact: true }).click();

  const table = page.getByRole('table', { name: 'Webhooks' });
  const row = table.getByRole('row').filter({ hasText: target });
  await expect(row).toContainText('Key added, Key expiring soon, Key expired');
  // Never shown again.
  await expect(page.getByText(/whsec_/)).toHaveCount(0);

  await row.getByRole('button', { name: `Actions for ${target}` }).click();
  await page.getByRole('menuitem', { name: 'Send test event' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'A test event is on its way' })).toBeVisible();
  await row.getByRole('button', { name: `Actions for ${target}` }).click();
  await page.getByRole('menuitem', { name: 'Deliveries' }).click();
  const deliveries = page.getByRole('dialog', { name: 'Deliveries' });
  await expect(deliveries.getByRole('table', { name: 'Deliveries' })).toContainText('webhook.test');
  await deliveries.getByRole('button', { name: 'Close', exact: true }).click();

  await row.getByRole('button', { name: `Actions for ${target}` }).click();
  await page.getByRole('menuitem', { name: 'Remove webhook' }).click();
  await page.getByRole('alertdialog', { name: 'Remove webhook' }).getByRole('button', { name: 'Remove' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'was removed' })).toBeVisible();
  await expect(table.getByRole('row').filter({ hasText: target })).toHaveCount(0);
});
