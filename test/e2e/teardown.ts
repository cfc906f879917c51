import { rmSync } from 'node:fs';

/** Removes the throw-away data folder of the e2e server. */
export default function teardown(): void {
  const dir = process.env.E2E_DATA_DIR;
  if (dir?.includes('tessera-e2e-')) rmSync(dir, { recursive: true, force: true });
}
