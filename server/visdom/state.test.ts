// The Visdom window semantics over a memory sink, driven by the requests the real client sent (recordings.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VisdomRequestError } from './body';
import { dispatch } from './handler';
import { MemorySink } from './memory-sink';
import type { PlotPanel } from './sink';
import { VisdomState } from './state';

interface Exchange {
  method: string;
  path: string;
  body?: string;
  status: number;
  response?: string;
}
const recordings = JSON.parse(readFileSync(join(__dirname, 'testdata', 'recordings.json'), 'utf8')) as {
  exchanges: Exchange[];
};
const posts = recordings.exchanges.filter((e) => e.method === 'POST');
const send = (state: VisdomState, path: string, body: unknown) =>
  dispatch(state, path, Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)));

function fresh(): { sink: MemorySink; state: VisdomState } {
  const sink = new MemorySink();
  return { sink, state: new VisdomState(sink) };
}

test("pytorch-dnc's 18 heatmap calls (6 quantities × t 0, 100, 200, no win) become 6 windows with 3 frames", () => {
  const { sink, state } = fresh();
  const dnc = posts.filter((e) => e.path === '/events' && (e.body ?? '').includes(', t: '));
  assert.equal(dnc.length, 18);
  const answers = dnc.map((e) => send(state, e.path, e.body));
  // Each call is answered with the id the client made up, as Visdom would.
  assert.deepEqual(
    answers,
    dnc.map((e) => e.response),
  );
  const env = sink.env('main');
  assert.deepEqual([...env.frames.keys()], [0, 100, 200]);
  const names = ['memory', 'linkMatrix', 'precedence', 'readWeights', 'writeWeights', 'usageVector'];
  for (const [iteration, tensors] of env.frames) {
    assert.deepEqual(
      tensors.map((t) => t.name),
      names,
      `frame ${iteration}`,
    );
    const memory = tensors[0];
    assert.deepEqual(memory.shape, [4, 24]);
    assert.deepEqual(memory.axes, ['layer * time', 'mem_slot * mem_size']);
    assert.match(memory.description, new RegExp(`^Memory, t: ${iteration}, loss: `));
  }
  // The values are the ones sent for that iteration.
  const sent = JSON.parse(dnc[6].body ?? '') as { data: { z: number[][] }[] };
  assert.deepEqual(Array.from(env.frames.get(100)?.[0].data ?? []), sent.data[0].z.flat().map(Math.fround));
  // The loss in the titles is a metric point per iteration (nan kept as NaN), sent once per iteration.
  assert.deepEqual(
    env.metrics.map((p) => p.iteration),
    [0, 100, 200],
  );
  assert.equal(env.metrics[1].values.loss, 0.5312);
  assert.ok(Number.isNaN(env.metrics[2].values.loss));
  // Any of the client's ids still reaches the grouped window.
  assert.equal(send(state, '/win_exists', { win: answers[0], eid: 'main' }), 'true');
  assert.equal(
    JSON.parse(send(state, '/win_data', { win: null, eid: 'main' })).memory.title,
    'Memory, t: 200, loss: nan',
  );
});

test('the whole recorded session: answers match what Visdom answered, and the windows hold what was sent', () => {
  const { sink, state } = fresh();
  for (const e of posts) {
    const answer = send(state, e.path, e.body);
    // win_data answers a pane (its id is what the client reads), or nothing when it set one.
    if (e.path === '/win_data' && e.response !== '')
      assert.equal(JSON.parse(answer).id, JSON.parse(e.response ?? '').id);
    else if (e.path === '/env_state' || e.path === '/save')
      assert.deepEqual(JSON.parse(answer), JSON.parse(e.response ?? ''), `${e.path} ${e.body}`);
    else assert.equal(answer, e.response, `${e.path} ${e.body}`);
  }
  // The last call closed every window of main; replay up to just before it to inspect the windows.
  const { sink: sink2, state: state2 } = fresh();
  const closeAll = posts.findIndex((e) => e.path === '/close' && JSON.parse(e.body ?? '{}').win === null);
  for (const e of posts.slice(0, closeAll)) send(state2, e.path, e.body);
  const panels = sink2.env('main').panels;
  const loss = panels.get('loss') as PlotPanel;
  // create [0,1] → append 2 → append 3,4 → trace "val" added and appended (masked append ignored) → replace "1" →
  // remove "val" → retitled.
  assert.deepEqual(
    loss.traces.map((t) => [t.name, t.x, t.y]),
    [['1', [0, 1], [0.5, 0.4]]],
  );
  assert.equal(loss.title, 'training loss');
  const log = panels.get('log');
  assert.equal(log?.kind === 'text' && log.text, 'hello <b>world</b>\nsecond line');
  const hist = panels.get('hist');
  assert.ok(hist?.kind === 'image' && hist.images.length === 2 && hist.selected === 1);
  assert.equal(panels.has('one'), false, 'closed');
  const two = panels.get('two') as PlotPanel;
  assert.equal(two.traces.length, 2);
  // The named heatmap: 3×4 of 1s, a row of 0s appended, then two columns of 2s.
  const mem = [...sink2.env('main').frames.values()].at(-1)?.find((t) => t.name === 'mem');
  assert.deepEqual(mem?.shape, [4, 6]);
  assert.deepEqual(
    Array.from(mem?.data ?? []),
    [1, 1, 1, 1, 2, 2, 1, 1, 1, 1, 2, 2, 1, 1, 1, 1, 2, 2, 0, 0, 0, 0, 2, 2],
  );
  const nan = [...sink2.env('main').frames.values()].at(-1)?.find((t) => t.name === 'nan');
  assert.ok(Number.isNaN(nan?.data[1]));
  assert.equal(nan?.data[2], Infinity);
  assert.equal(sink.envs.has('exp_2'), false, 'deleted');
});

test('line appends hand the sink only the new points, however long the trace', () => {
  const { sink, state } = fresh();
  send(state, '/events', { eid: 'main', win: 'loss', data: [{ x: [0], y: [1], name: '1', type: 'scatter' }] });
  for (let i = 1; i <= 3000; i++)
    send(state, '/update', {
      eid: 'main',
      win: 'loss',
      append: true,
      name: null,
      data: [{ x: [i], y: [1 / i], name: '1', type: 'scatter' }],
    });
  const env = sink.env('main');
  assert.equal(env.appends, 3000);
  const loss = env.panels.get('loss') as PlotPanel;
  assert.equal((loss.traces[0].x as number[]).length, 3001);
  assert.equal((loss.traces[0].y as number[])[3000], 1 / 3000);
});

/** 2049 rows of 2048 zeros: one row more than the largest heatmap accepted. */
const HUGE_ROWS = Array.from({ length: 2049 }, () => `[${'0,'.repeat(2047)}0]`).join(',');

test('bad bodies are refused with a message naming the field, and change nothing', () => {
  const { sink, state } = fresh();
  send(state, '/events', { eid: 'main', win: 'mem', data: [{ z: [[1, 2]], type: 'heatmap' }] });
  const before = JSON.stringify([...sink.env('main').frames], (_k, v) => (v instanceof Float32Array ? [...v] : v));
  const bad: [string, unknown, RegExp, number][] = [
    ['/events', 'not json', /not valid JSON/, 400],
    ['/events', '[1, 2]', /must be a JSON object/, 400],
    ['/events', { win: 'mem', data: 'x' }, /data must be a list/, 400],
    ['/events', { win: 'mem', data: [{ z: [[1, 'a']], type: 'heatmap' }] }, /z\[0\]\[1\] must be a number/, 400],
    ['/events', { win: 'mem', data: [{ z: [[1, 2], [3]], type: 'heatmap' }] }, /row 1 must be a list of 2/, 400],
    ['/events', { win: 'mem', data: [{ z: 5, type: 'heatmap' }] }, /2-D list/, 400],
    ['/events', { win: 7, data: [{ z: [[1]], type: 'heatmap' }] }, /win must be a string/, 400],
    ['/events', { eid: ['x'], win: 'mem', data: [{ z: [[1]], type: 'heatmap' }] }, /eid must be/, 400],
    ['/events', { win: 'img', data: [{ content: { src: 'http://evil/x.png' }, type: 'image' }] }, /data:image/, 400],
    ['/update', { win: 'mem', updateDir: 'appendRow', data: [{ z: [[1, 2, 3]], type: 'heatmap' }] }, /columns/, 400],
    ['/update', { win: 'mem', updateDir: 'sideways', data: [{ z: [[1, 2]], type: 'heatmap' }] }, /updateDir/, 400],
    ['/nowhere', {}, /no Visdom route/, 404],
    ['/events', `{"win": "mem", "data": [{"type": "heatmap", "z": [${HUGE_ROWS}]}]}`, /more than 4194304/, 413],
  ];
  for (const [path, body, message, status] of bad) {
    assert.throws(
      () => send(state, path, body),
      (error: unknown) => error instanceof VisdomRequestError && message.test(error.message) && error.status === status,
      `${path} ${String(body).slice(0, 60)}`,
    );
  }
  const after = JSON.stringify([...sink.env('main').frames], (_k, v) => (v instanceof Float32Array ? [...v] : v));
  assert.equal(after, before);
  assert.deepEqual([...sink.env('main').panels.keys()], []);
});

test('text is kept as the characters sent: markup is content, not HTML', () => {
  const { sink, state } = fresh();
  const evil = '<script>alert(1)</script><img src=x onerror="alert(2)">';
  send(state, '/events', { eid: 'main', win: 'evil', data: [{ content: evil, type: 'text' }] });
  const panel = sink.env('main').panels.get('evil');
  assert.equal(panel?.kind === 'text' && panel.text, evil);
});

test('untitled client windows are bounded: the oldest window closes past MAX_WINDOWS', async () => {
  const { MAX_WINDOWS } = await import('./state');
  const { sink, state } = fresh();
  for (let i = 0; i < MAX_WINDOWS + 5; i++)
    send(state, '/events', {
      eid: 'main',
      win: `window_${i.toString(16)}`,
      data: [{ content: `${i}`, type: 'text' }],
    });
  const panels = sink.env('main').panels;
  assert.equal(panels.size, MAX_WINDOWS);
  assert.equal(panels.has('window_0'), false);
  assert.equal(panels.has(`window_${(MAX_WINDOWS + 4).toString(16)}`), true);
});

test('what a window keeps is copied out of the parser: a later body does not change an earlier layout', () => {
  const { sink, state } = fresh();
  const ticks = Array.from({ length: 100 }, (_, i) => i * 0.5);
  send(state, '/events', {
    eid: 'main',
    win: 'plot',
    data: [{ x: ticks, y: ticks, type: 'scatter' }],
    layout: { xaxis: { tickvals: ticks } },
  });
  // The next body's dense arrays are read into the same scratch space.
  send(state, '/events', {
    eid: 'main',
    win: 'mem',
    data: [{ z: [Array.from({ length: 200 }, () => 7)], type: 'heatmap' }],
  });
  const plot = sink.env('main').panels.get('plot') as PlotPanel;
  assert.deepEqual((plot.layout.xaxis as { tickvals: number[] }).tickvals, ticks);
  assert.deepEqual(plot.traces[0].x, ticks);
});

test("update='replace' replaces a trace's points, and leaves it alone when x is all NaN, as Visdom does", () => {
  const { sink, state } = fresh();
  const trace = (x: (number | null)[], y: number[]) => [{ x, y, name: '1', type: 'scatter' }];
  send(state, '/events', { eid: 'main', win: 'loss', data: trace([0, 1], [0.9, 0.8]) });
  const replace = (x: (number | null)[], y: number[]) =>
    send(state, '/update', { eid: 'main', win: 'loss', name: '1', append: false, data: trace(x, y) });
  assert.equal(replace([5, 6, 7], [0.1, 0.2, 0.3]), 'loss');
  const loss = () => (sink.env('main').panels.get('loss') as PlotPanel).traces[0];
  assert.deepEqual(
    [loss().x, loss().y],
    [
      [5, 6, 7],
      [0.1, 0.2, 0.3],
    ],
  );
  // NaN is sent as null by the client's JSON (NaN in the x of a masked update).
  replace([null], [9]);
  assert.deepEqual(
    [loss().x, loss().y],
    [
      [5, 6, 7],
      [0.1, 0.2, 0.3],
    ],
  );
});

test('bounded history: a trace past MAX_TRACE_POINTS thins its oldest half, image history keeps 200', async () => {
  const { MAX_TRACE_POINTS } = await import('./plot-update');
  const { MAX_IMAGE_HISTORY } = await import('./state');
  const { sink, state } = fresh();
  send(state, '/events', { eid: 'main', win: 'loss', data: [{ x: [0], y: [0], name: '1', type: 'scatter' }] });
  const x = Array.from({ length: MAX_TRACE_POINTS }, (_, i) => i + 1);
  send(state, '/update', { eid: 'main', win: 'loss', append: true, name: null, data: [{ x, y: x, type: 'scatter' }] });
  const trace = (sink.env('main').panels.get('loss') as PlotPanel).traces[0];
  const kept = trace.x as number[];
  assert.ok(kept.length <= MAX_TRACE_POINTS && kept.length > MAX_TRACE_POINTS / 2, `${kept.length} points`);
  assert.deepEqual([kept[0], kept.at(-1)], [0, MAX_TRACE_POINTS], 'the first and the newest point stay');
  assert.deepEqual(trace.y, kept, 'x and y thinned alike');

  const image = (n: number) => ({
    eid: 'main',
    win: 'hist',
    data: [{ content: { src: 'data:image/png;base64,AAAA', caption: `${n}` }, type: 'image_history' }],
  });
  send(state, '/events', image(0));
  for (let n = 1; n <= MAX_IMAGE_HISTORY + 10; n++) send(state, '/update', image(n));
  const hist = sink.env('main').panels.get('hist');
  assert.ok(hist?.kind === 'image');
  assert.equal(hist.images.length, MAX_IMAGE_HISTORY);
  assert.deepEqual([hist.images[0].caption, hist.images.at(-1)?.caption], ['11', `${MAX_IMAGE_HISTORY + 10}`]);
  assert.equal(hist.selected, MAX_IMAGE_HISTORY - 1);
});

/** An env with a heatmap at iteration 100, a line, text and an image history. */
function populated(): { sink: MemorySink; state: VisdomState } {
  const { sink, state } = fresh();
  const img = (n: number) => ({ src: `data:image/png;base64,AAA${n}`, caption: `c${n}` });
  send(state, '/events', {
    eid: 'src',
    data: [{ z: [[0.5, 1, 2]], type: 'heatmap' }],
    opts: { title: 'Memory, t: 100, loss: 0.5' },
  });
  send(state, '/events', { eid: 'src', win: 'loss', data: [{ x: [0, 1], y: [0.9, 0.8], type: 'scatter' }] });
  send(state, '/events', { eid: 'src', win: 'log', data: [{ content: 'a <b>line</b>', type: 'text' }] });
  send(state, '/events', { eid: 'src', win: 'hist', data: [{ content: img(1), type: 'image_history' }] });
  send(state, '/update', { eid: 'src', win: 'hist', data: [{ content: img(2), type: 'image_history' }] });
  return { sink, state };
}

const panesOf = (state: VisdomState, eid: string) =>
  JSON.parse(send(state, '/win_data', { eid, win: null })) as Record<string, Record<string, unknown>>;

test('fork_env copies every window into the new env, and the copies change apart from the original', () => {
  const { sink, state } = populated();
  assert.equal(send(state, '/fork_env', { prev_eid: 'src', eid: 'copy' }), 'copy');
  assert.deepEqual(panesOf(state, 'copy'), panesOf(state, 'src'));
  // The heatmap is one frame of the fork's run, at the iteration the original was at.
  assert.deepEqual([...sink.env('copy').frames.keys()], [100]);
  assert.deepEqual(Array.from(sink.env('copy').frames.get(100)?.[0].data ?? []), [0.5, 1, 2]);
  assert.deepEqual([...sink.env('copy').panels.keys()], ['loss', 'log', 'hist']);
  // A grouped title goes on into the fork's panel; an append to the fork leaves the original alone.
  send(state, '/events', {
    eid: 'copy',
    data: [{ z: [[7, 7, 7]], type: 'heatmap' }],
    opts: { title: 'Memory, t: 200, loss: 0.4' },
  });
  send(state, '/update', { eid: 'copy', win: 'loss', data: [{ x: [2], y: [0.7] }], append: true });
  assert.deepEqual(Object.keys(panesOf(state, 'copy')), Object.keys(panesOf(state, 'src')));
  assert.deepEqual(Array.from(sink.env('copy').frames.get(200)?.[0].data ?? []), [7, 7, 7]);
  assert.deepEqual((sink.env('src').panels.get('loss') as PlotPanel).traces[0].x, [0, 1]);
  assert.deepEqual((sink.env('copy').panels.get('loss') as PlotPanel).traces[0].x, [0, 1, 2]);
  assert.deepEqual([...sink.env('src').frames.keys()], [100]);
  assert.throws(
    () => send(state, '/fork_env', { prev_eid: 'nowhere', eid: 'x' }),
    (error: unknown) => error instanceof VisdomRequestError && error.status === 404 && /nowhere/.test(error.message),
  );
});

test("set_window_data makes windows what get_window_data answered: one window, or a whole env's", () => {
  const { sink, state } = populated();
  // One pane into another window of the same env.
  const log = send(state, '/win_data', { eid: 'src', win: 'log' });
  assert.equal(send(state, '/win_data', { eid: 'src', win: 'log2', data: log }), '');
  const log2 = sink.env('src').panels.get('log2');
  assert.equal(log2?.kind === 'text' && log2.text, 'a <b>line</b>');
  // Every pane (win null) into a fresh env: the same panes, the heatmap's values as a frame.
  const all = send(state, '/win_data', { eid: 'src', win: null });
  send(state, '/events', { eid: 'dst', win: 'old', data: [{ content: 'goes', type: 'text' }] });
  assert.equal(send(state, '/win_data', { eid: 'dst', win: null, data: all }), '');
  const [got, want] = [panesOf(state, 'dst'), panesOf(state, 'src')];
  assert.deepEqual(Object.keys(got), Object.keys(want));
  for (const win of Object.keys(want)) if (win !== 'memory') assert.deepEqual(got[win].content, want[win].content, win);
  const hist = sink.env('dst').panels.get('hist');
  assert.ok(hist?.kind === 'image' && hist.images.length === 2 && hist.images[1].caption === 'c2');
  const frame = [...sink.env('dst').frames.values()].at(-1);
  assert.deepEqual(Array.from(frame?.[0].data ?? []), [0.5, 1, 2]);
  assert.equal(sink.env('dst').panels.has('old'), false);
  // A bad pane anywhere in the data: refused, naming it, and nothing changes.
  const before = send(state, '/win_data', { eid: 'dst', win: null });
  const bad: [unknown, RegExp][] = [
    [{ ok: JSON.parse(log), bad: { type: 'plot', content: {} } }, /window bad must have content.data/],
    [{ ok: JSON.parse(log), bad: { type: 'network' } }, /window bad must be of type/],
    [
      { ok: JSON.parse(log), bad: { type: 'plot', content: { data: [{ z: [[1, 'a']], type: 'heatmap' }] } } },
      /z\[0\]\[1\]/,
    ],
    [
      { bad: { type: 'image_history', content: [{ src: 'data:image/png;base64,AA' }, { src: 'http://x' }] } },
      /data:image/,
    ],
  ];
  for (const [panes, message] of bad) {
    assert.throws(
      () => send(state, '/win_data', { eid: 'dst', win: null, data: JSON.stringify(panes) }),
      (error: unknown) => error instanceof VisdomRequestError && error.status === 400 && message.test(error.message),
      String(message),
    );
  }
  assert.throws(() => send(state, '/win_data', { eid: 'dst', win: 'w', data: { type: 'text' } }), /JSON text/);
  assert.equal(send(state, '/win_data', { eid: 'dst', win: null }), before);
});
