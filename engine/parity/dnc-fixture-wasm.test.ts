/**
 * The DNC fixtures replayed on the wasm backend, the default on machines without tfjs-node: wasm kernels differ
 * from cpu ones (tfjs 4.22's fused matMul misplaces the bias when combined with transposeB, which once skewed
 * every controller step after the first and corrupted later tensors), so parity is checked there too.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { replayDncFixture } from './dnc-fixture';
import { PARITY_FIXTURE_DIR } from './fixtures';
import { prepareWasmBackend } from '../wasm-kernels';

const FIXTURES = PARITY_FIXTURE_DIR;

before(async () => {
  assert.ok(await tf.setBackend('wasm'), 'wasm backend initialises');
  prepareWasmBackend({}); // the kernels the engine runs on wasm
});

describe('DNC fixture parity on wasm', () => {
  for (const file of ['dnc_A.json', 'dnc_A_randinit.json']) {
    for (const mode of ['stepwise', 'single-call'] as const) {
      it(`${file} ${mode}`, async () => {
        const report = await replayDncFixture(JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')), {
          mode,
          injectSortOrder: true,
        });
        assert.equal(tf.getBackend(), 'wasm');
        for (const [name, error] of Object.entries(report.maxAbsError)) assert.ok(error < 1e-5, `${name}: ${error}`);
      });
    }
  }
});
