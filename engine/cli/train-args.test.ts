import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../training/types';
import { parseTrainArgs, trainUsage } from './train-args';

function run(argv: string[]) {
  const command = parseTrainArgs(argv);
  assert.equal(command.kind, 'run');
  if (command.kind !== 'run') throw new Error('unreachable');
  return command;
}

function refused(argv: string[], flag: string, message: RegExp): void {
  assert.throws(
    () => parseTrainArgs(argv),
    (error: unknown) => error instanceof ConfigError && error.field === flag && message.test(error.message),
    `${argv.join(' ')} → ${flag}`,
  );
}

test('pytorch-dnc spellings: snake_case, kebab-case, one or two dashes, --flag=value', () => {
  const command = run([
    '--task',
    'repeat-copy',
    '-batch_size',
    '8',
    '--mem-slot=12',
    '--lr',
    '3e-3',
    '--seed',
    '7',
    '--optim',
    'rmsprop',
  ]);
  assert.equal(command.config.task, 'repeat-copy');
  assert.equal(command.config.batch_size, 8);
  assert.equal(command.config.mem_slot, 12);
  assert.equal(command.config.lr, 0.003);
  assert.equal(command.config.seed, 7);
  assert.equal(command.config.optim, 'rmsprop');
  assert.equal(command.config.nhid, 64, 'defaults fill the rest');
  assert.deepEqual(command.fields, {
    task: 'repeat-copy',
    batch_size: 8,
    mem_slot: 12,
    lr: 0.003,
    seed: 7,
    optim: 'rmsprop',
  });
  assert.equal(command.json, false);
});

test('run controls: --json, --checkpoint_dir, --resume with and without a file, --help', () => {
  assert.deepEqual(parseTrainArgs(['--lr', '1', '--help']), { kind: 'help' });
  const resumeLatest = run(['--checkpoint_dir', 'runs/a', '--resume', '--json']);
  assert.equal(resumeLatest.resume, true);
  assert.equal(resumeLatest.checkpointDir, 'runs/a');
  assert.equal(resumeLatest.json, true);
  assert.equal(run(['--resume', 'x.ckpt', '--iterations', '10']).resume, 'x.ckpt');
  assert.equal(run(['--resume=y.ckpt']).resume, 'y.ckpt');
  assert.match(trainUsage(), /--sequence_max_length <integer>\s+longest training sequence \(items\) \(default 4\)/);
  assert.match(trainUsage(), /--memory_type \{dnc\|sdnc\|sam\}/);
});

test('unknown flags, bad values and missing values are refused naming the flag', () => {
  refused(['--bogus', '1'], '--bogus', /unknown flag/);
  refused(['--batch_size', '0'], 'batch_size', /'0' is below 1/);
  refused(['--lr', 'fast'], 'lr', /'fast' is not a number/);
  refused(['--optim', 'lamb'], 'optim', /'lamb' is not one of/);
  refused(['--memory_type', 'ntm'], 'memory_type', /'ntm' is not one of dnc, sdnc, sam/);
  refused(['--lr'], '--lr', /needs a value/);
  refused(['--lr', '--json'], '--lr', /needs a value/);
  refused(['--json=yes'], '--json', /takes no value/);
  refused(['--nhid', '8', '--nhid', '9'], '--nhid', /given twice/);
  refused(['copy'], 'copy', /unexpected argument/);
  refused(['--resume'], '--resume', /needs --checkpoint_dir/);
  refused(
    ['--task', 'associative-recall', '--input_size', '3', '--sequence_max_length', '6'],
    'sequence_max_length',
    /gives 4/,
  );
});
