// No source line over the formatter's width (biome.json's lineWidth): Biome wraps code, but not long strings or
// comments, so this check covers what the formatter leaves alone.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const root = resolve(__dirname, '..');
const width = (JSON.parse(readFileSync(join(root, 'biome.json'), 'utf8')) as { formatter: { lineWidth: number } })
  .formatter.lineWidth;

test(`no source line is wider than ${width} characters`, () => {
  assert.ok(width >= 80 && width <= 160, `biome.json lineWidth ${width}`);
  const files = execFileSync('git', ['ls-files', '-z', '--', '*.ts', '*.tsx', '*.mjs', '*.js'], {
    cwd: root,
    encoding: 'utf8',
  })
    .split('\0')
    .filter(Boolean);
  const wide: string[] = [];
  for (const file of files) {
    readFileSync(join(root, file), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if ([...line].length > width) wide.push(`${file}:${i + 1} (${[...line].length})`);
      });
  }
  assert.deepEqual(wide, []);
});
