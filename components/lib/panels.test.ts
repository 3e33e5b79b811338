import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cellAxes, extractView, layoutKey, panelForTensor, panelsForFrame, wrongBits } from './panels';

const t = (name: string, shape: number[], axes: string[], layer = 0) => ({ name, layer, shape, axes });

test('memory and the link matrix are sliced at the timestep', () => {
  const memory = panelForTensor(t('memory', [5, 16, 8], ['time', 'cell', 'word']));
  assert.equal(memory.group, 'memory');
  assert.equal(memory.perTimestep, true);
  assert.equal(memory.testId, 'heatmap-memory');
  assert.deepEqual(
    memory.views.map((v) => [v.rows, v.cols, v.rowAxis, v.colAxis]),
    [[16, 8, 'cell', 'word']],
  );
  const link = panelForTensor(t('linkMatrix', [5, 16, 16], ['time', 'cell', 'cell']));
  assert.equal(link.perTimestep, true);
  assert.deepEqual(cellAxes(link.views[0]), { rows: true, cols: true });
});

test('a small memory (N ≤ 8 cells) is still a slice, because its axis is named cell', () => {
  const memory = panelForTensor(t('memory', [5, 4, 8], ['time', 'cell', 'word']));
  assert.equal(memory.perTimestep, true);
});

test('read weights become one over-time view per head; usage and gates are over time', () => {
  const reads = panelForTensor(t('readWeights', [5, 2, 16], ['time', 'head', 'cell']));
  assert.equal(reads.group, 'overTime');
  assert.deepEqual(
    reads.views.map((v) => [v.label, v.rows, v.cols, v.colAxis]),
    [
      ['head 0', 5, 16, 'cell'],
      ['head 1', 5, 16, 'cell'],
    ],
  );
  const modes = panelForTensor(t('readModes', [5, 2, 3], ['time', 'head', 'mode']));
  assert.equal(modes.group, 'strip');
  const usage = panelForTensor(t('usage', [5, 16], ['time', 'cell']));
  assert.deepEqual([usage.group, usage.views[0].rows, usage.views[0].cols], ['overTime', 5, 16]);
  const gate = panelForTensor(t('allocationGate', [5], ['time']));
  assert.deepEqual([gate.group, gate.views[0].rows, gate.views[0].cols], ['strip', 5, 1]);
});

test('unknown tensors of any rank get views without special code; layers get a suffix', () => {
  const sparse = panelForTensor(t('sparseReadIndices', [5, 2, 4, 3], ['time', 'head', 'k', 'x'], 1));
  assert.equal(sparse.testId, 'heatmap-sparseReadIndices-l1');
  assert.equal(sparse.views.length, 2);
  assert.deepEqual([sparse.views[1].rows, sparse.views[1].cols], [4, 3]);
  const flat = panelForTensor(t('bias', [7], ['unit']));
  assert.deepEqual([flat.views[0].rows, flat.views[0].cols, flat.group], [1, 7, 'strip']);
  assert.throws(
    () => panelForTensor(t('bad', [2, 3], ['time'])),
    /panelForTensor\(bad\): 1 axis labels \[time\] for shape \[2, 3\]/,
  );
});

test('sequence tensors lead, followed by memory, over-time views and strips', () => {
  const panels = panelsForFrame([
    t('usage', [5, 16], ['time', 'cell']),
    t('memory', [5, 16, 8], ['time', 'cell', 'word']),
    t('output', [5, 6], ['time', 'channel']),
    t('input', [5, 6], ['time', 'channel']),
    t('readModes', [5, 2, 3], ['time', 'head', 'mode']),
    t('linkMatrix', [5, 16, 16], ['time', 'cell', 'cell']),
  ]);
  assert.deepEqual(
    panels.map((p) => p.name),
    ['input', 'output', 'memory', 'linkMatrix', 'usage', 'readModes'],
  );
  assert.equal(panels[0].group, 'sequence');
});

test('extractView cuts the slice at a timestep and one head over time', () => {
  const T = 3,
    H = 2,
    N = 4;
  const data = new Float32Array(T * H * N).map((_, i) => i);
  const reads = panelForTensor(t('readWeights', [T, H, N], ['time', 'head', 'cell']));
  assert.deepEqual([...extractView(data, reads.views[1], 0)], [4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23]);
  const mem = panelForTensor(t('memory', [T, H, N], ['time', 'cell', 'word']));
  assert.deepEqual([...extractView(data, mem.views[0], 2)], [16, 17, 18, 19, 20, 21, 22, 23]);
  assert.throws(() => extractView(data, mem.views[0], 3), /outside data of length 24 \(timestep 3\)/);
});

test('layoutKey changes only when names, layers, shapes or axes do', () => {
  const a = layoutKey([t('memory', [5, 16, 8], ['time', 'cell', 'word'])]);
  assert.equal(a, layoutKey([t('memory', [5, 16, 8], ['time', 'cell', 'word'])]));
  assert.notEqual(a, layoutKey([t('memory', [6, 16, 8], ['time', 'cell', 'word'])]));
});

test('wrongBits marks thresholded mismatches, only where the mask scores', () => {
  const target = new Float32Array([1, 0, 1, 0]);
  const output = new Float32Array([0.9, 0.7, 0.2, 0.1]);
  assert.deepEqual([...wrongBits(output, target)], [0, 1, 1, 0]);
  assert.deepEqual([...wrongBits(output, target, new Float32Array([0, 1]))], [0, 0, 1, 0]);
  assert.throws(() => wrongBits(output, new Float32Array(3)), /output has 4 values, target has 3/);
});
