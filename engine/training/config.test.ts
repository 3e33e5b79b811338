import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveTrainConfig, sequenceLengthAt } from './config';
import { ConfigError } from './types';

test('defaults are pytorch-dnc copy_task.py argparse defaults', () => {
  const config = resolveTrainConfig({});
  assert.deepEqual(
    { ...config },
    {
      task: 'copy',
      rnn_type: 'lstm',
      nhid: 64,
      dropout: 0,
      memory_type: 'dnc',
      nlayer: 1,
      nhlayer: 2,
      lr: 1e-4,
      optim: 'adam',
      clip: 50,
      batch_size: 100,
      mem_size: 20,
      mem_slot: 16,
      read_heads: 4,
      sparse_reads: 10,
      temporal_reads: 2,
      sequence_max_length: 4,
      curriculum_increment: 0,
      curriculum_freq: 1000,
      iterations: 100000,
      summarize_freq: 100,
      check_freq: 100,
      seed: 1,
      input_size: 6,
      repeats: 2,
    },
  );
});

test('kebab-case keys and numeric strings are accepted', () => {
  const config = resolveTrainConfig({
    'batch-size': '8',
    lr: '1e-2',
    'memory-type': 'dnc',
    task: 'adding',
    dropout: 0.25,
  });
  assert.equal(config.batch_size, 8);
  assert.equal(config.lr, 0.01);
  assert.equal(config.task, 'adding');
  assert.equal(config.dropout, 0.25);
});

test('unknown fields and bad values throw ConfigError naming field and value', () => {
  const expectError = (input: Record<string, unknown>, field: string, message: RegExp) => {
    assert.throws(
      () => resolveTrainConfig(input),
      (error: unknown) => error instanceof ConfigError && error.field === field && message.test(error.message),
    );
  };
  expectError({ bogus: 1 }, 'bogus', /unknown field/);
  expectError({ batch_size: '0' }, 'batch_size', /'0' is below 1/);
  expectError({ batch_size: 2.5 }, 'batch_size', /2.5 is not an integer/);
  expectError({ lr: 'fast' }, 'lr', /'fast' is not a number/);
  expectError({ lr: 0 }, 'lr', /0 must be greater than 0/);
  expectError({ dropout: 1 }, 'dropout', /1 must be smaller than 1/);
  expectError({ optim: 'lamb' }, 'optim', /'lamb' is not one of adam, adamax, rmsprop, sgd, adagrad, adadelta/);
  expectError({ task: 'sort' }, 'task', /'sort' is not one of/);
  expectError({ clip: Number.POSITIVE_INFINITY }, 'clip', /not a finite number/);
  expectError({ batch_size: 4, 'batch-size': 5 }, 'batch-size', /given twice/);
  expectError(
    { task: 'associative-recall', input_size: 3, sequence_max_length: 5 },
    'sequence_max_length',
    /input_size 3 gives 4/,
  );
  expectError({ task: 'adding', sequence_max_length: 1 }, 'sequence_max_length', /adding needs at least 2 items/);
  expectError({ memory_type: 'sam', sparse_reads: 20, mem_slot: 16 }, 'sparse_reads', /20 is more than mem_slot 16/);
});

test('curriculum: the length bound grows by the increment every curriculum_freq iterations', () => {
  const config = resolveTrainConfig({ sequence_max_length: 3, curriculum_increment: 2, curriculum_freq: 10 });
  assert.equal(sequenceLengthAt(config, 1), 3);
  assert.equal(sequenceLengthAt(config, 10), 3);
  assert.equal(sequenceLengthAt(config, 11), 5);
  assert.equal(sequenceLengthAt(config, 25), 7);
  assert.equal(sequenceLengthAt(resolveTrainConfig({}), 5000), 4);
});
