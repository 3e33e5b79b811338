/**
 * Parity of the dense memory with pytorch-dnc 2.0's `Memory` on every recorded memory fixture: with the recorded
 * free-list order injected on tied steps everything matches to 1e-5; with the engine's own stable tie rule the
 * read vectors still match (tied empty cells are interchangeable).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { PARITY_FIXTURE_DIR } from './fixtures';
import { replayMemoryFixture } from './memory-fixture';

const fixtureDir = PARITY_FIXTURE_DIR;
const TOLERANCE = 1e-5;

const fixtureFiles = readdirSync(fixtureDir)
  .filter((name) => name.startsWith('memory_') && name.endsWith('.json'))
  .sort();

before(async () => {
  await tf.setBackend('cpu');
});

test('there are memory fixtures to replay', () => {
  assert.ok(fixtureFiles.length >= 3, `found ${fixtureFiles.join(', ')} in ${fixtureDir}`);
});

for (const file of fixtureFiles) {
  const json: unknown = JSON.parse(readFileSync(path.join(fixtureDir, file), 'utf8'));

  test(`${file}: every recorded tensor matches with tie orders injected`, async () => {
    const report = await replayMemoryFixture(json, { injectSortOrder: true });
    assert.deepEqual(report.injectedSteps, report.tieSteps);
    assert.equal(report.sortOrderMismatches, 0, 'free-list order on untied rows');
    for (const name of [
      'read_vectors',
      'state_after.memory',
      'state_after.link_matrix',
      'state_after.usage_vector',
      'intermediates.allocation_weights',
    ]) {
      assert.ok(name in report.maxAbsError, `${name} was compared`);
    }
    for (const [name, error] of Object.entries(report.maxAbsError)) {
      assert.ok(error <= TOLERANCE, `${name}: max abs error ${error} > ${TOLERANCE}`);
    }
  });

  test(`${file}: read vectors match with the engine's stable tie rule`, async () => {
    const report = await replayMemoryFixture(json, { injectSortOrder: false });
    assert.deepEqual(report.injectedSteps, []);
    assert.ok(report.maxAbsError.read_vectors <= TOLERANCE, `read_vectors: ${report.maxAbsError.read_vectors}`);
    if (report.tieSteps.length === 0) {
      for (const [name, error] of Object.entries(report.maxAbsError)) {
        assert.ok(error <= TOLERANCE, `${name}: max abs error ${error} > ${TOLERANCE} (no ties, nothing to permute)`);
      }
    }
  });
}

test('a fixture missing a field is rejected with the field named', async () => {
  const text = readFileSync(path.join(fixtureDir, fixtureFiles[0]), 'utf8');
  const broken: unknown = JSON.parse(text.replace('"nr_cells"', '"cells_renamed"'));
  await assert.rejects(() => replayMemoryFixture(broken, { injectSortOrder: true }), /config has no field 'nr_cells'/);
});
