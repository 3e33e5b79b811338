/**
 * An external run: a trainer outside the server (here a loop in the spec speaking the HTTP ingest protocol, as the
 * Python client does) streams metrics, a named scalar and frames; the run page draws them like an engine run's, shows
 * the trainer connected, and its pause and step reach the trainer exactly.
 */
import { readFileSync } from 'node:fs';
import type { APIRequestContext } from '@playwright/test';
import type { Ack, RunSummary } from '../server/protocol';
import type { ControlState, WaitReply } from '../server/protocol/ingest';
import { expect, test } from './fixtures';

const CELLS = 8;
const WORD = 6;
const STEPS = 4;

/** A toy trainer: asks before each iteration when told to wait, then sends one metric point and one frame. */
function startTrainer(request: APIRequestContext, runId: string) {
  const trainer = { iterations: 0, done: false, error: null as unknown };
  const data = async <T>(res: { json(): Promise<unknown> }) => {
    const ack = (await res.json()) as Ack<T>;
    if (!ack.ok) throw new Error(`${ack.error.code}: ${ack.error.message}`);
    return ack.data;
  };
  const loop = async () => {
    let control: ControlState = { action: 'run', state: 'running', lr: null };
    for (;;) {
      while (control.action === 'wait') {
        const reply = await data<WaitReply>(
          await request.post(`/api/runs/${runId}/wait`, { data: { timeout_ms: 5000 } }),
        );
        control = reply.control;
        if (reply.go) break;
      }
      if (control.action === 'stop') break;
      const it = ++trainer.iterations;
      const point = { iteration: it, loss: 1 / it, accuracy: 1 - 1 / (it + 1) };
      control = (
        await data<{ control: ControlState }>(
          await request.post(`/api/runs/${runId}/metrics`, { data: { points: [point] } }),
        )
      ).control;
      const values = new Float32Array(STEPS * CELLS * WORD + STEPS * CELLS);
      for (let i = 0; i < values.length; i++) values[i] = Math.sin(it * 0.3 + i * 0.1);
      const header = {
        iteration: it,
        tensors: [
          { name: 'memory', shape: [STEPS, CELLS, WORD], axes: ['time', 'cell', 'word'] },
          { name: 'usage', shape: [STEPS, CELLS], axes: ['time', 'cell'], range: [-1, 1] },
        ],
      };
      control = (
        await data<{ control: ControlState }>(
          await request.post(`/api/runs/${runId}/frames`, {
            headers: { 'x-engram-frame': JSON.stringify(header), 'content-type': 'application/octet-stream' },
            data: Buffer.from(values.buffer),
          }),
        )
      ).control;
      // The trainer's own compute time.
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
  };
  const finished = loop().then(
    () => {
      trainer.done = true;
    },
    (error: unknown) => {
      trainer.error = error;
      trainer.done = true;
    },
  );
  return { trainer, finished };
}

test('an external run is drawn like an engine run; pause and step from the page reach its trainer', async ({
  runPage,
  request,
  page,
}) => {
  const created = (await (
    await request.post('/api/runs', { data: { external: true, name: 'e2e-external', config: { model: 'toy' } } })
  ).json()) as Ack<RunSummary>;
  if (!created.ok) throw new Error(created.error.message);
  const runId = created.data.id;
  const { trainer, finished } = startTrainer(request, runId);

  await runPage.open(runId);
  await expect(page.getByTestId('client-state')).toHaveAttribute('data-state', 'connected');
  await expect(page.getByTestId('client-controls')).toContainText('pause, step, stop, lr');
  await expect.poll(() => runPage.panelIteration('memory')).toBeGreaterThan(2);
  await expect(runPage.panel('usage')).toHaveAttribute('data-iteration', /\d+/);
  await expect.poll(() => runPage.chartStep('loss-chart')).toBeGreaterThan(2);
  await expect.poll(() => runPage.chartStep('scalar-chart-accuracy')).toBeGreaterThan(2);

  await page.getByTestId('pause-button').click();
  await expect(page.getByTestId('client-state')).toHaveAttribute('data-state', 'waiting');
  const held = trainer.iterations;
  expect((await runPage.serverRun(runId)).iteration).toBe(held);
  await expect.poll(() => runPage.panelIteration('memory')).toBe(held);

  await page.getByTestId('step-button').click();
  await expect.poll(() => runPage.shownIteration()).toBe(held + 1);
  await expect.poll(() => runPage.panelIteration('memory')).toBe(held + 1);
  await expect(page.getByTestId('run-state')).toHaveText('paused');
  await expect(page.getByTestId('client-state')).toHaveAttribute('data-state', 'waiting');
  expect(trainer.iterations).toBe(held + 1);

  await page.getByTestId('stop-button').click();
  await finished;
  expect(trainer.error).toBeNull();
  await expect(page.getByTestId('run-state')).toHaveText('stopped');
});

test('a long run opens with an overview of its curves; a zoomed curve loads its range in detail; CSV whole', async ({
  runPage,
  request,
  page,
}) => {
  const STORED = 20_000;
  const created = (await (
    await request.post('/api/runs', { data: { external: true, name: 'e2e-long', controls: [] } })
  ).json()) as Ack<RunSummary>;
  if (!created.ok) throw new Error(created.error.message);
  const runId = created.data.id;
  for (let start = 1; start <= STORED; start += 10_000) {
    const points = Array.from({ length: 10_000 }, (_, k) => ({
      iteration: start + k,
      loss: start + k === 12_345 ? 50 : 1 / Math.sqrt(start + k),
    }));
    const res = (await (await request.post(`/api/runs/${runId}/metrics`, { data: { points } })).json()) as Ack<unknown>;
    if (!res.ok) throw new Error(res.error.message);
  }

  await runPage.open(runId);
  await expect(page.getByTestId('curve-overview')).toContainText('20,000 points');
  await expect.poll(() => runPage.chartStep('loss-chart')).toBe(STORED);
  const card = page.getByTestId('loss-chart-card');
  const overview = Number(await card.getAttribute('data-points'));
  expect(overview).toBeLessThan(3001);

  // Drag-zoom the middle tenth of the loss curve: that range comes back in detail and is merged in.
  const box = await page.getByTestId('loss-chart').locator('.nsewdrag').first().boundingBox();
  if (box === null) throw new Error('the loss chart has no plot area');
  await page.mouse.move(box.x + box.width * 0.45, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2, { steps: 5 });
  await page.mouse.move(box.x + box.width * 0.55, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  await expect.poll(async () => Number(await card.getAttribute('data-points'))).toBeGreaterThan(overview + 1000);

  const csvDownload = page.waitForEvent('download');
  await page.getByTestId('export-metrics').click();
  const csv = readFileSync(await (await csvDownload).path(), 'utf8')
    .trim()
    .split('\n');
  expect(csv.length - 1).toBe(STORED);
  expect(csv.some((line) => line.startsWith('12345,50,'))).toBe(true);
});
