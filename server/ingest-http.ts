/**
 * HTTP ingest for external runs (`POST /api/runs/:id/{metrics,frames,heartbeat,wait,close}`): the routes a trainer
 * in any language can call. Every answer carries the control the client should obey next. Frames are binary
 * (docs/protocol.md): the JSON header in the `x-engram-frame` header with the tensor bytes as the body, or the whole
 * frame in the body after a u32 header length.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from './errors';
import { sendError, sendJson } from './http-api';
import { parseControls, parseIngestPoints } from './ingest-decode';
import { decodeIngestFrame, parseHeaderJson, splitFrameBody } from './ingest-frames';
import { MAX_PAYLOAD_BYTES } from './protocol/transport';
import {
  FRAME_HEADER_HEADER,
  MAX_INGEST_BODY_BYTES,
  MAX_WAIT_MS,
  type IngestReply,
  type WaitReply,
} from './protocol/ingest';
import type { RunManager } from './run-manager';
import { asObject, describe, integerField, optionalString, type Fields } from './validate';

/** Handles an ingest route and returns true, or returns false for the API's other routes. */
export type IngestHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

const ROUTE = /^\/api\/runs\/([^/]+)\/(metrics|frames|heartbeat|wait|close)$/;
const DEFAULT_WAIT_MS = 20_000;

export function createIngestHandler(manager: RunManager): IngestHandler {
  return (req, res) => {
    if (req.method !== 'POST') return false;
    const url = new URL(req.url ?? '/', 'http://localhost');
    const match = url.pathname.match(ROUTE);
    if (match === null) return false;
    const context = `POST ${url.pathname}`;
    let runId: string;
    try {
      runId = decodeURIComponent(match[1]);
    } catch {
      sendError(res, new ApiError('bad_request', `run id ${describe(match[1])} is not valid`), context);
      return true;
    }
    const route = match[2];
    if (route === 'wait') {
      void serveWait(manager, runId, req, res, context);
      return true;
    }
    handle(manager, runId, route, req).then(
      (data) => sendJson(res, 200, { ok: true, data }),
      (error: unknown) => sendError(res, error, context),
    );
    return true;
  };
}

async function handle(manager: RunManager, runId: string, route: string, req: IncomingMessage): Promise<unknown> {
  if (route === 'frames') {
    const body = await readBody(req, MAX_INGEST_BODY_BYTES);
    const headerText = req.headers[FRAME_HEADER_HEADER];
    const { header, data } =
      typeof headerText === 'string' ? { header: parseHeaderJson(headerText), data: body } : splitFrameBody(body);
    // Decode before touching the run: a bad frame changes nothing.
    manager.get(runId);
    const frame = decodeIngestFrame(header, data, Date.now());
    return { control: manager.ingestFrame(runId, frame) } satisfies IngestReply;
  }
  const p = await readJson(req);
  switch (route) {
    case 'metrics': {
      const points = parseIngestPoints(p.points, Date.now());
      return { control: manager.ingestMetrics(runId, points) } satisfies IngestReply;
    }
    case 'heartbeat': {
      const controls = p.controls === undefined ? undefined : parseControls(p.controls);
      return { control: manager.heartbeat(runId, controls) } satisfies IngestReply;
    }
    default: {
      const state = p.state ?? 'finished';
      if (state !== 'finished' && state !== 'failed')
        throw new ApiError('bad_request', `state must be "finished" or "failed", got ${describe(state)}`, {
          field: 'state',
        });
      return manager.closeExternal(runId, state, optionalString(p, 'message', 1000));
    }
  }
}

/** A long poll: answered when the client may go on, must stop, or after `timeout_ms`; dropped if the client leaves. */
async function serveWait(
  manager: RunManager,
  runId: string,
  req: IncomingMessage,
  res: ServerResponse,
  context: string,
): Promise<void> {
  try {
    const p = await readJson(req);
    const timeoutMs = integerField(p, 'timeout_ms', 0, MAX_WAIT_MS, false) ?? DEFAULT_WAIT_MS;
    const { reply, cancel } = manager.waitForGo(runId, timeoutMs);
    const onClose = () => {
      if (!res.writableEnded) cancel();
    };
    res.once('close', onClose);
    const answer: WaitReply = await reply;
    res.off('close', onClose);
    sendJson(res, 200, { ok: true, data: answer });
  } catch (error) {
    sendError(res, error, context);
  }
}

async function readJson(req: IncomingMessage): Promise<Fields> {
  const text = (await readBody(req, MAX_PAYLOAD_BYTES)).toString('utf8');
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ApiError('bad_request', 'body is not valid JSON');
  }
  return asObject(parsed, 'body');
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      req.resume();
      reject(new ApiError('payload_too_large', `body of ${declared} bytes exceeds ${limit}`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        chunks.length = 0;
        reject(new ApiError('payload_too_large', `body exceeds ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', (error) => {
      if (!failed) reject(error);
      failed = true;
    });
    req.on('end', () => {
      if (!failed) resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
    });
  });
}
