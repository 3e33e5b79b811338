;; Temporal memory linkage of the dense DNC step (Graves et al. 2016, Methods "Temporal memory linkage" and "Read
;; weighting"), the O(N²) part of one batch row, in float32 WebAssembly SIMD (four cells per instruction):
;;   forward   L[i,j] ← (1 − w_w[i] − w_w[j])·L[i,j] + w_w[i]·p[j] (zero diagonal), f_h = L·w_r,h, b_h = Lᵀ·w_r,h
;;   backward  the gradients of those through L into L_prev, p_prev, w_w and w_r (as dense-step-kernel-backward.ts)
;; The same equations as the JavaScript kernel (dense-step-kernel.ts step 6 and 9, its backward's link pass), which
;; the tests hold this module to. `link-pass-simd.ts` lays the arrays out in this module's memory and calls it.
;;
;; Layout (byte offsets are arguments): every per-cell vector and every matrix row is `stride` floats long, stride
;; the cell count N rounded up to a multiple of 4, and the padding lanes hold zeros. With zero padding every term in
;; a padding lane is zero, so no loop needs a scalar tail. Matrices are N rows of `stride` floats.
;;
;; Build: `npm run build:wasm` assembles this file into link-pass-wasm.ts (committed); a test checks they agree.
(module
  (memory (export "memory") 1)

  (func $horizontalSum (param $v v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  ;; Forward, in place: `links` holds L_prev and receives L. `forward` [heads × stride] is assigned f; `backward`
  ;; [heads × stride] must hold zeros and receives b. `prevRead` [heads × stride] holds w_r,h of the previous step.
  (func (export "linkForward")
    (param $cells i32) (param $stride i32) (param $heads i32)
    (param $links i32) (param $writeWeights i32) (param $precedence i32) (param $prevRead i32)
    (param $forward i32) (param $backward i32)
    (local $rowBytes i32) (local $i i32) (local $row i32) (local $j i32) (local $h i32)
    (local $readH i32) (local $backwardH i32)
    (local $weightI f32) (local $weightSplat v128) (local $keepBase v128)
    (local $readI v128) (local $sum v128) (local $link v128)
    (local.set $rowBytes (i32.shl (local.get $stride) (i32.const 2)))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $cells)))
        (local.set $row (i32.add (local.get $links) (i32.mul (local.get $i) (local.get $rowBytes))))
        (local.set $weightI (f32.load (i32.add (local.get $writeWeights) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $weightSplat (f32x4.splat (local.get $weightI)))
        (local.set $keepBase (f32x4.splat (f32.sub (f32.const 1) (local.get $weightI))))
        ;; L[i,j] ← (1 − w_w[i] − w_w[j])·L[i,j] + w_w[i]·p[j]
        (local.set $j (i32.const 0))
        (block $updateDone
          (loop $update
            (br_if $updateDone (i32.ge_u (local.get $j) (local.get $rowBytes)))
            (v128.store (i32.add (local.get $row) (local.get $j))
              (f32x4.add
                (f32x4.mul
                  (f32x4.sub (local.get $keepBase) (v128.load (i32.add (local.get $writeWeights) (local.get $j))))
                  (v128.load (i32.add (local.get $row) (local.get $j))))
                (f32x4.mul (local.get $weightSplat) (v128.load (i32.add (local.get $precedence) (local.get $j))))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $update)))
        ;; No self-links.
        (f32.store (i32.add (local.get $row) (i32.shl (local.get $i) (i32.const 2))) (f32.const 0))
        ;; f_h[i] = Σ_j L[i,j]·w_r,h[j] and b_h[j] += L[i,j]·w_r,h[i], while the row is in cache.
        (local.set $h (i32.const 0))
        (block $headsDone
          (loop $headLoop
            (br_if $headsDone (i32.ge_u (local.get $h) (local.get $heads)))
            (local.set $readH (i32.add (local.get $prevRead) (i32.mul (local.get $h) (local.get $rowBytes))))
            (local.set $backwardH (i32.add (local.get $backward) (i32.mul (local.get $h) (local.get $rowBytes))))
            (local.set $readI
              (f32x4.splat (f32.load (i32.add (local.get $readH) (i32.shl (local.get $i) (i32.const 2))))))
            (local.set $sum (v128.const f32x4 0 0 0 0))
            (local.set $j (i32.const 0))
            (block $temporalDone
              (loop $temporal
                (br_if $temporalDone (i32.ge_u (local.get $j) (local.get $rowBytes)))
                (local.set $link (v128.load (i32.add (local.get $row) (local.get $j))))
                (local.set $sum
                  (f32x4.add (local.get $sum)
                    (f32x4.mul (local.get $link) (v128.load (i32.add (local.get $readH) (local.get $j))))))
                (v128.store (i32.add (local.get $backwardH) (local.get $j))
                  (f32x4.add (v128.load (i32.add (local.get $backwardH) (local.get $j)))
                    (f32x4.mul (local.get $link) (local.get $readI))))
                (local.set $j (i32.add (local.get $j) (i32.const 16)))
                (br $temporal)))
            (f32.store
              (i32.add (i32.add (local.get $forward) (i32.mul (local.get $h) (local.get $rowBytes)))
                (i32.shl (local.get $i) (i32.const 2)))
              (call $horizontalSum (local.get $sum)))
            (local.set $h (i32.add (local.get $h) (i32.const 1)))
            (br $headLoop)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))

  ;; Backward. `linkGradient` holds dLoss/dL (the new links) and receives dLoss/dL_prev, in place. `forwardGradient`
  ;; and `backwardGradient` [heads × stride] hold dLoss/df_h and dLoss/db_h. Accumulated into (callers zero them):
  ;; `prevReadGradient` [heads × stride], `writeWeightsGradient` and `precedenceGradient` [stride]. `scratch` is one
  ;; row of `stride` floats.
  (func (export "linkBackward")
    (param $cells i32) (param $stride i32) (param $heads i32)
    (param $prevLinks i32) (param $writeWeights i32) (param $precedence i32) (param $prevRead i32)
    (param $forwardGradient i32) (param $backwardGradient i32) (param $linkGradient i32)
    (param $prevReadGradient i32) (param $writeWeightsGradient i32) (param $precedenceGradient i32)
    (param $scratch i32)
    (local $rowBytes i32) (local $i i32) (local $iBytes i32) (local $prevRow i32) (local $gradientRow i32)
    (local $j i32) (local $h i32) (local $readH i32) (local $backwardH i32) (local $readGradientH i32)
    (local $weightI f32) (local $weightSplat v128) (local $keepBase v128) (local $keep v128)
    (local $forwardGradientI v128) (local $readI v128) (local $readGradientI v128) (local $rowSum v128)
    (local $link v128) (local $linkGradientJ v128) (local $prevLink v128) (local $backwardJ v128)
    (local.set $rowBytes (i32.shl (local.get $stride) (i32.const 2)))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $cells)))
        (local.set $iBytes (i32.shl (local.get $i) (i32.const 2)))
        (local.set $prevRow (i32.add (local.get $prevLinks) (i32.mul (local.get $i) (local.get $rowBytes))))
        (local.set $gradientRow (i32.add (local.get $linkGradient) (i32.mul (local.get $i) (local.get $rowBytes))))
        (local.set $weightI (f32.load (i32.add (local.get $writeWeights) (local.get $iBytes))))
        (local.set $weightSplat (f32x4.splat (local.get $weightI)))
        (local.set $keepBase (f32x4.splat (f32.sub (f32.const 1) (local.get $weightI))))
        ;; The new row L[i,·] into scratch, recomputed from the inputs (the forward's is not kept).
        (local.set $j (i32.const 0))
        (block $recomputeDone
          (loop $recompute
            (br_if $recomputeDone (i32.ge_u (local.get $j) (local.get $rowBytes)))
            (v128.store (i32.add (local.get $scratch) (local.get $j))
              (f32x4.add
                (f32x4.mul
                  (f32x4.sub (local.get $keepBase) (v128.load (i32.add (local.get $writeWeights) (local.get $j))))
                  (v128.load (i32.add (local.get $prevRow) (local.get $j))))
                (f32x4.mul (local.get $weightSplat) (v128.load (i32.add (local.get $precedence) (local.get $j))))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $recompute)))
        (f32.store (i32.add (local.get $scratch) (local.get $iBytes)) (f32.const 0))
        ;; Per head: dL[i,j] += df_h[i]·w_r,h[j] + db_h[j]·w_r,h[i]; dw_r,h[j] += df_h[i]·L[i,j];
        ;; dw_r,h[i] += Σ_j db_h[j]·L[i,j].
        (local.set $h (i32.const 0))
        (block $headsDone
          (loop $headLoop
            (br_if $headsDone (i32.ge_u (local.get $h) (local.get $heads)))
            (local.set $readH (i32.add (local.get $prevRead) (i32.mul (local.get $h) (local.get $rowBytes))))
            (local.set $backwardH
              (i32.add (local.get $backwardGradient) (i32.mul (local.get $h) (local.get $rowBytes))))
            (local.set $readGradientH
              (i32.add (local.get $prevReadGradient) (i32.mul (local.get $h) (local.get $rowBytes))))
            (local.set $forwardGradientI
              (f32x4.splat
                (f32.load
                  (i32.add (i32.add (local.get $forwardGradient) (i32.mul (local.get $h) (local.get $rowBytes)))
                    (local.get $iBytes)))))
            (local.set $readI (f32x4.splat (f32.load (i32.add (local.get $readH) (local.get $iBytes)))))
            (local.set $readGradientI (v128.const f32x4 0 0 0 0))
            (local.set $j (i32.const 0))
            (block $headDone
              (loop $head
                (br_if $headDone (i32.ge_u (local.get $j) (local.get $rowBytes)))
                (local.set $link (v128.load (i32.add (local.get $scratch) (local.get $j))))
                (local.set $backwardJ (v128.load (i32.add (local.get $backwardH) (local.get $j))))
                (v128.store (i32.add (local.get $gradientRow) (local.get $j))
                  (f32x4.add (v128.load (i32.add (local.get $gradientRow) (local.get $j)))
                    (f32x4.add
                      (f32x4.mul (local.get $forwardGradientI) (v128.load (i32.add (local.get $readH) (local.get $j))))
                      (f32x4.mul (local.get $backwardJ) (local.get $readI)))))
                (v128.store (i32.add (local.get $readGradientH) (local.get $j))
                  (f32x4.add (v128.load (i32.add (local.get $readGradientH) (local.get $j)))
                    (f32x4.mul (local.get $forwardGradientI) (local.get $link))))
                (local.set $readGradientI
                  (f32x4.add (local.get $readGradientI) (f32x4.mul (local.get $backwardJ) (local.get $link))))
                (local.set $j (i32.add (local.get $j) (i32.const 16)))
                (br $head)))
            (f32.store (i32.add (local.get $readGradientH) (local.get $iBytes))
              (f32.add (f32.load (i32.add (local.get $readGradientH) (local.get $iBytes)))
                (call $horizontalSum (local.get $readGradientI))))
            (local.set $h (i32.add (local.get $h) (i32.const 1)))
            (br $headLoop)))
        ;; The diagonal is constant zero: nothing flows through it.
        (f32.store (i32.add (local.get $gradientRow) (local.get $iBytes)) (f32.const 0))
        ;; Through L[i,j] = (1 − w_w[i] − w_w[j])·L_prev[i,j] + w_w[i]·p[j]:
        ;; dL_prev[i,j] = keep·dL; dw_w[i] += Σ_j dL·(p[j] − L_prev[i,j]); dw_w[j] −= dL·L_prev[i,j];
        ;; dp[j] += dL·w_w[i].
        (local.set $rowSum (v128.const f32x4 0 0 0 0))
        (local.set $j (i32.const 0))
        (block $chainDone
          (loop $chain
            (br_if $chainDone (i32.ge_u (local.get $j) (local.get $rowBytes)))
            (local.set $prevLink (v128.load (i32.add (local.get $prevRow) (local.get $j))))
            (local.set $linkGradientJ (v128.load (i32.add (local.get $gradientRow) (local.get $j))))
            (local.set $keep
              (f32x4.sub (local.get $keepBase) (v128.load (i32.add (local.get $writeWeights) (local.get $j)))))
            (v128.store (i32.add (local.get $gradientRow) (local.get $j))
              (f32x4.mul (local.get $keep) (local.get $linkGradientJ)))
            (local.set $rowSum
              (f32x4.add (local.get $rowSum)
                (f32x4.mul (local.get $linkGradientJ)
                  (f32x4.sub (v128.load (i32.add (local.get $precedence) (local.get $j))) (local.get $prevLink)))))
            (v128.store (i32.add (local.get $writeWeightsGradient) (local.get $j))
              (f32x4.sub (v128.load (i32.add (local.get $writeWeightsGradient) (local.get $j)))
                (f32x4.mul (local.get $linkGradientJ) (local.get $prevLink))))
            (v128.store (i32.add (local.get $precedenceGradient) (local.get $j))
              (f32x4.add (v128.load (i32.add (local.get $precedenceGradient) (local.get $j)))
                (f32x4.mul (local.get $linkGradientJ) (local.get $weightSplat))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $chain)))
        ;; keep·0 is −0 where keep < 0; the diagonal's gradient is +0, as the JavaScript kernel writes it.
        (f32.store (i32.add (local.get $gradientRow) (local.get $iBytes)) (f32.const 0))
        (f32.store (i32.add (local.get $writeWeightsGradient) (local.get $iBytes))
          (f32.add (f32.load (i32.add (local.get $writeWeightsGradient) (local.get $iBytes)))
            (call $horizontalSum (local.get $rowSum))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows)))))
