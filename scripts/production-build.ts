/**
 * Whether the production build of the dashboard (`next build`, in `.next/`) matches the sources, and building it
 * when it does not: for benchmarks that serve the page as `npm run build && npm start` does (bench:ingest `--prod`).
 * A build is stale when any file it is made from (the pages, the components, the protocol they import, the Next,
 * TypeScript and package configs) changed after its BUILD_ID was written; a checkout touches the files it changes,
 * so switching branches counts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** What `next build` reads, relative to the project root: folders are walked, missing entries ignored. */
export const BUILD_INPUTS = [
  'app',
  'components',
  'server/protocol.ts',
  'server/protocol',
  'next.config.js',
  'tsconfig.json',
  'package-lock.json',
] as const;

export type BuildState = { fresh: true } | { fresh: false; reason: string };

/** Whether `root/.next` holds a production build at least as new as every file in BUILD_INPUTS. */
export function productionBuildState(root: string): BuildState {
  const buildId = join(root, '.next', 'BUILD_ID');
  if (!existsSync(buildId)) return { fresh: false, reason: 'no production build (.next/BUILD_ID is missing)' };
  const builtAt = statSync(buildId).mtimeMs;
  for (const input of BUILD_INPUTS) {
    const newer = newerThan(join(root, input), builtAt);
    if (newer !== null) return { fresh: false, reason: `${newer.slice(root.length + 1)} changed after the build` };
  }
  return { fresh: true };
}

/** Run `next build` in `root` unless its build is fresh; throws when the build fails. Returns what it did. */
export function ensureProductionBuild(root: string): string {
  const state = productionBuildState(root);
  if (state.fresh) return 'the production build is up to date';
  console.log(`[bench] ${state.reason}: running next build`);
  const next = join(root, 'node_modules', 'next', 'dist', 'bin', 'next');
  const res = spawnSync(process.execPath, [next, 'build'], {
    cwd: root,
    env: { ...process.env, NODE_ENV: 'production', NEXT_TELEMETRY_DISABLED: '1' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (res.status !== 0) throw new Error(`next build failed (exit ${res.status ?? res.signal})`);
  return `built (${state.reason})`;
}

/** The first file under `path` modified after `time`, or null. */
function newerThan(path: string, time: number): string | null {
  if (!existsSync(path)) return null;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs > time ? path : null;
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue;
    const newer = newerThan(join(path, entry), time);
    if (newer !== null) return newer;
  }
  return null;
}
