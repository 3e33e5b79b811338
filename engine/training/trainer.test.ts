import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { findTensor } from '../frames';
import { CheckpointError, decodeCheckpoint, encodeCheckpoint } from './checkpoint-format';
import { createTrainer, restoreTrainer } from './trainer';
import { ConfigError, NonFiniteError } from './types';

before(async () => {
  await tf.setBackend('cpu');
});

/** Small unequal sizes: fast on the cpu backend, still every mechanism. */
const TINY = {
  task: 'copy',
  input_size: 4,
  batch_size: 6,
  nhid: 12,
  mem_slot: 7,
  mem_size: 5,
  read_heads: 2,
  sequence_max_length: 3,
  lr: 0.01,
  summarize_freq: 1000,
  seed: 5,
};

test('a short copy run on a tiny config lowers the loss clearly', async () => {
  const trainer = createTrainer({ ...TINY, batch_size: 8, nhid: 16, read_heads: 1, sequence_max_length: 2, lr: 0.03 });
  const losses: number[] = [];
  for (let i = 0; i < 30; i++) losses.push((await trainer.step()).loss);
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  const first = mean(losses.slice(0, 5));
  const last = mean(losses.slice(-5));
  assert.ok(last < 0.6 * first, `loss went from ${first.toFixed(4)} to ${last.toFixed(4)}`);
  assert.equal(trainer.iteration, 30);
  trainer.dispose();
});

test('checkpoint + restore continues exactly like the uninterrupted run (losses and weights)', async () => {
  const config = { ...TINY, optim: 'adamax', summarize_freq: 2 };
  const straight = createTrainer(config);
  const straightLosses: number[] = [];
  for (let i = 0; i < 6; i++) straightLosses.push((await straight.step()).loss);

  const first = createTrainer(config);
  const resumedLosses: number[] = [];
  for (let i = 0; i < 3; i++) resumedLosses.push((await first.step()).loss);
  const bytes = await first.checkpoint();
  first.dispose();
  const resumed = restoreTrainer(bytes);
  assert.equal(resumed.iteration, 3);
  for (let i = 0; i < 3; i++) resumedLosses.push((await resumed.step()).loss);

  assert.deepEqual(resumedLosses, straightLosses);
  assert.deepEqual(await resumed.weights(), await straight.weights());
  assert.deepEqual(
    decodeCheckpoint(await resumed.checkpoint()).optimizer,
    decodeCheckpoint(await straight.checkpoint()).optimizer,
  );
  straight.dispose();
  resumed.dispose();
});

test('restore refuses corrupt, truncated and mismatched checkpoints, and config changes it cannot honour', async () => {
  const trainer = createTrainer(TINY);
  await trainer.step();
  const bytes = await trainer.checkpoint();
  trainer.dispose();
  assert.throws(() => restoreTrainer(bytes.subarray(0, bytes.length - 100)), CheckpointError);
  const corrupted = bytes.slice();
  corrupted[corrupted.length - 50] ^= 0xff;
  assert.throws(() => restoreTrainer(corrupted), /tensor data checksum mismatch/);
  const contents = decodeCheckpoint(bytes);
  const dropped = encodeCheckpoint({ ...contents, weights: contents.weights.slice(1) });
  assert.throws(() => restoreTrainer(dropped), new RegExp(`missing ${contents.weights[0].name.replace(/\./g, '\\.')}`));
  const otherSize = encodeCheckpoint({ ...contents, config: { ...contents.config, nhid: 13 } });
  assert.throws(() => restoreTrainer(otherSize), /has shape \[.*\], the model expects/);
  assert.throws(
    () => restoreTrainer(bytes, { overrides: { mem_slot: 9 } }),
    (error: unknown) =>
      error instanceof ConfigError && error.field === 'mem_slot' && /cannot change on resume/.test(error.message),
  );
  const extended = restoreTrainer(bytes, { overrides: { iterations: 77, lr: 0.5 } });
  assert.equal(extended.config.iterations, 77);
  assert.equal(extended.learningRate, 0.5);
  extended.dispose();
});

test('a NaN weight is refused before the update: the error names loss, iteration, timestep; state kept', async () => {
  let poison = false;
  let original = 0;
  const trainer = createTrainer(TINY, {
    beforeIteration: ({ variables }) => {
      const weight = variables.get('output.weight');
      if (weight === undefined) throw new Error('no output.weight');
      const values = weight.dataSync().slice();
      if (poison) {
        original = values[0];
        values[0] = Number.NaN;
      } else if (Number.isNaN(values[0])) {
        values[0] = original;
      }
      weight.assign(tf.tensor(values, weight.shape));
    },
  });
  const clean = createTrainer(TINY);
  await trainer.step();
  await clean.step();
  const weightsBefore = await trainer.weights();
  const checkpointBefore = decodeCheckpoint(await trainer.checkpoint());
  poison = true;
  await assert.rejects(trainer.step(), (error: unknown) => {
    assert.ok(error instanceof NonFiniteError);
    assert.equal(error.tensor, 'loss');
    assert.equal(error.iteration, 2);
    assert.equal(error.timestep, 0, 'the output is NaN from the first step on');
    assert.match(error.message, /non-finite value in loss at iteration 2, timestep 0/);
    // The refused forward pass travels with the error so a viewer can show where the NaN appeared.
    assert.ok(error.frame !== undefined, 'the offending frame is attached');
    const output = error.frame.tensors.find((t) => t.name === 'output');
    assert.ok(output !== undefined && Number.isNaN(output.data[0]), 'the frame shows the NaN output');
    return true;
  });
  assert.equal(trainer.iteration, 1);
  const weightsAfter = await trainer.weights();
  for (const [name, values] of weightsBefore) {
    const after = weightsAfter.get(name);
    assert.ok(after !== undefined);
    if (name === 'output.weight') {
      assert.ok(Number.isNaN(after[0]));
      assert.deepEqual(after.subarray(1), values.subarray(1));
    } else {
      assert.deepEqual(after, values, `${name} untouched`);
    }
  }
  // Optimizer and RNG were not advanced either: once the weight is healed the run continues as if nothing happened.
  poison = false;
  const healed = await trainer.step();
  const reference = await clean.step();
  assert.equal(healed.loss, reference.loss);
  assert.deepEqual(
    decodeCheckpoint(await trainer.checkpoint()).optimizer.slots,
    decodeCheckpoint(await clean.checkpoint()).optimizer.slots,
  );
  assert.equal(checkpointBefore.iteration, 1);
  trainer.dispose();
  clean.dispose();
});

test('frames: captured every summarize_freq or on request, with input/target/output [time, channel]', async () => {
  const trainer = createTrainer({ ...TINY, summarize_freq: 2 });
  const first = await trainer.step();
  assert.equal(first.frame, undefined);
  const second = await trainer.step();
  assert.ok(second.frame !== undefined);
  const third = await trainer.step({ captureFrame: true });
  const frame = third.frame;
  assert.ok(frame !== undefined);
  const input = findTensor(frame, 'input');
  const target = findTensor(frame, 'target');
  const output = findTensor(frame, 'output');
  assert.ok(input && target && output && findTensor(frame, 'memory') && findTensor(frame, 'readWeights'));
  const length = (frame.timesteps - 1) / 2;
  assert.ok(Number.isInteger(length) && length >= 1 && length <= 3);
  assert.deepEqual(input.axes, ['time', 'channel']);
  assert.deepEqual(output.shape, [frame.timesteps, 4]);
  assert.ok(
    output.data.every((v) => v > 0 && v < 1),
    'sigmoid applied',
  );
  // The target is the copied input: bits of step t reappear at step length + 1 + t.
  for (let t = 0; t < length; t++) {
    for (let c = 0; c < 3; c++) assert.equal(target.data[(length + 1 + t) * 4 + c], input.data[t * 4 + c]);
  }
  assert.equal(input.data[length * 4 + 3], 1, 'end marker');
  trainer.dispose();
});

test('no tensors leak across iterations, captured or not, nor across test()', async () => {
  const trainer = createTrainer({ ...TINY, summarize_freq: 3 });
  await trainer.step({ captureFrame: true });
  const baseline = tf.memory().numTensors;
  for (let i = 0; i < 4; i++) await trainer.step();
  await trainer.test({ batches: 1, lengthFactor: 2 });
  assert.equal(tf.memory().numTensors, baseline);
  trainer.dispose();
});

test('test phase runs longer sequences and reports the task metric', async () => {
  const trainer = createTrainer({ ...TINY, task: 'adding' });
  await trainer.step();
  const result = await trainer.test({ batches: 2, lengthFactor: 3 });
  assert.equal(result.metricName, 'mean absolute error of the sum');
  assert.ok(Number.isFinite(result.metric) && Number.isFinite(result.loss));
  trainer.dispose();
});

test('every task and optimizer trains a step; bad settings are refused by field', async () => {
  const tasks = ['repeat-copy', 'associative-recall', 'argmax'];
  const optimizers = ['rmsprop', 'sgd', 'adagrad', 'adadelta'];
  for (let i = 0; i < tasks.length; i++) {
    const trainer = createTrainer({ ...TINY, task: tasks[i], optim: optimizers[i], sequence_max_length: 2 });
    const result = await trainer.step();
    assert.ok(Number.isFinite(result.loss), tasks[i]);
    trainer.dispose();
  }
  const trainer = createTrainer(TINY);
  assert.throws(
    () => trainer.setLearningRate(-1),
    (e: unknown) => e instanceof ConfigError && e.field === 'lr',
  );
  assert.throws(
    () => trainer.setSummarizeFreq(0),
    (e: unknown) => e instanceof ConfigError && e.field === 'summarize_freq',
  );
  trainer.setLearningRate(0.123);
  assert.equal(decodeCheckpoint(await trainer.checkpoint()).optimizer.learningRate, 0.123);
  trainer.dispose();
  // The sparse memories plug in through the memory registry: the trainer needs nothing memory-specific.
  for (const memoryType of ['sam', 'sdnc']) {
    const sparse = createTrainer({ ...TINY, memory_type: memoryType, sparse_reads: 2, temporal_reads: 2 });
    assert.ok(Number.isFinite((await sparse.step()).loss), memoryType);
    sparse.dispose();
  }
  assert.throws(
    () => createTrainer({ ...TINY, bogus: 1 }),
    (e: unknown) => e instanceof ConfigError && e.field === 'bogus',
  );
});
