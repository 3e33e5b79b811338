/**
 * Test-only. The one seam through which tests and benchmarks reach inside a server: run-config hooks honoured by a
 * hooked training (server/testing/hooked-training.ts) and the /api/_test/ routes. The test server factory and
 * `server/testing/test-main.ts` pass it to `createEngramServer`; production code never sees it.
 */
import type { EngramServerOptions } from '../app';
import { createHookedTraining } from './hooked-training';
import { createTestHookRoutes } from './test-hook-routes';

export function testSeam(): Required<Pick<EngramServerOptions, 'training' | 'extraRoutes'>> {
  return { training: createHookedTraining(), extraRoutes: createTestHookRoutes };
}
