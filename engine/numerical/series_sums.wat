;; The sparse sums of the numerical gradient's series (engine/numerical/series_sums.ts), f64x2.
;;
;; Per sample s, the series row holds one (ℓ₁, ℓ₃) pair per unit; every non-zero input i of s
;; adds (x, x³) ⊙ that row to its own sums row, and the bias row adds the series row itself.
;; A pair is one v128, so each (sample, input, unit) is one multiply and one add: the same two
;; float64 roundings as the JavaScript loop, hence the same bits. No relaxed or fused
;; multiply-add: those round differently from one CPU to the next.
;;
;; Layout (byte offsets): series f64[rows][pairs×2]; index i32[rows][stride] (input numbers);
;; value f64[rows][stride] (their values); count i32[rows]; sums f64[inputs][pairs×2];
;; bias f64[pairs×2].
(module
  (memory (export "memory") 1)

  (func (export "seriesSums")
    (param $series i32) (param $index i32) (param $value i32) (param $count i32)
    (param $rows i32) (param $stride i32) (param $pairs i32) (param $sums i32) (param $bias i32)
    (local $s i32) (local $q i32) (local $n i32) (local $k i32) (local $from i32) (local $to i32)
    (local $rowBytes i32) (local $at i32) (local $c f64) (local $cc v128)
    (local.set $rowBytes (i32.shl (local.get $pairs) (i32.const 4)))
    (block $samplesDone
      (loop $samples
        (br_if $samplesDone (i32.ge_s (local.get $s) (local.get $rows)))
        (local.set $from (i32.add (local.get $series) (i32.mul (local.get $s) (local.get $rowBytes))))
        ;; The bias: bias += series row.
        (local.set $k (i32.const 0))
        (block $biasDone
          (loop $biasPairs
            (br_if $biasDone (i32.ge_s (local.get $k) (local.get $rowBytes)))
            (v128.store (i32.add (local.get $bias) (local.get $k))
              (f64x2.add (v128.load (i32.add (local.get $bias) (local.get $k)))
                         (v128.load (i32.add (local.get $from) (local.get $k)))))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br $biasPairs)))
        (local.set $n (i32.load (i32.add (local.get $count) (i32.shl (local.get $s) (i32.const 2)))))
        (local.set $at (i32.mul (local.get $s) (local.get $stride)))
        (local.set $q (i32.const 0))
        (block $inputsDone
          (loop $inputs
            (br_if $inputsDone (i32.ge_s (local.get $q) (local.get $n)))
            (local.set $c (f64.load (i32.add (local.get $value) (i32.shl (local.get $at) (i32.const 3)))))
            (local.set $cc
              (f64x2.replace_lane 1 (f64x2.splat (local.get $c))
                (f64.mul (f64.mul (local.get $c) (local.get $c)) (local.get $c))))
            (local.set $to
              (i32.add (local.get $sums)
                (i32.mul (i32.load (i32.add (local.get $index) (i32.shl (local.get $at) (i32.const 2))))
                         (local.get $rowBytes))))
            (local.set $k (i32.const 0))
            ;; Four pairs (eight doubles) at a time, then one.
            (block $quadsDone
              (loop $quads
                (br_if $quadsDone (i32.gt_s (i32.add (local.get $k) (i32.const 64)) (local.get $rowBytes)))
                (v128.store offset=0 (i32.add (local.get $to) (local.get $k))
                  (f64x2.add (v128.load offset=0 (i32.add (local.get $to) (local.get $k)))
                    (f64x2.mul (local.get $cc) (v128.load offset=0 (i32.add (local.get $from) (local.get $k))))))
                (v128.store offset=16 (i32.add (local.get $to) (local.get $k))
                  (f64x2.add (v128.load offset=16 (i32.add (local.get $to) (local.get $k)))
                    (f64x2.mul (local.get $cc) (v128.load offset=16 (i32.add (local.get $from) (local.get $k))))))
                (v128.store offset=32 (i32.add (local.get $to) (local.get $k))
                  (f64x2.add (v128.load offset=32 (i32.add (local.get $to) (local.get $k)))
                    (f64x2.mul (local.get $cc) (v128.load offset=32 (i32.add (local.get $from) (local.get $k))))))
                (v128.store offset=48 (i32.add (local.get $to) (local.get $k))
                  (f64x2.add (v128.load offset=48 (i32.add (local.get $to) (local.get $k)))
                    (f64x2.mul (local.get $cc) (v128.load offset=48 (i32.add (local.get $from) (local.get $k))))))
                (local.set $k (i32.add (local.get $k) (i32.const 64)))
                (br $quads)))
            (block $pairsDone
              (loop $rest
                (br_if $pairsDone (i32.ge_s (local.get $k) (local.get $rowBytes)))
                (v128.store (i32.add (local.get $to) (local.get $k))
                  (f64x2.add (v128.load (i32.add (local.get $to) (local.get $k)))
                    (f64x2.mul (local.get $cc) (v128.load (i32.add (local.get $from) (local.get $k))))))
                (local.set $k (i32.add (local.get $k) (i32.const 16)))
                (br $rest)))
            (local.set $q (i32.add (local.get $q) (i32.const 1)))
            (local.set $at (i32.add (local.get $at) (i32.const 1)))
            (br $inputs)))
        (local.set $s (i32.add (local.get $s) (i32.const 1)))
        (br $samples)))))
