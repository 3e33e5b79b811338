;; The O(N·W) loops over memory rows of the dense DNC step (Graves et al. 2016, Methods "Memory addressing": content
;; weighting's dot products and norms, erase and write, read vectors) and their backward, for one batch row, in
;; float32 WebAssembly SIMD (four word positions per instruction). The same equations as the JavaScript kernel
;; (dense-step-kernel.ts steps 2, 5, 8 and 11, dense-step-kernel-backward.ts the same steps in reverse), which the
;; tests hold this module to; the scalar work between these loops (softmaxes, the allocation sort, gates) stays in
;; JavaScript. `memory-rows-simd.ts` lays the arrays out in this module's memory and calls it.
;;
;; Layout (byte offsets are arguments): memory rows are `width` (W) floats, packed one after the other as in the
;; JavaScript arrays, so nothing is padded: each loop over a row takes four floats at a time and then a scalar tail of
;; W mod 4. Per-cell vectors are N floats, per-head ones R·N (head-major).
;;
;; Build: `npm run build:wasm` assembles this file into memory-rows-wasm.ts (committed); a test checks they agree.
(module
  (memory (export "memory") 1)

  (func $horizontalSum (param $v v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  ;; Σ_k a[k]·b[k] over one row: `vectorBytes` (4·(W − W mod 4)) in vectors, then the tail up to `rowBytes` (4·W).
  (func $dot (param $a i32) (param $b i32) (param $vectorBytes i32) (param $rowBytes i32) (result f32)
    (local $k i32) (local $sum v128) (local $total f32)
    (block $vectorsDone
      (loop $vectors
        (br_if $vectorsDone (i32.ge_u (local.get $k) (local.get $vectorBytes)))
        (local.set $sum
          (f32x4.add (local.get $sum)
            (f32x4.mul (v128.load (i32.add (local.get $a) (local.get $k)))
              (v128.load (i32.add (local.get $b) (local.get $k))))))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $vectors)))
    (local.set $total (call $horizontalSum (local.get $sum)))
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $k) (local.get $rowBytes)))
        (local.set $total
          (f32.add (local.get $total)
            (f32.mul (f32.load (i32.add (local.get $a) (local.get $k)))
              (f32.load (i32.add (local.get $b) (local.get $k))))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $tail)))
    (local.get $total))

  ;; y[k] += scale·x[k] over one row.
  (func $addScaled (param $y i32) (param $x i32) (param $scale f32) (param $vectorBytes i32) (param $rowBytes i32)
    (local $k i32) (local $splat v128)
    (local.set $splat (f32x4.splat (local.get $scale)))
    (block $vectorsDone
      (loop $vectors
        (br_if $vectorsDone (i32.ge_u (local.get $k) (local.get $vectorBytes)))
        (v128.store (i32.add (local.get $y) (local.get $k))
          (f32x4.add (v128.load (i32.add (local.get $y) (local.get $k)))
            (f32x4.mul (local.get $splat) (v128.load (i32.add (local.get $x) (local.get $k))))))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $vectors)))
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $k) (local.get $rowBytes)))
        (f32.store (i32.add (local.get $y) (local.get $k))
          (f32.add (f32.load (i32.add (local.get $y) (local.get $k)))
            (f32.mul (local.get $scale) (f32.load (i32.add (local.get $x) (local.get $k))))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $tail))))

  ;; y[k] += scaleA·a[k] + scaleB·b[k] over one row.
  (func $addTwoScaled
    (param $y i32) (param $a i32) (param $scaleA f32) (param $b i32) (param $scaleB f32)
    (param $vectorBytes i32) (param $rowBytes i32)
    (local $k i32) (local $splatA v128) (local $splatB v128)
    (local.set $splatA (f32x4.splat (local.get $scaleA)))
    (local.set $splatB (f32x4.splat (local.get $scaleB)))
    (block $vectorsDone
      (loop $vectors
        (br_if $vectorsDone (i32.ge_u (local.get $k) (local.get $vectorBytes)))
        (v128.store (i32.add (local.get $y) (local.get $k))
          (f32x4.add (v128.load (i32.add (local.get $y) (local.get $k)))
            (f32x4.add
              (f32x4.mul (local.get $splatA) (v128.load (i32.add (local.get $a) (local.get $k))))
              (f32x4.mul (local.get $splatB) (v128.load (i32.add (local.get $b) (local.get $k)))))))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $vectors)))
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $k) (local.get $rowBytes)))
        (f32.store (i32.add (local.get $y) (local.get $k))
          (f32.add (f32.load (i32.add (local.get $y) (local.get $k)))
            (f32.add
              (f32.mul (local.get $scaleA) (f32.load (i32.add (local.get $a) (local.get $k))))
              (f32.mul (local.get $scaleB) (f32.load (i32.add (local.get $b) (local.get $k)))))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $tail))))

  ;; Content weighting's sums (steps 2 and 8): squares[n] = ‖M_n‖² and dots[h·N + n] = M_n·k_h for N rows of
  ;; `memory` and `heads` keys of W floats at `keys`.
  (func (export "rowDots")
    (param $memory i32) (param $cells i32) (param $width i32) (param $keys i32) (param $heads i32)
    (param $squares i32) (param $dots i32)
    (local $rowBytes i32) (local $vectorBytes i32) (local $n i32) (local $row i32) (local $h i32)
    (local.set $rowBytes (i32.shl (local.get $width) (i32.const 2)))
    (local.set $vectorBytes (i32.shl (i32.and (local.get $width) (i32.const -4)) (i32.const 2)))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $n) (local.get $cells)))
        (local.set $row (i32.add (local.get $memory) (i32.mul (local.get $n) (local.get $rowBytes))))
        (f32.store (i32.add (local.get $squares) (i32.shl (local.get $n) (i32.const 2)))
          (call $dot (local.get $row) (local.get $row) (local.get $vectorBytes) (local.get $rowBytes)))
        (local.set $h (i32.const 0))
        (block $headsDone
          (loop $headLoop
            (br_if $headsDone (i32.ge_u (local.get $h) (local.get $heads)))
            (f32.store
              (i32.add (local.get $dots)
                (i32.shl (i32.add (i32.mul (local.get $h) (local.get $cells)) (local.get $n)) (i32.const 2)))
              (call $dot (local.get $row) (i32.add (local.get $keys) (i32.mul (local.get $h) (local.get $rowBytes)))
                (local.get $vectorBytes) (local.get $rowBytes)))
            (local.set $h (i32.add (local.get $h) (i32.const 1)))
            (br $headLoop)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $rows))))

  ;; Step 5, erase then add: memory[n,k] = prevMemory[n,k]·(1 − w_w[n]·e[k]) + w_w[n]·v[k].
  (func (export "eraseWrite")
    (param $prevMemory i32) (param $memory i32) (param $cells i32) (param $width i32)
    (param $writeWeights i32) (param $erase i32) (param $write i32)
    (local $rowBytes i32) (local $vectorBytes i32) (local $n i32) (local $offset i32) (local $k i32)
    (local $weight f32) (local $weightSplat v128) (local $at i32)
    (local.set $rowBytes (i32.shl (local.get $width) (i32.const 2)))
    (local.set $vectorBytes (i32.shl (i32.and (local.get $width) (i32.const -4)) (i32.const 2)))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $n) (local.get $cells)))
        (local.set $offset (i32.mul (local.get $n) (local.get $rowBytes)))
        (local.set $weight (f32.load (i32.add (local.get $writeWeights) (i32.shl (local.get $n) (i32.const 2)))))
        (local.set $weightSplat (f32x4.splat (local.get $weight)))
        (local.set $k (i32.const 0))
        (block $vectorsDone
          (loop $vectors
            (br_if $vectorsDone (i32.ge_u (local.get $k) (local.get $vectorBytes)))
            (local.set $at (i32.add (local.get $offset) (local.get $k)))
            (v128.store (i32.add (local.get $memory) (local.get $at))
              (f32x4.add
                (f32x4.mul (v128.load (i32.add (local.get $prevMemory) (local.get $at)))
                  (f32x4.sub (v128.const f32x4 1 1 1 1)
                    (f32x4.mul (local.get $weightSplat) (v128.load (i32.add (local.get $erase) (local.get $k))))))
                (f32x4.mul (local.get $weightSplat) (v128.load (i32.add (local.get $write) (local.get $k))))))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br $vectors)))
        (block $tailDone
          (loop $tail
            (br_if $tailDone (i32.ge_u (local.get $k) (local.get $rowBytes)))
            (local.set $at (i32.add (local.get $offset) (local.get $k)))
            (f32.store (i32.add (local.get $memory) (local.get $at))
              (f32.add
                (f32.mul (f32.load (i32.add (local.get $prevMemory) (local.get $at)))
                  (f32.sub (f32.const 1)
                    (f32.mul (local.get $weight) (f32.load (i32.add (local.get $erase) (local.get $k))))))
                (f32.mul (local.get $weight) (f32.load (i32.add (local.get $write) (local.get $k))))))
            (local.set $k (i32.add (local.get $k) (i32.const 4)))
            (br $tail)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $rows))))

  ;; Step 11, read vectors r_h = Mᵀ·w_r,h: `vectors` [heads × W] must hold zeros and receives Σ_n w_r,h[n]·M_n.
  (func (export "readVectors")
    (param $memory i32) (param $cells i32) (param $width i32) (param $readWeights i32) (param $heads i32)
    (param $vectors i32)
    (local $rowBytes i32) (local $vectorBytes i32) (local $n i32) (local $h i32) (local $vector i32)
    (local $weights i32)
    (local.set $rowBytes (i32.shl (local.get $width) (i32.const 2)))
    (local.set $vectorBytes (i32.shl (i32.and (local.get $width) (i32.const -4)) (i32.const 2)))
    (block $headsDone
      (loop $headLoop
        (br_if $headsDone (i32.ge_u (local.get $h) (local.get $heads)))
        (local.set $vector (i32.add (local.get $vectors) (i32.mul (local.get $h) (local.get $rowBytes))))
        (local.set $weights
          (i32.add (local.get $readWeights) (i32.shl (i32.mul (local.get $h) (local.get $cells)) (i32.const 2))))
        (local.set $n (i32.const 0))
        (block $rowsDone
          (loop $rows
            (br_if $rowsDone (i32.ge_u (local.get $n) (local.get $cells)))
            (call $addScaled (local.get $vector)
              (i32.add (local.get $memory) (i32.mul (local.get $n) (local.get $rowBytes)))
              (f32.load (i32.add (local.get $weights) (i32.shl (local.get $n) (i32.const 2))))
              (local.get $vectorBytes) (local.get $rowBytes))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))
            (br $rows)))
        (local.set $h (i32.add (local.get $h) (i32.const 1)))
        (br $headLoop))))

  ;; Backward of step 11: dM_n += Σ_h dr_h·w_r,h[n] into `memoryGradient`, and readWeightSums[h·N + n] = dr_h·M_n
  ;; (assigned; the caller adds it to dLoss/dw_r). `vectorGradient` [heads × W] holds dLoss/dr.
  (func (export "readVectorsBackward")
    (param $memory i32) (param $cells i32) (param $width i32) (param $readWeights i32) (param $heads i32)
    (param $vectorGradient i32) (param $memoryGradient i32) (param $readWeightSums i32)
    (local $rowBytes i32) (local $vectorBytes i32) (local $n i32) (local $h i32) (local $vector i32)
    (local $rowOffset i32) (local $cellAt i32)
    (local.set $rowBytes (i32.shl (local.get $width) (i32.const 2)))
    (local.set $vectorBytes (i32.shl (i32.and (local.get $width) (i32.const -4)) (i32.const 2)))
    (block $headsDone
      (loop $headLoop
        (br_if $headsDone (i32.ge_u (local.get $h) (local.get $heads)))
        (local.set $vector (i32.add (local.get $vectorGradient) (i32.mul (local.get $h) (local.get $rowBytes))))
        (local.set $n (i32.const 0))
        (block $rowsDone
          (loop $rows
            (br_if $rowsDone (i32.ge_u (local.get $n) (local.get $cells)))
            (local.set $rowOffset (i32.mul (local.get $n) (local.get $rowBytes)))
            (local.set $cellAt
              (i32.shl (i32.add (i32.mul (local.get $h) (local.get $cells)) (local.get $n)) (i32.const 2)))
            (call $addScaled (i32.add (local.get $memoryGradient) (local.get $rowOffset)) (local.get $vector)
              (f32.load (i32.add (local.get $readWeights) (local.get $cellAt)))
              (local.get $vectorBytes) (local.get $rowBytes))
            (f32.store (i32.add (local.get $readWeightSums) (local.get $cellAt))
              (call $dot (local.get $vector) (i32.add (local.get $memory) (local.get $rowOffset))
                (local.get $vectorBytes) (local.get $rowBytes)))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))
            (br $rows)))
        (local.set $h (i32.add (local.get $h) (i32.const 1)))
        (br $headLoop))))

  ;; Backward of one key's cosines (steps 8 and 2) through the dots and the memory norm: with the per-cell
  ;; coefficients dot[n] = dLoss/d(M_n·k) and norm[n] (the memory-norm term over ‖M_n‖), adds
  ;; dM_n += dot[n]·k + norm[n]·M_n into `memoryGradient` and dk += Σ_n dot[n]·M_n + keyScale·k into `keyGradient`.
  (func (export "contentBackward")
    (param $memory i32) (param $cells i32) (param $width i32) (param $key i32) (param $dotCoefficients i32)
    (param $normCoefficients i32) (param $keyScale f32) (param $memoryGradient i32) (param $keyGradient i32)
    (local $rowBytes i32) (local $vectorBytes i32) (local $n i32) (local $rowOffset i32) (local $dotCoefficient f32)
    (local.set $rowBytes (i32.shl (local.get $width) (i32.const 2)))
    (local.set $vectorBytes (i32.shl (i32.and (local.get $width) (i32.const -4)) (i32.const 2)))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $n) (local.get $cells)))
        (local.set $rowOffset (i32.mul (local.get $n) (local.get $rowBytes)))
        (local.set $dotCoefficient
          (f32.load (i32.add (local.get $dotCoefficients) (i32.shl (local.get $n) (i32.const 2)))))
        (call $addTwoScaled (i32.add (local.get $memoryGradient) (local.get $rowOffset))
          (local.get $key) (local.get $dotCoefficient)
          (i32.add (local.get $memory) (local.get $rowOffset))
          (f32.load (i32.add (local.get $normCoefficients) (i32.shl (local.get $n) (i32.const 2))))
          (local.get $vectorBytes) (local.get $rowBytes))
        (call $addScaled (local.get $keyGradient) (i32.add (local.get $memory) (local.get $rowOffset))
          (local.get $dotCoefficient) (local.get $vectorBytes) (local.get $rowBytes))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $rows)))
    (call $addScaled (local.get $keyGradient) (local.get $key) (local.get $keyScale)
      (local.get $vectorBytes) (local.get $rowBytes)))

  ;; Backward of step 5. From dM (`memoryGradient`): dM_prev[n,k] = dM·(1 − w_w[n]·e[k]) (assigned into
  ;; `prevMemoryGradient`), writeWeightSums[n] = Σ_k dM·(v[k] − M_prev[n,k]·e[k]) (assigned), and added into
  ;; `eraseGradient` −Σ_n dM·M_prev·w_w[n] and into `writeGradient` Σ_n dM·w_w[n].
  (func (export "eraseWriteBackward")
    (param $memoryGradient i32) (param $prevMemory i32) (param $cells i32) (param $width i32)
    (param $writeWeights i32) (param $erase i32) (param $write i32) (param $prevMemoryGradient i32)
    (param $writeWeightSums i32) (param $eraseGradient i32) (param $writeGradient i32)
    (local $rowBytes i32) (local $vectorBytes i32) (local $n i32) (local $offset i32) (local $k i32) (local $at i32)
    (local $weight f32) (local $weightSplat v128) (local $sum v128) (local $total f32)
    (local $gradient v128) (local $prevCell v128) (local $eraseK v128)
    (local $gradientS f32) (local $prevCellS f32) (local $eraseS f32)
    (local.set $rowBytes (i32.shl (local.get $width) (i32.const 2)))
    (local.set $vectorBytes (i32.shl (i32.and (local.get $width) (i32.const -4)) (i32.const 2)))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $n) (local.get $cells)))
        (local.set $offset (i32.mul (local.get $n) (local.get $rowBytes)))
        (local.set $weight (f32.load (i32.add (local.get $writeWeights) (i32.shl (local.get $n) (i32.const 2)))))
        (local.set $weightSplat (f32x4.splat (local.get $weight)))
        (local.set $sum (v128.const f32x4 0 0 0 0))
        (local.set $k (i32.const 0))
        (block $vectorsDone
          (loop $vectors
            (br_if $vectorsDone (i32.ge_u (local.get $k) (local.get $vectorBytes)))
            (local.set $at (i32.add (local.get $offset) (local.get $k)))
            (local.set $gradient (v128.load (i32.add (local.get $memoryGradient) (local.get $at))))
            (local.set $prevCell (v128.load (i32.add (local.get $prevMemory) (local.get $at))))
            (local.set $eraseK (v128.load (i32.add (local.get $erase) (local.get $k))))
            (v128.store (i32.add (local.get $prevMemoryGradient) (local.get $at))
              (f32x4.mul (local.get $gradient)
                (f32x4.sub (v128.const f32x4 1 1 1 1) (f32x4.mul (local.get $weightSplat) (local.get $eraseK)))))
            (local.set $sum
              (f32x4.add (local.get $sum)
                (f32x4.mul (local.get $gradient)
                  (f32x4.sub (v128.load (i32.add (local.get $write) (local.get $k)))
                    (f32x4.mul (local.get $prevCell) (local.get $eraseK))))))
            (v128.store (i32.add (local.get $eraseGradient) (local.get $k))
              (f32x4.sub (v128.load (i32.add (local.get $eraseGradient) (local.get $k)))
                (f32x4.mul (f32x4.mul (local.get $gradient) (local.get $prevCell)) (local.get $weightSplat))))
            (v128.store (i32.add (local.get $writeGradient) (local.get $k))
              (f32x4.add (v128.load (i32.add (local.get $writeGradient) (local.get $k)))
                (f32x4.mul (local.get $gradient) (local.get $weightSplat))))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br $vectors)))
        (local.set $total (call $horizontalSum (local.get $sum)))
        (block $tailDone
          (loop $tail
            (br_if $tailDone (i32.ge_u (local.get $k) (local.get $rowBytes)))
            (local.set $at (i32.add (local.get $offset) (local.get $k)))
            (local.set $gradientS (f32.load (i32.add (local.get $memoryGradient) (local.get $at))))
            (local.set $prevCellS (f32.load (i32.add (local.get $prevMemory) (local.get $at))))
            (local.set $eraseS (f32.load (i32.add (local.get $erase) (local.get $k))))
            (f32.store (i32.add (local.get $prevMemoryGradient) (local.get $at))
              (f32.mul (local.get $gradientS)
                (f32.sub (f32.const 1) (f32.mul (local.get $weight) (local.get $eraseS)))))
            (local.set $total
              (f32.add (local.get $total)
                (f32.mul (local.get $gradientS)
                  (f32.sub (f32.load (i32.add (local.get $write) (local.get $k)))
                    (f32.mul (local.get $prevCellS) (local.get $eraseS))))))
            (f32.store (i32.add (local.get $eraseGradient) (local.get $k))
              (f32.sub (f32.load (i32.add (local.get $eraseGradient) (local.get $k)))
                (f32.mul (f32.mul (local.get $gradientS) (local.get $prevCellS)) (local.get $weight))))
            (f32.store (i32.add (local.get $writeGradient) (local.get $k))
              (f32.add (f32.load (i32.add (local.get $writeGradient) (local.get $k)))
                (f32.mul (local.get $gradientS) (local.get $weight))))
            (local.set $k (i32.add (local.get $k) (i32.const 4)))
            (br $tail)))
        (f32.store (i32.add (local.get $writeWeightSums) (i32.shl (local.get $n) (i32.const 2))) (local.get $total))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $rows)))))
