/**
 * The training loop's source of randomness for task data: xoshiro128** (Blackman & Vigna), a small 32-bit PRNG
 * whose whole state is four uint32 words. Keeping the state this small and explicit is what lets a checkpoint
 * capture it, so a resumed run draws exactly the sequences an uninterrupted run would have drawn.
 *
 * Not part of the DNC paper; pytorch-dnc draws its data from NumPy's global generator, which cannot be
 * checkpointed alongside the weights.
 */

/** The serialisable state of an `Rng`: four uint32 words, never all zero. */
export type RngState = readonly [number, number, number, number];

const UINT32_RANGE = 0x1_0000_0000;

function rotateLeft(value: number, shift: number): number {
  return ((value << shift) | (value >>> (32 - shift))) >>> 0;
}

/** SplitMix32 step: spreads a small integer seed over all four state words (avoids the all-zero state). */
function splitMix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * Seeded PRNG with serialisable state.
 *
 * @example
 * const rng = Rng.fromSeed(1);
 * const saved = rng.state();
 * const a = rng.nextInt(10);
 * Rng.fromState(saved).nextInt(10) === a; // true
 */
export class Rng {
  private words: [number, number, number, number];

  private constructor(words: RngState) {
    this.words = [words[0] >>> 0, words[1] >>> 0, words[2] >>> 0, words[3] >>> 0];
  }

  /** A generator seeded from any safe integer (negative and large seeds are folded into 32 bits). */
  static fromSeed(seed: number): Rng {
    if (!Number.isSafeInteger(seed)) {
      throw new Error(`Rng.fromSeed: seed must be a safe integer, got ${seed}`);
    }
    const mix = splitMix32((seed ^ Math.floor(seed / UINT32_RANGE)) >>> 0);
    return new Rng([mix(), mix(), mix(), mix()]);
  }

  /** Rebuild a generator from `state()`. */
  static fromState(state: readonly number[]): Rng {
    if (state.length !== 4 || !state.every((w) => Number.isInteger(w) && w >= 0 && w < UINT32_RANGE)) {
      throw new Error(`Rng.fromState: state must be four uint32 words, got [${state.join(', ')}]`);
    }
    if (state.every((w) => w === 0)) {
      throw new Error('Rng.fromState: the all-zero state is invalid for xoshiro128**');
    }
    return new Rng([state[0], state[1], state[2], state[3]]);
  }

  /** A copy of the current state; restoring it replays the same draws. */
  state(): RngState {
    return [this.words[0], this.words[1], this.words[2], this.words[3]];
  }

  /** Next uniform uint32. */
  nextUint32(): number {
    const s = this.words;
    const result = Math.imul(rotateLeft(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] = (s[2] ^ s[0]) >>> 0;
    s[3] = (s[3] ^ s[1]) >>> 0;
    s[1] = (s[1] ^ s[2]) >>> 0;
    s[0] = (s[0] ^ s[3]) >>> 0;
    s[2] = (s[2] ^ t) >>> 0;
    s[3] = rotateLeft(s[3], 11);
    return result;
  }

  /** Uniform float in [0, 1) with 32 bits of resolution. */
  nextFloat(): number {
    return this.nextUint32() / UINT32_RANGE;
  }

  /** Uniform integer in [0, bound), unbiased (rejection sampling). */
  nextInt(bound: number): number {
    if (!Number.isInteger(bound) || bound <= 0 || bound > UINT32_RANGE) {
      throw new Error(`Rng.nextInt: bound must be an integer in [1, 2^32], got ${bound}`);
    }
    // Reject the top partial block of the uint32 range so every residue is equally likely.
    const limit = UINT32_RANGE - (UINT32_RANGE % bound);
    for (;;) {
      const draw = this.nextUint32();
      if (draw < limit) return draw % bound;
    }
  }

  /** Uniform integer in [low, high], both inclusive (NumPy's `randint(low, high + 1)`). */
  nextIntInclusive(low: number, high: number): number {
    if (!Number.isInteger(low) || !Number.isInteger(high) || high < low) {
      throw new Error(`Rng.nextIntInclusive: need integers low <= high, got low ${low}, high ${high}`);
    }
    return low + this.nextInt(high - low + 1);
  }

  /** A fair coin: 0 or 1 (NumPy's `binomial(1, 0.5)`). */
  nextBit(): number {
    return this.nextUint32() >>> 31;
  }
}
