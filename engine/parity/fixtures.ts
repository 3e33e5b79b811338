/**
 * Where the repository keeps its copy of the fixtures recorded from pytorch-dnc 2.0 (`fixtures/pytorch-dnc/`, with
 * a README on how to read them): tests and examples load them from here, relative to this file, so a clone
 * works wherever it is placed.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Absolute path of `fixtures/pytorch-dnc/` in this checkout. */
export const PARITY_FIXTURE_DIR = resolve(__dirname, '..', '..', 'fixtures', 'pytorch-dnc');

/** Absolute path of one fixture file, e.g. `parityFixturePath('dnc_A.json')`. */
export function parityFixturePath(name: string): string {
  return join(PARITY_FIXTURE_DIR, name);
}

/** One fixture file parsed as JSON (callers narrow it with the replay modules' guards). */
export function readParityFixture(name: string): unknown {
  return JSON.parse(readFileSync(parityFixturePath(name), 'utf8'));
}
