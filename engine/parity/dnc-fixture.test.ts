import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { PARITY_FIXTURE_DIR } from './fixtures';
import { DNC_REPLAY_MODES, isDncFixture, replayDncFixture } from './dnc-fixture';

/** The shared fixtures, relative to the repository root (tests run from there). */
const FIXTURES = PARITY_FIXTURE_DIR;
const dncFixtures = readdirSync(FIXTURES).filter((f) => /^dnc_.*\.json$/.test(f));
const load = (file: string): unknown => JSON.parse(readFileSync(join(FIXTURES, file), 'utf8'));
const TOLERANCE = 1e-5;

before(async () => {
  await tf.setBackend('cpu');
});

describe('DNC fixture parity', () => {
  it('finds the DNC fixtures', () => {
    assert.ok(dncFixtures.length >= 2, `found ${dncFixtures.join(', ')}`);
    for (const file of dncFixtures) assert.ok(isDncFixture(load(file)), file);
    assert.equal(isDncFixture(load('memory_A.json')), false);
  });

  for (const file of dncFixtures) {
    for (const mode of DNC_REPLAY_MODES) {
      it(`${file} ${mode}: every recorded tensor within ${TOLERANCE} (tie orders injected)`, async () => {
        const report = await replayDncFixture(load(file), { mode, injectSortOrder: true });
        assert.ok(Object.keys(report.maxAbsError).length >= 9);
        assert.ok('outputs' in report.maxAbsError);
        for (const [name, error] of Object.entries(report.maxAbsError))
          assert.ok(error < TOLERANCE, `${name}: ${error}`);
      });
    }
    it(`${file}: with the stable tie rule, outputs and reads still match in every mode`, async () => {
      for (const mode of DNC_REPLAY_MODES) {
        const report = await replayDncFixture(load(file), { mode, injectSortOrder: false });
        assert.ok(report.maxAbsError.outputs < TOLERANCE, `${mode} outputs ${report.maxAbsError.outputs}`);
        assert.ok(report.maxAbsError.read_vectors < TOLERANCE, `${mode} reads ${report.maxAbsError.read_vectors}`);
      }
    });
  }

  it('the paper run and pytorch-dnc single call really differ (so the modes test something)', () => {
    const json = load('dnc_A_randinit.json') as {
      single_call: { outputs_time_major: { data: number[] } };
      stepwise: { outputs_time_major: { data: number[] } };
    };
    const a = json.single_call.outputs_time_major.data;
    const b = json.stepwise.outputs_time_major.data;
    assert.ok(Math.max(...a.map((v, i) => Math.abs(v - b[i]))) > 1e-2);
  });

  it('names the missing field of a broken fixture', async () => {
    const json = load('dnc_A.json') as Record<string, unknown>;
    const { inputs_x: _dropped, ...rest } = json;
    await assert.rejects(
      () =>
        replayDncFixture(
          { ...rest, inputs_x: { shape: [2, 5], data: [1] } },
          { mode: 'stepwise', injectSortOrder: true },
        ),
      /inputs_x has 1 values for shape \[2, 5\]/,
    );
    const { stepwise: _s, ...noStepwise } = json;
    await assert.rejects(
      () => replayDncFixture(noStepwise, { mode: 'one-call', injectSortOrder: true }),
      /fixture has no field 'stepwise'/,
    );
  });
});

describe('npm run parity', () => {
  const run = (...files: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'engine/cli/parity.ts', ...files], {
      encoding: 'utf8',
      env: { ...process.env, ENGRAM_BACKEND: 'cpu' },
    });

  it('prints per-tensor errors and max_abs_error, exit 0 on a fixture', () => {
    const result = run(join(FIXTURES, 'dnc_A.json'));
    assert.equal(result.status, 0, result.stderr);
    const lines = result.stdout.trim().split('\n');
    assert.match(lines.at(-1)!, /^max_abs_error=\d\.\d{3}e-\d+$/);
    assert.ok(Number(lines.at(-1)!.split('=')[1]) < 1e-4);
    assert.ok(
      lines.some((l) => /^\s+single-call debug_memory\.link_matrix\s+\d\.\d\de-\d+$/.test(l)),
      result.stdout,
    );
    assert.ok(lines.some((l) => /^\s+stepwise outputs\s/.test(l)));
  });

  it('exits 1 when a recorded value is off by more than 1e-4', () => {
    const json = load('dnc_A.json') as { stepwise: { outputs_time_major: { data: number[] } } };
    json.stepwise.outputs_time_major.data[3] += 0.01;
    const dir = mkdtempSync(join(tmpdir(), 'engram-parity-'));
    const file = join(dir, 'tampered.json');
    writeFileSync(file, JSON.stringify(json));
    const result = run(file);
    assert.equal(result.status, 1);
    assert.match(result.stdout, /stepwise outputs\s+1\.00e-2\s+FAIL/);
    assert.match(result.stdout.trim().split('\n').at(-1)!, /^max_abs_error=1\.00\de-2$/);
  });

  it('exits 2 with a clear message for a broken or foreign file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'engram-parity-'));
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"params": {');
    let result = run(broken);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /parity: cannot read .*broken\.json as JSON/);
    const foreign = join(dir, 'foreign.json');
    writeFileSync(foreign, '{"hello": 1}');
    result = run(foreign);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /neither a memory fixture .* nor a DNC fixture/);
    result = run();
    assert.equal(result.status, 2);
    assert.match(result.stderr, /no fixture file given/);
  });
});
