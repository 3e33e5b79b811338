/**
 * The analytic gradient of the sparse memories' visible step (`visible-step-kernel.ts`, Rae et al. 2016 §3.2–3.6),
 * its steps in reverse: read vectors, read-mode mix and the SDNC's links and precedence, the masked content softmax
 * and cosine, erase/write, the write weighting, and the spread of the previous read weights. Float64 throughout; the
 * input gradients come back as float32 arrays laid out as the inputs.
 */
import { COSINE_EPSILON, NORM_GRADIENT_FLOOR } from '../../util/constants';
import type { FloatArray, VisibleStepInputs, VisibleStepOutputs, VisibleStepTape } from './visible-step-types';

/**
 * The gradient of a loss w.r.t. every input, given its gradient w.r.t. every output (`outputGradients`, laid out as
 * the outputs; an empty `links` stands for zero). Returns float32 arrays laid out as the inputs; `journal`'s
 * gradient scatter-adds into its rows.
 */
export function visibleStepBackward(
  tape: VisibleStepTape,
  outputGradients: VisibleStepOutputs<FloatArray>,
): VisibleStepInputs {
  const { sizes, plan, inputs, outputs: out } = tape;
  const { batch: B, visible: V, cellSize: W, readHeads: R, sparseReads: K, journalRows: J } = sizes;
  const { precedenceSize: P, temporal } = sizes;
  const grad = {
    journal: new Float32Array(B * J * W),
    prevReadWeights: new Float32Array(B * R * K),
    interpolationGate: new Float32Array(B),
    writeGate: new Float32Array(B),
    eraseVector: new Float32Array(B * W),
    writeVector: new Float32Array(B * W),
    readKeys: new Float32Array(B * R * W),
    readStrengths: new Float32Array(B * R),
    prevPrecedence: new Float32Array(temporal ? B * P : 0),
    readModes: new Float32Array(temporal ? B * R * 3 : 0),
  };
  const dMemory = new Float64Array(V * W);
  const dRead = new Float64Array(R * V);
  const dContent = new Float64Array(R * V);
  const dSpread = new Float64Array(R * V);
  const dWrite = new Float64Array(V);
  const dMemoryNorm = new Float64Array(V);
  // Per-element sums over slots in float64, stored once per element.
  const dKeys = new Float64Array(R * W);
  const dErase = new Float64Array(W);
  const dWriteVector = new Float64Array(W);
  const memory = out.memory;
  const readVectorGradient = outputGradients.readVectors;
  const epsilon = COSINE_EPSILON;
  const floor = NORM_GRADIENT_FLOOR;
  for (let b = 0; b < B; b++) {
    const rowBase = b * V * W;
    for (let n = 0; n < V * W; n++) dMemory[n] = outputGradients.memory[rowBase + n];
    for (let n = 0; n < R * V; n++) dRead[n] = outputGradients.readWeights[b * R * V + n];
    for (let v = 0; v < V; v++) dWrite[v] = outputGradients.writeWeights[b * V + v];
    dSpread.fill(0);
    dMemoryNorm.fill(0);
    dKeys.fill(0);
    dErase.fill(0);
    dWriteVector.fill(0);
    // 6. r = w^R·M.
    for (let h = 0; h < R; h++) {
      const target = (b * R + h) * W;
      for (let v = 0; v < V; v++) {
        const weight = out.readWeights[(b * R + h) * V + v];
        // SAM: a zero read weight is a zero content weight, whose gradient goes nowhere (the SDNC's dRead feeds
        // the links at every slot).
        if (weight === 0 && !temporal) continue;
        let sum = 0;
        const row = rowBase + v * W;
        for (let j = 0; j < W; j++) {
          const upstream = readVectorGradient[target + j];
          sum += upstream * memory[row + j];
          dMemory[v * W + j] += weight * upstream;
        }
        dRead[h * V + v] += sum;
      }
    }
    // 5. Read modes and links (SDNC), or w^R = c (SAM).
    if (!temporal) dContent.set(dRead);
    else temporalBackward(tape, outputGradients, grad, dRead, dContent, dSpread, dWrite, b);
    // 4. Content weights: softmax, strengths, cosine.
    const keys = inputs.readKeys;
    for (let h = 0; h < R; h++) {
      const base = (b * R + h) * V;
      let inner = 0;
      for (let v = 0; v < V; v++) inner += tape.content[base + v] * dContent[h * V + v];
      const strength = inputs.readStrengths[b * R + h];
      const keyNorm = tape.keyNorms[b * R + h];
      const keyBase = (b * R + h) * W;
      let dStrength = 0;
      let dKeyNorm = 0;
      for (let v = 0; v < V; v++) {
        const dScore = tape.content[base + v] * (dContent[h * V + v] - inner);
        if (dScore === 0) continue;
        dStrength += dScore * tape.cosines[base + v];
        const dCosine = dScore * strength;
        const memoryNorm = tape.memoryNorms[b * V + v];
        const denominator = keyNorm * memoryNorm + epsilon;
        const dDot = dCosine / denominator;
        const dDenominator = (-dCosine * tape.dots[base + v]) / (denominator * denominator);
        dKeyNorm += dDenominator * memoryNorm;
        dMemoryNorm[v] += dDenominator * keyNorm;
        const row = rowBase + v * W;
        for (let j = 0; j < W; j++) {
          dKeys[h * W + j] += dDot * memory[row + j];
          dMemory[v * W + j] += dDot * keys[keyBase + j];
        }
      }
      grad.readStrengths[b * R + h] = dStrength;
      const keyScale = dKeyNorm / Math.max(keyNorm, floor);
      for (let j = 0; j < W; j++) grad.readKeys[keyBase + j] = dKeys[h * W + j] + keyScale * keys[keyBase + j];
    }
    for (let v = 0; v < V; v++) {
      const scale = dMemoryNorm[v] / Math.max(tape.memoryNorms[b * V + v], floor);
      if (scale === 0) continue;
      for (let j = 0; j < W; j++) dMemory[v * W + j] += scale * out.memory[rowBase + v * W + j];
    }
    // 3. Erase and write: M = rows ⊙ (1 − w eᵀ) + w aᵀ.
    const rows = tape.rows;
    const eraseVector = inputs.eraseVector;
    const writeVector = inputs.writeVector;
    for (let v = 0; v < V; v++) {
      const w = out.writeWeights[b * V + v];
      const journalRow = plan.journalIndex[b * V + v];
      const row = rowBase + v * W;
      let sum = 0;
      for (let j = 0; j < W; j++) {
        const upstream = dMemory[v * W + j];
        const value = rows[row + j];
        sum += upstream * (writeVector[b * W + j] - value * eraseVector[b * W + j]);
        dErase[j] -= upstream * value * w;
        dWriteVector[j] += upstream * w;
      }
      dWrite[v] += sum;
      if (journalRow < 0) continue;
      const journalBase = (b * J + journalRow) * W;
      for (let j = 0; j < W; j++)
        grad.journal[journalBase + j] += dMemory[v * W + j] * (1 - w * eraseVector[b * W + j]);
    }
    for (let j = 0; j < W; j++) {
      grad.eraseVector[b * W + j] = dErase[j];
      grad.writeVector[b * W + j] = dWriteVector[j];
    }
    // 2. w^W = α·mixed, mixed = γ·mean_h w^R_{t−1,h} + (1 − γ)·I^U.
    const gate = inputs.interpolationGate[b];
    const writeGate = inputs.writeGate[b];
    let dWriteGate = 0;
    let dGate = 0;
    for (let v = 0; v < V; v++) {
      const mixed = tape.mixed[b * V + v];
      dWriteGate += dWrite[v] * mixed;
      const dMixed = writeGate * dWrite[v];
      let sum = 0;
      for (let h = 0; h < R; h++) sum += tape.spreadReadWeights[(b * R + h) * V + v];
      dGate += dMixed * (sum / R - (v === plan.leastUsedSlots[b] ? 1 : 0));
      for (let h = 0; h < R; h++) dSpread[h * V + v] += (gate * dMixed) / R;
    }
    grad.writeGate[b] = dWriteGate;
    grad.interpolationGate[b] = dGate;
    for (let h = 0; h < R; h++) {
      for (let k = 0; k < K; k++) {
        const slot = plan.prevReadSlots[(b * R + h) * K + k];
        if (slot >= 0) grad.prevReadWeights[(b * R + h) * K + k] = dSpread[h * V + slot];
      }
    }
  }
  return grad;
}

/** Step 5's backward for the SDNC, batch element `b`: fills `dContent`, adds to `dSpread` and `dWrite`. */
function temporalBackward(
  tape: VisibleStepTape,
  outputGradients: VisibleStepOutputs<FloatArray>,
  grad: { prevPrecedence: Float32Array; readModes: Float32Array },
  dRead: Float64Array,
  dContent: Float64Array,
  dSpread: Float64Array,
  dWrite: Float64Array,
  b: number,
): void {
  const { sizes, plan, inputs, outputs: out } = tape;
  const { visible: V, readHeads: R, precedenceSize: P } = sizes;
  const linkBase = b * V * V;
  const headBase = b * R * V;
  const dForward = new Float64Array(R * V);
  const dBackward = new Float64Array(R * V);
  // Slots where some head's previous read weight is non-zero (≤ R·K): only there do f and b reach L.
  const support = new Uint8Array(V);
  for (let h = 0; h < R; h++) {
    const base = headBase + h * V;
    const modes = (b * R + h) * 3;
    let dBackwardMode = 0;
    let dForwardMode = 0;
    let dContentMode = 0;
    for (let v = 0; v < V; v++) {
      const upstream = dRead[h * V + v];
      dBackwardMode += upstream * tape.backwardWeights[base + v];
      dForwardMode += upstream * tape.forwardWeights[base + v];
      dContentMode += upstream * tape.content[base + v];
      dContent[h * V + v] = inputs.readModes[modes + 2] * upstream;
      dBackward[h * V + v] = inputs.readModes[modes] * upstream;
      dForward[h * V + v] = inputs.readModes[modes + 1] * upstream;
      if (tape.spreadReadWeights[base + v] !== 0) support[v] = 1;
    }
    grad.readModes[modes] = dBackwardMode;
    grad.readModes[modes + 1] = dForwardMode;
    grad.readModes[modes + 2] = dContentMode;
  }
  let writeSum = 0;
  for (let v = 0; v < V; v++) writeSum += out.writeWeights[b * V + v];
  // p_t = (1 − Σw)·p + w.
  const dPrecedence = new Float64Array(V);
  let precedenceInner = 0;
  for (let v = 0; v < V; v++) {
    const upstream = outputGradients.precedence[b * V + v];
    dPrecedence[v] += (1 - writeSum) * upstream;
    dWrite[v] += upstream;
    precedenceInner += upstream * tape.spreadPrecedence[b * V + v];
  }
  for (let v = 0; v < V; v++) dWrite[v] -= precedenceInner;
  // f = L·w and b = Lᵀ·w, then L[i, j] = ((1 − w_i − w_j)·L_{t−1}[i, j] + w_i·p[j])·mask[i, j]; with
  // dL[i, j] = Σ_h df[h, i]·w[h, j] + w[h, i]·db[h, j], non-zero only where i or j is in the support.
  const dLinksOut = outputGradients.links;
  const linkGradient = dLinksOut.length > 0;
  const supportSlots: number[] = [];
  for (let v = 0; v < V; v++) if (support[v] === 1) supportSlots.push(v);
  for (let i = 0; i < V; i++) {
    if (plan.visibleMask[b * V + i] === 0) continue;
    const wi = out.writeWeights[b * V + i];
    const rowInSupport = support[i] === 1;
    if (!rowInSupport && !linkGradient) {
      // A row outside the support: f and b reach it only through its non-zero links, and dL[i, j] is non-zero
      // only for j in the support. The same sums, in the same order, as the full pass below.
      for (let j = 0; j < V; j++) {
        const link = out.links[linkBase + i * V + j];
        if (link === 0) continue;
        for (let h = 0; h < R; h++) {
          dSpread[h * V + j] += dForward[h * V + i] * link;
          dSpread[h * V + i] += link * dBackward[h * V + j];
        }
      }
      for (const j of supportSlots) {
        if (j === i || plan.visibleMask[b * V + j] === 0) continue;
        let g = 0;
        for (let h = 0; h < R; h++) {
          const base = headBase + h * V;
          g +=
            dForward[h * V + i] * tape.spreadReadWeights[base + j] +
            tape.spreadReadWeights[base + i] * dBackward[h * V + j];
        }
        if (g === 0) continue;
        const previous = plan.links[linkBase + i * V + j];
        dWrite[i] += g * (tape.spreadPrecedence[b * V + j] - previous);
        dWrite[j] -= g * previous;
        dPrecedence[j] += g * wi;
      }
      continue;
    }
    for (let j = 0; j < V; j++) {
      if (j === i || plan.visibleMask[b * V + j] === 0) continue;
      const link = out.links[linkBase + i * V + j];
      if (link !== 0) {
        for (let h = 0; h < R; h++) {
          dSpread[h * V + j] += dForward[h * V + i] * link;
          dSpread[h * V + i] += link * dBackward[h * V + j];
        }
      }
      let g = linkGradient ? dLinksOut[linkBase + i * V + j] : 0;
      if (rowInSupport || support[j] === 1) {
        for (let h = 0; h < R; h++) {
          const base = headBase + h * V;
          g +=
            dForward[h * V + i] * tape.spreadReadWeights[base + j] +
            tape.spreadReadWeights[base + i] * dBackward[h * V + j];
        }
      }
      if (g === 0) continue;
      const previous = plan.links[linkBase + i * V + j];
      dWrite[i] += g * (tape.spreadPrecedence[b * V + j] - previous);
      dWrite[j] -= g * previous;
      dPrecedence[j] += g * wi;
    }
  }
  for (let i = 0; i < P; i++) {
    const slot = plan.precedenceSlots[b * P + i];
    if (slot >= 0) grad.prevPrecedence[b * P + i] = dPrecedence[slot];
  }
}
