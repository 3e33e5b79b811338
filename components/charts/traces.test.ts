import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetricPoint } from '../../server/protocol';
import { curve, iterationSpan, scalarNames, sparklinePath } from './traces';

const history = (n: number): MetricPoint[] =>
  Array.from({ length: n }, (_, i) => ({
    iteration: i + 1,
    loss: 1 / (i + 1),
    metric: (i % 2) * 0.5,
    itPerSec: 10,
    t: 1_000_000 + i * 100,
  }));

test('curves respect the display budget and align smoothed values with retained x', () => {
  const c = curve(history(100_000), 'loss', { xAxis: 'iteration', smoothing: 0.9, maxPoints: 1000 });
  assert.ok(c.x.length <= 1000);
  assert.equal(c.smooth?.length, c.x.length);
  assert.equal(c.x[0], 1);
  assert.equal(c.raw[0], 1);
  assert.ok(Math.abs((c.smooth?.[0] ?? 0) - 1) < 1e-12, 'debiased EMA starts at the first value');
});

test('wall-time axis is seconds since the first point; smoothing 0 gives no smoothed line', () => {
  const c = curve(history(3), 'metric', { xAxis: 'wall', smoothing: 0, maxPoints: 100 });
  assert.deepEqual(c.x, [0, 0.1, 0.2]);
  assert.deepEqual(c.raw, [0, 0.5, 0]);
  assert.equal(c.smooth, null);
});

test('sparklines fit their box and need two points', () => {
  assert.equal(sparklinePath(history(1), 80, 20), '');
  const path = sparklinePath(history(50), 80, 20);
  const pts = path.split(' ').map((p) => p.split(',').map(Number));
  assert.ok(pts.every(([x, y]) => x >= 0 && x <= 80 && y >= 0 && y <= 20));
  assert.equal(pts[0][0], 0);
  assert.equal(pts[pts.length - 1][0], 80);
});

test('named scalars: names in order of first appearance, curves with gaps where a point lacks the scalar', () => {
  const scalars: Record<string, number>[] = [{ acc: 0 }, { grad: 2, acc: 0.5 }, { acc: 2 }];
  const points: MetricPoint[] = history(3).map((p, i) => ({ ...p, scalars: scalars[i] }));
  assert.deepEqual(scalarNames(points), ['acc', 'grad']);
  assert.deepEqual(curve(points, 'scalar:acc', { xAxis: 'iteration', smoothing: 0, maxPoints: 10 }).raw, [0, 0.5, 2]);
  const grad = curve(points, 'scalar:grad', { xAxis: 'iteration', smoothing: 0, maxPoints: 10 }).raw;
  assert.equal(grad[1], 2);
  assert.ok(Number.isNaN(grad[0]) && Number.isNaN(grad[2]));
});

test('a zoomed x range maps to the iterations behind it, widened to the held points around it, on either axis', () => {
  // An overview holds iterations 1, 100, 200, …, 1000 (t = 1,000,000 + 100 ms per iteration).
  const held = history(1000).filter((p) => p.iteration === 1 || p.iteration % 100 === 0);
  assert.deepEqual(iterationSpan(held, 'iteration', 250, 480), { since: 200, until: 500 });
  assert.deepEqual(iterationSpan(held, 'iteration', -5, 150), { since: -1, until: 200 });
  assert.deepEqual(iterationSpan(held, 'iteration', 950, 2000), { since: 900, until: 1000 });
  // Wall time: x is seconds since the first point, 0.1 s per iteration.
  assert.deepEqual(iterationSpan(held, 'wall', 25, 48), { since: 200, until: 500 });
  assert.equal(iterationSpan([], 'iteration', 0, 1), null);
  assert.equal(iterationSpan(held, 'iteration', 1500, 2000), null);
});
