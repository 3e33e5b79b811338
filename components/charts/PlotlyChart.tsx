'use client';
/**
 * A thin wrapper over `Plotly.react`: plotly.js (the minified dist bundle) is loaded with a dynamic import inside
 * an effect, so it never runs on the server and stays out of the first bundle. Each new `revision` re-plots with a
 * constant `uirevision`, so zoom and pan survive updates; after each plot `data-step` and `data-ready` are set on
 * the wrapper for tests and screenshots.
 */
import { useEffect, useRef, useState } from 'react';
import { CHART_STATUS_TEXT, type ChartStatus } from './chart-status';
import type { Config, Data, Layout, PlotRelayoutEvent } from 'plotly.js-dist-min';

type PlotlyModule = typeof import('plotly.js-dist-min');

let plotlyPromise: Promise<PlotlyModule> | null = null;
/** Load plotly once per page. */
export function loadPlotly(): Promise<PlotlyModule> {
  plotlyPromise ??= import('plotly.js-dist-min').then(
    (m) => ('default' in m && m.default ? (m.default as PlotlyModule) : m),
    (error: unknown) => {
      // A chunk that failed to load (e.g. the server restarting) must be retried on the next plot, not cached.
      plotlyPromise = null;
      throw error;
    },
  );
  return plotlyPromise;
}

export interface PlotlyChartProps {
  data: Data[];
  layout: Partial<Layout>;
  /** Bump to re-plot; shown as `data-step` once drawn. */
  revision: number;
  /** Optional step label for `data-step` (e.g. last iteration); defaults to the revision. */
  step?: number;
  testId?: string;
  className?: string;
  config?: Partial<Config>;
  /** Set by the container when it has nothing to plot; the wrapper adds 'loading' and 'error' itself. */
  empty?: boolean;
  /** Called when the user zooms, pans or resets the axes. */
  onRelayout?: (event: PlotRelayoutEvent) => void;
}

const BASE_CONFIG: Partial<Config> = {
  displaylogo: false,
  responsive: true,
  displayModeBar: 'hover',
  modeBarButtonsToRemove: ['lasso2d', 'select2d'],
};

export function PlotlyChart({
  data,
  layout,
  revision,
  step,
  testId,
  className,
  config,
  empty = false,
  onRelayout,
}: PlotlyChartProps) {
  const [plotStatus, setPlotStatus] = useState<'loading' | 'ready' | 'error'>('loading');
  const ref = useRef<HTMLDivElement>(null);
  const latest = useRef({ data, layout, revision, step, config });
  latest.current = { data, layout, revision, step, config };
  const busy = useRef(false);
  const again = useRef(false);
  const relayout = useRef(onRelayout);
  relayout.current = onRelayout;
  /** The plot's relayout listener is added once, after the first plot, and calls whatever handler is current. */
  const listening = useRef(false);

  const mounted = useRef(false);

  // The props are read through refs inside; listing them re-runs the plot loop whenever one changes.
  // biome-ignore lint/correctness/useExhaustiveDependencies: deliberate re-run triggers
  useEffect(() => {
    // Coalesce: if props change while a plot is in flight, plot the newest once it finishes. The loop reads the
    // latest props and a mounted flag (not a per-effect flag), so StrictMode's setup/cleanup/setup loses no update.
    const plot = async () => {
      if (busy.current) {
        again.current = true;
        return;
      }
      busy.current = true;
      try {
        const Plotly = await loadPlotly();
        do {
          again.current = false;
          const el = ref.current;
          if (!mounted.current || !el) return;
          const p = latest.current;
          const plotted = await Plotly.react(
            el,
            p.data,
            { ...p.layout, uirevision: 'keep', datarevision: p.revision },
            { ...BASE_CONFIG, ...p.config },
          );
          if (!listening.current) {
            listening.current = true;
            plotted.on('plotly_relayout', (event) => relayout.current?.(event));
          }
          el.dataset.step = String(p.step ?? p.revision);
          el.dataset.ready = 'true';
          setPlotStatus('ready');
        } while (again.current);
      } catch (error) {
        console.error('PlotlyChart: plot failed', error);
        if (mounted.current) setPlotStatus('error');
      } finally {
        busy.current = false;
      }
    };
    void plot();
  }, [revision, data, layout, config]);

  useEffect(() => {
    mounted.current = true;
    const el = ref.current;
    return () => {
      mounted.current = false;
      // Purge only on a real unmount: StrictMode's rehearsal cleanup is followed by setup again.
      if (el)
        void loadPlotly().then((Plotly) => {
          if (!mounted.current) Plotly.purge(el);
        });
    };
  }, []);

  const status: ChartStatus =
    plotStatus === 'error' ? 'error' : plotStatus === 'loading' ? 'loading' : empty ? 'empty' : 'ready';
  return (
    <div className="plotly-wrap" data-state={status}>
      <div ref={ref} className={className ?? 'plotly-chart'} data-testid={testId} data-ready="false" />
      {status !== 'ready' ? <div className="chart-status">{CHART_STATUS_TEXT[status]}</div> : null}
    </div>
  );
}
