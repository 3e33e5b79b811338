/**
 * socket.io ingest for external runs: the same calls as the HTTP routes, answered through acks, plus
 * `ingest:attach`, which keeps the run's client connected while its socket lives and pushes `training:control`
 * to it whenever what it should do changes. A socket that goes away detaches and drops its waits.
 */
import type { Socket } from 'socket.io';
import { ApiError } from './errors';
import { parseControls, parseIngestPoints } from './ingest-decode';
import { decodeIngestFrame } from './ingest-frames';
import type { ClientToServerEvents, RunSummary, ServerToClientEvents } from './protocol';
import { MAX_WAIT_MS, type IngestReply, type WaitReply } from './protocol/ingest';
import type { RunManager } from './run-manager';
import { command } from './socket-api';
import { describe, integerField, optionalString, runIdOf } from './validate';

type EngramSocket = Socket<ClientToServerEvents, ServerToClientEvents>;

const DEFAULT_WAIT_MS = 20_000;

export function registerIngestEvents(socket: EngramSocket, manager: () => RunManager): void {
  const detachers = new Map<string, () => void>();
  const waits = new Set<() => void>();

  socket.on(
    'ingest:attach',
    command('ingest:attach', ['runId', 'controls'], (p): IngestReply => {
      const runId = runIdOf(p);
      const controls = p.controls === undefined ? undefined : parseControls(p.controls);
      detachers.get(runId)?.();
      const { control, detach } = manager().attachClient(runId, controls, (next) =>
        socket.emit('training:control', { runId, ...next }),
      );
      detachers.set(runId, detach);
      return { control };
    }),
  );
  socket.on(
    'ingest:metrics',
    command('ingest:metrics', ['runId', 'points'], (p): IngestReply => {
      const runId = runIdOf(p);
      return { control: manager().ingestMetrics(runId, parseIngestPoints(p.points, Date.now())) };
    }),
  );
  socket.on(
    'ingest:frame',
    command('ingest:frame', ['runId', 'header', 'data'], (p): IngestReply => {
      const runId = runIdOf(p);
      const data = p.data;
      const bytes = data instanceof Uint8Array ? data : data instanceof ArrayBuffer ? new Uint8Array(data) : null;
      if (bytes === null)
        throw new ApiError('bad_request', `data must be binary (the tensors' bytes), got ${describe(typeof data)}`, {
          field: 'data',
        });
      manager().get(runId);
      const frame = decodeIngestFrame(p.header, bytes, Date.now());
      return { control: manager().ingestFrame(runId, frame) };
    }),
  );
  socket.on(
    'ingest:heartbeat',
    command(
      'ingest:heartbeat',
      ['runId', 'controls'],
      (p): IngestReply => ({ control: manager().heartbeat(runIdOf(p)) }),
    ),
  );
  socket.on(
    'ingest:wait',
    command('ingest:wait', ['runId', 'timeoutMs'], async (p): Promise<WaitReply> => {
      const runId = runIdOf(p);
      const timeoutMs = integerField(p, 'timeoutMs', 0, MAX_WAIT_MS, false) ?? DEFAULT_WAIT_MS;
      const { reply, cancel } = manager().waitForGo(runId, timeoutMs);
      waits.add(cancel);
      try {
        return await reply;
      } finally {
        waits.delete(cancel);
      }
    }),
  );
  socket.on(
    'ingest:close',
    command('ingest:close', ['runId', 'state', 'message'], (p): RunSummary => {
      const state = p.state ?? 'finished';
      if (state !== 'finished' && state !== 'failed')
        throw new ApiError('bad_request', `state must be "finished" or "failed", got ${describe(state)}`, {
          field: 'state',
        });
      return manager().closeExternal(runIdOf(p), state, optionalString(p, 'message', 1000));
    }),
  );
  socket.on('disconnect', () => {
    for (const cancel of waits) cancel();
    waits.clear();
    for (const detach of detachers.values()) detach();
    detachers.clear();
  });
}
