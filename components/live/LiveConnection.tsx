'use client';
/**
 * The one socket of the page, renderless. It connects, lists runs, (re)subscribes to the run the page shows —
 * after every reconnect too, so a server restart heals by itself — and writes pushes into the store. Frames are
 * decoded, stored (panels draw them through transient subscriptions, synchronously), and acknowledged on the next
 * animation frame, i.e. after the draw; the server then sends the newest frame (newest wins).
 * Handlers are named and removed with `off`, so StrictMode's double setup leaves no duplicates.
 */
import { useEffect } from 'react';
import { io, type Socket } from 'socket.io-client';
import {
  PROTOCOL_VERSION,
  type ClientToServerEvents,
  type MetricsBatch,
  type RunSummary,
  type ServerToClientEvents,
  type TraceAppend,
  type VisdomPanel,
} from '../../server/protocol';
import { socketParser, TOKEN_QUERY } from '../../server/protocol/transport';
import { decodeFrame, type WireFrame } from '../../server/protocol/frames';
import { useDashboardStoreApi } from '../state/StoreProvider';
import { command, notify, setCommandSocket, type CommandSocket } from './commands';
import { recordFrameTiming } from './frame-timings';

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export function LiveConnection() {
  const store = useDashboardStoreApi();

  useEffect(() => {
    const token = new URLSearchParams(window.location.search).get(TOKEN_QUERY);
    const socket: ClientSocket = io({
      // Long-polling first, then upgrade: after a server restart Chromium backs off repeated WebSocket attempts to
      // the same host (each then hits socket.io's connect timeout), while an HTTP poll gets through at once.
      transports: ['polling', 'websocket'],
      // A frame carries one binary attachment per tensor, more than socket.io's default decoder accepts.
      parser: socketParser,
      reconnectionDelay: 250,
      reconnectionDelayMax: 2000,
      // The server refuses another protocol version (protocol_mismatch), which the connection badge then shows.
      auth: { protocolVersion: PROTOCOL_VERSION, ...(token ? { token } : {}) },
      ...(token ? { query: { [TOKEN_QUERY]: token } } : {}),
    });
    // socket.io types acks under timeout() loosely; commands only need this narrow view of it.
    setCommandSocket(socket as unknown as CommandSocket);
    let subscribed: string | null = null;
    let pendingAck = 0;

    const subscribe = async (runId: string | null) => {
      if (subscribed && subscribed !== runId && socket.connected)
        void command('run:unsubscribe', { runId: subscribed });
      subscribed = runId;
      if (!runId || !socket.connected) return;
      const res = await command('run:subscribe', { runId });
      if (subscribed !== runId) return;
      if (res.ok) store.getState().applySnapshot(res.data);
      else if (res.error.code === 'not_found') store.getState().setRunMissing(runId);
      else store.getState().setFrameError(`subscribe: ${res.error.message}`);
      // A Visdom env's windows other than heatmaps (an empty list for other runs).
      const panels = await command('visdom:panels', { runId });
      if (panels.ok && subscribed === runId) store.getState().setVisdomPanels(runId, panels.data);
    };

    const onConnect = async () => {
      store.getState().setConnection('connected');
      const list = await command('run:list', {});
      if (list.ok) store.getState().setRuns(list.data);
      await subscribe(store.getState().runId);
    };
    const onDisconnect = (reason: Socket.DisconnectReason) => {
      store.getState().setConnection('disconnected');
      // socket.io retries by itself after a lost transport, but not after the server closed the socket; this server
      // never does that to end a session (only when it drops every connection), so come back as after a restart.
      if (reason === 'io server disconnect') socket.connect();
    };
    const onConnectError = (err: Error) => store.getState().setConnection('disconnected', err.message);
    const onRunUpdated = (run: RunSummary) => store.getState().upsertRun(run);
    const onRunDeleted = ({ runId }: { runId: string }) => store.getState().removeRun(runId);
    const onMetrics = (batch: MetricsBatch) => {
      store.getState().appendMetrics(batch);
      if (batch.runId in store.getState().runMetrics) store.getState().appendRunMetrics(batch.runId, batch.points);
    };
    const onFramesStored = (payload: { runId: string; frameIterations: number[] }) =>
      store.getState().setFrameIterations(payload.runId, payload.frameIterations);
    const onFrame = (wire: WireFrame) => {
      const receivedAt = Date.now();
      try {
        store.getState().receiveFrame(decodeFrame(wire));
      } catch (err) {
        store.getState().setFrameError(err instanceof Error ? err.message : String(err));
      }
      // Acknowledge after the panels drew it (they draw synchronously inside receiveFrame's notification).
      cancelAnimationFrame(pendingAck);
      pendingAck = requestAnimationFrame(() => {
        notify('frame:ack', { runId: wire.runId, iteration: wire.iteration });
        recordFrameTiming({ iteration: wire.iteration, capturedAt: wire.capturedAt, receivedAt, drawnAt: Date.now() });
      });
    };

    const onVisdomPanel = (p: { runId: string; panel: VisdomPanel }) =>
      store.getState().upsertVisdomPanel(p.runId, p.panel);
    const onVisdomAppend = (p: { runId: string; win: string; version: number; appends: TraceAppend[] }) =>
      store.getState().appendVisdomTraces(p.runId, p.win, p.version, p.appends);
    const onVisdomClosed = (p: { runId: string; win: string }) => store.getState().closeVisdomPanel(p.runId, p.win);

    socket.on('connect', onConnect);
    socket.on('disconnect', onDisconnect);
    socket.on('connect_error', onConnectError);
    socket.on('run:updated', onRunUpdated);
    socket.on('run:deleted', onRunDeleted);
    socket.on('metrics:batch', onMetrics);
    socket.on('frames:stored', onFramesStored);
    socket.on('memory:frame', onFrame);
    socket.on('visdom:panel', onVisdomPanel);
    socket.on('visdom:append', onVisdomAppend);
    socket.on('visdom:closed', onVisdomClosed);

    const unsubscribeStore = store.subscribe((s, prev) => {
      if (s.runId !== prev.runId) void subscribe(s.runId);
    });

    return () => {
      unsubscribeStore();
      cancelAnimationFrame(pendingAck);
      socket.off('connect', onConnect);
      socket.off('disconnect', onDisconnect);
      socket.off('connect_error', onConnectError);
      socket.off('run:updated', onRunUpdated);
      socket.off('run:deleted', onRunDeleted);
      socket.off('metrics:batch', onMetrics);
      socket.off('frames:stored', onFramesStored);
      socket.off('memory:frame', onFrame);
      socket.off('visdom:panel', onVisdomPanel);
      socket.off('visdom:append', onVisdomAppend);
      socket.off('visdom:closed', onVisdomClosed);
      setCommandSocket(null);
      socket.disconnect();
    };
  }, [store]);

  return null;
}
