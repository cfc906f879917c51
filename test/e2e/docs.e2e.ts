/**
 * The API homepage (/docs): Tessera's own Swagger UI. It works under its CSP with no violation
 * and refuses framing; the Authorize dialog takes an API key (Bearer) or a user's email and
 * password (no OAuth client form); "Try it out" calls the API with what was authorized; filters
 * read as their values; it fits a phone; and axe finds no critical or serious violation.
 */
import { AxeBuilder } from '@axe-core/playwright';
import { expect, type Locator, type Page, test } from '@playwright/test';
import { ADMIN, cli, unique } from './helpers.ts';

/** Collects the page's CSP violations from its first script on. */
async function watchCsp(page: Page): Promise<string[]> {
  const violations: string[] = [];
  await page.exposeFunction('reportViolation', (text: string) => violations.push(text));
  await page.addInitScript(() =>
    document.addEventListener('securitypolicyviolation', (e) =>
      (window as unknown as { reportViolation(t: string): void }).reportViolation(`${e.violatedDirective} ${e.sourceFile}:${e.lineNumber}`),
    ),
  );
  return violations;
}

async function openDocs(page: Page) {
  const answer = await page.goto('/docs');
  await expect(page.getByRole('heading', { name: /Tessera API/ })).toBeVisible();
  return answer;
}

const operation = (page: Page, method: string, path: string) => page.locator(`.opblock-${method}:has(.opblock-summary-path[data-path="${path}"])`);

/** Try it out on a GET and Execute it: the status the API answered, and the request's Authorization. */
async function tryItOut(page: Page, block: Locator): Promise<{ status: string; authorization: string | undefined }> {
  await block.locator('.opblock-summary').first().click();
  await block.getByRole('button', { name: 'Try it out' }).click();
  const sent = page.waitForRequest((request) => request.url().includes('/api/v1/') && request.method() === 'GET');
  await block.getByRole('button', { name: 'Execute' }).click();
  const authorization = (await sent).headers()['authorization'];
  const status = (await block.locator('.live-responses-table tbody .response-col_status').first().textContent())?.trim() ?? '';
  await block.getByRole('button', { name: 'Cancel' }).click();
  await block.locator('.opblock-summary').first().click();
  return { status, authorization };
}

/** Critical and serious axe findings, as "rule: target" lines. */
async function seriousAxeFindings(page: Page): Promise<string[]> {
  const { violations } = await new AxeBuilder({ page }).analyze();
  return violations
    .filter((v) => v.impact === 'critical' || v.impact === 'serious')
    .flatMap((v) => v.nodes.map((node) => `${v.id} (${v.impact}): ${node.target.join(' ')}`));
}

test("is Tessera's own page: title, top bar, no Explore bar, enums as values, no CSP violation, no framing", async ({ page }) => {
  const violations = await watchCsp(page);
  const answer = await openDocs(page);
  expect(answer?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
  expect(answer?.headers()['x-frame-options']).toBe('DENY');
  await expect(page).toHaveTitle('Tessera API');
  await expect(page.getByRole('banner').getByRole('link', { name: 'Tessera API' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Open the console' })).toHaveAttribute('href', '/');
  // Swagger's own top bar (its "Explore" form and logo) is not there.
  await expect(page.locator('.topbar, .download-url-wrapper')).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Explore' })).toHaveCount(0);

  // A filter reads as its values (regression: "string | (string | string | string)").
  const list = operation(page, 'get', '/api/v1/access-keys');
  await list.locator('.opblock-summary').first().click();
  const status = list.locator('tr[data-param-name="status"]');
  await expect(status).toContainText('Available values : active, expired, expiring');
  await expect(list).not.toContainText('string | (');
  expect(violations).toEqual([]);
});

test('authorizes with an API key, then with an email and password, and "Try it out" uses each', async ({ page }) => {
  const violations = await watchCsp(page);
  const created = JSON.parse(cli(['keys', 'create', '--name', unique('docs-key'), '--role', 'global-viewer', '--expires', '7d', '--json'])) as { token: string };
  await openDocs(page);
  const accounts = operation(page, 'get', '/api/v1/cloud-accounts');

  // No credentials yet: the API answers 401.
  expect(await tryItOut(page, accounts)).toEqual({ status: '401', authorization: undefined });

  // An API access key, sent as a Bearer token.
  await page.getByRole('button', { name: 'Authorize' }).first().click();
  const dialog = page.getByRole('dialog');
  // No OAuth client form: Tessera has no client id or secret.
  await expect(dialog.getByLabel(/client_id|client_secret/i)).toHaveCount(0);
  await expect(dialog.getByText('Scopes are used')).toBeHidden();
  await dialog.getByLabel('API access key or user token').fill(created.token);
  await dialog.getByRole('button', { name: 'Apply credentials' }).click();
  await dialog.getByRole('button', { name: 'Close' }).first().click();
  expect(await tryItOut(page, accounts)).toEqual({ status: '200', authorization: `Bearer ${created.token}` });

  // Forget the key; a wrong password is refused with the server's words.
  await page.getByRole('button', { name: 'Authorize' }).first().click();
  await dialog.getByRole('button', { name: 'Remove authorization' }).click();
  await dialog.getByLabel('Email').fill(ADMIN.email);
  await dialog.getByLabel('Password').fill('not-the-password-at-all');
  await dialog.getByRole('button', { name: 'Sign in' }).click();
  await expect(dialog.getByRole('alert')).toHaveText('The email or password is wrong.');

  // The user's email and password, exchanged for a user token at POST /api/v1/token.
  await dialog.getByLabel('Password').fill(ADMIN.password);
  const exchanged = page.waitForResponse((response) => response.url().endsWith('/api/v1/token') && response.request().method() === 'POST');
  await dialog.getByRole('button', { name: 'Sign in' }).click();
  expect((await exchanged).status()).toBe(200);
  await expect(dialog.getByText(`Signed in as ${ADMIN.email}.`)).toBeVisible();
  await dialog.getByRole('button', { name: 'Close' }).first().click();
  const asUser = await tryItOut(page, operation(page, 'get', '/api/v1/access-keys'));
  expect(asUser.status).toBe('200');
  expect(asUser.authorization).toMatch(/^Bearer \S+$/);
  expect(asUser.authorization).not.toBe(`Bearer ${created.token}`);

  expect(violations).toEqual([]);
});

test('has no critical or serious axe violation: the page, an open operation, the Authorize dialog', async ({ page }) => {
  await openDocs(page);
  expect(await seriousAxeFindings(page)).toEqual([]);
  const list = operation(page, 'get', '/api/v1/access-keys');
  await list.locator('.opblock-summary').first().click();
  await list.getByRole('button', { name: 'Try it out' }).click();
  expect(await seriousAxeFindings(page)).toEqual([]);
  await page.getByRole('button', { name: 'Authorize' }).first().click();
  await expect(page.getByRole('dialog')).toBeVisible();
  expect(await seriousAxeFindings(page)).toEqual([]);
});

test("the version badges read at 4.5:1 (regression: teal on Swagger UI's grey, 1.3:1, which axe let pass)", async ({ page }) => {
  await openDocs(page);
  const badges = page.locator('.info .title small pre');
  await expect(badges).toHaveText(['1', 'OAS 3.1']);
  const ratios = await badges.evaluateAll((nodes) =>
    nodes.map((pre) => {
      const luminance = (css: string) => {
        const [r, g, b] = (css.match(/[\d.]+/g) ?? []).slice(0, 3).map((c) => {
          const v = Number(c) / 255;
          return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
      };
      const text = luminance(getComputedStyle(pre).color);
      // The first background that is painted, from the text outwards.
      let painted: Element = pre;
      while (painted.parentElement && /^rgba\(.*, 0\)$|^transparent$/.test(getComputedStyle(painted).backgroundColor)) painted = painted.parentElement;
      const back = luminance(getComputedStyle(painted).backgroundColor);
      return (Math.max(text, back) + 0.05) / (Math.min(text, back) + 0.05);
    }),
  );
  for (const ratio of ratios) expect(ratio).toBeGreaterThanOrEqual(4.5);
});

test.describe('on a phone', () => {
  test.use({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 3 });

  test('lays out at the width of the screen (regression: a 980 px page), with an operation open', async ({ page }) => {
    await openDocs(page);
    const width = () => page.evaluate(() => ({ layout: window.innerWidth, content: document.documentElement.scrollWidth }));
    expect(await width()).toEqual({ layout: 390, content: 390 });
    const list = operation(page, 'get', '/api/v1/access-keys');
    await list.locator('.opblock-summary').first().click();
    await list.getByRole('button', { name: 'Try it out' }).click();
    expect(await width()).toEqual({ layout: 390, content: 390 });
    await page.getByRole('button', { name: 'Authorize' }).first().click();
    await expect(page.getByRole('dialog').getByLabel('Email')).toBeInViewport();
    expect(await width()).toEqual({ layout: 390, content: 390 });
  });
});
