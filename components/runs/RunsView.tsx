'use client';
/**
 * The runs page: every run with its state, task, model, iteration, current loss and a loss sparkline; open, pause,
 * resume or stop any of them; tick runs to overlay their loss curves; start a new run. Sparkline history is
 * fetched incrementally for the listed runs every few seconds, each time as an overview of what is new
 * (`metrics:get` with `since` and `max_points`), so a million-point run costs what a short one does. The list's
 * header shows the disk the server's data uses against its storage budget.
 */
import { useEffect, useMemo } from 'react';
import { useRouter } from 'next/navigation';
import type { RunSummary } from '../../server/protocol';
import { MetricsChart, type MetricsSeries } from '../charts/MetricsChart';
import { CurveControls } from '../charts/CurveControls';
import { Sparkline } from '../charts/Sparkline';
import { useThrottled } from '../charts/use-throttled';
import { command } from '../live/commands';
import { connectionSelectors, runsSelectors } from '../state/store';
import { useDashboardStore, useDashboardStoreApi } from '../state/StoreProvider';
import { ConnectionBadge } from '../run/ConnectionBadge';
import { DiskUsage } from './DiskUsage';
import { formatLoss, modelLabel, runActions, stateTitle } from './format';
import { NewRunForm } from './NewRunForm';

const SPARKLINE_POLL_MS = 3000;
/** Points per poll and run: enough for the compare overlay's shape, min/max kept per bucket. */
const SPARKLINE_POINTS = 1000;

export function RunsView() {
  const store = useDashboardStoreApi();
  const router = useRouter();
  const runOrder = useDashboardStore(runsSelectors.runOrder);
  const runs = useDashboardStore(runsSelectors.runs);
  const runMetrics = useThrottled(useDashboardStore(runsSelectors.runMetrics), 1000);
  const compare = useDashboardStore(runsSelectors.compare);
  const connection = useDashboardStore(connectionSelectors.connection);
  const toggleCompare = useDashboardStore((s) => s.toggleCompare);

  useEffect(() => {
    store.getState().openRun(null);
  }, [store]);

  useEffect(() => {
    if (connection !== 'connected') return;
    let stopped = false;
    const poll = async () => {
      const s = store.getState();
      for (const id of s.runOrder.slice(0, 40)) {
        const run = s.runs[id];
        const held = s.runMetrics[id];
        if (held && run && run.state !== 'running' && (held.at(-1)?.iteration ?? 0) >= run.iteration) continue;
        const res = await command('metrics:get', {
          runId: id,
          max_points: SPARKLINE_POINTS,
          ...(held?.length ? { since: held[held.length - 1].iteration } : {}),
        });
        if (stopped) return;
        if (res.ok) store.getState().appendRunMetrics(id, res.data);
      }
    };
    void poll();
    const timer = setInterval(() => void poll(), SPARKLINE_POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [connection, store]);

  const series: MetricsSeries[] = useMemo(
    () => compare.filter((id) => runs[id]).map((id) => ({ label: runs[id].name || id, points: runMetrics[id] ?? [] })),
    [compare, runs, runMetrics],
  );

  const act = async (run: RunSummary, what: 'pause' | 'resume' | 'stop') => {
    const res = await command(`training:${what}`, { runId: run.id });
    if (res.ok) store.getState().upsertRun(res.data);
  };

  const remove = async (run: RunSummary) => {
    const label = run.name || run.id;
    if (!window.confirm(`Delete run "${label}" with its metrics, frames and checkpoint? This cannot be undone.`))
      return;
    const res = await command('run:delete', { runId: run.id });
    if (res.ok) store.getState().removeRun(run.id);
    else window.alert(`Delete ${label}: ${res.error.message}`);
  };

  return (
    <div className="page runs-page">
      <header className="topbar">
        <a className="brand" href="/">
          Engram
        </a>
        <span className="topbar-sub">DNC memory debugger</span>
        <span className="spacer" />
        <ConnectionBadge />
      </header>
      <main className="runs-main">
        <section className="runs-list">
          <div className="section-title">
            Runs <span className="muted">{runOrder.length}</span>
            <span className="spacer" />
            <DiskUsage />
          </div>
          <table className="runs-table" data-testid="runs-table">
            <thead>
              <tr>
                <th title="overlay loss curves">⊕</th>
                <th>run</th>
                <th>state</th>
                <th>task</th>
                <th>model</th>
                <th className="num">iter</th>
                <th className="num">loss</th>
                <th>loss curve</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {runOrder.length === 0 ? (
                <tr>
                  <td colSpan={9} className="empty">
                    {connection === 'connected'
                      ? 'No runs yet — start one with the form.'
                      : 'Connecting to the server…'}
                  </td>
                </tr>
              ) : null}
              {runOrder.map((id) => {
                const run = runs[id];
                if (!run) return null;
                const actions = runActions(run.state);
                return (
                  <tr key={id} data-testid={`run-row-${id}`} data-state={run.state}>
                    <td>
                      <input
                        type="checkbox"
                        checked={compare.includes(id)}
                        onChange={() => toggleCompare(id)}
                        aria-label={`compare ${run.name}`}
                        data-testid={`compare-${id}`}
                      />
                    </td>
                    <td>
                      <a
                        href={`/runs/${id}`}
                        className="run-link"
                        onClick={(e) => {
                          e.preventDefault();
                          router.push(`/runs/${id}`);
                        }}
                        data-testid={`open-${id}`}
                      >
                        {run.name || id}
                      </a>
                    </td>
                    <td>
                      <span
                        className={`state state-${run.state}`}
                        title={run.failure ? `${run.failure.reason}: ${run.failure.message}` : stateTitle(run.state)}
                      >
                        {run.state}
                      </span>
                    </td>
                    <td>{run.config.task}</td>
                    <td className="mono">{modelLabel(run)}</td>
                    <td className="num mono">{run.iteration}</td>
                    <td className="num mono">{formatLoss(run.loss)}</td>
                    <td className="spark">
                      <Sparkline points={runMetrics[id] ?? []} />
                    </td>
                    <td>
                      <div className="row-actions">
                        {actions.pause ? (
                          <button type="button" className="btn btn-small" onClick={() => void act(run, 'pause')}>
                            pause
                          </button>
                        ) : null}
                        {actions.resume ? (
                          <button type="button" className="btn btn-small" onClick={() => void act(run, 'resume')}>
                            resume
                          </button>
                        ) : null}
                        {actions.stop ? (
                          <button
                            type="button"
                            className="btn btn-small btn-danger"
                            onClick={() => void act(run, 'stop')}
                          >
                            stop
                          </button>
                        ) : null}
                        {actions.delete ? (
                          <button
                            type="button"
                            className="btn btn-small btn-danger"
                            onClick={() => void remove(run)}
                            data-testid={`delete-${id}`}
                          >
                            delete
                          </button>
                        ) : null}
                      </div>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <div className="compare">
            <div className="section-title">
              Compare loss{' '}
              <span className="muted">
                {series.length ? `${series.length} run${series.length > 1 ? 's' : ''}` : 'tick runs above'}
              </span>
              <span className="spacer" />
              <CurveControls />
            </div>
            {series.length ? (
              <MetricsChart series={series} field="loss" title="loss" testId="compare-chart" />
            ) : (
              <div className="empty chart-empty">Tick ⊕ on two or more runs to overlay their loss curves.</div>
            )}
          </div>
        </section>
        <aside className="runs-side">
          <NewRunForm onCreated={(id) => router.push(`/runs/${id}`)} />
        </aside>
      </main>
    </div>
  );
}
