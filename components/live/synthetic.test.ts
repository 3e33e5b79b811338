import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tensorSize } from '../../server/protocol/frames';
import { panelsForFrame } from '../lib/panels';
import { syntheticFrame } from './synthetic';

test('synthetic frames are self-consistent and lay out into the panels the run page expects', () => {
  const frame = syntheticFrame('s', 10, { cells: 12, width: 5, heads: 2, timesteps: 7, channels: 4 });
  for (const t of frame.tensors) {
    assert.equal(t.data.length, tensorSize(t.shape), t.name);
    assert.equal(t.shape[0], 7, `${t.name} has time first`);
  }
  const ids = panelsForFrame(frame.tensors).map((p) => p.testId);
  for (const name of ['memory', 'linkMatrix', 'readWeights', 'writeWeights', 'usage', 'input', 'target', 'output']) {
    assert.ok(ids.includes(`heatmap-${name}`), name);
  }
  const again = syntheticFrame('s', 10, { cells: 12, width: 5, heads: 2, timesteps: 7, channels: 4 });
  assert.deepEqual(again.tensors[3].data, frame.tensors[3].data, 'deterministic');
});
