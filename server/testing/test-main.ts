/**
 * Test-only entry: `server/main.ts` with the test seam (run-config hooks and the /api/_test/ routes,
 * server/testing/test-seam.ts). The browser tests (playwright.config.ts) and the benchmarks that drive a real
 * server start this one; the same flags and environment variables apply.
 */
import { serveFromCommandLine } from '../serve';
import { testSeam } from './test-seam';

serveFromCommandLine(testSeam());
