import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exportStem, figureLayout, formatValue, panelSvg, tickIndices } from './figure';

test('layout scales small tensors up, keeps views side by side and the colour bar to the right', () => {
  const l = figureLayout([
    { label: 'head 0', rows: 10, cols: 16 },
    { label: 'head 1', rows: 10, cols: 16 },
  ]);
  assert.equal(l.scale, 20);
  assert.equal(l.views[0].w, 320);
  assert.ok(l.views[1].x > l.views[0].x + l.views[0].w);
  assert.ok(l.colorBar.x > l.views[1].x + l.views[1].w);
  assert.ok(l.width > l.colorBar.x + l.colorBar.w);
  assert.equal(figureLayout([{ label: '', rows: 512, cols: 512 }]).scale, 1);
  assert.throws(() => figureLayout([]), /at least one view/);
  assert.throws(() => figureLayout([{ label: 'x', rows: 0, cols: 3 }]), /view "x" has 0×3 cells/);
});

test('the SVG embeds one image per view, vector axes and a colour bar, and escapes text', () => {
  const l = figureLayout([{ label: '', rows: 4, cols: 4 }]);
  const svg = panelSvg(
    l,
    ['data:image/png;base64,AAAA'],
    { title: 'Memory <T>', subtitle: 'iteration 5', rowAxis: 'cell', colAxis: 'word' },
    { map: 'diverging', min: -1, max: 1 },
  );
  assert.match(svg, /^<svg [^>]*width="\d+" height="\d+"/);
  assert.equal((svg.match(/<image /g) ?? []).length, 1);
  assert.match(svg, /Memory &lt;T&gt;/);
  assert.match(svg, /linearGradient id="engram-colorbar"/);
  assert.match(svg, />-1</);
  assert.throws(
    () => panelSvg(l, [], { title: '', subtitle: '', rowAxis: '', colAxis: '' }, { map: 'viridis', min: 0, max: 1 }),
    /0 images for 1 views/,
  );
});

test('ticks, number formatting and file stems', () => {
  assert.deepEqual(tickIndices(3), [0, 1, 2]);
  assert.deepEqual(tickIndices(100), [0, 25, 50, 74, 99]);
  assert.equal(formatValue(0.123456), '0.123');
  assert.equal(formatValue(0.00001234), '1.23e-5');
  assert.equal(exportStem('my run/1', 120, 3, 'readWeights'), 'my-run-1_it120_t3_readWeights');
  assert.equal(exportStem('r', 1, null, 'usage'), 'r_it1_usage');
});
