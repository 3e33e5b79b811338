import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cellAt, GROUP_BOX, panelScale, rangeToLock, viewDisplaySize } from './view-math';

test('views get whole pixels per cell, capped, and shrink below one pixel only when they must', () => {
  assert.deepEqual(viewDisplaySize(16, 16, GROUP_BOX.memory), { width: 288, height: 288, cellPx: 18 });
  assert.deepEqual(viewDisplaySize(4, 4, GROUP_BOX.memory), { width: 80, height: 80, cellPx: 20 });
  const big = viewDisplaySize(512, 512, GROUP_BOX.memory);
  assert.equal(big.width, 300);
  assert.ok(big.cellPx < 1);
  const tall = viewDisplaySize(100_000, 64, GROUP_BOX.memory);
  assert.deepEqual([tall.width, tall.height], [256, 300], 'each axis fits on its own when cells outnumber pixels');
  assert.throws(() => viewDisplaySize(0, 3, GROUP_BOX.memory), /0×3 cells/);
});

test('panel scales: automatic over all views, locked ranges win, declared ranges are what gets locked', () => {
  const auto = panelScale([new Float32Array([0.125, 0.25]), new Float32Array([0.75])], undefined);
  assert.deepEqual(auto, { map: 'viridis', min: 0, max: 0.75, locked: false });
  const signed = panelScale([new Float32Array([-2, 1])], undefined);
  assert.deepEqual([signed.map, signed.min, signed.max], ['diverging', -2, 2]);
  assert.deepEqual(panelScale([new Float32Array([5])], [0, 1]), { map: 'viridis', min: 0, max: 1, locked: true });
  assert.deepEqual(rangeToLock([0, 1], auto), [0, 1]);
  assert.deepEqual(rangeToLock(undefined, auto), [0, 0.75]);
});

test('cellAt maps pointer positions to cells', () => {
  assert.deepEqual(cellAt(0, 0, 100, 50, 5, 10), { row: 0, col: 0 });
  assert.deepEqual(cellAt(99.9, 49.9, 100, 50, 5, 10), { row: 4, col: 9 });
  assert.equal(cellAt(100, 10, 100, 50, 5, 10), null);
});
