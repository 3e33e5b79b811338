import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PlotPanel } from '../../server/protocol/visdom';
import { plotLayout, safeImageSrc, safeTraces, testIdOf, tracesCsv, visdomSnapshotFiles } from './view';

const panel = (layout: Record<string, unknown>): PlotPanel => ({
  kind: 'plot',
  win: 'w',
  title: 'loss',
  version: 1,
  traces: [],
  layout,
});

test('plotLayout keeps what the script set, drops sizing and remote-loading keys, themes the axes', () => {
  const layout = plotLayout(
    panel({
      showlegend: true,
      width: 400,
      height: 300,
      images: [{ source: 'http://tracker/x.png' }],
      template: { layout: {} },
      xaxis: { type: 'log', gridcolor: 'red' },
      title: 'loss',
    }),
  );
  assert.equal(layout.showlegend, true);
  for (const key of ['width', 'height', 'images', 'template']) assert.equal(key in layout, false, key);
  assert.equal(layout.autosize, true);
  assert.deepEqual(layout.xaxis, { gridcolor: 'red', zerolinecolor: '#3a4250', linecolor: '#3a4250', type: 'log' });
  assert.equal((layout.yaxis as { gridcolor: string }).gridcolor, '#262c36');
  assert.equal(layout.title, undefined);
});

test('only inline raster data URLs are shown as images', () => {
  assert.equal(safeImageSrc('data:image/png;base64,iVBORw0KGgo='), 'data:image/png;base64,iVBORw0KGgo=');
  assert.equal(safeImageSrc('http://evil.example/x.png'), null);
  assert.equal(safeImageSrc('data:image/svg+xml;base64,PHN2Zz4='), null);
  assert.equal(safeImageSrc('javascript:alert(1)'), null);
  assert.equal(safeImageSrc('data:image/png;base64,AAAA" onerror="x'), null);
});

test("safeTraces drops an image trace's remote source and keeps every other trace as it is", () => {
  const line = { type: 'scatter', x: [0], y: [1] };
  const [kept, image] = safeTraces([line, { type: 'image', source: 'http://tracker.example/p.png', z: [[1]] }]);
  assert.equal(kept, line);
  assert.deepEqual(image, { type: 'image', z: [[1]] });
});

test('testIdOf keeps ids usable as test ids', () => {
  assert.equal(testIdOf('window_3fd3'), 'window_3fd3');
  assert.equal(testIdOf('a b/c'), 'a_b_c');
});

test('tracesCsv: one row per point, named traces, gaps as empty cells, quoting from the CSV encoder', () => {
  const csv = tracesCsv([
    { name: 'train', x: [0, 1], y: [0.9, null] },
    { x: [0], y: [Number.NaN] },
    { name: 'a,b', x: [5], y: [1] },
  ]);
  assert.equal(csv, 'trace,x,y\ntrain,0,0.9\ntrain,1,\n2,0,NaN\n"a,b",5,1\n');
});

test('snapshot files: plot as CSV and JSON, text as sent, images decoded; unique names; refused images out', () => {
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47]).toString('base64');
  const evil = '<script>alert(1)</script>';
  const { entries, manifest } = visdomSnapshotFiles([
    { ...panel({ showlegend: true }), win: 'a/b', traces: [{ name: '1', x: [0, 1], y: [0.5, 0.25], type: 'scatter' }] },
    { kind: 'text', win: 'a_b', title: 'log', text: evil, version: 1 },
    {
      kind: 'image',
      win: 'hist',
      title: '',
      selected: 1,
      version: 2,
      images: [
        { src: `data:image/png;base64,${png}`, caption: '' },
        { src: 'data:image/svg+xml;base64,PHN2Zz4=', caption: 'refused' },
        { src: `data:image/jpeg;base64,${png}`, caption: '' },
      ],
    },
  ]);
  assert.deepEqual(
    manifest.map((p) => [p.win, p.kind, p.files]),
    [
      ['a/b', 'plot', ['visdom/a_b.csv', 'visdom/a_b.json']],
      ['a_b', 'text', ['visdom/a_b-2.txt']],
      ['hist', 'image', ['visdom/hist-0.png', 'visdom/hist-2.jpg']],
    ],
  );
  const file = (name: string) => entries.find((e) => e.name === name)?.data;
  assert.equal(file('visdom/a_b.csv'), 'trace,x,y\n1,0,0.5\n1,1,0.25\n');
  assert.deepEqual(JSON.parse(String(file('visdom/a_b.json'))).layout, { showlegend: true });
  assert.equal(file('visdom/a_b-2.txt'), evil);
  assert.deepEqual([...(file('visdom/hist-0.png') as Uint8Array)], [0x89, 0x50, 0x4e, 0x47]);
});
