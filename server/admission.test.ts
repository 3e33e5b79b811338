// The memory estimate behind admission: it grows with every size a run asks for, with the link matrix's N² for a
// dense memory, and refuses the configs #13 measured taking the machine down under the default budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  defaultMaxTraining,
  defaultMemoryBudgetBytes,
  episodeTimesteps,
  estimateNote,
  estimateRunMemory,
  overBudgetMessage,
  WORKER_BASELINE_BYTES,
} from './admission';
import type { RunConfig, RunConfigInput } from './protocol';
import { ConfigError, resolveRunConfig } from './worker/trainer-source';

const GB = 1024 ** 3;
/** The machine #13 measured on. */
const MACHINE_BYTES = 24 * GB;

async function estimate(input: RunConfigInput): Promise<number> {
  return estimateRunMemory(await resolveRunConfig(input)).bytes;
}

test('the estimate grows with every size field', async () => {
  const base = { mem_slot: 64, mem_size: 16, batch_size: 4, read_heads: 2, nhid: 32, sequence_max_length: 4 };
  const at = await estimate(base);
  for (const [field, bigger] of [
    ['mem_slot', 128],
    ['mem_size', 32],
    ['batch_size', 8],
    ['read_heads', 4],
    ['nhid', 64],
    ['sequence_max_length', 8],
    ['nlayer', 2],
    ['nhlayer', 3],
  ] as const) {
    assert.ok((await estimate({ ...base, [field]: bigger })) > at, `${field} ${bigger} raises the estimate`);
  }
  // Sparse memories grow with N too (row store and index), but far more slowly than a dense link matrix.
  const sam = await estimate({ ...base, memory_type: 'sam', mem_slot: 4096 });
  assert.ok(sam > (await estimate({ ...base, memory_type: 'sam' })));
  assert.ok(sam < (await estimate({ ...base, mem_slot: 4096 })));
});

test('a dense memory scales with batch × N² once the link matrix dominates', async () => {
  const over = async (input: RunConfigInput) => (await estimate(input)) - WORKER_BASELINE_BYTES;
  const small = await over({ mem_slot: 2048, batch_size: 2 });
  const ratioN = (await over({ mem_slot: 4096, batch_size: 2 })) / small;
  assert.ok(ratioN > 3.8 && ratioN < 4.2, `doubling N multiplies by about 4, got ${ratioN}`);
  const ratioB = (await over({ mem_slot: 2048, batch_size: 4 })) / small;
  assert.ok(ratioB > 1.5 && ratioB < 2, `doubling the batch (frames record one element) by 1.5–2, got ${ratioB}`);
});

test('episode length follows the task and the curriculum to the run’s last iteration', async () => {
  const copy = await resolveRunConfig({ sequence_max_length: 5 });
  assert.equal(episodeTimesteps(copy), 11);
  assert.equal(
    episodeTimesteps(await resolveRunConfig({ task: 'repeat-copy', sequence_max_length: 5, repeats: 3 })),
    21,
  );
  assert.equal(episodeTimesteps(await resolveRunConfig({ task: 'associative-recall', sequence_max_length: 5 })), 7);
  const growing = await resolveRunConfig({
    sequence_max_length: 5,
    curriculum_increment: 2,
    curriculum_freq: 100,
    iterations: 1000,
  });
  // Lengths 5, 7, …: the last increment comes at iteration 901 (floor(999 / 100) = 9 increments).
  assert.equal(episodeTimesteps(growing), 2 * (5 + 18) + 1);
});

test('the configs #13 measured are refused under the default budget of a 24 GB machine', async () => {
  const budget = defaultMemoryBudgetBytes(MACHINE_BYTES);
  assert.equal(budget, 12 * GB);
  const big = estimateRunMemory(await resolveRunConfig({ mem_slot: 10000, batch_size: 2 }));
  assert.ok(big.bytes > budget, `mem_slot 10000 × batch 2 is estimated at ${big.bytes} bytes`);
  // batch_size 1e6 never reaches the estimate: its field maximum refuses it first.
  await assert.rejects(resolveRunConfig({ batch_size: 1e6 }), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, /batch_size: 1000000 is above the maximum 1024/);
    return true;
  });
  // The defaults and the tests' tiny config fit many times over.
  assert.ok((await estimate({})) * 8 < budget);
  assert.ok((await estimate({ mem_slot: 8, mem_size: 8, nhid: 16, batch_size: 2 })) < 300 * 1024 * 1024);
});

test('the refusal and the out-of-memory note say the estimate and the limit in MB', async () => {
  const config: RunConfig = await resolveRunConfig({ mem_slot: 4096, batch_size: 4 });
  const estimated = estimateRunMemory(config);
  const mb = Math.ceil(estimated.bytes / 1024 / 1024);
  const message = overBudgetMessage(estimated, 1024 * 1024 * 1024);
  assert.match(message, new RegExp(`estimated ${mb} MB .*backprop tape.*budget of 1024 MB`));
  assert.match(message, /--memory-budget-mb/);
  assert.equal(estimateNote(estimated, 2 * GB), `this run's estimate is ${mb} MB; the memory budget is 2048 MB`);
});

test('the default training cap leaves a core to the server, and never goes below one run', () => {
  assert.deepEqual([1, 2, 8].map(defaultMaxTraining), [1, 1, 7]);
});
