// The repository stands alone: no tracked source, test or script reaches ../shared or an absolute path of the
// machine it was written on, so a clone works wherever it is placed (CI also runs from such a clone: .ci/run).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const root = resolve(__dirname, '..');

function trackedCode(): string[] {
  const out = execFileSync(
    'git',
    ['ls-files', '-z', '--', '*.ts', '*.tsx', '*.mjs', '*.js', '*.py', '*.json', '.ci/*'],
    { cwd: root, encoding: 'utf8' },
  );
  return out.split('\0').filter((f) => f !== '' && !f.startsWith('fixtures/') && f !== 'package-lock.json');
}

const FORBIDDEN: [RegExp, string][] = [
  [/['"`]\/(work|farm|root|home)\//, 'an absolute path of this machine'],
  [/['"]\.\.['"],\s*['"]shared['"]|\.\.\/shared\/(fixtures|bench|reference)/, 'a ../shared path'],
];

test('no tracked code file reads ../shared or an absolute machine path', () => {
  const files = trackedCode();
  assert.ok(files.length > 100, `expected the repository's files, got ${files.length}`);
  const offenders: string[] = [];
  for (const file of files) {
    if (file === 'scripts/standalone.test.ts') continue; // this file spells the patterns out
    const text = readFileSync(join(root, file), 'utf8');
    for (const [pattern, what] of FORBIDDEN) {
      const line = text.split('\n').findIndex((l) => pattern.test(l));
      if (line >= 0) offenders.push(`${file}:${line + 1}: ${what}`);
    }
  }
  assert.deepEqual(offenders, []);
});

test('the parity fixtures the tests replay are in the repository', () => {
  const files = execFileSync('git', ['ls-files', 'fixtures/pytorch-dnc'], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
  for (const name of [
    'README.md',
    'dnc_A.json',
    'dnc_A_randinit.json',
    'memory_A.json',
    'memory_A_independent_linears.json',
    'memory_A_randinit.json',
  ]) {
    assert.ok(files.includes(`fixtures/pytorch-dnc/${name}`), `fixtures/pytorch-dnc/${name} is not tracked`);
  }
});
