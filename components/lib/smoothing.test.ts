import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emaSmooth } from './smoothing';

test('weight 0 is the identity', () => {
  assert.deepEqual(emaSmooth([3, 1, 2], 0), [3, 1, 2]);
});

test('debiasing keeps a constant curve constant from the first point', () => {
  const out = emaSmooth([5, 5, 5, 5], 0.9);
  for (const v of out) assert.ok(Math.abs(v - 5) < 1e-12);
});

test('a step is followed gradually and NaN does not poison the average', () => {
  const out = emaSmooth([0, 0, NaN, 10, 10], 0.5);
  assert.ok(Number.isNaN(out[2]));
  assert.ok(out[3] > 0 && out[3] < 10);
  assert.ok(out[4] > out[3] && out[4] < 10);
  assert.throws(() => emaSmooth([1], 1), /weight must be in \[0, 1\), got 1/);
});
