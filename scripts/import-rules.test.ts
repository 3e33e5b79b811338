// Checks the import rules of STYLE.md over the source tree: which folder may import which.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');

function sources(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) sources(path, out);
    else if (/\.(ts|tsx|mts|mjs)$/.test(entry)) out.push(path);
  }
  return out;
}

/** Every module specifier a file imports (static, dynamic, require and re-exports). */
export function importsOf(text: string): string[] {
  const specs: string[] = [];
  const patterns = [
    /\bimport\s+(?:type\s+)?[^'"();]*?from\s*['"]([^'"]+)['"]/g,
    /\bexport\s+(?:type\s+)?[^'"();]*?from\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) specs.push(m[1]);
  return specs;
}

/** The top folder (engine, server, …) a relative import from `file` lands in, or the package name. */
function target(file: string, spec: string): { project: string | null; pkg: string | null } {
  if (!spec.startsWith('.')) return { project: null, pkg: spec };
  const abs = relative(root, resolve(dirname(file), spec));
  return { project: abs, pkg: null };
}

const folderOf = (rel: string) => rel.split('/')[0];
const isProtocol = (rel: string) => /^server\/protocol(\.ts|\/|$)/.test(rel) || rel === 'server/protocol';

const rules: Record<string, (rel: string | null, pkg: string | null, from: string) => string | null> = {
  engine: (rel, pkg) => {
    if (rel && ['server', 'app', 'components', 'e2e'].includes(folderOf(rel))) return `engine must not import ${rel}`;
    if (pkg && /^(socket\.io|react|react-dom|next|zustand|plotly)/.test(pkg)) return `engine must not import ${pkg}`;
    return null;
  },
  server: (rel, _pkg, from) => {
    if (rel && ['app', 'components', 'e2e'].includes(folderOf(rel))) return `server must not import ${rel}`;
    if (rel && isProtocol(relative(root, from)) && !isProtocol(rel))
      return `server/protocol must import nothing from the project (${rel})`;
    return null;
  },
  components: (rel) =>
    rel && folderOf(rel) !== 'components' && !isProtocol(rel)
      ? `components may import only the protocol, not ${rel}`
      : null,
  app: (rel) =>
    rel && !['components', 'app'].includes(folderOf(rel)) && !isProtocol(rel)
      ? `app may import components and the protocol, not ${rel}`
      : null,
  e2e: (rel) => (rel && ['engine', 'components', 'app'].includes(folderOf(rel)) ? `e2e must not import ${rel}` : null),
};

test('import rules of STYLE.md hold across the tree', () => {
  const violations: string[] = [];
  for (const folder of Object.keys(rules)) {
    let files: string[] = [];
    try {
      files = sources(join(root, folder));
    } catch {
      continue;
    }
    for (const file of files) {
      for (const spec of importsOf(readFileSync(file, 'utf8'))) {
        const { project, pkg } = target(file, spec);
        const problem = rules[folder](project, pkg, file);
        if (problem) violations.push(`${relative(root, file)}: ${problem}`);
      }
    }
  }
  assert.deepEqual(violations, []);
});

/** Test-only code (server/testing/) is imported by tests, benchmarks and itself, never by what runs in production. */
test('only tests and benchmarks import server/testing/', () => {
  const violations: string[] = [];
  for (const folder of ['engine', 'server', 'components', 'app', 'e2e', 'scripts']) {
    let files: string[] = [];
    try {
      files = sources(join(root, folder));
    } catch {
      continue;
    }
    for (const file of files) {
      const rel = relative(root, file);
      if (/\.(test|spec)\.tsx?$/.test(rel) || rel.startsWith('server/testing/')) continue;
      for (const spec of importsOf(readFileSync(file, 'utf8'))) {
        const { project } = target(file, spec);
        if (project?.startsWith('server/testing')) violations.push(`${rel} imports ${project}`);
      }
    }
  }
  assert.deepEqual(violations, []);
});

/** The test seam's hook fields (server/testing/hooked-training.ts) are named only by tests, benchmarks and the seam. */
test('production code names no test hook', async () => {
  const { HOOK_FIELDS } = await import('../server/testing/hooked-training');
  const names = new RegExp(`\\b(${Object.keys(HOOK_FIELDS).join('|')}|nanAt|oomAt|blockAt|RunHooks)\\b`);
  const violations: string[] = [];
  for (const folder of ['engine', 'server', 'components', 'app']) {
    for (const file of sources(join(root, folder))) {
      const rel = relative(root, file);
      if (/\.(test|spec)\.tsx?$/.test(rel) || rel.startsWith('server/testing/')) continue;
      const match = readFileSync(file, 'utf8').match(names);
      if (match !== null) violations.push(`${rel} names ${match[1]}`);
    }
  }
  assert.deepEqual(violations, []);
});

test('the import scanner sees every import form', () => {
  const text =
    `import a from './a';\nimport type { B } from "../b";\nexport { c } from './c';\nimport './d';\nconst ` +
    `e = await import('./e');\nconst f = require('./f');`;
  assert.deepEqual(importsOf(text).sort(), ['../b', './a', './c', './d', './e', './f']);
});
