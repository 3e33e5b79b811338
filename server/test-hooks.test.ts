// The /api/_test/ routes the reconnect e2e spec drives: unknown routes without the test seam; with it they drop
// every socket (server-side disconnect), cut their TCP connections, or restart the run manager as a restart would.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunSummary } from './protocol';
import {
  getJson,
  postJson,
  runOf,
  startTestServer,
  unwrap,
  waitFor,
  type TestClient,
  type TestServer,
} from './testing/test-server';

/** Resolve with the reason of the client's next disconnect. */
const nextDisconnect = (client: TestClient) =>
  new Promise<string>((resolve) => client.once('disconnect', (reason) => resolve(reason)));

describe('test hook routes without the test seam', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ testHooks: false });
  });
  after(() => server.teardown());

  test('are unknown routes (404) and leave sockets connected', async () => {
    const client = await server.client();
    for (const name of ['drop-connections', 'sever-connections', 'restart']) {
      const { status, body } = await postJson(`${server.url}/api/_test/${name}`, {});
      assert.equal(status, 404, name);
      assert.equal(body.ok ? null : body.error.code, 'not_found');
    }
    // A round trip after the requests proves the socket is still the same, connected one.
    assert.ok(Array.isArray(unwrap(await client.emitWithAck('run:list', {}))));
    assert.equal(client.connected, true);
  });
});

describe('test hook routes with the test seam', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ testHooks: true });
  });
  after(() => server.teardown());

  test('unknown hooks and GET are 404', async () => {
    assert.equal((await postJson(`${server.url}/api/_test/nope`, {})).status, 404);
    assert.equal((await getJson(`${server.url}/api/_test/drop-connections`)).status, 404);
  });

  test('drop-connections disconnects every socket from the server side', async () => {
    const clients = [await server.client(), await server.client()];
    const reasons = clients.map(nextDisconnect);
    const { status, body } = await postJson(`${server.url}/api/_test/drop-connections`, {});
    assert.equal(status, 200);
    assert.ok((unwrap(body) as { sockets: number }).sockets >= 2);
    assert.deepEqual(await Promise.all(reasons), ['io server disconnect', 'io server disconnect']);
  });

  test('sever-connections cuts the transport (the client sees a lost connection, as in a restart)', async () => {
    const client = await server.client();
    const reason = nextDisconnect(client);
    assert.equal((await postJson(`${server.url}/api/_test/sever-connections`, {})).status, 200);
    assert.equal(await reason, 'transport close');
  });

  test('restart: workers stop, a running run comes back interrupted and resumes from its checkpoint', async () => {
    const client = await server.client();
    const run = unwrap(
      await client.emitWithAck('run:create', { config: { _trainer: 'synthetic', summarize_freq: 1, _step_ms: 2 } }),
    ) as RunSummary;
    await waitFor('the run to train', async () => (await runOf(server.url, run.id)).iteration > 3);
    const reason = nextDisconnect(client);
    assert.equal((await postJson(`${server.url}/api/_test/restart`, {})).status, 200);
    assert.equal(await reason, 'transport close');
    const restored = await runOf(server.url, run.id);
    assert.equal(restored.state, 'interrupted');

    // The new manager serves sockets and HTTP, and a resumed run trains on past where it was restored.
    const again = await server.client();
    const listed = unwrap(await again.emitWithAck('run:list', {})) as RunSummary[];
    assert.equal(listed.find((r) => r.id === run.id)?.state, 'interrupted');
    unwrap((await postJson(`${server.url}/api/runs/${run.id}/resume`, {})).body);
    await waitFor(
      'training after the restart',
      async () => (await runOf(server.url, run.id)).iteration > restored.iteration + 3,
    );
    unwrap(await again.emitWithAck('training:stop', { runId: run.id }));
  });
});
