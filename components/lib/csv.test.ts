import { test } from 'node:test';
import assert from 'node:assert/strict';
import { metricsCsv, tensorCsv, toCsv } from './csv';

test('metric history becomes one row per iteration under a named metric column', () => {
  const csv = metricsCsv(
    [
      { iteration: 1, loss: 0.7, metric: 0.5, itPerSec: 10, t: 1000, sequenceLength: 4 },
      { iteration: 2, loss: NaN, metric: 0.25, itPerSec: 11, t: 1100 },
    ],
    'bit_error',
  );
  assert.equal(
    csv,
    'iteration,loss,bit_error,it_per_sec,wall_time_ms,sequence_length\n1,0.7,0.5,10,1000,4\n2,NaN,0.25,11,1100,\n',
  );
});

test('a tensor is written in long format with deduplicated axis names', () => {
  const csv = tensorCsv(new Float32Array([1, 2, 3, 4, 5, 6]), [1, 2, 3], ['time', 'cell', 'cell']);
  const lines = csv.trim().split('\n');
  assert.equal(lines[0], 'time,cell,cell_2,value');
  assert.equal(lines[1], '0,0,0,1');
  assert.equal(lines[4], '0,1,0,4');
  assert.equal(lines.length, 7);
});

test('cells with commas or quotes are quoted; ragged rows are refused', () => {
  assert.equal(toCsv(['a'], [['x,"y"']]), 'a\n"x,""y"""\n');
  assert.throws(() => toCsv(['a', 'b'], [[1]]), /a row has 1 cells, the header has 2/);
  assert.throws(() => tensorCsv(new Float32Array(3), [2, 2], ['a', 'b']), /data has 3 values/);
});
