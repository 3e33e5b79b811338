/**
 * The run page heals by itself when the server goes away: after every socket is dropped server-side, after their
 * TCP connections are cut (what a restart looks like to a browser), and after a simulated restart that also stops
 * the workers (the run comes back interrupted and resumes from its checkpoint). Each case checks the badge went
 * through a disconnect and came back, frames flow again without a reload, and the controls still work.
 * The /api/_test/ routes exist only in the test entry (server/testing/test-main.ts), which playwright.config.ts starts.
 */
import type { Ack } from '../server/protocol';
import { createRun, expect, test, type RunPage } from './fixtures';

const TINY_CONFIG = {
  nhid: 32,
  mem_slot: 8,
  mem_size: 8,
  read_heads: 1,
  batch_size: 2,
  sequence_max_length: 3,
  iterations: 1_000_000,
  summarize_freq: 1,
};

/**
 * Record every state the connection badge shows from now on in the document's `data-seen-connection` attribute: a
 * reconnect on loopback can be quicker than any poll, so the observer, not the poll, must see the disconnect.
 */
async function recordConnectionStates(runPage: RunPage): Promise<void> {
  await runPage.page.evaluate(() => {
    const root = document.documentElement;
    root.dataset.seenConnection = '';
    const record = () => {
      const state = document.querySelector('[data-testid="connection"]')?.getAttribute('data-state') ?? 'none';
      root.dataset.seenConnection = `${root.dataset.seenConnection ?? ''} ${state}`.trim();
    };
    // The badge may be re-rendered as a new element, so watch the whole body rather than one node.
    new MutationObserver(record).observe(document.body, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ['data-state'],
    });
  });
}

async function seenConnectionStates(runPage: RunPage): Promise<string[]> {
  const seen = (await runPage.page.locator('html').getAttribute('data-seen-connection')) ?? '';
  return seen.split(' ').filter(Boolean);
}

async function hook(runPage: RunPage, name: string): Promise<void> {
  const res = await runPage.request.post(`/api/_test/${name}`);
  const body = (await res.json()) as Ack<{ sockets: number }>;
  if (!body.ok) throw new Error(`test hook ${name}: ${body.error.message}`);
  // The page's own socket was among those cut.
  expect(body.data.sockets).toBeGreaterThanOrEqual(1);
}

/** The badge left "connected" and is back; a later state than the disconnect is "connected". */
async function expectReconnected(runPage: RunPage): Promise<void> {
  await expect.poll(() => seenConnectionStates(runPage)).toContain('disconnected');
  await expect(runPage.page.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  const seen = await seenConnectionStates(runPage);
  expect(seen.lastIndexOf('connected')).toBeGreaterThan(seen.indexOf('disconnected'));
}

async function openLiveRun(runPage: RunPage, name: string): Promise<void> {
  const run = await createRun(runPage.request, TINY_CONFIG, name);
  await runPage.open(run.id);
  await expect(runPage.page.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  await expect.poll(() => runPage.panelIteration('memory')).toBeGreaterThan(1);
  const before = await runPage.panelIteration('memory');
  await expect.poll(() => runPage.panelIteration('memory')).toBeGreaterThan(before);
}

for (const name of ['drop-connections', 'sever-connections'] as const) {
  test(`${name}: the page reconnects, frames resume without a reload, pause still works`, async ({ runPage, page }) => {
    await openLiveRun(runPage, `reconnect-${name}`);
    // A marker on the window survives only if the page is not reloaded.
    await page.evaluate(() => (window.name = 'before-drop'));
    await recordConnectionStates(runPage);

    await hook(runPage, name);
    await expectReconnected(runPage);

    const resumedAt = await runPage.panelIteration('memory');
    await expect.poll(() => runPage.panelIteration('memory')).toBeGreaterThan(resumedAt);
    await expect(page.getByTestId('run-state')).toHaveText('running');
    expect(await page.evaluate(() => window.name)).toBe('before-drop');

    const stoppedAt = await runPage.pause();
    await expect.poll(() => runPage.panelIteration('memory')).toBe(stoppedAt);
    await page.getByTestId('step-button').click();
    await expect.poll(() => runPage.panelIteration('memory')).toBe(stoppedAt + 1);
    expect((await runPage.serverRun()).iteration).toBe(stoppedAt + 1);
    await runPage.request.post(`/api/runs/${encodeURIComponent(runPage.runId())}/stop`);
  });
}

test('restart: the page reconnects, shows the run interrupted, and resume trains on from the checkpoint', async ({
  runPage,
  page,
}) => {
  await openLiveRun(runPage, 'reconnect-restart');
  await page.evaluate(() => (window.name = 'before-restart'));
  await recordConnectionStates(runPage);

  await hook(runPage, 'restart');
  await expectReconnected(runPage);
  await expect(page.getByTestId('run-state')).toHaveText('interrupted');
  const restored = await runPage.serverRun();
  expect(restored.state).toBe('interrupted');

  await page.getByTestId('resume-button').click();
  await expect(page.getByTestId('run-state')).toHaveText('running');
  await expect.poll(() => runPage.panelIteration('memory')).toBeGreaterThan(restored.iteration + 1);
  expect(await page.evaluate(() => window.name)).toBe('before-restart');

  const stoppedAt = await runPage.pause();
  await expect.poll(() => runPage.panelIteration('memory')).toBe(stoppedAt);
  await runPage.request.post(`/api/runs/${encodeURIComponent(runPage.runId())}/stop`);
});
