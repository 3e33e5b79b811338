;; The LSTM cell's gate math (Hochreiter & Schmidhuber 1997; the DNC paper's controller) and its analytic backward in
;; float32 WebAssembly SIMD, four values per instruction: the same equations as the JavaScript loops of
;; fused-lstm-cell.ts (its header), which the tests hold this module to. `lstm-cell-simd.ts` lays the arrays out in
;; this module's memory and calls it.
;;
;; Layout (byte offsets are arguments): the gate pre-activations and their gradient are [batch, 4·H] rows in PyTorch's
;; block order i, f, g, o, as tfjs holds them; inside the module the four gates are planes of [batch·H] values each
;; (`planeBytes` apart), so that every loop runs over one flat run of batch·H values with no row structure. Each run
;; and plane is padded to whole vectors (`lstm-cell-simd.ts` rounds every region up to four floats): a loop computes
;; the padding lanes too, from whatever they hold, and nothing reads them. V8 (Node 20) inlines no wasm calls, which
;; cost about as much as the arithmetic here, so the loops call nothing.
;;
;; σ and tanh come from one vectorised exp: exp(x) = 2ⁿ·p(r) with n = round(x·log₂e) (rounded by adding 1.5·2²³), r = x − n·ln 2 (ln 2 split in a
;; short high part, so n·ln2Hi is exact, and a low correction) and p the Taylor polynomial of degree 7, whose
;; truncation error on |r| ≤ ln 2 / 2 is 5e-9 relative, under float32's rounding. The argument is clamped to
;; [−87, 88] first, so that 2ⁿ stays a normal float: large inputs saturate (σ(±100) is 1 or ~1e-38, tanh ±1), never
;; Inf or NaN. tanh(x) = sign(x)·(1 − e)/(1 + e) with e = exp(−2|x|) cancels near 0, so below |x| = 0.4 it is the odd
;; Taylor series through x¹³ instead (truncation 2e-9 there).
;;
;; Build: `npm run build:wasm` assembles this file into lstm-cell-wasm.ts (committed); a test checks they agree.
(module
  (memory (export "memory") 1)

  ;; `vectors`·16 bytes from `from` to `to`, each value through σ (`tanh` 0) or tanh (`tanh` 1); in place is fine.
  (func $activate (param $from i32) (param $to i32) (param $vectors i32) (param $tanh i32)
    (local $end i32) (local $x v128) (local $magnitude v128) (local $square v128) (local $argument v128)
    (local $shifted v128) (local $n v128) (local $r v128) (local $e v128) (local $series v128) (local $ratio v128)
    (local.set $end (i32.add (local.get $from) (i32.shl (local.get $vectors) (i32.const 4))))
    (block $done
      (loop $run
        (br_if $done (i32.ge_u (local.get $from) (local.get $end)))
        (local.set $x (v128.load (local.get $from)))
        (local.set $magnitude (f32x4.abs (local.get $x)))
        ;; e = exp(−x) for σ, exp(−2|x|) for tanh; the argument clamped to [−87, 88].
        (local.set $argument
          (f32x4.max (v128.const f32x4 -87 -87 -87 -87)
            (f32x4.min (v128.const f32x4 88 88 88 88)
              (select (result v128)
                (f32x4.mul (local.get $magnitude) (v128.const f32x4 -2 -2 -2 -2))
                (f32x4.neg (local.get $x))
                (local.get $tanh)))))
        ;; Adding 1.5·2²³ rounds argument·log₂e to the nearest integer n, kept in the low bits of `shifted`.
        (local.set $shifted (f32x4.add (f32x4.mul (local.get $argument)
          (v128.const f32x4 1.44269504 1.44269504 1.44269504 1.44269504))
          (v128.const f32x4 12582912 12582912 12582912 12582912)))
        (local.set $n (f32x4.sub (local.get $shifted) (v128.const f32x4 12582912 12582912 12582912 12582912)))
        ;; ln 2 = 0.693359375 − 2.12194440e-4 (the first has 9 significant bits: n·it is exact for |n| ≤ 127).
        (local.set $r (f32x4.sub
          (f32x4.sub (local.get $argument)
            (f32x4.mul (local.get $n) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375)))
          (f32x4.mul (local.get $n) (v128.const f32x4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4))))
        (local.set $e (f32x4.mul
          ;; 1 + r + r²/2! + … + r⁷/7!, in Horner form.
          (f32x4.add (v128.const f32x4 1 1 1 1) (f32x4.mul (local.get $r)
          (f32x4.add (v128.const f32x4 1 1 1 1) (f32x4.mul (local.get $r)
          (f32x4.add (v128.const f32x4 0.5 0.5 0.5 0.5) (f32x4.mul (local.get $r)
          (f32x4.add (v128.const f32x4 0.16666667 0.16666667 0.16666667 0.16666667) (f32x4.mul (local.get $r)
          (f32x4.add (v128.const f32x4 0.041666668 0.041666668 0.041666668 0.041666668) (f32x4.mul (local.get $r)
          (f32x4.add (v128.const f32x4 0.008333334 0.008333334 0.008333334 0.008333334) (f32x4.mul (local.get $r)
          (f32x4.add (v128.const f32x4 0.0013888889 0.0013888889 0.0013888889 0.0013888889) (f32x4.mul (local.get $r)
            (v128.const f32x4 0.0001984127 0.0001984127 0.0001984127 0.0001984127)))))))))))))))
          ;; 2ⁿ: n + 127 (in [1, 254] after the clamp) in the exponent bits; the shift drops 1.5·2²³'s own bits.
          (i32x4.shl (i32x4.add (local.get $shifted) (v128.const i32x4 127 127 127 127)) (i32.const 23))))
        (if (local.get $tanh)
          (then
            (local.set $square (f32x4.mul (local.get $magnitude) (local.get $magnitude)))
            ;; |x|·(1 − x²/3 + 2x⁴/15 − 17x⁶/315 + 62x⁸/2835 − 1382x¹⁰/155925 + 21844x¹²/6081075).
            (local.set $series (f32x4.mul (local.get $magnitude)
              (f32x4.add (v128.const f32x4 1 1 1 1) (f32x4.mul (local.get $square)
              (f32x4.add (v128.const f32x4 -0.33333333 -0.33333333 -0.33333333 -0.33333333)
                (f32x4.mul (local.get $square)
              (f32x4.add (v128.const f32x4 0.13333333 0.13333333 0.13333333 0.13333333) (f32x4.mul (local.get $square)
              (f32x4.add (v128.const f32x4 -0.053968254 -0.053968254 -0.053968254 -0.053968254)
                (f32x4.mul (local.get $square)
              (f32x4.add (v128.const f32x4 0.021869489 0.021869489 0.021869489 0.021869489)
                (f32x4.mul (local.get $square)
              (f32x4.add (v128.const f32x4 -0.0088632355 -0.0088632355 -0.0088632355 -0.0088632355)
                (f32x4.mul (local.get $square)
                  (v128.const f32x4 0.0035921280 0.0035921280 0.0035921280 0.0035921280)))))))))))))))
            (local.set $ratio (f32x4.div (f32x4.sub (v128.const f32x4 1 1 1 1) (local.get $e))
              (f32x4.add (v128.const f32x4 1 1 1 1) (local.get $e))))
            ;; The magnitude (sign bit clear) with x's sign bit.
            (v128.store (local.get $to)
              (v128.or
                (v128.bitselect (local.get $series) (local.get $ratio)
                  (f32x4.lt (local.get $magnitude) (v128.const f32x4 0.4 0.4 0.4 0.4)))
                (v128.and (local.get $x) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000)))))
          (else
            (v128.store (local.get $to)
              (f32x4.div (v128.const f32x4 1 1 1 1) (f32x4.add (v128.const f32x4 1 1 1 1) (local.get $e))))))
        (local.set $from (i32.add (local.get $from) (i32.const 16)))
        (local.set $to (i32.add (local.get $to) (i32.const 16)))
        (br $run))))

  ;; Copies between the gate rows [batch, 4·H] at `rows` and four planes [batch·H] at `planes`, `planeBytes` apart:
  ;; rows to planes when `toPlanes`, else back.
  (func $shuffleGates (param $rows i32) (param $planes i32) (param $planeBytes i32) (param $batch i32)
    (param $size i32) (param $toPlanes i32)
    (local $blockBytes i32) (local $b i32) (local $j i32) (local $row i32) (local $plane i32)
    (local.set $blockBytes (i32.shl (local.get $size) (i32.const 2)))
    (block $rowsDone
      (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $b) (local.get $batch)))
        (local.set $j (i32.const 0))
        (block $gatesDone
          (loop $gateLoop
            (br_if $gatesDone (i32.ge_u (local.get $j) (i32.const 4)))
            (local.set $row (i32.add (local.get $rows)
              (i32.mul (i32.add (i32.shl (local.get $b) (i32.const 2)) (local.get $j)) (local.get $blockBytes))))
            (local.set $plane (i32.add (i32.add (local.get $planes) (i32.mul (local.get $j) (local.get $planeBytes)))
              (i32.mul (local.get $b) (local.get $blockBytes))))
            (if (local.get $toPlanes)
              (then (memory.copy (local.get $plane) (local.get $row) (local.get $blockBytes)))
              (else (memory.copy (local.get $row) (local.get $plane) (local.get $blockBytes))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $gateLoop)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $rowLoop))))

  ;; One cell step forward: gate pre-activations `gates` [batch, 4H] and c `prevCell` [batch·H] in; σ(i), σ(f),
  ;; tanh(g), σ(o) into the four planes at `activated`, tanh(c') into `cellTanh`, h' into `hidden`, c' into `cell`
  ;; (each [batch·H]) out. `planeBytes` is a plane's size rounded up to whole vectors.
  (func (export "cellForward")
    (param $gates i32) (param $prevCell i32) (param $activated i32) (param $cellTanh i32) (param $hidden i32)
    (param $cell i32) (param $batch i32) (param $size i32) (param $planeBytes i32)
    (local $vectors i32) (local $at i32) (local $end i32) (local $newCell v128)
    (local.set $vectors (i32.shr_u (local.get $planeBytes) (i32.const 4)))
    (call $shuffleGates (local.get $gates) (local.get $activated) (local.get $planeBytes) (local.get $batch)
      (local.get $size) (i32.const 1))
    (call $activate (local.get $activated) (local.get $activated) (i32.mul (local.get $vectors) (i32.const 2))
      (i32.const 0))
    (local.set $at (i32.add (local.get $activated) (i32.shl (local.get $planeBytes) (i32.const 1))))
    (call $activate (local.get $at) (local.get $at) (local.get $vectors) (i32.const 1))
    (local.set $at (i32.add (local.get $at) (local.get $planeBytes)))
    (call $activate (local.get $at) (local.get $at) (local.get $vectors) (i32.const 0))
    ;; c' = σ(f)·c + σ(i)·tanh(g).
    (local.set $at (i32.const 0))
    (block $cellsDone
      (loop $cells
        (br_if $cellsDone (i32.ge_u (local.get $at) (local.get $planeBytes)))
        (v128.store (i32.add (local.get $cell) (local.get $at))
          (f32x4.add
            (f32x4.mul (v128.load (i32.add (i32.add (local.get $activated) (local.get $planeBytes)) (local.get $at)))
              (v128.load (i32.add (local.get $prevCell) (local.get $at))))
            (f32x4.mul (v128.load (i32.add (local.get $activated) (local.get $at)))
              (v128.load (i32.add (i32.add (local.get $activated) (i32.shl (local.get $planeBytes) (i32.const 1)))
                (local.get $at))))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $cells)))
    (call $activate (local.get $cell) (local.get $cellTanh) (local.get $vectors) (i32.const 1))
    ;; h' = σ(o)·tanh(c').
    (local.set $at (i32.const 0))
    (block $hiddenDone
      (loop $hiddenLoop
        (br_if $hiddenDone (i32.ge_u (local.get $at) (local.get $planeBytes)))
        (v128.store (i32.add (local.get $hidden) (local.get $at))
          (f32x4.mul (v128.load (i32.add (local.get $cellTanh) (local.get $at)))
            (v128.load (i32.add (i32.add (local.get $activated) (i32.mul (local.get $planeBytes) (i32.const 3)))
              (local.get $at)))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $hiddenLoop))))

  ;; One cell step backward: the saved planes `activated`, `cellTanh` and `prevCell` and dLoss/dh' `hiddenGradient`,
  ;; dLoss/dc' `cellGradient` in; dLoss/d gates into `gateGradient` [batch, 4H] (through four planes at
  ;; `gatePlanes`) and dLoss/dc into `prevCellGradient` [batch·H] out (assigned).
  (func (export "cellBackward")
    (param $activated i32) (param $cellTanh i32) (param $prevCell i32) (param $hiddenGradient i32)
    (param $cellGradient i32) (param $gatePlanes i32) (param $gateGradient i32) (param $prevCellGradient i32)
    (param $batch i32) (param $size i32) (param $planeBytes i32)
    (local $at i32) (local $inputGate v128) (local $forgetGate v128) (local $candidate v128) (local $outputGate v128)
    (local $squashed v128) (local $dHidden v128) (local $dCell v128) (local $gate i32) (local $gradient i32)
    (block $done
      (loop $units
        (br_if $done (i32.ge_u (local.get $at) (local.get $planeBytes)))
        (local.set $gate (i32.add (local.get $activated) (local.get $at)))
        (local.set $inputGate (v128.load (local.get $gate)))
        (local.set $gate (i32.add (local.get $gate) (local.get $planeBytes)))
        (local.set $forgetGate (v128.load (local.get $gate)))
        (local.set $gate (i32.add (local.get $gate) (local.get $planeBytes)))
        (local.set $candidate (v128.load (local.get $gate)))
        (local.set $gate (i32.add (local.get $gate) (local.get $planeBytes)))
        (local.set $outputGate (v128.load (local.get $gate)))
        (local.set $squashed (v128.load (i32.add (local.get $cellTanh) (local.get $at))))
        (local.set $dHidden (v128.load (i32.add (local.get $hiddenGradient) (local.get $at))))
        ;; dc_total = dc' + dh'·σ(o)·(1 − tanh²(c')).
        (local.set $dCell
          (f32x4.add (v128.load (i32.add (local.get $cellGradient) (local.get $at)))
            (f32x4.mul (f32x4.mul (local.get $dHidden) (local.get $outputGate))
              (f32x4.sub (v128.const f32x4 1 1 1 1) (f32x4.mul (local.get $squashed) (local.get $squashed))))))
        (local.set $gradient (i32.add (local.get $gatePlanes) (local.get $at)))
        ;; di = dc_total·tanh(g)·σ(i)(1 − σ(i)).
        (v128.store (local.get $gradient)
          (f32x4.mul (f32x4.mul (f32x4.mul (local.get $dCell) (local.get $candidate)) (local.get $inputGate))
            (f32x4.sub (v128.const f32x4 1 1 1 1) (local.get $inputGate))))
        (local.set $gradient (i32.add (local.get $gradient) (local.get $planeBytes)))
        ;; df = dc_total·c·σ(f)(1 − σ(f)).
        (v128.store (local.get $gradient)
          (f32x4.mul
            (f32x4.mul
              (f32x4.mul (local.get $dCell) (v128.load (i32.add (local.get $prevCell) (local.get $at))))
              (local.get $forgetGate))
            (f32x4.sub (v128.const f32x4 1 1 1 1) (local.get $forgetGate))))
        (local.set $gradient (i32.add (local.get $gradient) (local.get $planeBytes)))
        ;; dg = dc_total·σ(i)·(1 − tanh²(g)).
        (v128.store (local.get $gradient)
          (f32x4.mul (f32x4.mul (local.get $dCell) (local.get $inputGate))
            (f32x4.sub (v128.const f32x4 1 1 1 1) (f32x4.mul (local.get $candidate) (local.get $candidate)))))
        (local.set $gradient (i32.add (local.get $gradient) (local.get $planeBytes)))
        ;; do = dh'·tanh(c')·σ(o)(1 − σ(o)).
        (v128.store (local.get $gradient)
          (f32x4.mul (f32x4.mul (f32x4.mul (local.get $dHidden) (local.get $squashed)) (local.get $outputGate))
            (f32x4.sub (v128.const f32x4 1 1 1 1) (local.get $outputGate))))
        ;; dc = dc_total·σ(f).
        (v128.store (i32.add (local.get $prevCellGradient) (local.get $at))
          (f32x4.mul (local.get $dCell) (local.get $forgetGate)))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $units)))
    (call $shuffleGates (local.get $gateGradient) (local.get $gatePlanes) (local.get $planeBytes) (local.get $batch)
      (local.get $size) (i32.const 0)))
)
