import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PlotPanel, VisdomPanel } from '../../server/protocol/visdom';
import { createDashboardStore } from './store';

const plot: PlotPanel = {
  kind: 'plot',
  win: 'loss',
  title: 'loss',
  version: 1,
  layout: {},
  traces: [
    { name: '1', x: [0], y: [1] },
    { name: 'val', x: [0], y: [2] },
  ],
};
const text: VisdomPanel = { kind: 'text', win: 'log', title: '', version: 1, text: 'hi' };

test('panels load for the open run only; appends extend only their trace; close removes', () => {
  const store = createDashboardStore();
  store.getState().openRun('r1');
  store.getState().setVisdomPanels('other', [plot]);
  assert.deepEqual(store.getState().visdomOrder, []);
  store.getState().setVisdomPanels('r1', [plot, text]);
  assert.deepEqual(store.getState().visdomOrder, ['loss', 'log']);
  const untouched = (store.getState().visdomPanels.loss as PlotPanel).traces[0];
  store.getState().appendVisdomTraces('r1', 'loss', 2, [{ trace: 1, x: [1, 2], y: [3, 4] }]);
  const loss = store.getState().visdomPanels.loss as PlotPanel;
  assert.deepEqual([loss.traces[1].x, loss.traces[1].y, loss.version], [[0, 1, 2], [2, 3, 4], 2]);
  assert.equal(loss.traces[0], untouched, 'the other trace is the same object');
  assert.deepEqual(plot.traces[1].x, [0], 'the previous state is not mutated');
  store.getState().upsertVisdomPanel('r1', { ...text, text: 'hi\nthere', version: 2 });
  assert.deepEqual(store.getState().visdomOrder, ['loss', 'log']);
  store.getState().upsertVisdomPanel('r1', { ...text, win: 'new' });
  assert.deepEqual(store.getState().visdomOrder, ['loss', 'log', 'new']);
  store.getState().closeVisdomPanel('r1', 'loss');
  assert.deepEqual(store.getState().visdomOrder, ['log', 'new']);
  // Appends to a panel not held are ignored (the next subscribe fetches it whole).
  store.getState().appendVisdomTraces('r1', 'gone', 3, [{ trace: 0, x: [1], y: [1] }]);
  assert.equal('gone' in store.getState().visdomPanels, false);
});
