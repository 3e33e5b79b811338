// Runs that cannot be stopped (issue #13 §2.2): a worker stuck inside one iteration (the test trainer's `_block_at`
// busy-waits without ever yielding, as a huge sequence or model does) cannot hang a command. Every command is answered
// within its bound, `timeout` when the worker does not reply; stop always wins by terminating the worker; the run is
// stopped at its last committed checkpoint and resumes from it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Ack, RunSummary } from './protocol';
import { getJson, postJson, runOf, startTestServer, unwrap, waitFor, type TestServer } from './testing/test-server';

const COMMAND_TIMEOUT_MS = 1500;
const STOP_GRACE_MS = 300;

let server: TestServer;
before(async () => {
  // A checkpoint after every iteration, so the last committed one is the iteration before the stuck one.
  server = await startTestServer({
    commandTimeoutMs: COMMAND_TIMEOUT_MS,
    stopGraceMs: STOP_GRACE_MS,
    checkpointIntervalMs: 1,
  });
});
after(() => server.teardown());

const errorCode = (ack: Ack<unknown>) => (ack.ok ? 'ok' : ack.error.code);

test('a stuck worker: commands time out, stop terminates it, the run resumes from its last checkpoint', async () => {
  const client = await server.client();
  const run = unwrap(
    await client.emitWithAck('run:create', { config: { _trainer: 'synthetic', _step_ms: 2, _block_at: 6 } }),
  ) as RunSummary;
  await waitFor('the run to reach the stuck iteration', async () => (await runOf(server.url, run.id)).iteration === 5);

  // A command is answered `timeout` (HTTP 504) naming the command and the run; the server goes on serving.
  const [pause, capture] = await Promise.all([
    postJson(`${server.url}/api/runs/${run.id}/pause`, {}),
    client.emitWithAck('frame:capture', { runId: run.id }),
  ]);
  assert.equal(pause.status, 504);
  assert.equal(errorCode(pause.body), 'timeout');
  assert.match(pause.body.ok ? '' : pause.body.error.message, new RegExp(`run ${run.id}: .* did not answer pause`));
  assert.equal(errorCode(capture), 'timeout');
  assert.equal((await getJson(`${server.url}/api/runs`)).status, 200);
  assert.equal((await runOf(server.url, run.id)).iteration, 5, 'the worker was stuck all along');

  // Stop wins over the stuck worker within its grace, and settles the command still waiting on that worker.
  const step = client.emitWithAck('training:step', { runId: run.id, n: 1 });
  const stopped = unwrap(await client.emitWithAck('training:stop', { runId: run.id })) as RunSummary;
  assert.equal(stopped.state, 'stopped');
  const pending = await step;
  assert.equal(errorCode(pending), 'invalid_state');
  assert.match(pending.ok ? '' : pending.error.message, /stopped before the training worker answered/);
  assert.equal((await runOf(server.url, run.id)).state, 'stopped');

  // The run kept its last committed checkpoint (iteration 5) and resumes from it in a new worker.
  const resumed = unwrap((await postJson(`${server.url}/api/runs/${run.id}/resume`, {})).body) as RunSummary;
  assert.equal(resumed.state, 'running');
  assert.equal(resumed.iteration, 5);
  await waitFor('training past the stuck iteration', async () => (await runOf(server.url, run.id)).iteration > 8);
  const again = unwrap((await postJson(`${server.url}/api/runs/${run.id}/stop`, {})).body) as RunSummary;
  assert.equal(again.state, 'stopped');
});

test('a stopped engine run steps from its checkpoint; an external stopped run does not restart', async () => {
  const client = await server.client();
  const run = unwrap(
    await client.emitWithAck('run:create', { config: { _trainer: 'synthetic', _step_ms: 2 } }),
  ) as RunSummary;
  await waitFor('the run to train', async () => (await runOf(server.url, run.id)).iteration > 2);
  const stopped = unwrap(await client.emitWithAck('training:stop', { runId: run.id })) as RunSummary;
  // A worker that stops by itself checkpoints where it stopped: nothing is rolled back.
  unwrap(await client.emitWithAck('training:step', { runId: run.id, n: 2 }));
  const paused = await waitFor('the two steps', async () => {
    const r = await runOf(server.url, run.id);
    return r.state === 'paused' ? r : null;
  });
  assert.equal(paused.iteration, stopped.iteration + 2);

  const external = unwrap(
    (await postJson(`${server.url}/api/runs`, { external: true, name: 'ext', config: {} })).body,
  ) as RunSummary;
  unwrap((await postJson(`${server.url}/api/runs/${external.id}/stop`, {})).body);
  const refused = await postJson(`${server.url}/api/runs/${external.id}/resume`, {});
  assert.equal(refused.status, 409);
  unwrap(await client.emitWithAck('training:stop', { runId: run.id }));
});
