/**
 * Test-only routes under /api/_test/, mounted by the test server factory and `server/testing/test-main.ts` (the
 * server's own entry has none: there they are unknown routes): `drop-connections` disconnects every socket
 * server-side, `sever-connections` destroys their TCP connections (what a restart looks like to a browser),
 * `restart` also does what a restart does to runs: checkpoint and stop every worker, running runs come back
 * interrupted, under a new run manager over the same storage.
 */
import type { ExtraRouteContext, ExtraRoutes } from '../app';
import { ApiError } from '../errors';
import { shortText } from '../validate';

export const TEST_HOOK_PREFIX = '/api/_test/';

export function createTestHookRoutes(context: ExtraRouteContext): ExtraRoutes {
  return {
    prefix: TEST_HOOK_PREFIX,
    async handle(method, url) {
      const name = url.split('?')[0].slice(TEST_HOOK_PREFIX.length);
      if (method !== 'POST')
        throw new ApiError('not_found', `no route ${shortText(method)} ${TEST_HOOK_PREFIX}${shortText(name)}`);
      const sockets = context.io.of('/').sockets.size;
      if (name === 'drop-connections') {
        context.io.disconnectSockets(true);
      } else if (name === 'sever-connections' || name === 'restart') {
        if (name === 'restart') await context.restartManager();
        context.connections.destroyAll();
      } else {
        throw new ApiError('not_found', `no route ${shortText(method)} ${TEST_HOOK_PREFIX}${shortText(name)}`);
      }
      return { sockets };
    },
  };
}
