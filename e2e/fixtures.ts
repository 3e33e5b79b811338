/**
 * Page objects for the dashboard's two pages, offered as Playwright fixtures. Every wait is on state the page
 * exposes (data attributes, test ids, the server's HTTP API), never on time.
 */
import { test as base, expect, type APIRequestContext, type Download, type Locator, type Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import type { Ack, RunSummary } from '../server/protocol';

export const SCREENSHOT_DIR = 'test-results/screenshots';

/** A copy-task config small enough to be lively on a 2-core CPU. */
export const TINY_RUN: Record<string, string> = {
  nhid: '32',
  mem_slot: '8',
  mem_size: '8',
  read_heads: '1',
  batch_size: '2',
  sequence_max_length: '3',
  iterations: '1000000',
  summarize_freq: '1',
};

export class RunsPage {
  constructor(readonly page: Page) {}

  async goto(): Promise<void> {
    await this.page.goto('/');
    await expect(this.page.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  }

  field(key: string): Locator {
    return this.page.getByTestId(`field-${key}`);
  }

  fieldError(key: string): Locator {
    return this.page.getByTestId(`error-${key}`);
  }

  async fill(values: Record<string, string>): Promise<void> {
    for (const [key, value] of Object.entries(values)) {
      const field = this.field(key);
      if ((await field.evaluate((el) => el.tagName)) === 'SELECT') await field.selectOption(value);
      else await field.fill(value);
    }
  }

  /** Fill the form, start the run and wait for its page; returns the run id. */
  async startRun(values: Record<string, string>): Promise<string> {
    await this.fill(values);
    await this.page.getByTestId('start-run').click();
    await this.page.waitForURL(/\/runs\/[^/?]+/);
    return decodeURIComponent(new URL(this.page.url()).pathname.split('/').pop() ?? '');
  }
}

export class RunPage {
  constructor(
    readonly page: Page,
    readonly request: APIRequestContext,
  ) {}

  async open(runId: string, query = ''): Promise<void> {
    await this.page.goto(`/runs/${encodeURIComponent(runId)}${query}`);
  }

  runId(): string {
    return decodeURIComponent(new URL(this.page.url()).pathname.split('/').pop() ?? '');
  }

  panel(name: string): Locator {
    return this.page.getByTestId(`heatmap-${name}`);
  }

  async panelIteration(name: string): Promise<number> {
    return Number((await this.panel(name).getAttribute('data-iteration')) ?? NaN);
  }

  async shownIteration(): Promise<number> {
    return Number(await this.page.getByTestId('iteration').textContent());
  }

  async chartStep(testId: string): Promise<number> {
    return Number((await this.page.getByTestId(testId).getAttribute('data-step')) ?? NaN);
  }

  /** The run as the server sees it (through the HTTP API, independent of the page). */
  async serverRun(runId = this.runId()): Promise<RunSummary> {
    const res = await this.request.get(`/api/runs/${encodeURIComponent(runId)}`);
    const body = (await res.json()) as Ack<RunSummary>;
    if (!body.ok) throw new Error(`GET run ${runId}: ${body.error.message}`);
    return body.data;
  }

  /** Pause and wait until page and server agree on a paused run; returns the iteration it stopped at. */
  async pause(): Promise<number> {
    await this.page.getByTestId('pause-button').click();
    await expect(this.page.getByTestId('run-state')).toHaveText('paused');
    await expect.poll(async () => (await this.serverRun()).state).toBe('paused');
    const stoppedAt = (await this.serverRun()).iteration;
    await expect.poll(() => this.shownIteration()).toBe(stoppedAt);
    return stoppedAt;
  }

  async exportPanel(key: string, kind: 'png' | 'svg' | 'npy' | 'csv' | 'json'): Promise<Download> {
    await this.page.getByTestId(`export-menu-${key}`).click();
    const download = this.page.waitForEvent('download');
    await this.page.getByTestId(`export-${kind}-${key}`).click();
    return download;
  }

  async screenshot(name: string): Promise<void> {
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await this.page.screenshot({ path: `${SCREENSHOT_DIR}/${name}.png`, fullPage: true });
  }
}

export const test = base.extend<{ runsPage: RunsPage; runPage: RunPage }>({
  runsPage: async ({ page }, use) => {
    await use(new RunsPage(page));
  },
  runPage: async ({ page, request }, use) => {
    await use(new RunPage(page, request));
  },
});

export { expect };

/** Create a run through the HTTP API (for tests whose subject is not the form). */
export async function createRun(
  request: APIRequestContext,
  config: Record<string, unknown>,
  name?: string,
): Promise<RunSummary> {
  const res = await request.post('/api/runs', { data: { config, ...(name ? { name } : {}) } });
  const body = (await res.json()) as Ack<RunSummary>;
  if (!body.ok) throw new Error(`create run: ${body.error.message}`);
  return body.data;
}

/** Width and height from a PNG's IHDR chunk (bytes 16–23, big-endian), after checking the signature. */
export function pngSize(bytes: Buffer): { width: number; height: number } {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (!signature.every((b, i) => bytes[i] === b)) throw new Error('not a PNG: bad signature');
  if (bytes.toString('latin1', 12, 16) !== 'IHDR') throw new Error('not a PNG: first chunk is not IHDR');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

/** dtype and shape from an NPY file's header. */
export function npyHeader(bytes: Buffer): { version: string; descr: string; shape: number[]; dataBytes: number } {
  if (bytes[0] !== 0x93 || bytes.toString('latin1', 1, 6) !== 'NUMPY') throw new Error('not an NPY file');
  const headerLength = bytes.readUInt16LE(8);
  const header = bytes.toString('latin1', 10, 10 + headerLength);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1] ?? '';
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '';
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  return { version: `${bytes[6]}.${bytes[7]}`, descr, shape, dataBytes: bytes.length - 10 - headerLength };
}
