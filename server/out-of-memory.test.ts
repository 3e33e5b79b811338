// Out-of-memory failures of a training worker, whichever memory ran out (the wasm heap, a typed array's buffer, the
// V8 heap), fail the run with reason `out_of_memory` and a message with its estimate and the budget; other errors
// stay `worker_error`.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isOutOfMemory } from './out-of-memory';
import type { RunSummary } from './protocol';
import { runOf, startTestServer, unwrap, waitFor } from './testing/test-server';

/** The error a real allocation throws. */
function thrownBy(allocate: () => unknown): Error {
  try {
    allocate();
  } catch (error) {
    if (error instanceof Error) return error;
  }
  throw new Error('the allocation did not fail');
}

describe('isOutOfMemory', () => {
  test('knows the allocation failures of typed arrays, wasm and the V8 heap', () => {
    const buffer = thrownBy(() => new ArrayBuffer(2 ** 45));
    assert.equal(buffer.name, 'RangeError');
    assert.ok(isOutOfMemory(buffer), buffer.message);
    const typed = thrownBy(() => new Float64Array(2 ** 40));
    assert.ok(isOutOfMemory(typed), typed.message);
    // What emscripten's abort() throws when the wasm backend's malloc cannot grow the heap.
    const wasm = new WebAssembly.RuntimeError('Aborted(). Build with -sASSERTIONS for more info.');
    assert.ok(isOutOfMemory(wasm));
    // A 'fatal' message from the worker carries the message and the stack, whose first line names the error.
    assert.ok(isOutOfMemory({ message: wasm.message, stack: String(wasm.stack) }));
    assert.ok(
      isOutOfMemory({ code: 'ERR_WORKER_OUT_OF_MEMORY', message: 'Worker terminated due to reaching memory limit' }),
    );
  });

  test('leaves other failures alone', () => {
    assert.equal(isOutOfMemory(new Error('test hook: worker throws at iteration 5')), false);
    assert.equal(isOutOfMemory(new WebAssembly.RuntimeError('unreachable')), false);
    assert.equal(isOutOfMemory(thrownBy(() => new Array(-1))), false);
    assert.equal(isOutOfMemory({ message: 'Aborted by the user' }), false);
  });
});

describe('an out-of-memory worker fails its run as out_of_memory with the estimate', () => {
  test('the wasm allocator aborting and the V8 heap limit both', async () => {
    const server = await startTestServer({ workerMaxOldGenerationMb: 128, memoryBudgetMb: 3000 });
    try {
      const client = await server.client();
      const create = async (hook: Record<string, number>) =>
        unwrap(await client.emitWithAck('run:create', { config: { _trainer: 'synthetic', _step_ms: 2, ...hook } }));
      const wasm = await create({ _wasm_abort_at: 3 });
      const heap = await create({ _oom_at: 3 });
      const crashing = await create({ _throw_at: 3 });
      const failed = async (run: RunSummary) =>
        waitFor(`run ${run.id} to fail`, async () => {
          const now = await runOf(server.url, run.id);
          return now.state === 'failed' ? now : null;
        });
      for (const run of [wasm, heap]) {
        const { failure } = await failed(run);
        assert.equal(failure?.reason, 'out_of_memory');
        assert.match(
          failure?.message ?? '',
          /^the training worker ran out of memory \(.+\); this run's estimate is \d+ MB; the memory budget is 3000 MB$/,
        );
      }
      assert.match((await failed(wasm)).failure?.message ?? '', /Aborted\(\)/);
      assert.equal((await failed(crashing)).failure?.reason, 'worker_error');
    } finally {
      await server.teardown();
    }
  });
});
