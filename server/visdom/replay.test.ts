// Replays the request/response pairs recorded from the real Visdom Python client (testdata/recordings.json, made
// by testdata/record.py) against the real Engram server's Visdom routes (`/visdom`): same status codes, and the
// answers the client reads (window ids, "true"/"false", JSON lists; win_data as JSON with the window's id and type,
// or nothing when it set a window's data).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from '../testing/test-server';
import { visdomPost as post } from './test-http';

interface Exchange {
  method: string;
  path: string;
  contentType?: string | null;
  body?: string;
  status: number;
  response?: string;
  message?: string;
}

const recordings = JSON.parse(readFileSync(join(__dirname, 'testdata', 'recordings.json'), 'utf8')) as {
  exchanges: Exchange[];
};

let server: TestServer & { visdomUrl: string };
before(async () => {
  const started = await startTestServer();
  server = Object.assign(started, { visdomUrl: `${started.url}/visdom` });
});
after(() => server.teardown());

test('every recorded request gets the status and the answer the client read from Visdom', async () => {
  let replayed = 0;
  for (const e of recordings.exchanges) {
    if (e.method !== 'POST') continue;
    // The client sends no Content-Type; replay exactly that (node adds none for a string body without headers).
    const res = await post(`${server.visdomUrl}${e.path}`, e.body ?? '');
    assert.equal(res.status, e.status, `${e.path} ${e.body?.slice(0, 80)}`);
    if (e.path === '/win_data' && e.response !== '') {
      const [got, want] = [JSON.parse(res.text), JSON.parse(e.response ?? '')];
      assert.deepEqual([got.id, got.type], [want.id, want.type]);
    } else if (e.path === '/env_state' || e.path === '/save') {
      assert.deepEqual(JSON.parse(res.text), JSON.parse(e.response ?? ''), `${e.path} ${e.body}`);
    } else {
      assert.equal(res.text, e.response, `${e.path} ${e.body?.slice(0, 80)}`);
    }
    replayed++;
  }
  assert.ok(replayed > 60, `replayed ${replayed} requests`);
});

test('the same body is read as JSON whatever the Content-Type (form-encoded, text/plain, JSON)', async () => {
  const body = JSON.stringify({ eid: 'ct', win: 'w', data: [{ content: 'x', type: 'text' }] });
  for (const type of ['application/x-www-form-urlencoded', 'text/plain', 'application/json']) {
    const res = await post(`${server.visdomUrl}/events`, body, { 'content-type': type });
    assert.deepEqual([res.status, res.text], [200, 'w'], type);
  }
});

test('/vis_socket says alive, as the constructor waits for', async () => {
  const recorded = recordings.exchanges.find((e) => e.path === '/vis_socket');
  const socket = new WebSocket(`${server.visdomUrl.replace('http', 'ws')}/vis_socket`);
  const message = await new Promise<string>((resolve, reject) => {
    socket.once('message', (data: Buffer) => resolve(data.toString()));
    socket.once('error', reject);
  });
  socket.close();
  assert.deepEqual(JSON.parse(message), JSON.parse(recorded?.message ?? ''));
});

/** 2100 × 2100 ones: more cells than any heatmap may have. */
const HUGE_ROWS = Array.from({ length: 2100 }, () => `[${'1,'.repeat(2099)}1]`).join(',');

test('bad bodies over HTTP: 4xx with a message naming the problem, and nothing changes', async () => {
  const created = await post(
    `${server.visdomUrl}/events`,
    JSON.stringify({ eid: 'bad', win: 'mem', data: [{ z: [[1, 2]], type: 'heatmap' }] }),
  );
  assert.equal(created.status, 200);
  const before = await post(`${server.visdomUrl}/win_data`, JSON.stringify({ eid: 'bad', win: 'mem' }));
  const cases: [string, string, number, RegExp][] = [
    ['/events', '{"eid": "bad", "win": "mem", "data": [{"z": [[1, 2]], "type": "heatm', 400, /not valid JSON/],
    ['/events', '{"eid": "bad", "win": "mem", "data": [{"z": [["a", 2]], "type": "heatmap"}]}', 400, /z\[0\]\[0\]/],
    ['/update', '{"eid": "bad", "win": "mem", "data": [{"z": [[1, 2, 3]]}], "updateDir": "appendRow"}', 400, /columns/],
    ['/events', '{"eid": "bad", "win": "mem", "data": {"z": 1}}', 400, /data must be a list/],
    ['/teleport', '{}', 404, /no Visdom route/],
  ];
  for (const [path, body, status, message] of cases) {
    const res = await post(`${server.visdomUrl}${path}`, body);
    assert.equal(res.status, status, body);
    assert.match(res.text, message);
  }
  const huge = await post(
    `${server.visdomUrl}/events`,
    `{"eid": "bad", "win": "mem", "data": [{"type": "heatmap", "z": [${HUGE_ROWS}]}]}`,
  );
  assert.equal(huge.status, 413);
  assert.match(huge.text, /more than/);
  const afterwards = await post(`${server.visdomUrl}/win_data`, JSON.stringify({ eid: 'bad', win: 'mem' }));
  assert.equal(afterwards.text, before.text);
});

test('a cross-origin page may not write (Visdom accepted any page): 403, nothing created', async () => {
  const body = JSON.stringify({
    eid: 'csrf',
    win: 'evil',
    data: [{ content: '<img onerror=alert(1)>', type: 'text' }],
  });
  const res = await post(`${server.visdomUrl}/events`, body, {
    origin: 'http://evil.example',
    'content-type': 'text/plain',
  });
  assert.equal(res.status, 403);
  const exists = await post(`${server.visdomUrl}/win_exists`, JSON.stringify({ eid: 'csrf', win: 'evil' }));
  assert.equal(exists.text, 'false');
});
