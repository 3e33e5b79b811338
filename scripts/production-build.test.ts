// The staleness check behind bench:ingest --prod: a missing build, a fresh one, and one older than a page, a
// component, the protocol or the lock file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { productionBuildState } from './production-build';

function project(): string {
  const root = mkdtempSync(join(tmpdir(), 'engram-build-state-'));
  for (const dir of ['app/runs', 'components/heatmap', 'server', '.next', 'node_modules/next'])
    mkdirSync(join(root, dir), { recursive: true });
  for (const file of [
    'app/runs/page.tsx',
    'components/heatmap/Heatmap.tsx',
    'server/protocol.ts',
    'server/run-manager.ts',
    'package-lock.json',
    'node_modules/next/index.js',
  ])
    writeFileSync(join(root, file), '');
  return root;
}

/** Set a file's modification time to `seconds` after the epoch. */
const touch = (root: string, file: string, seconds: number) => utimesSync(join(root, file), seconds, seconds);

test('a production build is stale when missing or older than what it is built from, fresh otherwise', () => {
  const root = project();
  try {
    assert.deepEqual(productionBuildState(root), {
      fresh: false,
      reason: 'no production build (.next/BUILD_ID is missing)',
    });
    for (const file of ['app/runs/page.tsx', 'components/heatmap/Heatmap.tsx', 'server/protocol.ts'])
      touch(root, file, 1000);
    touch(root, 'package-lock.json', 1000);
    writeFileSync(join(root, '.next', 'BUILD_ID'), 'x');
    touch(root, '.next/BUILD_ID', 2000);
    // Files the page is not built from (server code, dependencies' own files) do not count.
    touch(root, 'server/run-manager.ts', 3000);
    touch(root, 'node_modules/next/index.js', 3000);
    assert.deepEqual(productionBuildState(root), { fresh: true });

    for (const file of [
      'components/heatmap/Heatmap.tsx',
      'app/runs/page.tsx',
      'server/protocol.ts',
      'package-lock.json',
    ]) {
      touch(root, file, 3000);
      assert.deepEqual(productionBuildState(root), { fresh: false, reason: `${file} changed after the build` });
      touch(root, file, 1000);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
