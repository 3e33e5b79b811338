/** The one status enum of every chart: what the chart area shows when it has no curve to draw. */
export type ChartStatus = 'loading' | 'empty' | 'error' | 'ready';

export const CHART_STATUS_TEXT: Record<Exclude<ChartStatus, 'ready'>, string> = {
  loading: 'loading chart…',
  empty: 'no iterations yet',
  error: 'the chart could not be drawn',
};
