// A long metric history on the real server: the subscribe ack stays bounded in points and bytes whatever the run's
// length (spikes, NaN markers and the newest points kept), live batches join its end, and metrics:get and the HTTP
// route page through every stored point exactly or answer a range as an overview.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_METRICS_PAGE_POINTS,
  METRIC_OVERVIEW_POINTS,
  METRIC_OVERVIEW_TAIL,
  METRICS_PAGE_POINTS,
  type MetricPoint,
  type MetricsBatch,
  type RunSummary,
} from './protocol';
import { getJson, postJson, startTestServer, unwrap, waitFor, type TestServer } from './testing/test-server';

const STORED = 200_000;
const SPIKE = 123_457;
const NAN_AT = 150_000;
const lossAt = (iteration: number) => (iteration === SPIKE ? 99 : 1 / Math.sqrt(iteration));

describe('a run with 200,000 stored metric points', () => {
  let server: TestServer;
  let runId: string;

  before(async () => {
    server = await startTestServer();
    const created = await postJson(`${server.url}/api/runs`, { external: true, name: 'long', controls: [] });
    runId = (unwrap(created.body) as RunSummary).id;
    for (let start = 1; start <= STORED; start += 10_000) {
      const points = Array.from({ length: 10_000 }, (_, k) => {
        const iteration = start + k;
        return {
          iteration,
          loss: iteration === NAN_AT ? 'NaN' : lossAt(iteration),
          grad_norm: (iteration % 97) / 97,
          t: iteration * 10,
        };
      });
      unwrap((await postJson(`${server.url}/api/runs/${runId}/metrics`, { points })).body);
    }
  });
  after(() => server.teardown());

  test('subscribing answers a bounded overview with the spike, the NaN and the newest points raw', async () => {
    const client = await server.client();
    const ack = await client.emitWithAck('run:subscribe', { runId });
    const snapshot = unwrap(ack);
    const bytes = Buffer.byteLength(JSON.stringify(ack));
    assert.equal(snapshot.metricCount, STORED);
    assert.ok(snapshot.metrics.length <= METRIC_OVERVIEW_POINTS, `${snapshot.metrics.length} points`);
    assert.ok(bytes < 600_000, `the ack is ${bytes} bytes`);
    const iterations = snapshot.metrics.map((p) => p.iteration);
    assert.equal(iterations[0], 1);
    assert.deepEqual(
      iterations.slice(-METRIC_OVERVIEW_TAIL),
      Array.from({ length: METRIC_OVERVIEW_TAIL }, (_, i) => STORED - METRIC_OVERVIEW_TAIL + 1 + i),
    );
    assert.equal(snapshot.metrics.find((p) => p.iteration === SPIKE)?.loss, 99);
    // JSON answers NaN as null: the marker point is there, its loss is no number.
    const marker = snapshot.metrics.find((p) => p.iteration === NAN_AT);
    assert.ok(marker !== undefined && typeof marker.loss !== 'number');

    // Live points join right after the overview's raw tail.
    const batches: MetricsBatch[] = [];
    client.on('metrics:batch', (batch) => batches.push(batch));
    const more = [1, 2, 3].map((k) => ({ iteration: STORED + k, loss: 0.001, t: (STORED + k) * 10 }));
    unwrap((await postJson(`${server.url}/api/runs/${runId}/metrics`, { points: more })).body);
    await waitFor('the live batch', () => batches.flatMap((b) => b.points).length === 3);
    assert.deepEqual(
      batches.flatMap((b) => b.points.map((p) => p.iteration)),
      [STORED + 1, STORED + 2, STORED + 3],
    );
  });

  test('metrics:get pages return every stored point exactly, in order, a bounded page at a time', async () => {
    const client = await server.client();
    const all: MetricPoint[] = [];
    let since = -1;
    for (;;) {
      const page = unwrap(await client.emitWithAck('metrics:get', { runId, since, limit: MAX_METRICS_PAGE_POINTS }));
      assert.ok(page.length <= MAX_METRICS_PAGE_POINTS);
      all.push(...page);
      if (page.length < MAX_METRICS_PAGE_POINTS) break;
      since = page[page.length - 1].iteration;
    }
    assert.equal(all.length, STORED + 3);
    for (let i = 0; i < STORED; i++) {
      const p = all[i];
      assert.equal(p.iteration, i + 1);
      if (p.iteration !== NAN_AT) assert.equal(p.loss, lossAt(p.iteration));
      assert.equal(p.scalars?.grad_norm, (p.iteration % 97) / 97);
    }
    // Without a limit a page holds METRICS_PAGE_POINTS; `until` ends it early.
    assert.equal(unwrap(await client.emitWithAck('metrics:get', { runId })).length, METRICS_PAGE_POINTS);
    const range = unwrap(await client.emitWithAck('metrics:get', { runId, since: 10, until: 15 }));
    assert.deepEqual(
      range.map((p) => p.iteration),
      [11, 12, 13, 14, 15],
    );
  });

  test('a range asked with max_points is exact when it fits and bounded, spike kept, when it does not', async () => {
    const client = await server.client();
    const exact = unwrap(
      await client.emitWithAck('metrics:get', { runId, since: 1000, until: 3000, max_points: 2000 }),
    );
    assert.deepEqual(
      exact.map((p) => p.iteration),
      Array.from({ length: 2000 }, (_, i) => 1001 + i),
    );
    const wide = unwrap(await client.emitWithAck('metrics:get', { runId, since: 100_000, max_points: 500 }));
    assert.ok(wide.length <= 500, `${wide.length} points`);
    assert.ok(wide[0].iteration > 100_000);
    assert.equal(wide.find((p) => p.iteration === SPIKE)?.loss, 99);
  });

  test('the HTTP route takes the same query, bounded by default, and names each bad field', async () => {
    const base = `${server.url}/api/runs/${runId}/metrics`;
    const first = await getJson(base);
    assert.equal((unwrap(first.body) as MetricPoint[]).length, METRICS_PAGE_POINTS);
    const page = unwrap((await getJson(`${base}?since=199990&limit=5`)).body) as MetricPoint[];
    assert.deepEqual(
      page.map((p) => p.iteration),
      [199_991, 199_992, 199_993, 199_994, 199_995],
    );
    const overview = unwrap((await getJson(`${base}?since=0&until=100000&max_points=300`)).body) as MetricPoint[];
    assert.ok(overview.length <= 300 && overview.length > 100, `${overview.length} points`);
    for (const [query, field] of [
      ['limit=0', /limit must be an integer in \[1, 50000\], got 0/],
      [`limit=${MAX_METRICS_PAGE_POINTS + 1}`, /limit/],
      ['max_points=3', /max_points must be an integer in \[16, 20000\]/],
      ['limit=10&max_points=100', /limit and max_points exclude each other/],
      ['since=50&until=50', /until must be greater than since/],
      ['until=x', /until must be an integer/],
    ] as const) {
      const res = await getJson(`${base}?${query}`);
      assert.equal(res.status, 400, query);
      assert.ok(!res.body.ok && field.test(res.body.error.message), `${query}: ${JSON.stringify(res.body)}`);
    }
    const client = await server.client();
    const unknown = await client.emitWithAck('metrics:get', { runId, offset: 3 } as never);
    assert.ok(!unknown.ok && /unknown field "offset"/.test(unknown.error.message));
  });
});
