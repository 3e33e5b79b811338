/** Shared plotly layout pieces for the dark dashboard theme. */
import type { Layout } from 'plotly.js-dist-min';

export const CHART_COLORS = ['#5eb1ff', '#ffb14e', '#7ee787', '#ff7b9c', '#c297ff', '#4ee0d4', '#f2e05a', '#ff9e64'];

export function darkLayout(overrides: Partial<Layout>): Partial<Layout> {
  const axis = {
    gridcolor: '#222833',
    zerolinecolor: '#2c3340',
    linecolor: '#2c3340',
    tickfont: { size: 10, color: '#8a93a3' },
    automargin: true,
  };
  return {
    paper_bgcolor: 'rgba(0,0,0,0)',
    plot_bgcolor: 'rgba(0,0,0,0)',
    font: { family: 'Inter, ui-sans-serif, system-ui, sans-serif', color: '#c9d1dc', size: 11 },
    margin: { l: 48, r: 12, t: 8, b: 32 },
    showlegend: true,
    legend: { orientation: 'h', x: 0, y: 1.12, font: { size: 10 } },
    hovermode: 'x unified',
    hoverlabel: { bgcolor: '#161a21', bordercolor: '#2c3340', font: { color: '#e6edf3' } },
    ...overrides,
    xaxis: { ...axis, ...(overrides.xaxis ?? {}) },
    yaxis: { ...axis, ...(overrides.yaxis ?? {}) },
  };
}
