/**
 * Seeded randomness for parameter initialisation and dropout masks, so that a model built with the same `seed`
 * has the same weights on every backend (tfjs's own seeded ops differ in how they consume seeds per op).
 */

/** A deterministic generator of uniform numbers in [0, 1) (mulberry32: small state, good enough for init). */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`SeededRandom: seed must be a finite number, got ${seed}`);
    // Fold any finite number (including fractions and negatives) into 32 bits.
    this.state = Math.floor(seed * 2654435761) >>> 0;
  }

  /** Next uniform number in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A fresh 31-bit integer, e.g. to seed a child generator or one tfjs op. */
  nextSeed(): number {
    return Math.floor(this.next() * 0x7fffffff);
  }

  /** `size` numbers uniform in [-bound, bound), as PyTorch's `uniform_(-bound, bound)` initialisers draw them. */
  uniform(size: number, bound: number): Float32Array {
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++) out[i] = (this.next() * 2 - 1) * bound;
    return out;
  }
}
