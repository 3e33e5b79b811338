import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupTitle, identifierOf } from './title-group';

test("pytorch-dnc's titles: t is the iteration, loss a field, the label is the quantity", () => {
  const g = groupTitle('Memory, t: 100, loss: 0.5312');
  assert.equal(g.key, 'Memory, t: #, loss: #');
  assert.equal(g.label, 'Memory');
  assert.equal(g.iteration, 100);
  assert.equal(g.iterationField, 't');
  assert.deepEqual(g.fields, { t: 100, loss: 0.5312 });
  assert.deepEqual(g.numbers, [100, 0.5312]);
});

test('titles that differ only in numbers share a key; other words do not', () => {
  const a = groupTitle('Link Matrix, t: 0, loss: 0.6931');
  const b = groupTitle('Link Matrix, t: 2500, loss: 0.0012');
  const c = groupTitle('Reverse Link Matrix, t: 0, loss: 0.6931');
  assert.equal(a.key, b.key);
  assert.notEqual(a.key, c.key);
  assert.equal(c.label, 'Reverse Link Matrix');
});

test("Python's nan and inf (an empty loss window prints nan) are numbers, kept as NaN and Infinity", () => {
  const g = groupTitle('Usage Vector, t: 5, loss: nan');
  assert.equal(g.key, 'Usage Vector, t: #, loss: #');
  assert.equal(g.iteration, 5);
  assert.ok(Number.isNaN(g.fields.loss));
  assert.equal(groupTitle('x: -inf').fields.x, -Infinity);
  assert.equal(groupTitle('x: inf, t: 3').iteration, 3);
});

test('numbers glued to words stay words; exponents and signs are numbers', () => {
  const g = groupTitle('conv2d layer3b step=7 lr=1e-3 delta=-0.5');
  assert.equal(g.key, 'conv2d layer3b step=# lr=# delta=#');
  assert.equal(g.iteration, 7);
  assert.deepEqual(g.fields, { step: 7, lr: 0.001, delta: -0.5 });
  assert.equal(g.label, 'conv2d layer3b');
});

test('an unlabelled count is the iteration when nothing is labelled; a title without numbers is its own key', () => {
  const g = groupTitle('epoch 12');
  assert.equal(g.iteration, 12);
  assert.equal(g.iterationField, null);
  assert.equal(g.label, 'epoch');
  const plain = groupTitle('memory');
  assert.equal(plain.key, 'memory');
  assert.equal(plain.iteration, null);
  assert.equal(plain.label, 'memory');
  // A negative or fractional number is never the iteration.
  assert.equal(groupTitle('loss: 0.5, delta: -3').iteration, null);
});

test('identifierOf makes camelCase tensor names', () => {
  assert.equal(identifierOf('Link Matrix'), 'linkMatrix');
  assert.equal(identifierOf('Usage Vector'), 'usageVector');
  assert.equal(identifierOf('mem'), 'mem');
  assert.equal(identifierOf('2nd layer'), 'w2ndLayer');
  assert.equal(identifierOf('<>!'), 'window');
});
