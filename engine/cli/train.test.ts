import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

const root = join(__dirname, '..', '..');
const TINY = [
  '--batch_size',
  '4',
  '--mem_slot',
  '6',
  '--mem_size',
  '4',
  '--read_heads',
  '1',
  '--nhid',
  '8',
  '--nhlayer',
  '1',
  '--sequence_max_length',
  '2',
];

/** Run `npm run train -- …` (via tsx directly) and collect its output and exit code. */
function train(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'engine/cli/train.ts'), ...args], {
      cwd: root,
      env: { ...process.env, ENGRAM_BACKEND: 'cpu' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let directory = '';
before(async () => {
  directory = await mkdtemp(join(tmpdir(), 'engram-train-cli-'));
});
after(() => rm(directory, { recursive: true, force: true }));

test('a bad flag exits 2 naming it, before anything starts', async () => {
  const result = await train(['--task', 'copy', '--mem_slot', 'many']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /train: mem_slot: 'many' is not a number/);
  assert.doesNotMatch(result.stderr + result.stdout, /tfjs backend/, 'no backend was even selected');
});

test('--json prints one line per iteration and a summary; --resume continues from the checkpoint', async () => {
  const first = await train([...TINY, '--iterations', '2', '--json', '--checkpoint_dir', directory]);
  assert.equal(first.code, 0, first.stderr);
  const lines = first.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.deepEqual(
    lines.slice(0, 2).map((line) => line.iteration),
    [1, 2],
  );
  assert.equal(lines[0].metricName, 'bit error rate');
  const summary = lines[2].summary as Record<string, unknown>;
  assert.equal(summary.iterations, 2);
  assert.ok(typeof (summary.test as Record<string, unknown>).metric === 'number', 'test phase ran');
  assert.deepEqual(await readdir(directory), ['latest.ckpt']);

  const resumed = await train(['--checkpoint_dir', directory, '--resume', '--iterations', '3', '--json']);
  assert.equal(resumed.code, 0, resumed.stderr);
  const resumedLines = resumed.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.equal(resumedLines[0].iteration, 3);
  assert.equal((resumedLines[1].summary as Record<string, unknown>).iterationsThisRun, 1);

  const changed = await train(['--resume', join(directory, 'latest.ckpt'), '--nhid', '9']);
  assert.equal(changed.code, 2);
  assert.match(changed.stderr, /nhid: cannot change on resume \(checkpoint has 8, got 9\)/);
  const missing = await train(['--resume', join(directory, 'nothing.ckpt')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no checkpoint at .*nothing\.ckpt/);
});
