import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../training/rng';
import { createTask, TASK_NAMES } from './index';
import type { TaskBatch } from './types';

before(async () => {
  await tf.setBackend('cpu');
});

/** Row `t` of batch element `b`, as a plain array. */
function row(data: Float32Array, batch: TaskBatch, b: number, t: number, width: number): number[] {
  const start = (b * batch.timesteps + t) * width;
  return Array.from(data.subarray(start, start + width));
}

test('copy: shapes, end marker, and the target is the input sequence after the marker', () => {
  const task = createTask('copy', { inputSize: 6 });
  const batch = task.generate(Rng.fromSeed(3), 5, 4);
  assert.equal(batch.timesteps, 9);
  assert.equal(batch.input.length, 5 * 9 * 6);
  assert.equal(batch.target.length, 5 * 9 * 6);
  for (let b = 0; b < 5; b++) {
    for (let t = 0; t < 4; t++) {
      const item = row(batch.input, batch, b, t, 6);
      assert.equal(item[5], 0, 'no marker during the sequence');
      assert.deepEqual(row(batch.target, batch, b, 5 + t, 6), [...item.slice(0, 5), 0]);
      assert.deepEqual(row(batch.target, batch, b, t, 6), [0, 0, 0, 0, 0, 0], 'silent target while reading');
      assert.deepEqual(row(batch.input, batch, b, 5 + t, 6), [0, 0, 0, 0, 0, 0], 'silent input while answering');
    }
    assert.deepEqual(row(batch.input, batch, b, 4, 6), [0, 0, 0, 0, 0, 1]);
  }
  assert.ok(batch.input.some((v) => v === 1) && batch.input.every((v) => v === 0 || v === 1));
});

test('repeat-copy: the target is the sequence written `repeats` times', () => {
  const task = createTask('repeat-copy', { inputSize: 4, repeats: 3 });
  const batch = task.generate(Rng.fromSeed(5), 2, 3);
  assert.equal(batch.timesteps, 3 + 1 + 9);
  for (let b = 0; b < 2; b++) {
    for (let r = 0; r < 3; r++) {
      for (let t = 0; t < 3; t++) {
        assert.deepEqual(
          row(batch.target, batch, b, 4 + r * 3 + t, 4).slice(0, 3),
          row(batch.input, batch, b, t, 4).slice(0, 3),
        );
      }
    }
    assert.equal(row(batch.input, batch, b, 3, 4)[3], 1);
  }
});

test('associative-recall: distinct items, the cue is one of them, the target is the item after it', () => {
  const task = createTask('associative-recall', { inputSize: 6 });
  const batch = task.generate(Rng.fromSeed(11), 20, 6);
  assert.equal(batch.timesteps, 8);
  for (let b = 0; b < 20; b++) {
    const items = Array.from({ length: 6 }, (_, t) => row(batch.input, batch, b, t, 6).join(''));
    assert.equal(new Set(items).size, 6, 'items are distinct');
    const cueRow = row(batch.input, batch, b, 6, 6);
    assert.equal(cueRow[5], 1, 'query marker');
    const cue = items.indexOf([...cueRow.slice(0, 5), 0].join(''));
    assert.ok(cue >= 0 && cue < 5, 'cue is an item with a successor');
    assert.equal(row(batch.target, batch, b, 7, 6).join(''), items[cue + 1]);
    assert.equal(
      batch.target.subarray(b * 48, b * 48 + 42).some((v) => v !== 0),
      false,
      'target silent before the answer',
    );
  }
  assert.throws(
    () => createTask('associative-recall', { inputSize: 3 }).generate(Rng.fromSeed(1), 1, 5),
    /distinct items/,
  );
});

test('adding: one-hot digits, marker, and the target is their sum', () => {
  const task = createTask('adding', { inputSize: 6 });
  const batch = task.generate(Rng.fromSeed(2), 8, 5);
  assert.equal(batch.timesteps, 6);
  for (let b = 0; b < 8; b++) {
    let sum = 0;
    for (let t = 0; t < 5; t++) {
      const r = row(batch.input, batch, b, t, 6);
      assert.equal(
        r.reduce((a, v) => a + v, 0),
        1,
        'one-hot',
      );
      assert.equal(r[5], 0, 'digits never use the marker channel');
      sum += r.indexOf(1);
    }
    assert.deepEqual(row(batch.input, batch, b, 5, 6), [0, 0, 0, 0, 0, 1]);
    assert.equal(row(batch.target, batch, b, 5, 6)[0], sum);
  }
});

test('argmax: the target is the position of the first largest digit', () => {
  const task = createTask('argmax', { inputSize: 4 });
  const batch = task.generate(Rng.fromSeed(9), 30, 6);
  for (let b = 0; b < 30; b++) {
    const values = Array.from({ length: 6 }, (_, t) => row(batch.input, batch, b, t, 4).indexOf(1));
    assert.ok(values.every((v) => v >= 0 && v <= 2));
    assert.equal(row(batch.target, batch, b, 6, 4)[0], values.indexOf(Math.max(...values)));
  }
});

test('generators are deterministic in the RNG and refuse bad requests', () => {
  for (const name of TASK_NAMES) {
    const task = createTask(name, { inputSize: 6 });
    const a = task.generate(Rng.fromSeed(4), 3, 3);
    const b = task.generate(Rng.fromSeed(4), 3, 3);
    assert.deepEqual(a.input, b.input, name);
    assert.deepEqual(a.target, b.target, name);
    assert.throws(() => task.generate(Rng.fromSeed(4), 0, 3), /batchSize must be a positive integer, got 0/);
    assert.throws(() => task.generate(Rng.fromSeed(4), 2, 0), /length must be an integer >= \d, got 0/);
  }
  assert.throws(() => createTask('copy', { inputSize: 1 }), /inputSize must be an integer >= 2, got 1/);
});

test('copy loss and metric: perfect logits give zero bit errors, flipped ones give all errors', () => {
  const task = createTask('copy', { inputSize: 4 });
  const batch = task.generate(Rng.fromSeed(1), 3, 3);
  const target = tf.tensor3d(batch.target, [3, batch.timesteps, 4]);
  const perfect = tf.sub(tf.mul(target, 20), 10) as tf.Tensor3D;
  const flipped = tf.neg(perfect) as tf.Tensor3D;
  assert.equal(task.metric(perfect, target, batch).dataSync()[0], 0);
  assert.equal(task.metric(flipped, target, batch).dataSync()[0], 1);
  assert.ok(task.loss(perfect, target, batch).dataSync()[0] < 1e-3);
  const zeros = tf.zeros([3, batch.timesteps, 4]) as tf.Tensor3D;
  assert.ok(Math.abs(task.loss(zeros, target, batch).dataSync()[0] - Math.log(2)) < 1e-6, 'BCE at logit 0 is ln 2');
  tf.dispose([target, perfect, flipped, zeros]);
});

test('adding and argmax losses read the sum / last-step reading', () => {
  const adding = createTask('adding', { inputSize: 3 });
  const batch = adding.generate(Rng.fromSeed(1), 2, 3);
  const target = tf.tensor3d(batch.target, [2, batch.timesteps, 3]);
  assert.equal(adding.loss(target, target, batch).dataSync()[0], 0, 'the target itself sums to the target');
  // Spreading +1 over every output unit raises the predicted sum by exactly one.
  const offByOne = tf.add(target, 1 / (batch.timesteps * 3)) as tf.Tensor3D;
  assert.ok(Math.abs(adding.metric(offByOne, target, batch).dataSync()[0] - 1) < 1e-5);
  const argmax = createTask('argmax', { inputSize: 3 });
  const ab = argmax.generate(Rng.fromSeed(1), 2, 3);
  const at = tf.tensor3d(ab.target, [2, ab.timesteps, 3]);
  assert.equal(argmax.metric(at, at, ab).dataSync()[0], 0);
  assert.equal(argmax.metric(tf.add(at, 1) as tf.Tensor3D, at, ab).dataSync()[0], 1);
  assert.equal(argmax.loss(tf.add(at, 0.5) as tf.Tensor3D, at, ab).dataSync()[0], 0.25 * 3 * 3);
});
