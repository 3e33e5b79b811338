// Metric overviews: exact when the history fits, bounded when it does not, and no spike, dip or NaN marker of any
// curve lost on the way; the newest points stay raw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetricSummary, metricOverview, OverviewBuilder } from './metric-overview';
import type { MetricPoint } from './protocol';

/** A smooth, seeded-free history: loss falls, metric rises, one named scalar wiggles. */
function history(count: number, scalars = true): MetricPoint[] {
  const points: MetricPoint[] = [];
  for (let i = 1; i <= count; i++) {
    const point: MetricPoint = {
      iteration: i,
      loss: 1 / Math.sqrt(i),
      metric: 1 - 1 / i,
      itPerSec: 50,
      t: 1_000_000 + i * 20,
    };
    if (scalars) point.scalars = { grad_norm: 1 + 0.1 * Math.sin(i / 7) };
    points.push(point);
  }
  return points;
}

test('a history within the budget comes back exactly', () => {
  const points = history(500);
  assert.deepEqual(metricOverview(points, { maxPoints: 500, tail: 50 }), points);
  assert.deepEqual(metricOverview([], { maxPoints: 100, tail: 10 }), []);
});

test('a long history is bounded, in order, made of stored points, and keeps its first point and raw tail', () => {
  const points = history(100_000);
  const overview = metricOverview(points, { maxPoints: 2000, tail: 200 });
  assert.ok(overview.length <= 2000, `${overview.length} points`);
  assert.ok(overview.length >= 1000, `the budget is used, not wasted: ${overview.length} points`);
  for (let i = 1; i < overview.length; i++) assert.ok(overview[i].iteration > overview[i - 1].iteration);
  for (const p of overview) assert.equal(p, points[p.iteration - 1], 'every point is a stored point, unchanged');
  assert.equal(overview[0].iteration, 1);
  assert.deepEqual(overview.slice(-200), points.slice(-200));
});

test('every spike and dip of every curve survives: each stays the extreme of its neighbourhood', () => {
  const points = history(50_000);
  const spikes = [1234, 20_001, 37_777];
  points[spikes[0] - 1].loss = 50; // a loss blow-up
  points[spikes[1] - 1].metric = -3; // a metric dip
  (points[spikes[2] - 1].scalars as Record<string, number>).grad_norm = 1e6; // a gradient spike
  const overview = metricOverview(points, { maxPoints: 1000, tail: 100 });
  const at = new Set(overview.map((p) => p.iteration));
  for (const it of spikes) assert.ok(at.has(it), `iteration ${it} is kept`);
  const finite = (values: number[]) => values.filter(Number.isFinite);
  assert.equal(Math.max(...finite(overview.map((p) => p.loss))), 50);
  assert.equal(Math.min(...finite(overview.map((p) => p.metric))), -3);
  assert.equal(Math.max(...overview.map((p) => p.scalars?.grad_norm ?? 0)), 1e6);
  // The global extremes of each smooth curve are kept too: the smallest loss is the last bucketed one's.
  assert.ok(at.has(50_000 - 100), 'the loss minimum before the tail is kept');
});

test('NaN and infinite values are kept as markers, for built-in curves and named scalars alike', () => {
  const points = history(30_000);
  points[4_000].loss = Number.NaN;
  points[12_345].metric = Number.POSITIVE_INFINITY;
  (points[25_000].scalars as Record<string, number>).grad_norm = Number.NaN;
  const overview = metricOverview(points, { maxPoints: 600, tail: 0 });
  assert.ok(overview.length <= 600);
  assert.ok(overview.some((p) => p.iteration === 4_001 && Number.isNaN(p.loss)));
  assert.ok(overview.some((p) => p.iteration === 12_346 && p.metric === Number.POSITIVE_INFINITY));
  assert.ok(overview.some((p) => p.iteration === 25_001 && Number.isNaN(p.scalars?.grad_norm as number)));
});

test('a curve missing everywhere (no task metric) costs no budget', () => {
  const points = history(20_000, false).map((p) => ({ ...p, metric: Number.NaN }));
  const overview = metricOverview(points, { maxPoints: 800, tail: 0 });
  assert.ok(overview.length <= 800);
  // first, last and the loss extremes per bucket: the NaN metric marker is each bucket's first point, not one more.
  assert.ok(overview.length >= 400, `${overview.length} points`);
});

test('many curves still fit the budget, down to one bucket, and sparse iterations bucket by iteration', () => {
  const points = history(5_000).map((p, i) => ({
    ...p,
    iteration: p.iteration * 10,
    scalars: Object.fromEntries(Array.from({ length: 40 }, (_, k) => [`s${k}`, Math.sin(i * (k + 1))])),
  }));
  for (const maxPoints of [8, 64, 1000]) {
    const overview = metricOverview(points, { maxPoints, tail: 4 });
    assert.ok(overview.length <= maxPoints, `${overview.length} points for a budget of ${maxPoints}`);
    assert.equal(overview.at(-1), points.at(-1));
  }
});

test('the streaming builder and the array function agree; bad options are refused by name', () => {
  const points = history(10_000);
  const builder = new OverviewBuilder(points.length, 1, 10_000, 9_901, { maxPoints: 700, tail: 100 });
  for (const p of points) builder.add(p);
  assert.deepEqual(builder.finish(), metricOverview(points, { maxPoints: 700, tail: 100 }));
  assert.throws(() => metricOverview(points, { maxPoints: 4, tail: 0 }), /maxPoints must be an integer ≥ 8, got 4/);
  assert.throws(() => metricOverview(points, { maxPoints: 100, tail: 80 }), /tail must be an integer in \[0, 50\]/);
});

test('a summary kept over a growing history gives bounded overviews keeping spikes, NaN markers and the cut', () => {
  const summary = new MetricSummary(64);
  const points = history(40_000);
  points[9_999].loss = 77;
  points[30_000].metric = Number.NaN;
  for (const p of points) summary.add(p);
  assert.equal(summary.count, 40_000);
  assert.throws(() => summary.add(points[5]), /iteration 6 after 40000/);
  // The overview of everything before 39,901 (the tail starts there): the bucket the cut falls in is reread.
  const reads: [number, number][] = [];
  const overview = summary.overviewBetween(0, 39_901, 500, (from, to) => {
    reads.push([from, to]);
    return points.filter((p) => p.iteration >= from && p.iteration < to);
  });
  assert.ok(overview.length <= 500, `${overview.length} points`);
  assert.equal(reads.length, 1);
  assert.ok(reads[0][1] === 39_901 && reads[0][0] <= 39_901 && reads[0][0] > 39_901 - 1024);
  assert.ok(overview.every((p) => p.iteration < 39_901));
  assert.equal(overview[0].iteration, 1);
  assert.ok(overview.some((p) => p.iteration === 10_000 && p.loss === 77));
  assert.ok(overview.some((p) => p.iteration === 30_001 && Number.isNaN(p.metric)));
  assert.equal(overview.at(-1)?.iteration, 39_900, 'the last point before the cut joins the tail');

  // A zoomed range: the buckets wholly inside come from the summary, the two it cuts are reread within the range.
  reads.length = 0;
  const range = summary.overviewBetween(10_000, 20_000, 300, (from, to) => {
    reads.push([from, to]);
    return points.filter((p) => p.iteration >= from && p.iteration < to);
  });
  assert.ok(range.length <= 300, `${range.length} points`);
  assert.ok(range.every((p) => p.iteration >= 10_000 && p.iteration < 20_000));
  assert.ok(range.some((p) => p.iteration === 10_000 && p.loss === 77));
  assert.equal(reads.length, 2);
  assert.ok(summary.bucketsWithin(10_000, 20_000) >= 8);
  const inside = summary.overviewBetween(100, 120, 50, (from, to) =>
    points.filter((p) => p.iteration >= from && p.iteration < to),
  );
  assert.deepEqual([inside[0].iteration, inside.at(-1)?.iteration], [100, 119], 'a range within one bucket');
});
