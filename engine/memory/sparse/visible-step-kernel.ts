/**
 * The differentiable part of one SAM/SDNC step (Rae et al. 2016, §3.2–3.6) over the visible set, as plain loops on
 * typed arrays with a hand-written backward: the same equations, in the same order, as the tfjs composition in
 * `sparse-step.ts` (`plainVisibleStep`), which stays their definition and which the tests hold this kernel to.
 * Per batch element, with V visible slots:
 *
 * 1. rows = host rows, or the journal's row where the slot has a journal copy;
 * 2. w^R_{t−1} spread over the slots; w^W = α·(γ·mean_h w^R_{t−1,h} + (1 − γ)·I^U);
 * 3. M = rows ⊙ (1 − w^W eᵀ) + w^W aᵀ;
 * 4. c = softmax over the slots of β·cos(k, M) + (mask − 1)·MASK_PENALTY (`contentWeights`): over the candidates;
 * 5. SDNC: p_{t−1} spread over the slots, L = ((1 − w_i − w_j)·L_{t−1} + w_i·p_{t−1}[j]) masked, p_t = (1 − Σw)·p_{t−1}
 *    + w, f = L·w^R_{t−1}, b = Lᵀ·w^R_{t−1}, w^R = π_b·b + π_f·f + π_c·c (SAM: w^R = c);
 * 6. r = w^R·M.
 *
 * The next journal (`appendToJournal`) stays a separate op: as part of this op's packed output, every slice of it
 * would copy the whole packed buffer out of the wasm heap again.
 *
 * The backward pass is `visible-step-kernel-backward.ts`; the types both share are in `visible-step-types.ts`.
 * Arithmetic runs in float64 (tfjs runs each op in float32), so values agree with the tfjs path to float32
 * rounding, not bit for bit.
 */
import { COSINE_EPSILON } from '../../util/constants';
import type {
  FloatArray,
  VisibleStepInputs,
  VisibleStepOutputs,
  VisibleStepPlan,
  VisibleStepSizes,
  VisibleStepTape,
} from './visible-step-types';

function allocateOutputs(sizes: VisibleStepSizes): VisibleStepOutputs {
  const { batch: B, visible: V, cellSize: W, readHeads: R, temporal } = sizes;
  return {
    readVectors: new Float64Array(B * R * W),
    memory: new Float64Array(B * V * W),
    writeWeights: new Float64Array(B * V),
    readWeights: new Float64Array(B * R * V),
    precedence: new Float64Array(temporal ? B * V : 0),
    links: new Float64Array(temporal ? B * V * V : 0),
  };
}

/** The step's forward pass for the whole batch. */
export function visibleStepForward(
  sizes: VisibleStepSizes,
  plan: VisibleStepPlan,
  inputs: VisibleStepInputs<FloatArray>,
): VisibleStepTape {
  const { batch: B, visible: V, cellSize: W, readHeads: R, sparseReads: K, journalRows: J, temporal } = sizes;
  const out = allocateOutputs(sizes);
  const rows = new Float64Array(B * V * W);
  const spread = new Float64Array(B * R * V);
  const mixed = new Float64Array(B * V);
  const keyNorms = new Float64Array(B * R);
  const memoryNorms = new Float64Array(B * V);
  const dots = new Float64Array(B * R * V);
  const cosines = new Float64Array(B * R * V);
  const content = new Float64Array(B * R * V);
  const spreadPrecedence = new Float64Array(temporal ? B * V : 0);
  const forwardWeights = new Float64Array(temporal ? B * R * V : 0);
  const backwardWeights = new Float64Array(temporal ? B * R * V : 0);
  const epsilon = COSINE_EPSILON;
  for (let b = 0; b < B; b++) {
    const rowBase = b * V * W;
    // 1. Visible rows.
    for (let v = 0; v < V; v++) {
      const journalRow = plan.journalIndex[b * V + v];
      const from = journalRow >= 0 ? inputs.journal : plan.hostRows;
      const offset = journalRow >= 0 ? (b * J + journalRow) * W : rowBase + v * W;
      for (let j = 0; j < W; j++) rows[rowBase + v * W + j] = from[offset + j];
    }
    // 2. Previous read weights over the slots, and the write weighting.
    for (let h = 0; h < R; h++) {
      for (let k = 0; k < K; k++) {
        const slot = plan.prevReadSlots[(b * R + h) * K + k];
        if (slot >= 0) spread[(b * R + h) * V + slot] += inputs.prevReadWeights[(b * R + h) * K + k];
      }
    }
    const gate = inputs.interpolationGate[b];
    const writeGate = inputs.writeGate[b];
    const leastUsed = plan.leastUsedSlots[b];
    for (let v = 0; v < V; v++) {
      let sum = 0;
      for (let h = 0; h < R; h++) sum += spread[(b * R + h) * V + v];
      const value = gate * (sum / R) + (1 - gate) * (v === leastUsed ? 1 : 0);
      mixed[b * V + v] = value;
      out.writeWeights[b * V + v] = writeGate * value;
    }
    // 3. Erase and write.
    for (let v = 0; v < V; v++) {
      const w = out.writeWeights[b * V + v];
      let squares = 0;
      for (let j = 0; j < W; j++) {
        const value =
          rows[rowBase + v * W + j] * (1 - w * inputs.eraseVector[b * W + j]) + w * inputs.writeVector[b * W + j];
        out.memory[rowBase + v * W + j] = value;
        squares += value * value;
      }
      memoryNorms[b * V + v] = Math.sqrt(squares);
    }
    // 4. Content weights over each head's candidates.
    for (let h = 0; h < R; h++) {
      const keyBase = (b * R + h) * W;
      let squares = 0;
      for (let j = 0; j < W; j++) squares += inputs.readKeys[keyBase + j] ** 2;
      const keyNorm = Math.sqrt(squares);
      keyNorms[b * R + h] = keyNorm;
      const strength = inputs.readStrengths[b * R + h];
      const base = (b * R + h) * V;
      // Slots outside the candidates score −MASK_PENALTY, whose exp is exactly 0 in float32 and float64: skip them
      // (their content weight, and every gradient through it, is 0). A plan always offers the K search results.
      let anyCandidate = false;
      for (let v = 0; v < V && !anyCandidate; v++) anyCandidate = plan.candidateMask[base + v] !== 0;
      if (!anyCandidate)
        throw new Error(`visibleStepForward: head ${h} of batch element ${b} has no candidate slot (internal error)`);
      let max = -Infinity;
      for (let v = 0; v < V; v++) {
        if (plan.candidateMask[base + v] === 0) {
          content[base + v] = -Infinity;
          continue;
        }
        let dot = 0;
        for (let j = 0; j < W; j++) dot += inputs.readKeys[keyBase + j] * out.memory[rowBase + v * W + j];
        const cosine = dot / (keyNorm * memoryNorms[b * V + v] + epsilon);
        dots[base + v] = dot;
        cosines[base + v] = cosine;
        const score = strength * cosine;
        content[base + v] = score;
        if (score > max) max = score;
      }
      let total = 0;
      for (let v = 0; v < V; v++) {
        const e = Math.exp(content[base + v] - max);
        content[base + v] = e;
        total += e;
      }
      for (let v = 0; v < V; v++) content[base + v] /= total;
    }
    // 5. Read weights: content only (SAM), or the SDNC's links and read modes.
    if (!temporal) {
      out.readWeights.set(content.subarray(b * R * V, (b + 1) * R * V), b * R * V);
    } else {
      temporalForward(sizes, plan, inputs, out, spread, content, spreadPrecedence, forwardWeights, backwardWeights, b);
    }
    // 6. Read vectors.
    for (let h = 0; h < R; h++) {
      const base = (b * R + h) * V;
      const target = (b * R + h) * W;
      for (let v = 0; v < V; v++) {
        const weight = out.readWeights[base + v];
        if (weight === 0) continue;
        for (let j = 0; j < W; j++) out.readVectors[target + j] += weight * out.memory[rowBase + v * W + j];
      }
    }
  }
  return {
    sizes,
    plan,
    inputs,
    outputs: out,
    rows,
    spreadReadWeights: spread,
    mixed,
    keyNorms,
    memoryNorms,
    dots,
    cosines,
    content,
    spreadPrecedence,
    forwardWeights,
    backwardWeights,
  };
}

/** Step 5 for the SDNC, batch element `b`. */
function temporalForward(
  sizes: VisibleStepSizes,
  plan: VisibleStepPlan,
  inputs: VisibleStepInputs<FloatArray>,
  out: VisibleStepOutputs,
  spread: Float64Array,
  content: Float64Array,
  spreadPrecedence: Float64Array,
  forwardWeights: Float64Array,
  backwardWeights: Float64Array,
  b: number,
): void {
  const { visible: V, readHeads: R, precedenceSize: P } = sizes;
  for (let i = 0; i < P; i++) {
    const slot = plan.precedenceSlots[b * P + i];
    if (slot >= 0) spreadPrecedence[b * V + slot] += inputs.prevPrecedence[b * P + i];
  }
  let writeSum = 0;
  for (let v = 0; v < V; v++) writeSum += out.writeWeights[b * V + v];
  for (let v = 0; v < V; v++) {
    out.precedence[b * V + v] = (1 - writeSum) * spreadPrecedence[b * V + v] + out.writeWeights[b * V + v];
  }
  const linkBase = b * V * V;
  const headBase = b * R * V;
  for (let i = 0; i < V; i++) {
    if (plan.visibleMask[b * V + i] === 0) continue;
    const wi = out.writeWeights[b * V + i];
    for (let j = 0; j < V; j++) {
      // An unwritten row keeps only its old links (w_i·p[j] = 0): skip its zeros before anything else.
      if (wi === 0 && plan.links[linkBase + i * V + j] === 0) continue;
      if (j === i || plan.visibleMask[b * V + j] === 0) continue;
      const wj = out.writeWeights[b * V + j];
      const link = (1 - wi - wj) * plan.links[linkBase + i * V + j] + wi * spreadPrecedence[b * V + j];
      out.links[linkBase + i * V + j] = link;
      if (link === 0) continue;
      // f[h, i] = Σ_j L[i, j]·w[h, j]; b[h, j] = Σ_i w[h, i]·L[i, j] (L is sparse: old links and w_i·p[j]).
      for (let h = 0; h < R; h++) {
        forwardWeights[headBase + h * V + i] += link * spread[headBase + h * V + j];
        backwardWeights[headBase + h * V + j] += spread[headBase + h * V + i] * link;
      }
    }
  }
  for (let h = 0; h < R; h++) {
    const base = (b * R + h) * V;
    const modes = (b * R + h) * 3;
    const [backwardMode, forwardMode, contentMode] = [
      inputs.readModes[modes],
      inputs.readModes[modes + 1],
      inputs.readModes[modes + 2],
    ];
    for (let v = 0; v < V; v++) {
      out.readWeights[base + v] =
        backwardMode * backwardWeights[base + v] +
        forwardMode * forwardWeights[base + v] +
        contentMode * content[base + v];
    }
  }
}
