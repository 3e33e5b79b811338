'use client';
/**
 * Training controls. Buttons reflect the server's state (from the run summary the server pushes or acks), never a
 * local guess; errors from the server are shown inline.
 */
import { useEffect, useState } from 'react';
import { type ExternalControl, MAX_STEP_ITERATIONS, type RunSummary } from '../../server/protocol';
import { command } from '../live/commands';
import { useDashboardStoreApi } from '../state/StoreProvider';

export function ControlBar({ run }: { run: RunSummary }) {
  const store = useDashboardStoreApi();
  const [stepN, setStepN] = useState('10');
  // An external run's config has an lr only if its client sent one.
  const shownLr = typeof run.config.lr === 'number' ? String(run.config.lr) : '';
  const [lr, setLr] = useState(shownLr);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => setLr(shownLr), [shownLr]);

  const send = async (p: Promise<import('../../server/protocol').Ack<RunSummary>>) => {
    setBusy(true);
    const res = await p;
    setBusy(false);
    if (res.ok) {
      store.getState().upsertRun(res.data);
      setError(null);
    } else setError(res.error.message);
  };
  const runId = run.id;
  const live = run.state === 'running' || run.state === 'paused';
  // A queued run can leave the queue (pause) or end (stop) before it ever trains.
  const queued = run.state === 'queued';
  const canResume = run.state === 'paused' || run.state === 'stopped' || run.state === 'interrupted';
  const canStep = run.state === 'paused' || run.state === 'stopped' || run.state === 'interrupted';
  const n = Number(stepN);
  const stepNValid = Number.isInteger(n) && n >= 1 && n <= MAX_STEP_ITERATIONS;
  const lrValue = Number(lr);
  const lrValid = Number.isFinite(lrValue) && lrValue > 0 && lrValue <= 10;
  // An external trainer obeys only the controls it declared; the others are disabled, and the page says so.
  const client = run.client;
  const honours = (control: ExternalControl) => client === null || client.controls.includes(control);

  return (
    <div className="control-bar" data-state={run.state}>
      {run.state === 'running' || queued ? (
        <button
          type="button"
          className="btn"
          data-testid="pause-button"
          disabled={busy || !honours('pause')}
          onClick={() => void send(command('training:pause', { runId }))}
        >
          ❚❚ Pause
        </button>
      ) : (
        <button
          type="button"
          className="btn btn-primary"
          data-testid="resume-button"
          disabled={busy || !canResume || !honours('pause')}
          onClick={() => void send(command('training:resume', { runId }))}
        >
          ▶ Resume
        </button>
      )}
      <button
        type="button"
        className="btn"
        data-testid="step-button"
        disabled={busy || !canStep || !honours('step')}
        title="run exactly one iteration, then pause"
        onClick={() => void send(command('training:step', { runId, n: 1 }))}
      >
        Step 1
      </button>
      <span className="step-n">
        <input
          value={stepN}
          onChange={(e) => setStepN(e.target.value)}
          aria-label="iterations to step"
          aria-invalid={!stepNValid || undefined}
          data-testid="step-n-input"
        />
        <button
          type="button"
          className="btn"
          data-testid="step-n-button"
          disabled={busy || !canStep || !stepNValid || !honours('step')}
          onClick={() => void send(command('training:step', { runId, n }))}
        >
          Step N
        </button>
      </span>
      <button
        type="button"
        className="btn btn-danger"
        data-testid="stop-button"
        disabled={busy || !(live || queued)}
        onClick={() => void send(command('training:stop', { runId }))}
      >
        ■ Stop
      </button>
      <span className="lr">
        <label htmlFor="lr-input">lr</label>
        <input
          id="lr-input"
          value={lr}
          onChange={(e) => setLr(e.target.value)}
          aria-invalid={!lrValid || undefined}
          data-testid="lr-input"
        />
        <button
          type="button"
          className="btn btn-small"
          disabled={busy || !lrValid || lrValue === run.config.lr || !live || !honours('lr')}
          data-testid="lr-apply"
          onClick={() => void send(command('training:configure', { runId, lr: lrValue }))}
        >
          set
        </button>
      </span>
      {client !== null ? (
        <span className="muted" data-testid="client-controls">
          {client.controls.length === 0
            ? 'this trainer never asks: it cannot be paused or stepped from here'
            : `trainer obeys ${client.controls.join(', ')}`}
        </span>
      ) : null}
      {error ? (
        <span className="control-error" role="alert" data-testid="control-error">
          {error}
        </span>
      ) : null}
    </div>
  );
}
