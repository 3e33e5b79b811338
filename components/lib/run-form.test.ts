import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RUN_FORM, fieldOfServerError, parseRunForm } from './run-form';

test('the defaults are valid and small', () => {
  const { config, errors } = parseRunForm(DEFAULT_RUN_FORM);
  assert.deepEqual(errors, {});
  assert.equal(config.batch_size, 8);
  assert.equal(config.mem_slot, 16);
  assert.equal(config.mem_size, 16);
  assert.equal(config.read_heads, 2);
  assert.equal(config.nhid, 64);
  assert.equal(config.task, 'copy');
});

test('bad values get messages that name the field and the value', () => {
  const { errors, config } = parseRunForm({
    ...DEFAULT_RUN_FORM,
    mem_slot: '-3',
    lr: 'fast',
    batch_size: '2.5',
    task: 'sort',
    nhid: '',
  });
  assert.match(errors.mem_slot, /^Cells must be between 1 and 65536; got -3$/);
  assert.match(errors.lr, /Learning rate must be a number; got "fast"/);
  assert.match(errors.batch_size, /Batch must be a whole number; got 2.5/);
  assert.match(errors.task, /Task must be one of copy, .*; got "sort"/);
  assert.match(errors.nhid, /Hidden is required/);
  assert.equal(config.mem_slot, undefined);
  assert.equal(config.seed, 1);
});

test('server bad_request messages are routed to the field they name', () => {
  assert.equal(fieldOfServerError('mem_slot: must be a positive integer, got 0'), 'mem_slot');
  assert.equal(fieldOfServerError('config.lr must be > 0'), 'lr');
  assert.equal(fieldOfServerError('invalid value for read_heads (0)'), 'read_heads');
  assert.equal(fieldOfServerError('something else broke'), null);
});
