/**
 * The dashboard against the real server: a newcomer starts a run from the form and watches it; pause/step/scrub;
 * exports checked byte by byte; a reload comes back to the same view; the form names bad fields.
 */
import { readFileSync } from 'node:fs';
import type { Ack } from '../server/protocol';
import { createRun, expect, npyHeader, pngSize, test, TINY_RUN } from './fixtures';

interface FrameJson {
  iteration: number;
  tensors: { name: string; layer: number; shape: number[] }[];
}

test('newcomer: start a copy run from the form, see heatmaps change and the loss curve grow', async ({
  runsPage,
  runPage,
  request,
  page,
}) => {
  await runsPage.goto();
  await expect(page.getByTestId('new-run-form')).toBeVisible();
  await expect(runsPage.field('batch_size')).toHaveValue('8');
  const runId = await runsPage.startRun({ ...TINY_RUN, task: 'copy' });
  expect(runId).not.toBe('');

  // Heatmaps appear and move on.
  await expect(runPage.panel('memory')).toHaveAttribute('data-iteration', /\d+/);
  const first = await runPage.panelIteration('memory');
  await expect.poll(() => runPage.panelIteration('memory')).toBeGreaterThan(first);
  await expect(runPage.panel('usage')).toHaveAttribute('data-iteration', /\d+/);

  // Every tensor the server stores in a frame has its panel, named after it (stored frames thin out over time,
  // so ask for the list first).
  const list = (await (await request.get(`/api/runs/${runId}/frames`)).json()) as Ack<{ iterations: number[] }>;
  if (!list.ok) throw new Error(list.error.message);
  const newest = list.data.iterations[list.data.iterations.length - 1];
  const stored = (await (await request.get(`/api/runs/${runId}/frames/${newest}`)).json()) as Ack<FrameJson>;
  expect(stored.ok).toBe(true);
  if (stored.ok) {
    expect(stored.data.tensors.map((t) => t.name)).toEqual(expect.arrayContaining(['memory', 'usage']));
    for (const t of stored.data.tensors) {
      await expect(runPage.panel(t.layer === 0 ? t.name : `${t.name}-l${t.layer}`)).toBeVisible();
    }
  }

  // The loss curve grows.
  await expect(page.getByTestId('loss-chart')).toHaveAttribute('data-ready', 'true');
  const step = await runPage.chartStep('loss-chart');
  await expect.poll(() => runPage.chartStep('loss-chart')).toBeGreaterThan(step);
  await runPage.screenshot('run-live');
  await expect(page.locator('[data-testid^="heatmap-"][data-error]')).toHaveCount(0);

  // Back on the runs page the run is listed with its sparkline, and can be overlaid.
  await page.getByTestId('home-link').click();
  await expect(page.getByTestId(`run-row-${runId}`)).toBeVisible();
  await expect(page.getByTestId(`run-row-${runId}`).locator('polyline')).toHaveCount(1);
  await page.getByTestId(`compare-${runId}`).check();
  await expect(page.getByTestId('compare-chart')).toHaveAttribute('data-ready', 'true');
  await runsPage.page.screenshot({ path: 'test-results/screenshots/runs.png', fullPage: true });
  await request.post(`/api/runs/${runId}/stop`);
});

test('pause stops the iteration; step advances exactly one; scrub back and forward through stored frames', async ({
  runPage,
  request,
  page,
}) => {
  const run = await createRun(
    request,
    {
      nhid: 32,
      mem_slot: 8,
      mem_size: 8,
      read_heads: 1,
      batch_size: 2,
      sequence_max_length: 3,
      iterations: 1_000_000,
      summarize_freq: 1,
    },
    'pause-step',
  );
  await runPage.open(run.id);
  await expect.poll(() => runPage.panelIteration('memory')).toBeGreaterThan(2);

  const stoppedAt = await runPage.pause();
  await expect(page.getByTestId('pause-button')).toHaveCount(0);
  await expect(page.getByTestId('resume-button')).toBeEnabled();
  // Live view settles on the last frame and the server agrees the run is still where it stopped.
  await expect.poll(() => runPage.panelIteration('memory')).toBe(stoppedAt);
  expect((await runPage.serverRun()).iteration).toBe(stoppedAt);

  await page.getByTestId('step-button').click();
  await expect.poll(() => runPage.shownIteration()).toBe(stoppedAt + 1);
  await expect.poll(() => runPage.panelIteration('memory')).toBe(stoppedAt + 1);
  const after = await runPage.serverRun();
  expect(after.iteration).toBe(stoppedAt + 1);
  expect(after.state).toBe('paused');

  // Step N runs exactly N more, then pauses again.
  await page.getByTestId('step-n-input').fill('3');
  await page.getByTestId('step-n-button').click();
  await expect.poll(() => runPage.shownIteration()).toBe(stoppedAt + 4);
  await expect.poll(async () => (await runPage.serverRun()).state).toBe('paused');
  expect((await runPage.serverRun()).iteration).toBe(stoppedAt + 4);
  await expect.poll(() => runPage.panelIteration('memory')).toBe(stoppedAt + 4);

  // Scrub back one stored frame, then another, then forward, then live.
  await page.getByTestId('scrub-back').click();
  await expect(page.getByTestId('live-button')).toHaveAttribute('data-mode', 'history');
  await expect.poll(() => runPage.panelIteration('memory')).toBeLessThan(stoppedAt + 4);
  const back1 = await runPage.panelIteration('memory');
  await page.getByTestId('scrub-back').click();
  await expect.poll(() => runPage.panelIteration('memory')).toBeLessThan(back1);
  await page.getByTestId('scrub-forward').click();
  await expect.poll(() => runPage.panelIteration('memory')).toBe(back1);
  await page.getByTestId('live-button').click();
  await expect(page.getByTestId('live-button')).toHaveAttribute('data-mode', 'live');
  await expect.poll(() => runPage.panelIteration('memory')).toBe(stoppedAt + 4);

  // The timestep slider moves the slices.
  const slider = page.getByTestId('timestep-slider');
  await slider.focus();
  await page.keyboard.press('ArrowRight');
  await expect(runPage.panel('memory')).toHaveAttribute('data-timestep', '1');
  await runPage.screenshot('run-paused');

  // The learning rate goes to the server.
  await page.getByTestId('lr-input').fill('0.0005');
  await page.getByTestId('lr-apply').click();
  await expect.poll(async () => (await runPage.serverRun()).config.lr).toBe(0.0005);

  await page.getByTestId('resume-button').click();
  await expect(page.getByTestId('run-state')).toHaveText('running');
  await expect.poll(() => runPage.shownIteration()).toBeGreaterThan(stoppedAt + 4);
  await page.getByTestId('stop-button').click();
  await expect(page.getByTestId('run-state')).toHaveText('stopped');
});

test('export a panel as PNG and NPY, and the whole dashboard as a snapshot zip', async ({ runPage, request, page }) => {
  const run = await createRun(
    request,
    {
      nhid: 32,
      mem_slot: 12,
      mem_size: 6,
      read_heads: 1,
      batch_size: 2,
      sequence_max_length: 3,
      iterations: 1_000_000,
      summarize_freq: 1,
    },
    'export',
  );
  await runPage.open(run.id);
  await expect(runPage.panel('memory')).toHaveAttribute('data-iteration', /\d+/);
  const stoppedAt = await runPage.pause();
  await expect.poll(() => runPage.panelIteration('memory')).toBe(stoppedAt);

  const png = await runPage.exportPanel('memory', 'png');
  expect(png.suggestedFilename()).toMatch(/_it\d+_t\d+_memory\.png$/);
  const size = pngSize(readFileSync(await png.path()));
  expect(size.width).toBe(Number(await runPage.panel('memory').getAttribute('data-export-width')));
  expect(size.height).toBe(Number(await runPage.panel('memory').getAttribute('data-export-height')));

  const npy = await runPage.exportPanel('memory', 'npy');
  const header = npyHeader(readFileSync(await npy.path()));
  const shape = ((await runPage.panel('memory').getAttribute('data-shape')) ?? '').split('x').map(Number);
  expect(header.version).toBe('1.0');
  expect(header.descr).toBe('<f4');
  expect(header.shape).toEqual(shape);
  expect(shape[1]).toBe(12);
  expect(header.dataBytes).toBe(4 * shape.reduce((a, b) => a * b, 1));

  const svg = await runPage.exportPanel('usage', 'svg');
  expect(readFileSync(await svg.path(), 'utf8')).toMatch(/^<svg [\s\S]*<image [\s\S]*engram-colorbar[\s\S]*<\/svg>$/);

  // Hover reads a value; a click on a memory row highlights that cell in every panel.
  const canvas = runPage.panel('memory').locator('.view-canvas').first();
  await canvas.hover({ position: { x: 5, y: 5 } });
  await expect(runPage.panel('memory').locator('.tooltip')).toHaveText(/^cell 0 · word 0 = -?\d/);
  await canvas.click({ position: { x: 5, y: 5 } });
  await expect(page.getByTestId('highlight-pill')).toContainText('cell 0');
  await expect(runPage.panel('usage').locator('.mark-cell-col').first()).toBeVisible();

  const csvDownload = page.waitForEvent('download');
  await page.getByTestId('export-metrics').click();
  const csv = readFileSync(await (await csvDownload).path(), 'utf8')
    .trim()
    .split('\n');
  expect(csv[0]).toMatch(/^iteration,loss,[a-z_ ]+,it_per_sec,wall_time_ms,sequence_length$/);
  expect(csv.length - 1).toBe(stoppedAt);

  const snapshotDownload = page.waitForEvent('download');
  await page.getByTestId('snapshot-button').click();
  const zip = readFileSync(await (await snapshotDownload).path());
  expect(zip.readUInt32LE(0)).toBe(0x04034b50);
  const text = zip.toString('latin1');
  expect(text).toContain('manifest.json');
  expect(text).toContain('"schemaVersion": 1');
  expect(text).toContain('panels/memory.png');
  expect(text).toContain('tensors/memory.npy');
  expect(text).toContain('metrics.csv');
  await request.post(`/api/runs/${run.id}/stop`);
});

test('a reload restores the run, timestep and scrubber position', async ({ runPage, request, page }) => {
  const run = await createRun(
    request,
    {
      nhid: 32,
      mem_slot: 8,
      mem_size: 8,
      read_heads: 1,
      batch_size: 2,
      sequence_max_length: 3,
      iterations: 1_000_000,
      summarize_freq: 1,
    },
    'reload',
  );
  await runPage.open(run.id);
  await expect.poll(() => runPage.panelIteration('memory')).toBeGreaterThan(3);
  await runPage.pause();
  await page.getByTestId('scrub-back').click();
  await page.getByTestId('scrub-back').click();
  await expect(page.getByTestId('live-button')).toHaveAttribute('data-mode', 'history');
  const scrubbed = Number(await page.getByTestId('iteration-scrubber').getAttribute('data-iteration'));
  await expect.poll(() => runPage.panelIteration('memory')).toBe(scrubbed);
  const slider = page.getByTestId('timestep-slider');
  await slider.focus();
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  await expect(runPage.panel('memory')).toHaveAttribute('data-timestep', '2');
  await expect
    .poll(() => {
      const url = new URL(page.url());
      return [url.pathname, url.searchParams.get('t'), url.searchParams.get('it')];
    })
    .toEqual([`/runs/${run.id}`, '2', String(scrubbed)]);

  await page.reload();
  await expect(runPage.panel('memory')).toHaveAttribute('data-iteration', String(scrubbed));
  await expect(runPage.panel('memory')).toHaveAttribute('data-timestep', '2');
  await expect(page.getByTestId('live-button')).toHaveAttribute('data-mode', 'history');
  await expect(page.getByTestId('run-name')).toHaveText('reload');
  await request.post(`/api/runs/${run.id}/stop`);
});

test('a run that hits NaN says why and where, and shows that iteration', async ({ runPage, request, page }) => {
  const run = await createRun(
    request,
    {
      nhid: 32,
      mem_slot: 8,
      mem_size: 8,
      read_heads: 1,
      batch_size: 2,
      sequence_max_length: 3,
      iterations: 1_000_000,
      summarize_freq: 1,
      _nan_at: 6,
    },
    'nan',
  );
  await runPage.open(run.id);
  const banner = page.getByTestId('failure-banner');
  await expect(banner).toBeVisible();
  await expect(banner).toContainText('nan');
  await expect(banner).toContainText('iteration 6');
  await expect(page.getByTestId('run-state')).toHaveText('paused');
  const failure = (await runPage.serverRun()).failure;
  expect(failure?.reason).toBe('nan');
  expect(failure?.iteration).toBe(6);
  await runPage.screenshot('run-nan');
  await page.getByTestId('stop-button').click();
  await expect(page.getByTestId('run-state')).toHaveText('stopped');
});

test('a bad form value shows an error that names the field, and nothing is started', async ({ runsPage, page }) => {
  await runsPage.goto();
  await runsPage.fill({ mem_slot: '-3', lr: 'fast' });
  await page.getByTestId('start-run').click();
  await expect(runsPage.fieldError('mem_slot')).toHaveText('Cells must be between 1 and 65536; got -3');
  await expect(runsPage.fieldError('lr')).toContainText('Learning rate must be a number');
  await expect(runsPage.field('mem_slot')).toHaveAttribute('aria-invalid', 'true');
  await expect(page).toHaveURL(/\/$/);
  await page.screenshot({ path: 'test-results/screenshots/form-error.png' });
});

test('the runs page overlays the loss curves of the runs ticked for comparison', async ({
  runsPage,
  request,
  page,
}) => {
  const a = await createRun(
    request,
    {
      nhid: 32,
      mem_slot: 8,
      mem_size: 8,
      read_heads: 1,
      batch_size: 2,
      sequence_max_length: 3,
      iterations: 12,
      summarize_freq: 4,
    },
    'compare-a',
  );
  const b = await createRun(
    request,
    {
      nhid: 32,
      mem_slot: 8,
      mem_size: 8,
      read_heads: 1,
      batch_size: 2,
      sequence_max_length: 3,
      iterations: 12,
      summarize_freq: 4,
      lr: 0.01,
    },
    'compare-b',
  );
  await runsPage.goto();
  for (const run of [a, b]) {
    await expect(page.getByTestId(`run-row-${run.id}`)).toHaveAttribute('data-state', 'finished');
    await expect(page.getByTestId(`run-row-${run.id}`).locator('polyline')).toHaveCount(1);
    await page.getByTestId(`compare-${run.id}`).check();
  }
  const chart = page.getByTestId('compare-chart');
  await expect(chart).toHaveAttribute('data-ready', 'true');
  await expect(chart).toHaveAttribute('data-step', '12');
  await expect(chart.locator('.legendtext')).toHaveText(['compare-a', 'compare-b']);
  await page.screenshot({ path: 'test-results/screenshots/runs-compare.png', fullPage: true });
});
