/**
 * The data layout of one fused SAM/SDNC visible step (`visible-step-kernel.ts` forward,
 * `visible-step-kernel-backward.ts` backward): its sizes, the host's plan, the differentiable inputs, the outputs,
 * and the tape the backward pass reads. All arrays are batch-major and flat; letters as in the kernel's header.
 */
/** Sizes of one step over the visible set. */
export interface VisibleStepSizes {
  /** B */
  readonly batch: number;
  /** V: visible slots. */
  readonly visible: number;
  /** W */
  readonly cellSize: number;
  /** R */
  readonly readHeads: number;
  /** K */
  readonly sparseReads: number;
  /** J: journal rows. */
  readonly journalRows: number;
  /** P: precedence entries kept in the state (0 for SAM). */
  readonly precedenceSize: number;
  /** SDNC (links and read modes) or SAM. */
  readonly temporal: boolean;
}

/**
 * The host's plan of the step, batch-major: `hostRows [B,V,W]` (zero where `journalIndex` ≥ 0), `journalIndex [B,V]`
 * (−1: host row), `prevReadSlots [B,R,K]` (−1: none), `leastUsedSlots [B]`, `candidateMask [B,R,V]` (1 or 0) and,
 * and, for the SDNC, `visibleMask [B,V]`, `links [B,V,V]` (L_{t−1} among the visible cells) and
 * `precedenceSlots [B,P]`.
 * Constants: no gradient reaches them.
 */
export interface VisibleStepPlan {
  readonly hostRows: Float32Array;
  readonly journalIndex: Int32Array;
  readonly prevReadSlots: Int32Array;
  readonly leastUsedSlots: Int32Array;
  readonly candidateMask: Float32Array;
  readonly visibleMask: Float32Array;
  readonly links: Float32Array;
  readonly precedenceSlots: Int32Array;
}

/**
 * The differentiable inputs, batch-major float32: `journal [B,J,W]` (read by the forward pass only, so it may be a
 * transient view of the backend's memory), `prevReadWeights [B,R,K]`,
 * `interpolationGate [B]`, `writeGate [B]`, `eraseVector [B,W]`, `writeVector [B,W]`, `readKeys [B,R,W]`,
 * `readStrengths [B,R]`, `prevPrecedence [B,P]` and `readModes [B,R,3]` (the last two empty for SAM).
 */
/** Either float typed array (the tests run the kernel on float64 inputs). */
export type FloatArray = Float32Array | Float64Array;

export interface VisibleStepInputs<A extends FloatArray = Float32Array> {
  readonly journal: A;
  readonly prevReadWeights: A;
  readonly interpolationGate: A;
  readonly writeGate: A;
  readonly eraseVector: A;
  readonly writeVector: A;
  readonly readKeys: A;
  readonly readStrengths: A;
  readonly prevPrecedence: A;
  readonly readModes: A;
}

export const VISIBLE_STEP_INPUT_NAMES = [
  'journal',
  'prevReadWeights',
  'interpolationGate',
  'writeGate',
  'eraseVector',
  'writeVector',
  'readKeys',
  'readStrengths',
  'prevPrecedence',
  'readModes',
] as const satisfies readonly (keyof VisibleStepInputs)[];

/**
 * Outputs, batch-major: `readVectors [B,R,W]`, `memory [B,V,W]`, `writeWeights [B,V]`, `readWeights [B,R,V]`,
 * `precedence [B,V]` and `links [B,V,V]` (the last two empty for SAM).
 */
export interface VisibleStepOutputs<A extends FloatArray = Float64Array> {
  readonly readVectors: A;
  readonly memory: A;
  readonly writeWeights: A;
  readonly readWeights: A;
  readonly precedence: A;
  readonly links: A;
}

/** What the backward pass needs from the forward pass, beyond the outputs. */
export interface VisibleStepTape {
  readonly sizes: VisibleStepSizes;
  readonly plan: VisibleStepPlan;
  readonly inputs: VisibleStepInputs<FloatArray>;
  readonly outputs: VisibleStepOutputs;
  /** `[B,V,W]` rows before the write. */
  readonly rows: Float64Array;
  /** `[B,R,V]` previous read weights over the slots; `[B,V]` the mixed write support (γ·mean + (1 − γ)·I^U). */
  readonly spreadReadWeights: Float64Array;
  readonly mixed: Float64Array;
  /** `[B,R]`, `[B,V]` norms; `[B,R,V]` dot products, cosines and content weights. */
  readonly keyNorms: Float64Array;
  readonly memoryNorms: Float64Array;
  readonly dots: Float64Array;
  readonly cosines: Float64Array;
  readonly content: Float64Array;
  /** SDNC: `[B,V]` p_{t−1} over the slots, `[B,R,V]` forward and backward weights. */
  readonly spreadPrecedence: Float64Array;
  readonly forwardWeights: Float64Array;
  readonly backwardWeights: Float64Array;
}
