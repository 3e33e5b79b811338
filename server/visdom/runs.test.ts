// A Visdom env on the real server: it is an external run whose frames, metrics and panels are served like any
// run's, pushed to subscribed pages, kept across a restart, and guarded by the token when one is set.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { MetricPoint, RunSummary, VisdomPanel } from '../protocol';
import { getJson, startTestServer, tempDataDir, unwrap, waitFor, type TestServer } from '../testing/test-server';
import { visdomPost } from './test-http';

const recordings = JSON.parse(readFileSync(join(__dirname, 'testdata', 'recordings.json'), 'utf8')) as {
  exchanges: { method: string; path: string; body?: string }[];
};
/** pytorch-dnc's 18 heatmap calls, exactly as the client sent them. */
const dncCalls = recordings.exchanges.filter((e) => e.path === '/events' && (e.body ?? '').includes(', t: '));

async function envRun(url: string, eid: string): Promise<RunSummary> {
  return waitFor(`the run of env ${eid}`, async () => {
    const runs = unwrap((await getJson(`${url}/api/runs`)).body) as RunSummary[];
    return runs.find((r) => r.config.visdom_env === eid && r.state !== 'finished');
  });
}

describe('a Visdom env is an external run', () => {
  let server: TestServer;
  const dataDir = tempDataDir('visdom-runs');
  before(async () => {
    server = await startTestServer({ dataDir });
  });
  after(() => server.teardown());

  test("pytorch-dnc's calls: one run, frames at t 0/100/200 with six tensors, the loss curve from titles", async () => {
    const visdom = `${server.url}/visdom`;
    await visdomPost(`${visdom}/env/main`, '{"eid": "main"}');
    for (const call of dncCalls) assert.equal((await visdomPost(`${visdom}/events`, call.body ?? '')).status, 200);
    const run = await envRun(server.url, 'main');
    assert.equal(run.source, 'external');
    assert.deepEqual(run.client?.controls, [], 'a Visdom script obeys no controls');
    const iterations = await waitFor('three stored frames', async () => {
      const { iterations } = unwrap((await getJson(`${server.url}/api/runs/${run.id}/frames`)).body) as {
        iterations: number[];
      };
      return iterations.length === 3 ? iterations : null;
    });
    assert.deepEqual(iterations, [0, 100, 200]);
    const frame = unwrap((await getJson(`${server.url}/api/runs/${run.id}/frames/100?format=json`)).body) as {
      tensors: { name: string; shape: number[]; axes: string[]; description: string; data: number[] }[];
    };
    assert.deepEqual(
      frame.tensors.map((t) => t.name),
      ['memory', 'linkMatrix', 'precedence', 'readWeights', 'writeWeights', 'usageVector'],
    );
    const sent = JSON.parse(dncCalls[7].body ?? '') as { data: { z: number[][] }[] };
    const link = frame.tensors[1];
    assert.deepEqual(
      [link.shape, link.axes],
      [
        [6, 6],
        ['mem_slot', 'mem_slot'],
      ],
    );
    assert.match(link.description, /^Link Matrix, t: 100, loss: 0\.5312$/);
    assert.deepEqual(link.data, sent.data[0].z.flat().map(Math.fround));
    // The .npy export of one tensor, as for engine runs.
    const npy = await fetch(`${server.url}/api/runs/${run.id}/frames/200?format=npy&tensor=usageVector`);
    assert.equal(npy.status, 200);
    assert.equal(
      Buffer.from(await npy.arrayBuffer())
        .subarray(1, 6)
        .toString(),
      'NUMPY',
    );
    const metrics = await waitFor('the title losses as metric points', async () => {
      const points = unwrap((await getJson(`${server.url}/api/runs/${run.id}/metrics`)).body) as MetricPoint[];
      return points.length === 3 ? points : null;
    });
    assert.deepEqual(
      metrics.map((p) => [p.iteration, p.loss]),
      [
        [0, Number('0.6931')], // the title's loss, not ln 2
        [100, 0.5312],
        [200, null], // nan: JSON has no NaN
      ],
    );
  });

  test("a browser opening the Visdom address is sent to the dashboard, at the env's run page", async () => {
    const run = await envRun(server.url, 'main');
    const env = await fetch(`${server.url}/visdom/env/main`, { redirect: 'manual' });
    assert.deepEqual([env.status, env.headers.get('location')], [302, `${server.url}/runs/${run.id}`]);
    const root = await fetch(`${server.url}/visdom`, { redirect: 'manual' });
    assert.deepEqual([root.status, root.headers.get('location')], [302, `${server.url}/`]);
  });

  test('a subscribed page gets the panels, then each appended point alone', async () => {
    const visdom = `${server.url}/visdom`;
    const line = (x: number, update: boolean) =>
      JSON.stringify({
        eid: 'live',
        win: 'loss',
        data: [{ x: [x], y: [1 / (x + 1)], name: '1', type: 'scatter', mode: 'lines' }],
        opts: { title: 'loss' },
        ...(update ? { append: true, name: null } : {}),
      });
    await visdomPost(`${visdom}/events`, line(0, false));
    const run = await envRun(server.url, 'live');
    const client = await server.client();
    unwrap(await client.emitWithAck('run:subscribe', { runId: run.id }));
    const panels = unwrap(await client.emitWithAck('visdom:panels', { runId: run.id })) as VisdomPanel[];
    assert.deepEqual(
      panels.map((p) => [p.win, p.kind, p.title]),
      [['loss', 'plot', 'loss']],
    );
    const appended = new Promise<{ win: string; appends: { trace: number; x: number[]; y: number[] }[] }>((resolve) =>
      client.once('visdom:append', resolve),
    );
    await visdomPost(`${visdom}/update`, line(1, true));
    const push = await appended;
    assert.deepEqual([push.win, push.appends], ['loss', [{ trace: 0, x: [1], y: [0.5] }]]);
    const texts = new Promise<{ panel: VisdomPanel }>((resolve) => client.once('visdom:panel', resolve));
    await visdomPost(
      `${visdom}/events`,
      JSON.stringify({ eid: 'live', win: 'log', data: [{ content: '<b>x</b>', type: 'text' }] }),
    );
    const text = (await texts).panel;
    assert.deepEqual([text.kind, text.kind === 'text' && text.text], ['text', '<b>x</b>']);
    // Another run's page asks: no panels.
    assert.deepEqual(unwrap(await client.emitWithAck('visdom:panels', { runId: 'nope' })), []);
  });

  test('after a restart: the env continues its run, windows and heatmap history intact', async () => {
    const before = await envRun(server.url, 'main');
    await server.teardown({ keepData: true });
    server = await startTestServer({ dataDir });
    const visdom = `${server.url}/visdom`;
    for (const win of ['loss', 'log']) {
      assert.equal((await visdomPost(`${visdom}/win_exists`, JSON.stringify({ eid: 'live', win }))).text, 'true');
    }
    const loss = JSON.parse((await visdomPost(`${visdom}/win_data`, '{"eid": "live", "win": "loss"}')).text);
    assert.deepEqual(loss.content.data[0].x, [0, 1]);
    assert.equal((await visdomPost(`${visdom}/win_exists`, '{"eid": "main", "win": "memory"}')).text, 'true');
    // The next pytorch-dnc summary lands in the same run, as iteration 300.
    const next = (dncCalls[0].body ?? '').replaceAll('t: 0,', 't: 300,').replace(/window_[0-9a-f]+/, 'window_abc');
    assert.equal((await visdomPost(`${visdom}/events`, next)).text, 'window_abc');
    const after = await envRun(server.url, 'main');
    assert.equal(after.id, before.id);
    await waitFor('frame 300 stored', async () => {
      const { iterations } = unwrap((await getJson(`${server.url}/api/runs/${after.id}/frames`)).body) as {
        iterations: number[];
      };
      return iterations.join() === '0,100,200,300';
    });
    // delete_env finishes the run; the env starts a new run when it is used again.
    await visdomPost(`${visdom}/delete_env`, '{"eid": "main"}');
    await waitFor('the run finished', async () => {
      const run = unwrap((await getJson(`${server.url}/api/runs/${after.id}`)).body) as RunSummary;
      return run.state === 'finished';
    });
  });
});

describe('Visdom routes with a token', () => {
  const token = 's3cret-token';
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ token, visdomPort: 0 });
  });
  after(() => server.teardown());

  test('refused without it; accepted with the header, the token in the path, or after Visdom login', async () => {
    const body = JSON.stringify({ eid: 'tok', win: 'w', data: [{ content: 'x', type: 'text' }] });
    const visdom = `${server.url}/visdom`;
    assert.equal((await visdomPost(`${visdom}/events`, body)).status, 401);
    assert.equal((await visdomPost(`${visdom}/events`, body, { 'x-engram-token': 'wrong' })).status, 401);
    assert.equal((await visdomPost(`${visdom}/events`, body, { 'x-engram-token': token })).text, 'w');
    assert.equal((await visdomPost(`${visdom}/token/${token}/win_exists`, '{"eid": "tok", "win": "w"}')).text, 'true');
    // Visdom's login: POST {username, password: sha256(password)} to the base URL, then the cookie.
    const hash = createHash('sha256').update(token).digest('hex');
    assert.equal((await visdomPost(visdom, JSON.stringify({ username: 'me', password: 'nope' }))).status, 400);
    const login = await visdomPost(visdom, JSON.stringify({ username: 'me', password: hash }));
    assert.equal(login.status, 200);
    const cookie = String(login.headers['set-cookie']).split(';')[0];
    assert.equal((await visdomPost(`${visdom}/win_exists`, '{"eid": "tok", "win": "w"}', { cookie })).text, 'true');
    // The same on Visdom's own port, at its root.
    const root = `http://127.0.0.1:${server.visdomPort}`;
    assert.equal((await visdomPost(`${root}/win_exists`, '{"eid": "tok", "win": "w"}')).status, 401);
    assert.equal((await visdomPost(`${root}/win_exists`, '{"eid": "tok", "win": "w"}', { cookie })).text, 'true');
    // The client's socket carries the cookie too.
    const refused = new WebSocket(`${root.replace('http', 'ws')}/vis_socket`);
    await new Promise((resolve) => refused.once('error', resolve));
    const socket = new WebSocket(`${root.replace('http', 'ws')}/vis_socket`, { headers: { cookie } });
    const message = await new Promise<string>((resolve) => socket.once('message', (m: Buffer) => resolve(String(m))));
    socket.close();
    assert.match(message, /vis_alive/);
  });
});

describe('Visdom routes without a token', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ visdomPort: 0 });
  });
  after(() => server.teardown());

  /** A WebSocket to `/vis_socket` with these headers: the status it was refused with, or 101 when it opened. */
  function socketStatus(url: string, headers: Record<string, string>): Promise<number> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { headers });
      socket.once('open', () => {
        socket.close();
        resolve(101);
      });
      socket.once('unexpected-response', (_req, res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      socket.once('error', reject);
    });
  }

  test('a DNS-rebinding page (Host: attacker.example) can neither post, read, log in nor open the socket', async () => {
    const body = JSON.stringify({ eid: 'rebind', win: 'w', data: [{ content: 'x', type: 'text' }] });
    for (const base of [`${server.url}/visdom`, `http://127.0.0.1:${server.visdomPort}`]) {
      const port = new URL(base).port;
      // The attacker's page is same-origin with itself, so its Origin matches its Host: only the Host check helps.
      const hostile = { host: `attacker.example:${port}`, origin: `http://attacker.example:${port}` };
      const refused = await visdomPost(`${base}/events`, body, hostile);
      assert.equal(refused.status, 403, base);
      assert.match(refused.text, /attacker\.example.* is not a loopback name/);
      assert.equal((await visdomPost(`${base}/env_state`, '{}', { host: hostile.host })).status, 403);
      assert.equal((await visdomPost(base, '{"username": "a", "password": "b"}', { host: hostile.host })).status, 403);
      const socketUrl = `${base.replace('http', 'ws')}/vis_socket`;
      assert.equal(await socketStatus(socketUrl, hostile), 403);
      // Nothing was created; loopback names (and scripts, which send no Origin) are served.
      const loopback = { host: `localhost:${port}` };
      assert.equal((await visdomPost(`${base}/win_exists`, '{"eid": "rebind", "win": "w"}', loopback)).text, 'false');
      assert.equal((await visdomPost(`${base}/events`, body, loopback)).text, 'w');
      assert.equal(await socketStatus(socketUrl, { ...loopback, origin: `http://localhost:${port}` }), 101);
      await visdomPost(`${base}/delete_env`, '{"eid": "rebind"}');
    }
  });
});

test('a taken Visdom port is reported once and the server goes on', async () => {
  const first = await startTestServer({ visdomPort: 0 });
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => warnings.push(args.join(' '));
  try {
    const second = await startTestServer({ visdomPort: first.visdomPort });
    assert.equal(second.visdomPort, null);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], new RegExp(`Visdom port ${first.visdomPort} is taken`));
    assert.equal((await visdomPost(`${second.url}/visdom/env_state`, '{}')).status, 200);
    await second.teardown();
  } finally {
    console.warn = warn;
    await first.teardown();
  }
});
