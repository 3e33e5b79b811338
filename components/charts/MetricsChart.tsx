'use client';
/**
 * Loss or task-metric curves for one or several runs (container: selects history and chart settings, derives
 * downsampled, smoothed traces with pure helpers, and hands plain props to PlotlyChart).
 */
import { useMemo } from 'react';
import type { Data, PlotRelayoutEvent } from 'plotly.js-dist-min';
import type { MetricPoint } from '../../server/protocol';
import { chartSelectors } from '../state/store';
import { useDashboardStore } from '../state/StoreProvider';
import { CHART_COLORS, darkLayout } from './chart-layout';
import { PlotlyChart } from './PlotlyChart';
import { curve, type MetricField } from './traces';

export interface MetricsSeries {
  label: string;
  points: readonly MetricPoint[];
}

const MAX_POINTS = 2000;

export function MetricsChart({
  series,
  field,
  title,
  testId,
  onXRange,
}: {
  series: readonly MetricsSeries[];
  field: MetricField;
  title: string;
  testId: string;
  /** Called with the x range the user zoomed or panned to (in the x axis's units), or null when reset. */
  onXRange?: (range: [number, number] | null) => void;
}) {
  const smoothing = useDashboardStore(chartSelectors.smoothing);
  const logScale = useDashboardStore(chartSelectors.logScale);
  const xAxis = useDashboardStore(chartSelectors.xAxis);

  const { data, lastIteration } = useMemo(() => {
    const traces: Data[] = [];
    let last = 0;
    series.forEach((s, i) => {
      const color = CHART_COLORS[i % CHART_COLORS.length];
      const c = curve(s.points, field, { xAxis, smoothing, maxPoints: MAX_POINTS });
      last = Math.max(last, s.points.at(-1)?.iteration ?? 0);
      const name = series.length > 1 ? s.label : title;
      traces.push({
        type: 'scatter',
        mode: 'lines',
        x: c.x,
        y: c.raw,
        name: c.smooth ? `${name} (raw)` : name,
        line: { color, width: 1 },
        opacity: c.smooth ? 0.3 : 1,
        showlegend: !c.smooth,
        hoverinfo: c.smooth ? 'skip' : undefined,
      });
      if (c.smooth)
        traces.push({ type: 'scatter', mode: 'lines', x: c.x, y: c.smooth, name, line: { color, width: 1.8 } });
    });
    return { data: traces, lastIteration: last };
  }, [series, field, xAxis, smoothing, title]);

  const layout = useMemo(
    () =>
      darkLayout({
        xaxis: { title: { text: xAxis === 'iteration' ? 'iteration' : 'wall time (s)', font: { size: 10 } } },
        yaxis: { type: logScale ? 'log' : 'linear', title: { text: title, font: { size: 10 } } },
        showlegend: series.length > 1,
      }),
    [xAxis, logScale, title, series.length],
  );

  const onRelayout = useMemo(
    () => (onXRange === undefined ? undefined : (event: PlotRelayoutEvent) => onXRange(relayoutXRange(event))),
    [onXRange],
  );

  return (
    <div
      className="chart-card"
      data-testid={`${testId}-card`}
      data-points={series.reduce((sum, s) => sum + s.points.length, 0)}
    >
      <div className="chart-title">{title}</div>
      <PlotlyChart
        data={data}
        layout={layout}
        revision={lastIteration * 1000 + data.length + (logScale ? 1 : 0) + Math.round(smoothing * 100) * 7}
        step={lastIteration}
        testId={testId}
        empty={series.every((s) => s.points.length === 0)}
        onRelayout={onRelayout}
      />
    </div>
  );
}

/** The x range a relayout set; null for a reset to autorange, or for a change that left x alone. */
function relayoutXRange(event: PlotRelayoutEvent): [number, number] | null {
  const x0 = event['xaxis.range[0]'] ?? event.xaxis?.range?.[0];
  const x1 = event['xaxis.range[1]'] ?? event.xaxis?.range?.[1];
  return typeof x0 === 'number' && typeof x1 === 'number' && x1 > x0 ? [x0, x1] : null;
}
