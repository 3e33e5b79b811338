/**
 * `simdModeSwitch`: each SIMD kernel's on/off switch reads its own environment variable, lets this thread override
 * it, and names the variable or the setter in its errors.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { simdModeSwitch } from './simd-module';

test('each switch reads its own variable, an override wins until cleared, and bad values are named', () => {
  const first = simdModeSwitch('ENGRAM_SWITCH_TEST_A', 'setA');
  const second = simdModeSwitch('ENGRAM_SWITCH_TEST_B', 'setB');
  try {
    assert.equal(first.mode(), 'auto', 'unset means auto');
    process.env.ENGRAM_SWITCH_TEST_A = 'off';
    assert.equal(first.mode(), 'off');
    assert.equal(second.mode(), 'auto', 'the other switch keeps its own variable');
    first.set('auto');
    assert.equal(first.mode(), 'auto', 'the override wins over the environment');
    first.set(null);
    assert.equal(first.mode(), 'off');
    process.env.ENGRAM_SWITCH_TEST_B = 'fast';
    assert.throws(() => second.mode(), /ENGRAM_SWITCH_TEST_B must be 'auto' or 'off', got 'fast'/);
    assert.throws(() => second.set('on' as 'off'), /setB: mode must be 'auto', 'off' or null, got 'on'/);
  } finally {
    delete process.env.ENGRAM_SWITCH_TEST_A;
    delete process.env.ENGRAM_SWITCH_TEST_B;
  }
});
