/**
 * Test-only (production code never imports this folder; scripts/import-rules.test.ts checks it). Shared helpers for
 * the server's tests: start the real server factory on an ephemeral port without Next,
 * typed socket.io clients, JSON fetch, and `waitFor` (poll a condition instead of sleeping).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as connect, type Socket } from 'socket.io-client';
import { createEngramServer, type EngramServer, type EngramServerOptions } from '../app';
import {
  PROTOCOL_VERSION,
  type Ack,
  type ClientToServerEvents,
  type RunSummary,
  type ServerToClientEvents,
} from '../protocol';
import { socketParser } from '../protocol/transport';
import { testSeam } from './test-seam';

/** Workers of test servers run the engine on the exact cpu backend unless the environment picks another. */
export const TEST_WORKER_ENV = { ENGRAM_BACKEND: process.env.ENGRAM_BACKEND ?? 'cpu' };

export type TestClient = Socket<ServerToClientEvents, ClientToServerEvents>;

/** The tiny real-engine config of the integration tests. */
export const TINY_CONFIG = {
  task: 'copy',
  mem_slot: 8,
  mem_size: 8,
  read_heads: 1,
  nhid: 16,
  batch_size: 2,
  sequence_max_length: 2,
  summarize_freq: 1,
} as const;

/** Poll `condition` until it returns a truthy value (returned) or `timeoutMs` passes (throws naming `what`). */
export async function waitFor<T>(
  what: string,
  condition: () => T | Promise<T>,
  timeoutMs = 20_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  for (;;) {
    try {
      const value = await condition();
      if (value !== undefined && value !== null && value !== false) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${lastError === null ? '' : `: ${String(lastError)}`}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function tempDataDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `engram-${label}-`));
}

export interface TestServer extends EngramServer {
  dataDir: string;
  clients: TestClient[];
  client(options?: { token?: string }): Promise<TestClient>;
  /** Close clients, the server and remove the data dir. */
  teardown(options?: { keepData?: boolean }): Promise<void>;
}

export interface TestServerOptions extends EngramServerOptions {
  /** Mount the test seam: run-config hooks and the /api/_test/ routes (server/testing/test-seam.ts). Default true. */
  testHooks?: boolean;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const { testHooks = true, ...serverOptions } = options;
  const dataDir = options.dataDir ?? tempDataDir('test');
  const server = await createEngramServer({
    port: 0,
    next: false,
    flushIntervalMs: 50,
    workerEnv: TEST_WORKER_ENV,
    // Tests train several tiny runs at once on small machines; the admission tests set their own limits.
    maxTraining: 16,
    ...(testHooks ? testSeam() : {}),
    ...serverOptions,
    dataDir,
  });
  const clients: TestClient[] = [];
  return {
    ...server,
    dataDir,
    clients,
    async client(clientOptions = {}) {
      const socket: TestClient = connect(server.url, {
        transports: ['websocket'],
        parser: socketParser,
        forceNew: true,
        reconnection: false,
        auth: {
          protocolVersion: PROTOCOL_VERSION,
          ...(clientOptions.token === undefined ? {} : { token: clientOptions.token }),
        },
      });
      clients.push(socket);
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', (error) => reject(error));
      });
      return socket;
    },
    async teardown(teardownOptions = {}) {
      for (const socket of clients) socket.disconnect();
      await server.close();
      if (teardownOptions.keepData !== true) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Unwrap an ack, failing the test with its error when it is not ok. */
export function unwrap<T>(ack: Ack<T>): T {
  if (!ack.ok) throw new Error(`expected ok, got ${ack.error.code}: ${ack.error.message}`);
  return ack.data;
}

export async function getJson(url: string, init: RequestInit = {}): Promise<{ status: number; body: Ack<unknown> }> {
  const res = await fetch(url, init);
  return { status: res.status, body: (await res.json()) as Ack<unknown> };
}

export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Ack<unknown> }> {
  return getJson(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

export async function runOf(url: string, runId: string): Promise<RunSummary> {
  const { body } = await getJson(`${url}/api/runs/${runId}`);
  return unwrap(body) as RunSummary;
}
