// Command-line flags of `npm run dev` / `npm start` and their environment fallbacks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCliOptions } from './cli-options';

test('flags override the environment, which overrides defaults', () => {
  assert.deepEqual(
    { ...parseCliOptions([], {}) },
    {
      port: 3000,
      host: '127.0.0.1',
      dataDir: 'data',
      fresh: false,
      next: true,
      token: undefined,
      checkpointIntervalMs: undefined,
      commandTimeoutMs: undefined,
      stopGraceMs: undefined,
      maxFrames: undefined,
      maxFrameMb: undefined,
      visdomPort: 8097,
      frameLimitMb: undefined,
      storageBudgetMb: undefined,
      memoryBudgetMb: undefined,
      maxTraining: undefined,
    },
  );
  assert.equal(parseCliOptions([], { ENGRAM_FRAME_LIMIT_MB: '8' }).frameLimitMb, 8);
  assert.equal(parseCliOptions([], { ENGRAM_COMMAND_TIMEOUT_MS: '2500' }).commandTimeoutMs, 2500);
  assert.equal(parseCliOptions([], { ENGRAM_STOP_GRACE_MS: '800' }).stopGraceMs, 800);
  assert.throws(() => parseCliOptions([], { ENGRAM_STOP_GRACE_MS: '-1' }), /ENGRAM_STOP_GRACE_MS must be a positive/);
  assert.throws(() => parseCliOptions([], { ENGRAM_FRAME_LIMIT_MB: '0' }), /ENGRAM_FRAME_LIMIT_MB must be a positive/);
  const env = { PORT: '4000', HOST: '0.0.0.0', ENGRAM_DATA_DIR: '/tmp/x', ENGRAM_TOKEN: 't' };
  assert.equal(parseCliOptions([], env).port, 4000);
  const options = parseCliOptions(
    ['--port', '5000', '--host=127.0.0.2', '--data-dir', 'd', '--fresh', '--no-next'],
    env,
  );
  assert.deepEqual(
    [options.port, options.host, options.dataDir, options.fresh, options.next, options.token],
    [5000, '127.0.0.2', 'd', true, false, 't'],
  );
});

test('--visdom-port moves or turns off the Visdom port; ENGRAM_VISDOM_PORT is its fallback', () => {
  assert.equal(parseCliOptions(['--visdom-port', '9000'], {}).visdomPort, 9000);
  assert.equal(parseCliOptions(['--visdom-port=off'], {}).visdomPort, null);
  assert.equal(parseCliOptions([], { ENGRAM_VISDOM_PORT: 'off' }).visdomPort, null);
  assert.equal(parseCliOptions(['--visdom-port', '8100'], { ENGRAM_VISDOM_PORT: 'off' }).visdomPort, 8100);
  assert.throws(() => parseCliOptions(['--visdom-port', 'on'], {}), /--visdom-port must be a port number.*"on"/);
});

test('bad flags name themselves', () => {
  assert.throws(() => parseCliOptions(['--port', 'x'], {}), /--port must be a port number.*"x"/);
  assert.throws(() => parseCliOptions(['--bogus'], {}), /unknown option --bogus/);
  assert.throws(() => parseCliOptions(['--data-dir'], {}), /--data-dir needs a value/);
  assert.throws(() => parseCliOptions([], { PORT: '70000' }), /PORT/);
});

test('--storage-budget-mb sets the global storage budget; ENGRAM_STORAGE_BUDGET_MB is its fallback', () => {
  assert.equal(parseCliOptions([], { ENGRAM_STORAGE_BUDGET_MB: '512' }).storageBudgetMb, 512);
  assert.equal(parseCliOptions(['--storage-budget-mb=64'], { ENGRAM_STORAGE_BUDGET_MB: '512' }).storageBudgetMb, 64);
  assert.throws(() => parseCliOptions(['--storage-budget-mb', '0'], {}), /--storage-budget-mb must be a positive/);
  assert.throws(() => parseCliOptions([], { ENGRAM_STORAGE_BUDGET_MB: 'lots' }), /ENGRAM_STORAGE_BUDGET_MB/);
});

test('--memory-budget-mb and --max-training set the admission limits; the environment is their fallback', () => {
  const env = { ENGRAM_MEMORY_BUDGET_MB: '2048', ENGRAM_MAX_TRAINING: '3' };
  assert.deepEqual([parseCliOptions([], env).memoryBudgetMb, parseCliOptions([], env).maxTraining], [2048, 3]);
  const flags = parseCliOptions(['--memory-budget-mb', '512', '--max-training=1'], env);
  assert.deepEqual([flags.memoryBudgetMb, flags.maxTraining], [512, 1]);
  assert.throws(() => parseCliOptions(['--max-training', '0'], {}), /--max-training must be a positive integer.*"0"/);
  assert.throws(() => parseCliOptions([], { ENGRAM_MEMORY_BUDGET_MB: '1.5' }), /ENGRAM_MEMORY_BUDGET_MB must be/);
});
