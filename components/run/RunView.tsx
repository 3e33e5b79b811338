'use client';
/**
 * The run page: header with the server's state and iteration, training and time controls, a failure banner that
 * says why and where, the heatmap panels, loss and metric curves, and exports. The view position (timestep,
 * scrubbed iteration) lives in the URL so a reload comes back to it.
 */
import { useCallback, useEffect, useMemo, useState } from 'react';
import { decodeFrame } from '../../server/protocol/frames';
import { CurveControls } from '../charts/CurveControls';
import { MetricsChart } from '../charts/MetricsChart';
import { iterationSpan, scalarNames } from '../charts/traces';
import { useThrottled } from '../charts/use-throttled';
import { downloadBlob, metricsCsvFile, snapshotZip } from '../export/browser';
import { command } from '../live/commands';
import { fullMetricHistory } from '../live/metric-history';
import { engineDetails, engineLabel, formatLoss, modelLabel, stateTitle } from '../runs/format';
import { runViewSelectors, shownFrame } from '../state/store';
import { useDashboardStore, useDashboardStoreApi } from '../state/StoreProvider';
import { ClientBadge } from './ClientBadge';
import { ConnectionBadge } from './ConnectionBadge';
import { ControlBar } from './ControlBar';
import { PanelGrid } from './PanelGrid';
import { TimeBar } from './TimeBar';
import { VisdomPanels } from '../visdom/VisdomPanels';
import { formatViewPosition, parseViewPosition } from './url-state';

function useHistoryFrames() {
  const store = useDashboardStoreApi();
  useEffect(() => {
    let requested: string | null = null;
    const check = async () => {
      const s = store.getState();
      if (s.mode !== 'history' || s.scrubIteration === null || !s.runId) return;
      if (s.historyFrame?.iteration === s.scrubIteration) return;
      const key = `${s.runId}@${s.scrubIteration}/${s.connection}`;
      if (requested === key) return;
      requested = key;
      const res = await command('frame:get', { runId: s.runId, iteration: s.scrubIteration });
      if (res.ok) {
        try {
          store.getState().setHistoryFrame(decodeFrame(res.data));
        } catch (err) {
          store.getState().setFrameError(err instanceof Error ? err.message : String(err));
        }
      } else if (store.getState().scrubIteration === s.scrubIteration) {
        store.getState().setFrameError(`frame ${s.scrubIteration}: ${res.error.message}`);
        requested = null;
      }
    };
    void check();
    return store.subscribe((s, prev) => {
      if (s.mode !== prev.mode || s.scrubIteration !== prev.scrubIteration || s.connection !== prev.connection)
        void check();
    });
  }, [store]);
}

function useUrlPosition(runId: string) {
  const store = useDashboardStoreApi();
  useEffect(() => {
    store.getState().openRun(runId, parseViewPosition(window.location.search));
    return store.subscribe((s, prev) => {
      if (s.runId !== runId) return;
      if (s.timestep === prev.timestep && s.scrubIteration === prev.scrubIteration) return;
      const search = formatViewPosition(window.location.search, {
        timestep: s.timestep,
        scrubIteration: s.mode === 'history' ? s.scrubIteration : null,
      });
      if (search !== window.location.search)
        window.history.replaceState(window.history.state, '', `${window.location.pathname}${search}`);
    });
  }, [store, runId]);
}

function FailureBanner() {
  const run = useDashboardStore(runViewSelectors.run);
  const scrubTo = useDashboardStore((s) => s.scrubTo);
  const setTimestep = useDashboardStore((s) => s.setTimestep);
  const failure = run?.failure;
  if (!run || !failure) return null;
  return (
    <div className="failure" role="alert" data-testid="failure-banner">
      <strong>
        {run.state === 'failed'
          ? 'Run failed'
          : failure.reason === 'nan'
            ? 'Paused on a non-finite value'
            : failure.reason === 'storage'
              ? 'Paused: the server cannot write its data (it retries, and resumes once writes succeed)'
              : `Run ${run.state}`}
        : {failure.reason}
      </strong>
      <span>{failure.message}</span>
      {failure.tensor ? <span className="mono">tensor {failure.tensor}</span> : null}
      {failure.iteration !== undefined ? (
        <span className="mono">
          iteration {failure.iteration}
          {failure.timestep !== null && failure.timestep !== undefined ? `, timestep ${failure.timestep}` : ''}
        </span>
      ) : null}
      {failure.iteration !== undefined ? (
        <button
          type="button"
          className="btn btn-small"
          data-testid="show-failure-frame"
          onClick={() => {
            scrubTo(failure.iteration as number);
            if (typeof failure.timestep === 'number') setTimestep(failure.timestep);
          }}
        >
          show that frame
        </button>
      ) : null}
    </div>
  );
}

function FrameLag() {
  const store = useDashboardStoreApi();
  const [lag, setLag] = useState<number | null>(null);
  useEffect(() => {
    let latest: number | null = null;
    const unsub = store.subscribe((s, prev) => {
      // Only frames of a running run measure lag; a finished run's newest frame is old by design.
      const running = s.runId !== null && s.runs[s.runId]?.state === 'running';
      if (s.liveFrame !== prev.liveFrame && s.liveFrame) latest = running ? Date.now() - s.liveFrame.capturedAt : null;
    });
    const timer = setInterval(() => setLag(latest), 1000);
    return () => {
      unsub();
      clearInterval(timer);
    };
  }, [store]);
  return (
    <span className="stat" title="time from capture on the server to arrival here">
      <em>frame lag</em>
      {lag === null ? '—' : `${Math.max(0, lag)} ms`}
    </span>
  );
}

/**
 * A long run's curves start from the server's overview; zooming a curve fetches the zoomed range in detail
 * (`metrics:get` with `max_points`: exact once the range holds no more points than that) and merges it in.
 */
function useRangeDetail(): (range: [number, number] | null) => void {
  const store = useDashboardStoreApi();
  return useCallback(
    (range) => {
      const s = store.getState();
      const runId = s.runId;
      if (range === null || runId === null || s.metricCount <= s.metrics.length) return;
      const span = iterationSpan(s.metrics, s.xAxis, range[0], range[1]);
      if (span === null) return;
      void command('metrics:get', { runId, ...span, max_points: DETAIL_POINTS }).then((res) => {
        if (res.ok) store.getState().mergeMetricRange(runId, span.since, span.until, res.data);
        else store.getState().setFrameError(`curve detail: ${res.error.message}`);
      });
    },
    [store],
  );
}

/** Loss and metric curves of the open run (and one per named scalar an external client sends): the only part of the
 *  page that selects the metric history, throttled. */
function RunCurves({ runName, metricName }: { runName: string; metricName: string | null }) {
  const metrics = useThrottled(useDashboardStore(runViewSelectors.metrics), CURVE_REFRESH_MS);
  const metricCount = useDashboardStore(runViewSelectors.metricCount);
  const onXRange = useRangeDetail();
  const lossSeries = useMemo(() => [{ label: runName, points: metrics }], [runName, metrics]);
  const scalars = useMemo(() => scalarNames(metrics), [metrics]);
  return (
    <div className="charts">
      <div className="charts-head">
        <span className="section-title">Curves</span>
        {metricCount > metrics.length ? (
          <span
            className="muted"
            data-testid="curve-overview"
            title="min/max per bucket and NaN markers are kept; zoom a curve to load that range in detail"
          >
            overview of {metricCount.toLocaleString()} points · zoom for detail
          </span>
        ) : null}
        <span className="spacer" />
        <CurveControls />
      </div>
      <MetricsChart series={lossSeries} field="loss" title="loss" testId="loss-chart" onXRange={onXRange} />
      {metricName === null ? null : (
        <MetricsChart series={lossSeries} field="metric" title={metricName} testId="metric-chart" onXRange={onXRange} />
      )}
      {scalars.map((name) => (
        <MetricsChart
          key={name}
          series={lossSeries}
          field={`scalar:${name}`}
          title={name}
          testId={`scalar-chart-${name}`}
          onXRange={onXRange}
        />
      ))}
    </div>
  );
}

const CURVE_REFRESH_MS = 500;
/** Points fetched for a zoomed range: about a chart's width in min/max pairs, and exact for shorter ranges. */
const DETAIL_POINTS = 2000;

/** What an unknown (or deleted) run id shows: a page that says so, with the way back, instead of a half-loaded run. */
function NoSuchRun({ runId }: { runId: string }) {
  return (
    <div className="page run-page" data-run-id={runId}>
      <header className="topbar">
        <a className="brand" href="/" data-testid="home-link">
          Engram
        </a>
      </header>
      <main className="no-such-run" data-testid="no-such-run">
        <h1>No such run</h1>
        <p>
          There is no run <span className="mono">{runId}</span> on this server: it was deleted, or the address is
          mistyped.
        </p>
        <a className="btn" href="/">
          All runs
        </a>
      </main>
    </div>
  );
}

export function RunView({ runId }: { runId: string }) {
  useUrlPosition(runId);
  useHistoryFrames();
  const runMissing = useDashboardStore(runViewSelectors.runMissing);
  return runMissing ? <NoSuchRun runId={runId} /> : <RunDetails runId={runId} />;
}

function RunDetails({ runId }: { runId: string }) {
  const store = useDashboardStoreApi();
  const run = useDashboardStore(runViewSelectors.run);
  const frameError = useDashboardStore(runViewSelectors.frameError);
  const [exporting, setExporting] = useState(false);
  const runName = run?.name || runId;

  const exportSnapshot = async () => {
    const s = store.getState();
    const frame = shownFrame(s);
    if (!frame) return;
    setExporting(true);
    try {
      const metrics = await fullMetricHistory(s);
      if (!metrics.ok) {
        store.getState().setFrameError(`snapshot: ${metrics.error.message}`);
        return;
      }
      const file = await snapshotZip({
        frame,
        timestep: s.timestep,
        run: run ?? null,
        runName,
        metrics: metrics.data,
        lockedRanges: s.lockedRanges,
        visdomPanels: s.visdomRunId === runId ? s.visdomOrder.flatMap((win) => s.visdomPanels[win] ?? []) : undefined,
      });
      downloadBlob(file.blob, file.filename);
    } finally {
      setExporting(false);
    }
  };

  // An external run has a task metric only if its client named one; its scalars get curves of their own.
  const metricName = run?.source === 'external' && !run.metricName ? null : run?.metricName || 'metric';
  const charts = useMemo(() => <RunCurves runName={runName} metricName={metricName} />, [runName, metricName]);

  return (
    <div className="page run-page" data-run-id={runId}>
      <header className="topbar">
        <a className="brand" href="/" data-testid="home-link">
          Engram
        </a>
        <span className="crumb">/</span>
        <span className="run-name" data-testid="run-name">
          {runName}
        </span>
        {run ? (
          <span className={`state state-${run.state}`} data-testid="run-state" title={stateTitle(run.state)}>
            {run.state}
          </span>
        ) : (
          <span className="state">loading</span>
        )}
        {run ? (
          <span className="muted mono model">
            {run.config.task} · {modelLabel(run)}
          </span>
        ) : null}
        {run?.engine ? (
          <span className="muted mono" data-testid="run-backend" title={engineDetails(run.engine)}>
            {engineLabel(run.engine)}
          </span>
        ) : null}
        <span className="spacer" />
        <span className="stat">
          <em>iteration</em>
          <b className="mono" data-testid="iteration">
            {run?.iteration ?? 0}
          </b>
        </span>
        <span className="stat">
          <em>loss</em>
          <span className="mono">{formatLoss(run?.loss)}</span>
        </span>
        <span className="stat">
          <em>{run?.metricName || 'metric'}</em>
          <span className="mono">{formatLoss(run?.metric)}</span>
        </span>
        <span className="stat">
          <em>it/s</em>
          <span className="mono">{run?.itPerSec ? run.itPerSec.toFixed(1) : '—'}</span>
        </span>
        <FrameLag />
        {run?.client ? <ClientBadge client={run.client} /> : null}
        <ConnectionBadge />
      </header>
      <div className="toolbar">
        {run ? <ControlBar run={run} /> : <div className="control-bar" />}
        <TimeBar />
        <span className="spacer" />
        <button
          type="button"
          className="btn"
          onClick={async () => {
            const metrics = await fullMetricHistory(store.getState());
            if (!metrics.ok) {
              store.getState().setFrameError(`metrics CSV: ${metrics.error.message}`);
              return;
            }
            const f = metricsCsvFile(metrics.data, run ?? null, runName);
            downloadBlob(f.blob, f.filename);
          }}
          data-testid="export-metrics"
        >
          metrics CSV
        </button>
        <button
          type="button"
          className="btn btn-primary"
          onClick={() => void exportSnapshot()}
          disabled={exporting}
          data-testid="snapshot-button"
        >
          {exporting ? 'packing…' : 'Snapshot ⤓'}
        </button>
      </div>
      <FailureBanner />
      {frameError ? (
        <div className="notice" role="status" data-testid="frame-error">
          {frameError}
        </div>
      ) : null}
      <PanelGrid aside={charts} />
      <VisdomPanels runId={runId} />
    </div>
  );
}
