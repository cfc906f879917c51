/**
 * End-to-end tests of the console: a real Tessera server (built console included) on a spare
 * port with a throw-away SQLite folder, driven through Debian's Chromium.
 *
 *   npm run test:e2e          the suite (part of `npm test`)
 *   npm run test:e2e:bench    bench mode: the API Access Keys page with 10,000 keys
 *   npm run screenshots       refreshes docs/screenshots/
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig, devices } from '@playwright/test';

// The config is evaluated by the runner and again by each worker; the environment carries the
// runner's choices to the workers (and to the server and the CLI the tests run).
process.env.E2E_PORT ??= String(18_400 + Math.floor(Math.random() * 500));
process.env.E2E_DATA_DIR ??= mkdtempSync(join(tmpdir(), 'tessera-e2e-'));
process.env.E2E_ADMIN_EMAIL ??= 'admin@tessera.example';
process.env.E2E_ADMIN_PASSWORD ??= 'e2e-admin-password-0123';

const port = Number(process.env.E2E_PORT);
const baseURL = `http://127.0.0.1:${port}`;
const mode = process.env.E2E_MODE ?? 'suite';

export default defineConfig({
  testDir: 'test/e2e',
  testMatch: mode === 'bench' ? 'bench.spec.ts' : mode === 'screenshots' ? 'screenshots.spec.ts' : '*.e2e.ts',
  // One server, one database: files run one after another, which also suits a 2-core machine.
  workers: 1,
  fullyParallel: false,
  forbidOnly: true,
  retries: 0,
  timeout: mode === 'bench' ? 180_000 : 60_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  outputDir: 'test-results/e2e',
  globalTeardown: './test/e2e/teardown.ts',
  use: {
    ...devices['Desktop Chrome'],
    baseURL,
    viewport: { width: 1280, height: 800 },
    locale: 'en-GB',
    timezoneId: 'UTC',
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    },
  },
  webServer: {
    command: 'node bin/tessera.js serve',
    url: `${baseURL}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'ignore',
    stderr: 'pipe',
    env: {
      PORT: String(port),
      HOST: '127.0.0.1',
      TESSERA_DATA_DIR: process.env.E2E_DATA_DIR,
      TESSERA_PUBLIC_URL: baseURL,
      TESSERA_ADMIN_EMAIL: process.env.E2E_ADMIN_EMAIL,
      TESSERA_ADMIN_PASSWORD: process.env.E2E_ADMIN_PASSWORD,
      LOG_LEVEL: 'warn',
    },
  },
});
