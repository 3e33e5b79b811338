/**
 * `train --stream URL`: the CLI trainer as an external run of an Engram server, over the HTTP ingest routes
 * (docs/protocol.md). Each iteration's metrics (and frame, when one was captured) are sent before the next
 * `wait()`, so pause, "step n" and stop from the browser apply exactly at iteration boundaries. The engine may not
 * import the server, so the few wire shapes used here are restated; server/train-stream.test.ts checks them against
 * the real server.
 */
import type { DebugFrame } from '../frames';
import type { IterationResult } from '../training/types';

interface Control {
  action: 'run' | 'wait' | 'stop';
  state: string;
  lr: number | null;
}

type Answer<T> = { ok: true; data: T } | { ok: false; error: { code: string; message: string } };

const WAIT_MS = 20_000;

export class StreamClient {
  private control: Control = { action: 'run', state: 'running', lr: null };

  private constructor(
    private readonly url: string,
    private readonly token: string | undefined,
    readonly runId: string,
  ) {}

  /** Create the external run; throws with the server's message when it refuses. */
  static async open(
    url: string,
    token: string | undefined,
    name: string,
    config: Record<string, unknown>,
  ): Promise<StreamClient> {
    const base = url.replace(/\/+$/, '');
    const created = await call<{ id: string }>(base, token, '/api/runs', {
      external: true,
      name,
      config,
      controls: ['pause', 'step', 'stop', 'lr'],
    });
    return new StreamClient(base, token, created.id);
  }

  /** The learning rate the browser set, or null. */
  get lr(): number | null {
    return this.control.lr;
  }

  /** Before each iteration: true to run it, false when the run was stopped. Blocks while paused. */
  async wait(): Promise<boolean> {
    for (;;) {
      if (this.control.action === 'run') return true;
      if (this.control.action === 'stop') return false;
      const reply = await call<{ go: boolean; control: Control }>(
        this.url,
        this.token,
        `/api/runs/${this.runId}/wait`,
        { timeout_ms: WAIT_MS },
      );
      this.control = reply.control;
      if (reply.go) return true;
    }
  }

  /** Send one iteration's metrics, then its frame if it has one. */
  async send(result: IterationResult): Promise<void> {
    const point: Record<string, number | string> = {
      iteration: result.iteration,
      loss: jsonNumber(result.loss),
      t: Date.now(),
      [result.metricName]: jsonNumber(result.metric),
    };
    const metrics = await call<{ control: Control }>(this.url, this.token, `/api/runs/${this.runId}/metrics`, {
      points: [point],
    });
    this.control = metrics.control;
    if (result.frame !== undefined) {
      const framed = await call<{ control: Control }>(
        this.url,
        this.token,
        `/api/runs/${this.runId}/frames`,
        encodeFrame(result.iteration, result.frame),
      );
      this.control = framed.control;
    }
  }

  async close(state: 'finished' | 'failed', message?: string): Promise<void> {
    await call(this.url, this.token, `/api/runs/${this.runId}/close`, { state, message });
  }
}

/** The binary frame body: u32 LE header length, the JSON header, then each tensor's float32 bytes in order. */
export function encodeFrame(iteration: number, frame: DebugFrame): Uint8Array {
  const header = JSON.stringify({
    iteration,
    timesteps: frame.timesteps,
    tensors: frame.tensors.map((t) => ({
      name: t.name,
      layer: t.layer,
      shape: t.shape,
      axes: t.axes,
      dtype: 'float32',
      ...(t.range === undefined ? {} : { range: t.range }),
      ...(t.description === undefined ? {} : { description: t.description }),
    })),
  });
  const head = Buffer.from(header, 'utf8');
  const parts: Uint8Array[] = [new Uint8Array(4), head];
  new DataView(parts[0].buffer).setUint32(0, head.length, true);
  for (const t of frame.tensors) parts.push(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return Buffer.concat(parts);
}

function jsonNumber(value: number): number | string {
  return Number.isFinite(value) ? value : String(value);
}

async function call<T>(base: string, token: string | undefined, path: string, body: unknown): Promise<T> {
  const binary = body instanceof Uint8Array;
  const headers: Record<string, string> = { 'content-type': binary ? 'application/octet-stream' : 'application/json' };
  if (token !== undefined) headers['x-engram-token'] = token;
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers,
    body: binary ? (body as unknown as BodyInit) : JSON.stringify(body),
  });
  const answer = (await res.json()) as Answer<T>;
  if (!answer.ok) throw new Error(`${path}: ${answer.error.code}: ${answer.error.message}`);
  return answer.data;
}
