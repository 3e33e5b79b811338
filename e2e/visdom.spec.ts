/**
 * A Visdom script's windows on the run page: pytorch-dnc's grouped heatmaps as canvas panels that scrub through
 * their iterations, a line plot that grows with appends, an image, and text that stays text — `<script>` and
 * `onerror` sent by the script are shown, never run.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { APIRequestContext } from '@playwright/test';
import type { Ack, RunSummary } from '../server/protocol';
import { expect, test } from './fixtures';

const recordings = JSON.parse(
  readFileSync(join(__dirname, '..', 'server', 'visdom', 'testdata', 'recordings.json'), 'utf8'),
) as { exchanges: { path: string; body?: string }[] };

/** POST a body as the Visdom client does (raw JSON, no Origin) and return the answer text. */
async function visdom(request: APIRequestContext, route: string, body: unknown): Promise<string> {
  const res = await request.post(`/visdom${route}`, {
    data: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': 'text/plain' },
  });
  expect(res.status(), `${route} ${await res.text()}`).toBe(200);
  return res.text();
}

async function envRun(request: APIRequestContext, eid: string): Promise<RunSummary> {
  let found: RunSummary | undefined;
  await expect
    .poll(async () => {
      const body = (await (await request.get('/api/runs')).json()) as Ack<RunSummary[]>;
      found = body.ok ? body.data.find((r) => r.config.visdom_env === eid) : undefined;
      return found !== undefined;
    })
    .toBe(true);
  return found as RunSummary;
}

test("a Visdom env's windows: grouped heatmaps scrub, lines grow, images show, text stays inert", async ({
  page,
  request,
  runPage,
}) => {
  const eid = 'e2e_dnc';
  const dnc = recordings.exchanges.filter((e) => e.path === '/events' && (e.body ?? '').includes(', t: '));
  for (const call of dnc)
    await visdom(request, '/events', (call.body ?? '').replaceAll('"eid": "main"', `"eid": "${eid}"`));
  const evil = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">';
  await visdom(request, '/events', { eid, win: 'evil', data: [{ content: evil, type: 'text' }], opts: {} });
  await visdom(request, '/events', {
    eid,
    win: 'loss',
    data: [{ x: [0, 1], y: [0.9, 0.8], name: '1', type: 'scatter', mode: 'lines' }],
    opts: { title: 'training loss' },
  });
  const image = recordings.exchanges.find((e) => e.path === '/events' && (e.body ?? '').includes('"win": "one"'));
  await visdom(request, '/events', (image?.body ?? '').replace('"eid": "main"', `"eid": "${eid}"`));
  const run = await envRun(request, eid);

  await runPage.open(run.id);
  // pytorch-dnc's quantities, one canvas panel each, at the newest iteration (t 200).
  for (const name of ['memory', 'linkMatrix', 'precedence', 'readWeights', 'writeWeights', 'usageVector'])
    await expect(runPage.panel(name)).toBeVisible();
  await expect.poll(() => runPage.panelIteration('memory')).toBe(200);
  await page.getByTestId('scrub-back').click();
  await expect.poll(() => runPage.panelIteration('memory')).toBe(100);
  await page.getByTestId('scrub-back').click();
  await expect.poll(() => runPage.panelIteration('linkMatrix')).toBe(0);

  // Text: the characters sent, as text; nothing ran, no element was made from it.
  const text = page.getByTestId('visdom-text-evil');
  await expect(text).toHaveText(evil);
  expect(await text.locator('script, img').count()).toBe(0);
  expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();

  // The line plot, then an append reaches the page without a reload.
  const plot = page.getByTestId('visdom-plot-loss');
  await expect(plot).toHaveAttribute('data-ready', 'true');
  await expect(page.getByTestId('visdom-panel-loss')).toContainText('training loss');
  const before = Number(await plot.getAttribute('data-step'));
  await visdom(request, '/update', {
    eid,
    win: 'loss',
    append: true,
    name: null,
    data: [{ x: [2], y: [0.7], name: '1', type: 'scatter' }],
  });
  await expect.poll(async () => Number(await plot.getAttribute('data-step'))).toBeGreaterThan(before);
  expect(await plot.locator('.scatterlayer .trace path.js-line').count()).toBeGreaterThan(0);

  // The plot's points as CSV, the appended one included.
  const download = page.waitForEvent('download');
  await page.getByTestId('visdom-csv-loss').click();
  const csv = readFileSync((await (await download).path()) ?? '', 'utf8');
  expect(csv).toBe('trace,x,y\n1,0,0.9\n1,1,0.8\n1,2,0.7\n');

  const img = page.getByTestId('visdom-image-one').locator('img');
  await expect(img).toBeVisible();
  expect(await img.evaluate((el) => (el as HTMLImageElement).naturalWidth)).toBe(8);

  // The dashboard snapshot holds these windows too: the heatmaps, the plot's points, the text as sent, the image.
  const snapshot = page.waitForEvent('download');
  await page.getByTestId('snapshot-button').click();
  const zip = readFileSync((await (await snapshot).path()) ?? '').toString('latin1');
  for (const name of ['panels/memory.png', 'tensors/linkMatrix.npy', 'visdom/loss.csv', 'visdom/evil.txt'])
    expect(zip).toContain(name);
  expect(zip).toContain('visdom/one.png');
  expect(zip).toContain('trace,x,y\n1,0,0.9\n1,1,0.8\n1,2,0.7\n');
  expect(zip).toContain(evil);
  await runPage.screenshot('visdom-env');
});
