// The Visdom sink over runs: when an iteration ends its frame is written after the call that ended it returns,
// never lost, and in iteration order, whatever else flushes in between.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { tempDataDir } from '../testing/test-server';
import type { PackedFrame } from '../worker/messages';
import { PanelStore } from './panel-store';
import { type ExternalRuns, RunVisdomSink } from './run-sink';
import type { VisdomTensor } from './sink';

/** External runs that record the frames they are handed. */
function recordingRuns(): ExternalRuns & { frames: { runId: string; frame: PackedFrame }[] } {
  const frames: { runId: string; frame: PackedFrame }[] = [];
  let next = 0;
  return {
    frames,
    create: () => `run${next++}`,
    accepting: () => true,
    touch: () => undefined,
    frame: (runId, frame) => void frames.push({ runId, frame }),
    metrics: () => undefined,
    finish: () => undefined,
    latestFrame: () => null,
  };
}

function tensor(value: number): VisdomTensor {
  return {
    name: 'memory',
    shape: [2, 3],
    axes: ['row', 'column'],
    data: new Float32Array(6).fill(value),
    description: '',
  };
}

const noListener = { panel: () => undefined, append: () => undefined, closed: () => undefined };

test('an ended frame is written after the call returns, in order, before the open frame and on close', async () => {
  const dataDir = tempDataDir('visdom-sink');
  const runs = recordingRuns();
  const store = new PanelStore(dataDir);
  const sink = new RunVisdomSink(runs, store, noListener);
  try {
    sink.ensureEnv('a');
    sink.ensureEnv('b');
    sink.putFrame('a', 0, [tensor(0)]);
    sink.putFrame('a', 0, [tensor(0.5)]); // the same iteration: still one open frame
    sink.putFrame('a', 1, [tensor(1)]); // iteration 0 ended
    sink.putFrame('b', 7, [tensor(7)]);
    sink.putFrame('a', 2, [tensor(2)]); // iteration 1 ended
    assert.equal(runs.frames.length, 0, 'nothing is written inside the call');
    await new Promise((resolve) => setImmediate(resolve));
    // The ended iterations are written first (the 100 ms flush may have written the open ones after them).
    assert.deepEqual(
      runs.frames.slice(0, 2).map(({ runId, frame }) => [runId, frame.iteration]),
      [
        ['run0', 0],
        ['run0', 1],
      ],
    );
    // The latest value of the iteration's window is what was stored.
    assert.equal(new Float32Array(runs.frames[0].frame.buffer)[0], 0.5);
    // Deleting an env writes what is queued first; closing writes every open frame. Each iteration once, in order.
    sink.putFrame('a', 3, [tensor(3)]);
    sink.deleteEnv('a');
    sink.close();
    const iterationsOf = (runId: string) => runs.frames.filter((f) => f.runId === runId).map((f) => f.frame.iteration);
    assert.deepEqual(iterationsOf('run0'), [0, 1, 2, 3]);
    assert.deepEqual(iterationsOf('run1'), [7]);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
