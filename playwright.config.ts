import { defineConfig } from '@playwright/test';

/**
 * Browser tests of the dashboard against the real server (`tsx server/testing/test-main.ts`: `server/main.ts` with
 * the test seam, so a spec may inject a NaN at a chosen iteration with the config field `_nan_at`) on a port of its
 * own, with a fresh data directory. Playwright's own output goes to test-results/playwright (it is wiped per run);
 * the server's data and the kept dashboard screenshots sit beside it in test-results/e2e-data and
 * test-results/screenshots.
 */
const port = Number(process.env.E2E_PORT ?? 3311);

export default defineConfig({
  testDir: './e2e',
  testMatch: /.*\.spec\.ts/,
  timeout: 90_000,
  expect: { timeout: 30_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  outputDir: 'test-results/playwright',
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    acceptDownloads: true,
    viewport: { width: 1600, height: 1000 },
    colorScheme: 'dark',
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.ENGRAM_CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  webServer: {
    // Visdom on the main port only (/visdom): 8097 may be in use on a shared machine.
    command:
      `npx tsx server/testing/test-main.ts --port ${port} --data-dir test-results/e2e-data --fresh ` +
      '--visdom-port off',
    url: `http://127.0.0.1:${port}/`,
    timeout: 180_000,
    reuseExistingServer: false,
    stdout: 'pipe',
    // Specs leave runs training beside the next spec's; the training cap (one per core but one) would queue them.
    env: {
      ENGRAM_BACKEND: process.env.ENGRAM_BACKEND ?? 'wasm',
      NEXT_TELEMETRY_DISABLED: '1',
      ENGRAM_MAX_TRAINING: '8',
    },
  },
});
