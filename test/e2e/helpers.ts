import { spawnSync } from 'node:child_process';
import { expect, type Page } from '@playwright/test';

export const ADMIN = { email: process.env.E2E_ADMIN_EMAIL!, password: process.env.E2E_ADMIN_PASSWORD! };
export const BASE_URL = `http://127.0.0.1:${process.env.E2E_PORT}`;

/** Runs the Tessera CLI against the e2e server's data folder. */
export function cli(args: string[], input?: string): string {
  const result = spawnSync(process.execPath, ['bin/tessera.js', ...args], {
    input,
    encoding: 'utf8',
    env: { ...process.env, TESSERA_DATA_DIR: process.env.E2E_DATA_DIR, TESSERA_PUBLIC_URL: BASE_URL, LOG_LEVEL: 'warn' },
  });
  if (result.status !== 0) throw new Error(`tessera ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

/** Signs in through the sign-in page, as a person would. */
export async function signIn(page: Page, email = ADMIN.email, password = ADMIN.password): Promise<void> {
  await page.goto('/sign-in');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('navigation', { name: 'Main menu' })).toBeVisible();
}

/** Main Menu > Configuration > API Access Keys. */
export async function openAccessKeys(page: Page): Promise<void> {
  await page.getByRole('navigation', { name: 'Main menu' }).getByRole('link', { name: 'API Access Keys' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'API Access Keys' })).toBeVisible();
}

/** A name unique to this run, so tests never collide with each other's data. */
export const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e4)}`;
