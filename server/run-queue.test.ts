// Admission over the real server: a run whose estimate alone exceeds the budget is refused with 422 over_budget;
// runs past the training cap or the budget wait `queued` and start first in, first out when a slot or memory frees;
// a queued run can be paused, stopped and deleted, and stays queued across a restart. RunQueue's order on its own.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RunQueue } from './run-queue';
import type { RunState, RunSummary } from './protocol';
import {
  postJson,
  runOf,
  startTestServer,
  tempDataDir,
  TINY_CONFIG,
  unwrap,
  waitFor,
  type TestServer,
} from './testing/test-server';

const MB = 1024 * 1024;

describe('RunQueue', () => {
  const run = (mb: number, holdsWorker = false) => ({ estimateBytes: mb * MB, holdsWorker });

  test('admits in order while both limits hold, and a head that does not fit holds back the rest', () => {
    const queue = new RunQueue({ budgetBytes: 1000 * MB, maxTraining: 3 });
    for (const id of ['a', 'b', 'c', 'd']) queue.enqueue(id);
    const sizes: Record<string, number> = { a: 300, b: 600, c: 50, d: 50 };
    // b does not fit beside a and the 200 MB already held; c and d, which would, wait behind it.
    assert.deepEqual(
      queue.admit({ training: 0, heldBytes: 200 * MB }, (id) => run(sizes[id])),
      ['a'],
    );
    assert.deepEqual(
      queue.admit({ training: 1, heldBytes: 300 * MB }, (id) => run(sizes[id])),
      ['b', 'c'],
    );
    // The training cap: two slots taken by b and c plus one other run.
    assert.deepEqual(
      queue.admit({ training: 3, heldBytes: 0 }, (id) => run(sizes[id])),
      [],
    );
    assert.equal(queue.position('d'), 0);
  });

  test('a run that holds its worker adds no memory; unknown ids are dropped; remove takes one out', () => {
    const queue = new RunQueue({ budgetBytes: 100 * MB, maxTraining: 2 });
    for (const id of ['gone', 'paused', 'other']) queue.enqueue(id);
    queue.enqueue('paused');
    assert.equal(queue.size, 3, 'enqueue is idempotent');
    assert.equal(queue.remove('other'), true);
    assert.equal(queue.remove('other'), false);
    const admitted = queue.admit({ training: 0, heldBytes: 100 * MB }, (id) => (id === 'gone' ? null : run(80, true)));
    assert.deepEqual(admitted, ['paused']);
    assert.equal(queue.size, 0);
  });
});

/** A slow synthetic run (its estimate is the default config's, about 320 MB). */
const SLOW = { _trainer: 'synthetic', _step_ms: 5 } as const;

async function create(server: TestServer, name: string): Promise<RunSummary> {
  return unwrap((await postJson(`${server.url}/api/runs`, { config: SLOW, name })).body) as RunSummary;
}

async function command(server: TestServer, runId: string, verb: string): Promise<RunSummary> {
  return unwrap((await postJson(`${server.url}/api/runs/${runId}/${verb}`, {})).body) as RunSummary;
}

function stateOf(server: TestServer, runId: string, state: RunState): Promise<RunSummary> {
  return waitFor(`run ${runId} to be ${state}`, async () => {
    const run = await runOf(server.url, runId);
    return run.state === state ? run : null;
  });
}

describe('admission over the real server', () => {
  test('a run whose estimate alone exceeds the budget is refused: 422 over_budget, on HTTP and socket', async () => {
    const server = await startTestServer({ memoryBudgetMb: 1024 });
    try {
      const config = { mem_slot: 4096, batch_size: 4 };
      const res = await postJson(`${server.url}/api/runs`, { config });
      assert.equal(res.status, 422);
      assert.ok(!res.body.ok);
      assert.equal(res.body.error.code, 'over_budget');
      assert.match(res.body.error.message, /estimated \d+ MB of memory .*above the memory budget of 1024 MB/);
      const client = await server.client();
      const ack = await client.emitWithAck('run:create', { config });
      assert.equal(ack.ok ? 'ok' : ack.error.code, 'over_budget');
      assert.equal(unwrap(await client.emitWithAck('run:list', {})).length, 0, 'nothing was stored');
    } finally {
      await server.teardown();
    }
  });

  test('past the training cap runs wait queued and start first in, first out as slots free', async () => {
    const server = await startTestServer({ maxTraining: 1 });
    try {
      const first = await create(server, 'first');
      const second = await create(server, 'second');
      const third = await create(server, 'third');
      assert.deepEqual([first.state, second.state, third.state], ['running', 'queued', 'queued']);

      unwrap((await postJson(`${server.url}/api/runs/${first.id}/pause`, {})).body);
      await stateOf(server, second.id, 'running');
      assert.equal((await runOf(server.url, third.id)).state, 'queued', 'one slot: the third still waits');
      // Resuming the first puts it behind the third.
      assert.equal((await command(server, first.id, 'resume')).state, 'queued');
      await command(server, second.id, 'stop');
      await stateOf(server, third.id, 'running');
      assert.equal((await runOf(server.url, first.id)).state, 'queued');
      await command(server, third.id, 'stop');
      const resumed = await stateOf(server, first.id, 'running');
      await waitFor('the first run to train on from its checkpoint', async () => {
        return (await runOf(server.url, first.id)).iteration > resumed.iteration + 5;
      });
      await command(server, first.id, 'stop');
    } finally {
      await server.teardown();
    }
  });

  test('the memory budget queues a run that would not fit beside the others', async () => {
    // One default-config run fits in 500 MB, two do not.
    const server = await startTestServer({ maxTraining: 4, memoryBudgetMb: 500 });
    try {
      const first = await create(server, 'first');
      const second = await create(server, 'second');
      assert.equal(second.state, 'queued');
      // A paused run keeps its worker, so it keeps its memory: the second still waits.
      await command(server, first.id, 'pause');
      assert.equal((await runOf(server.url, second.id)).state, 'queued');
      await command(server, first.id, 'stop');
      await stateOf(server, second.id, 'running');
      await command(server, second.id, 'stop');
    } finally {
      await server.teardown();
    }
  });

  test('a queued run can be paused, stopped and deleted without ever starting', async () => {
    const server = await startTestServer({ maxTraining: 1 });
    try {
      const running = await create(server, 'running');
      const paused = await create(server, 'to pause');
      const stopped = await create(server, 'to stop');
      const deleted = await create(server, 'to delete');
      assert.equal((await command(server, paused.id, 'pause')).state, 'paused');
      assert.equal((await command(server, stopped.id, 'stop')).state, 'stopped');
      const res = await fetch(`${server.url}/api/runs/${deleted.id}`, { method: 'DELETE' });
      assert.equal(res.status, 200);
      await command(server, running.id, 'stop');
      // Nothing queued is left: the slot stays free, and none of them trained.
      for (const run of [paused, stopped]) {
        const now = await runOf(server.url, run.id);
        assert.equal(now.iteration, 0);
        assert.notEqual(now.state, 'running');
      }
      assert.equal((await fetch(`${server.url}/api/runs/${deleted.id}`)).status, 404);
      // The paused one starts when resumed, into the free slot.
      assert.equal((await command(server, paused.id, 'resume')).state, 'running');
      await waitFor('the once-queued run to train', async () => (await runOf(server.url, paused.id)).iteration > 3);
      await command(server, paused.id, 'stop');
    } finally {
      await server.teardown();
    }
  });

  test('a queued run stays queued across a restart and starts when admitted', async () => {
    const dataDir = tempDataDir('queue-restart');
    // Real engine runs: a whole server restarts, and hook fields live only in the seam of the server that took them.
    const tiny = async (server: TestServer, name: string) =>
      unwrap((await postJson(`${server.url}/api/runs`, { config: TINY_CONFIG, name })).body) as RunSummary;
    const before = await startTestServer({ dataDir, maxTraining: 1 });
    const first = await tiny(before, 'first');
    const second = await tiny(before, 'second');
    assert.equal(second.state, 'queued');
    await before.teardown({ keepData: true });
    // After the restart the first run is interrupted (no worker), so the slot is free and the second starts.
    const after = await startTestServer({ dataDir, maxTraining: 1 });
    try {
      assert.equal((await runOf(after.url, first.id)).state, 'interrupted');
      await stateOf(after, second.id, 'running');
      // The interrupted first run now waits behind the cap.
      assert.equal((await command(after, first.id, 'resume')).state, 'queued');
      await command(after, second.id, 'stop');
      await stateOf(after, first.id, 'running');
      await waitFor('the first run to train from its checkpoint', async () => {
        return (await runOf(after.url, first.id)).iteration > 0;
      });
      await command(after, first.id, 'stop');
    } finally {
      await after.teardown();
    }
  });
});
