import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'integration',
          globalSetup: ['test/global-setup.ts'],
          include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
          exclude: ['test/e2e/**', 'test/install/**', 'node_modules/**', 'web/**'],
        },
      },
      {
        // A fresh clone installed and started read-only: minutes of npm ci and builds, run on its
        // own (`npm run test:install`) so that its load does not overlap the timed tests.
        extends: true,
        test: { name: 'install', include: ['test/install/**/*.test.ts'], testTimeout: 900_000 },
      },
    ],
  },
});
