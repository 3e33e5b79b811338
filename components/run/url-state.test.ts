import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatViewPosition, parseViewPosition } from './url-state';

test('positions round-trip through the query and keep other parameters', () => {
  const search = formatViewPosition('?token=abc', { timestep: 3, scrubIteration: 120 });
  assert.equal(search, '?token=abc&t=3&it=120');
  assert.deepEqual(parseViewPosition(search), { timestep: 3, scrubIteration: 120 });
  assert.equal(formatViewPosition('?t=3&it=5', { timestep: 0, scrubIteration: null }), '');
});

test('garbage in the query falls back to live at timestep 0', () => {
  assert.deepEqual(parseViewPosition('?t=-1&it=abc'), { timestep: 0, scrubIteration: null });
});
