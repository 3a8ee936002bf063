;; One whole training step in WebAssembly SIMD, for nn/wasm_trainer.ts: the dense products,
;; the activations, softmax with cross-entropy, the gradients and the optimizers' updates,
;; all on float32 arrays that stay in this module's memory between steps.
;;
;; Layout: row-major f32 matrices; every pointer is a byte offset, 16-byte aligned. Widths
;; of activations and weight rows are padded to a multiple of 4 with zeros (the caller keeps
;; the padding at 0), so every loop here runs whole f32x4 vectors and no lane is left over.
;; Multiply-adds are f32x4.relaxed_madd: one fused instruction where the CPU has FMA.
;;
;; The memory is imported and shared, so that a Worker's instance of this module works on the
;; same arrays: the trainer splits each batch in two halves, one per thread.
(module
  (import "env" "memory" (memory 1 16384 shared))

  ;; exp on four lanes: Cephes' expf. x = k·ln2 + r with |r| ≤ ln2/2 (ln2 split in two so
  ;; k·ln2 is exact), exp(r) from a degree-6 polynomial (about 1 ulp), times 2^k built in the
  ;; exponent bits. x is clamped to [-87.3, 88.3] so 2^k stays a normal float; NaN stays NaN.
  (func $exp (param $x v128) (result v128)
    (local $k v128) (local $r v128) (local $p v128)
    (local.set $x
      (f32x4.min (f32x4.max (local.get $x) (v128.const f32x4 -87.3 -87.3 -87.3 -87.3))
                 (v128.const f32x4 88.3 88.3 88.3 88.3)))
    (local.set $k
      (f32x4.nearest (f32x4.mul (local.get $x) (v128.const f32x4 1.44269504 1.44269504 1.44269504 1.44269504))))
    (local.set $r
      (f32x4.relaxed_nmadd (local.get $k) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375)
                           (local.get $x)))
    (local.set $r
      (f32x4.relaxed_madd (local.get $k) (v128.const f32x4 2.12194440e-4 2.12194440e-4 2.12194440e-4 2.12194440e-4)
                          (local.get $r)))
    (local.set $p (v128.const f32x4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4))
    (local.set $p (f32x4.relaxed_madd (local.get $p) (local.get $r)
                    (v128.const f32x4 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3)))
    (local.set $p (f32x4.relaxed_madd (local.get $p) (local.get $r)
                    (v128.const f32x4 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3)))
    (local.set $p (f32x4.relaxed_madd (local.get $p) (local.get $r)
                    (v128.const f32x4 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2)))
    (local.set $p (f32x4.relaxed_madd (local.get $p) (local.get $r)
                    (v128.const f32x4 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1)))
    (local.set $p (f32x4.relaxed_madd (local.get $p) (local.get $r)
                    (v128.const f32x4 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1)))
    ;; 1 + r + p·r²
    (local.set $p
      (f32x4.add (v128.const f32x4 1 1 1 1)
        (f32x4.relaxed_madd (f32x4.mul (local.get $p) (local.get $r)) (local.get $r) (local.get $r))))
    (f32x4.mul (local.get $p)
      (i32x4.shl (i32x4.add (i32x4.trunc_sat_f32x4_s (local.get $k)) (v128.const i32x4 127 127 127 127))
                 (i32.const 23))))

  ;; The sum of a vector's four lanes.
  (func $hsum (param $v v128) (result f32)
    (local.set $v (f32x4.add (local.get $v)
      (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))
    (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v))))

;; c[0..n) = init[0..n) (zeros when init is 0) + Σ_q val[q]·row(pos[q])[0..n), where row(p)
  ;; starts at byte base + p·rowBytes; n is a multiple of 4. Columns go 32 at a time (eight
  ;; accumulators stay in registers across the gathered rows), then 16, then 4.
  (func $accumulate (param $pos i32) (param $val i32) (param $nnz i32) (param $base i32)
        (param $rowBytes i32) (param $c i32) (param $n i32) (param $init i32)
    (local $j i32) (local $q i32) (local $row i32) (local $s v128) (local $off i32) (local $baseOff i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $a4 v128) (local $a5 v128) (local $a6 v128) (local $a7 v128)
    (block $done32
      (loop $cols32
        (br_if $done32 (i32.gt_s (i32.add (local.get $j) (i32.const 32)) (local.get $n)))
        (local.set $off (i32.shl (local.get $j) (i32.const 2)))
        (local.set $baseOff (i32.add (local.get $base) (local.get $off)))
        (if (local.get $init)
          (then
            (local.set $row (i32.add (local.get $init) (local.get $off)))
            (local.set $a0 (v128.load offset=0 (local.get $row)))
            (local.set $a1 (v128.load offset=16 (local.get $row)))
            (local.set $a2 (v128.load offset=32 (local.get $row)))
            (local.set $a3 (v128.load offset=48 (local.get $row)))
            (local.set $a4 (v128.load offset=64 (local.get $row)))
            (local.set $a5 (v128.load offset=80 (local.get $row)))
            (local.set $a6 (v128.load offset=96 (local.get $row)))
            (local.set $a7 (v128.load offset=112 (local.get $row))))
          (else
            (local.set $a0 (v128.const i32x4 0 0 0 0))
            (local.set $a1 (v128.const i32x4 0 0 0 0))
            (local.set $a2 (v128.const i32x4 0 0 0 0))
            (local.set $a3 (v128.const i32x4 0 0 0 0))
            (local.set $a4 (v128.const i32x4 0 0 0 0))
            (local.set $a5 (v128.const i32x4 0 0 0 0))
            (local.set $a6 (v128.const i32x4 0 0 0 0))
            (local.set $a7 (v128.const i32x4 0 0 0 0))))
        (local.set $q (i32.const 0))
        (block $end
          (loop $rows
            (br_if $end (i32.ge_s (local.get $q) (local.get $nnz)))
            (local.set $s (v128.load32_splat (i32.add (local.get $val) (i32.shl (local.get $q) (i32.const 2)))))
            (local.set $row (i32.add (local.get $baseOff) (i32.mul (i32.load (i32.add (local.get $pos) (i32.shl (local.get $q) (i32.const 2)))) (local.get $rowBytes))))
            (local.set $a0 (f32x4.relaxed_madd (local.get $s) (v128.load offset=0 (local.get $row)) (local.get $a0)))
            (local.set $a1 (f32x4.relaxed_madd (local.get $s) (v128.load offset=16 (local.get $row)) (local.get $a1)))
            (local.set $a2 (f32x4.relaxed_madd (local.get $s) (v128.load offset=32 (local.get $row)) (local.get $a2)))
            (local.set $a3 (f32x4.relaxed_madd (local.get $s) (v128.load offset=48 (local.get $row)) (local.get $a3)))
            (local.set $a4 (f32x4.relaxed_madd (local.get $s) (v128.load offset=64 (local.get $row)) (local.get $a4)))
            (local.set $a5 (f32x4.relaxed_madd (local.get $s) (v128.load offset=80 (local.get $row)) (local.get $a5)))
            (local.set $a6 (f32x4.relaxed_madd (local.get $s) (v128.load offset=96 (local.get $row)) (local.get $a6)))
            (local.set $a7 (f32x4.relaxed_madd (local.get $s) (v128.load offset=112 (local.get $row)) (local.get $a7)))
            (local.set $q (i32.add (local.get $q) (i32.const 1)))
            (br $rows)))
        (local.set $row (i32.add (local.get $c) (local.get $off)))
        (v128.store offset=0 (local.get $row) (local.get $a0))
        (v128.store offset=16 (local.get $row) (local.get $a1))
        (v128.store offset=32 (local.get $row) (local.get $a2))
        (v128.store offset=48 (local.get $row) (local.get $a3))
        (v128.store offset=64 (local.get $row) (local.get $a4))
        (v128.store offset=80 (local.get $row) (local.get $a5))
        (v128.store offset=96 (local.get $row) (local.get $a6))
        (v128.store offset=112 (local.get $row) (local.get $a7))
        (local.set $j (i32.add (local.get $j) (i32.const 32)))
        (br $cols32)))
    (block $done16
      (loop $cols16
        (br_if $done16 (i32.gt_s (i32.add (local.get $j) (i32.const 16)) (local.get $n)))
        (local.set $off (i32.shl (local.get $j) (i32.const 2)))
        (local.set $baseOff (i32.add (local.get $base) (local.get $off)))
        (if (local.get $init)
          (then
            (local.set $row (i32.add (local.get $init) (local.get $off)))
            (local.set $a0 (v128.load offset=0 (local.get $row)))
            (local.set $a1 (v128.load offset=16 (local.get $row)))
            (local.set $a2 (v128.load offset=32 (local.get $row)))
            (local.set $a3 (v128.load offset=48 (local.get $row))))
          (else
            (local.set $a0 (v128.const i32x4 0 0 0 0))
            (local.set $a1 (v128.const i32x4 0 0 0 0))
            (local.set $a2 (v128.const i32x4 0 0 0 0))
            (local.set $a3 (v128.const i32x4 0 0 0 0))))
        (local.set $q (i32.const 0))
        (block $end
          (loop $rows
            (br_if $end (i32.ge_s (local.get $q) (local.get $nnz)))
            (local.set $s (v128.load32_splat (i32.add (local.get $val) (i32.shl (local.get $q) (i32.const 2)))))
            (local.set $row (i32.add (local.get $baseOff) (i32.mul (i32.load (i32.add (local.get $pos) (i32.shl (local.get $q) (i32.const 2)))) (local.get $rowBytes))))
            (local.set $a0 (f32x4.relaxed_madd (local.get $s) (v128.load offset=0 (local.get $row)) (local.get $a0)))
            (local.set $a1 (f32x4.relaxed_madd (local.get $s) (v128.load offset=16 (local.get $row)) (local.get $a1)))
            (local.set $a2 (f32x4.relaxed_madd (local.get $s) (v128.load offset=32 (local.get $row)) (local.get $a2)))
            (local.set $a3 (f32x4.relaxed_madd (local.get $s) (v128.load offset=48 (local.get $row)) (local.get $a3)))
            (local.set $q (i32.add (local.get $q) (i32.const 1)))
            (br $rows)))
        (local.set $row (i32.add (local.get $c) (local.get $off)))
        (v128.store offset=0 (local.get $row) (local.get $a0))
        (v128.store offset=16 (local.get $row) (local.get $a1))
        (v128.store offset=32 (local.get $row) (local.get $a2))
        (v128.store offset=48 (local.get $row) (local.get $a3))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $cols16)))
    (block $done4
      (loop $cols4
        (br_if $done4 (i32.ge_s (local.get $j) (local.get $n)))
        (local.set $off (i32.shl (local.get $j) (i32.const 2)))
        (local.set $baseOff (i32.add (local.get $base) (local.get $off)))
        (local.set $a0
          (if (result v128) (local.get $init)
            (then (v128.load (i32.add (local.get $init) (local.get $off))))
            (else (v128.const i32x4 0 0 0 0))))
        (local.set $q (i32.const 0))
        (block $end
          (loop $rows
            (br_if $end (i32.ge_s (local.get $q) (local.get $nnz)))
            (local.set $a0
              (f32x4.relaxed_madd
                (v128.load32_splat (i32.add (local.get $val) (i32.shl (local.get $q) (i32.const 2))))
                (v128.load (i32.add (local.get $baseOff) (i32.mul (i32.load (i32.add (local.get $pos) (i32.shl (local.get $q) (i32.const 2)))) (local.get $rowBytes))))
                (local.get $a0)))
            (local.set $q (i32.add (local.get $q) (i32.const 1)))
            (br $rows)))
        (v128.store (i32.add (local.get $c) (local.get $off)) (local.get $a0))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $cols4))))

  ;; Copy `count` rows of `bytes` bytes side by side from `out`: row i from base + indices[i]·bytes
  ;; (a batch's held rows, for products that want them dense).
  (func (export "copy_rows") (param $base i32) (param $indices i32) (param $count i32)
        (param $bytes i32) (param $out i32)
    (local $i i32)
    (block $done
      (loop $each
        (br_if $done (i32.ge_s (local.get $i) (local.get $count)))
        (memory.copy
          (i32.add (local.get $out) (i32.mul (local.get $i) (local.get $bytes)))
          (i32.add (local.get $base)
            (i32.mul (i32.load (i32.add (local.get $indices) (i32.shl (local.get $i) (i32.const 2))))
                     (local.get $bytes)))
          (local.get $bytes))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each))))

  ;; `count` copies of the `bytes`-byte row at `row`, side by side from `out` (a bias in every
  ;; row of a batch, for products that add to it).
  (func (export "repeat_row") (param $row i32) (param $bytes i32) (param $count i32) (param $out i32)
    (local $i i32)
    (block $done
      (loop $each
        (br_if $done (i32.ge_s (local.get $i) (local.get $count)))
        (memory.copy (i32.add (local.get $out) (i32.mul (local.get $i) (local.get $bytes)))
                     (local.get $row) (local.get $bytes))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each))))

  ;; Gather the non-zeros of each of `rows` rows of x (nIn floats each): row i's positions and
  ;; values go to pos and val at i·nIn, their count to counts[i]. Four entries are tested with
  ;; one compare, so the long runs of zero pixels cost little, and inside a group the entries
  ;; are written unconditionally and the count advanced by whether they are non-zero: no
  ;; branch to mispredict.
  (func (export "gather_rows") (param $x i32) (param $rows i32) (param $nIn i32) (param $pos i32)
        (param $val i32) (param $counts i32)
    (local $i i32) (local $p i32) (local $nnz i32) (local $v f32) (local $at i32) (local $out i32)
    (local $vals i32)
    (block $done
      (loop $eachRow
        (br_if $done (i32.ge_s (local.get $i) (local.get $rows)))
        (local.set $at (i32.add (local.get $x) (i32.shl (i32.mul (local.get $i) (local.get $nIn)) (i32.const 2))))
        (local.set $out (i32.add (local.get $pos) (i32.shl (i32.mul (local.get $i) (local.get $nIn)) (i32.const 2))))
        (local.set $vals (i32.add (local.get $val) (i32.shl (i32.mul (local.get $i) (local.get $nIn)) (i32.const 2))))
        (local.set $nnz (i32.const 0))
        (local.set $p (i32.const 0))
        (block $doneRow
          (loop $each
            (br_if $doneRow (i32.ge_s (local.get $p) (local.get $nIn)))
            (if (i32.le_s (i32.add (local.get $p) (i32.const 4)) (local.get $nIn))
              (then
                (if (i32.eqz (v128.any_true (f32x4.ne
                      (v128.load (i32.add (local.get $at) (i32.shl (local.get $p) (i32.const 2))))
                      (v128.const i32x4 0 0 0 0))))
                  (then
                    (local.set $p (i32.add (local.get $p) (i32.const 4)))
                    (br $each)))
                (local.set $v (f32.load (i32.add (local.get $at) (i32.shl (local.get $p) (i32.const 2)))))
                (i32.store (i32.add (local.get $out) (i32.shl (local.get $nnz) (i32.const 2))) (local.get $p))
                (f32.store (i32.add (local.get $vals) (i32.shl (local.get $nnz) (i32.const 2))) (local.get $v))
                (local.set $nnz (i32.add (local.get $nnz) (f32.ne (local.get $v) (f32.const 0))))
                (local.set $v (f32.load (i32.add (local.get $at) (i32.shl (i32.add (local.get $p) (i32.const 1)) (i32.const 2)))))
                (i32.store (i32.add (local.get $out) (i32.shl (local.get $nnz) (i32.const 2))) (i32.add (local.get $p) (i32.const 1)))
                (f32.store (i32.add (local.get $vals) (i32.shl (local.get $nnz) (i32.const 2))) (local.get $v))
                (local.set $nnz (i32.add (local.get $nnz) (f32.ne (local.get $v) (f32.const 0))))
                (local.set $v (f32.load (i32.add (local.get $at) (i32.shl (i32.add (local.get $p) (i32.const 2)) (i32.const 2)))))
                (i32.store (i32.add (local.get $out) (i32.shl (local.get $nnz) (i32.const 2))) (i32.add (local.get $p) (i32.const 2)))
                (f32.store (i32.add (local.get $vals) (i32.shl (local.get $nnz) (i32.const 2))) (local.get $v))
                (local.set $nnz (i32.add (local.get $nnz) (f32.ne (local.get $v) (f32.const 0))))
                (local.set $v (f32.load (i32.add (local.get $at) (i32.shl (i32.add (local.get $p) (i32.const 3)) (i32.const 2)))))
                (i32.store (i32.add (local.get $out) (i32.shl (local.get $nnz) (i32.const 2))) (i32.add (local.get $p) (i32.const 3)))
                (f32.store (i32.add (local.get $vals) (i32.shl (local.get $nnz) (i32.const 2))) (local.get $v))
                (local.set $nnz (i32.add (local.get $nnz) (f32.ne (local.get $v) (f32.const 0))))
                (local.set $p (i32.add (local.get $p) (i32.const 4)))
                (br $each)))
            (local.set $v (f32.load (i32.add (local.get $at) (i32.shl (local.get $p) (i32.const 2)))))
            (i32.store (i32.add (local.get $out) (i32.shl (local.get $nnz) (i32.const 2))) (local.get $p))
            (f32.store (i32.add (local.get $vals) (i32.shl (local.get $nnz) (i32.const 2))) (local.get $v))
            (local.set $nnz (i32.add (local.get $nnz) (f32.ne (local.get $v) (f32.const 0))))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $each)))
        (i32.store (i32.add (local.get $counts) (i32.shl (local.get $i) (i32.const 2))) (local.get $nnz))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $eachRow))))

  ;; out[i] = bias + x[i]·w for each of the rows gathered by gather_rows (stride nIn in pos and
  ;; val): w has rows of n floats, out rows n. A zero input costs nothing.
  (func (export "dense_forward") (param $pos i32) (param $val i32) (param $counts i32) (param $rows i32)
        (param $nIn i32) (param $w i32) (param $n i32) (param $bias i32) (param $out i32)
    (local $i i32) (local $bytes i32) (local $list i32)
    (local.set $bytes (i32.shl (local.get $n) (i32.const 2)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_s (local.get $i) (local.get $rows)))
        (local.set $list (i32.shl (i32.mul (local.get $i) (local.get $nIn)) (i32.const 2)))
        (call $accumulate
          (i32.add (local.get $pos) (local.get $list)) (i32.add (local.get $val) (local.get $list))
          (i32.load (i32.add (local.get $counts) (i32.shl (local.get $i) (i32.const 2))))
          (local.get $w) (local.get $bytes)
          (i32.add (local.get $out) (i32.mul (local.get $i) (local.get $bytes))) (local.get $n) (local.get $bias))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each))))

  ;; dW[p] = Σ_i input[i][p]·da[i] for p < nIn, from the input's rows as gather_rows left them:
  ;; they are turned into columns first (a counting sort by position, rows in order), so each
  ;; row of dW is summed in registers and written once. da is rows×n, dW nIn×n. colPos and
  ;; colVal hold rows·nIn entries, starts nIn + 1.
  (func (export "weight_grad") (param $pos i32) (param $val i32) (param $counts i32) (param $rows i32)
        (param $nIn i32) (param $da i32) (param $n i32) (param $dW i32) (param $colPos i32)
        (param $colVal i32) (param $starts i32)
    (local $i i32) (local $q i32) (local $p i32) (local $count i32) (local $list i32) (local $slot i32)
    (local $at i32) (local $start i32) (local $bytes i32) (local $sum i32) (local $c i32)
    (local.set $bytes (i32.shl (local.get $n) (i32.const 2)))
    (memory.fill (local.get $starts) (i32.const 0) (i32.shl (i32.add (local.get $nIn) (i32.const 1)) (i32.const 2)))
    ;; counts per position, at starts[p + 1]
    (block $doneCount
      (loop $eachRow
        (br_if $doneCount (i32.ge_s (local.get $i) (local.get $rows)))
        (local.set $list (i32.add (local.get $pos) (i32.shl (i32.mul (local.get $i) (local.get $nIn)) (i32.const 2))))
        (local.set $count (i32.load (i32.add (local.get $counts) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $q (i32.const 0))
        (block $doneRow
          (loop $each
            (br_if $doneRow (i32.ge_s (local.get $q) (local.get $count)))
            (local.set $at (i32.add (local.get $starts)
              (i32.shl (i32.add (i32.load (i32.add (local.get $list) (i32.shl (local.get $q) (i32.const 2)))) (i32.const 1))
                       (i32.const 2))))
            (i32.store (local.get $at) (i32.add (i32.load (local.get $at)) (i32.const 1)))
            (local.set $q (i32.add (local.get $q) (i32.const 1)))
            (br $each)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $eachRow)))
    ;; prefix sums: starts[p] = first slot of position p
    (local.set $p (i32.const 1))
    (block $donePrefix
      (loop $each
        (br_if $donePrefix (i32.gt_s (local.get $p) (local.get $nIn)))
        (local.set $at (i32.add (local.get $starts) (i32.shl (local.get $p) (i32.const 2))))
        (i32.store (local.get $at) (i32.add (i32.load (local.get $at)) (i32.load offset=0 (i32.sub (local.get $at) (i32.const 4)))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $each)))
    ;; place each entry; starts[p] advances to the end of position p's slots
    (local.set $i (i32.const 0))
    (block $donePlace
      (loop $eachRow
        (br_if $donePlace (i32.ge_s (local.get $i) (local.get $rows)))
        (local.set $list (i32.shl (i32.mul (local.get $i) (local.get $nIn)) (i32.const 2)))
        (local.set $count (i32.load (i32.add (local.get $counts) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $q (i32.const 0))
        (block $doneRow
          (loop $each
            (br_if $doneRow (i32.ge_s (local.get $q) (local.get $count)))
            (local.set $at (i32.add (local.get $list) (i32.shl (local.get $q) (i32.const 2))))
            (local.set $c (i32.add (local.get $starts)
              (i32.shl (i32.load (i32.add (local.get $pos) (local.get $at))) (i32.const 2))))
            (local.set $slot (i32.load (local.get $c)))
            (i32.store (local.get $c) (i32.add (local.get $slot) (i32.const 1)))
            (i32.store (i32.add (local.get $colPos) (i32.shl (local.get $slot) (i32.const 2))) (local.get $i))
            (f32.store (i32.add (local.get $colVal) (i32.shl (local.get $slot) (i32.const 2)))
              (f32.load (i32.add (local.get $val) (local.get $at))))
            (local.set $q (i32.add (local.get $q) (i32.const 1)))
            (br $each)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $eachRow)))
    ;; each row of dW: position p's entries are slots [end of p - 1, end of p)
    (local.set $p (i32.const 0))
    (local.set $start (i32.const 0))
    (block $doneSum
      (loop $each
        (br_if $doneSum (i32.ge_s (local.get $p) (local.get $nIn)))
        (local.set $sum (i32.load (i32.add (local.get $starts) (i32.shl (local.get $p) (i32.const 2)))))
        (call $accumulate
          (i32.add (local.get $colPos) (i32.shl (local.get $start) (i32.const 2)))
          (i32.add (local.get $colVal) (i32.shl (local.get $start) (i32.const 2)))
          (i32.sub (local.get $sum) (local.get $start))
          (local.get $da) (local.get $bytes)
          (i32.add (local.get $dW) (i32.mul (local.get $p) (local.get $bytes))) (local.get $n) (i32.const 0))
        (local.set $start (local.get $sum))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $each))))

    ;; dz[i][p] = Σ_k da[i][k]·w[p][k]: da is rows×n, w is nIn×n, dz rows×nIn (n and nIn multiples
  ;; of 4). Four rows of w at a time share each load of da; the four sums are reduced together.
  (func (export "input_grad") (param $da i32) (param $rows i32) (param $n i32) (param $w i32)
        (param $nIn i32) (param $dz i32)
    (local $i i32) (local $p i32) (local $k i32) (local $bytes i32) (local $rowDa i32) (local $w0 i32)
    (local $d v128) (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $t0 v128)
    (local $t1 v128)
    (local.set $bytes (i32.shl (local.get $n) (i32.const 2)))
    (block $doneRows
      (loop $eachRow
        (br_if $doneRows (i32.ge_s (local.get $i) (local.get $rows)))
        (local.set $rowDa (i32.add (local.get $da) (i32.mul (local.get $i) (local.get $bytes))))
        (local.set $p (i32.const 0))
        (block $doneCols
          (loop $eachCol
            (br_if $doneCols (i32.ge_s (local.get $p) (local.get $nIn)))
            (local.set $w0 (i32.add (local.get $w) (i32.mul (local.get $p) (local.get $bytes))))
            (local.set $a0 (v128.const i32x4 0 0 0 0))
            (local.set $a1 (v128.const i32x4 0 0 0 0))
            (local.set $a2 (v128.const i32x4 0 0 0 0))
            (local.set $a3 (v128.const i32x4 0 0 0 0))
            (local.set $k (i32.const 0))
            (block $doneK
              (loop $eachK
                (br_if $doneK (i32.ge_s (local.get $k) (local.get $bytes)))
                (local.set $d (v128.load (i32.add (local.get $rowDa) (local.get $k))))
                (local.set $a0 (f32x4.relaxed_madd (local.get $d)
                  (v128.load (i32.add (local.get $w0) (local.get $k))) (local.get $a0)))
                (local.set $a1 (f32x4.relaxed_madd (local.get $d)
                  (v128.load (i32.add (i32.add (local.get $w0) (local.get $bytes)) (local.get $k))) (local.get $a1)))
                (local.set $a2 (f32x4.relaxed_madd (local.get $d)
                  (v128.load (i32.add (i32.add (local.get $w0) (i32.shl (local.get $bytes) (i32.const 1))) (local.get $k)))
                  (local.get $a2)))
                (local.set $a3 (f32x4.relaxed_madd (local.get $d)
                  (v128.load (i32.add (i32.add (local.get $w0) (i32.mul (local.get $bytes) (i32.const 3))) (local.get $k)))
                  (local.get $a3)))
                (local.set $k (i32.add (local.get $k) (i32.const 16)))
                (br $eachK)))
            ;; [Σa0, Σa1, Σa2, Σa3] by two rounds of pairwise shuffles
            (local.set $t0 (f32x4.add
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $a0) (local.get $a1))
              (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $a0) (local.get $a1))))
            (local.set $t1 (f32x4.add
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $a2) (local.get $a3))
              (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $a2) (local.get $a3))))
            (v128.store
              (i32.add (local.get $dz) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $nIn)) (local.get $p)) (i32.const 2)))
              (f32x4.add
                (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $t0) (local.get $t1))
                (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $t0) (local.get $t1))))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (br $eachCol)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $eachRow))))

  ;; h = f(a) on `count` floats. kind: 0 sigmoid, 1 ReLU, 2 tanh, 3 step. As in the float64
  ;; kernels, ReLU and step map NaN to 0 (a comparison, not max).
  (func (export "activate") (param $kind i32) (param $a i32) (param $h i32) (param $count i32)
    (local $at i32) (local $end i32) (local $v v128) (local $t v128)
    (local.set $end (i32.shl (local.get $count) (i32.const 2)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_s (local.get $at) (local.get $end)))
        (local.set $v (v128.load (i32.add (local.get $a) (local.get $at))))
        (v128.store (i32.add (local.get $h) (local.get $at))
          (block $value (result v128)
            (if (i32.eqz (local.get $kind))
              (then
                ;; 1/(1 + exp(-a)): exp saturates at the clamp, so no overflow either way
                (br $value (f32x4.div (v128.const f32x4 1 1 1 1)
                  (f32x4.add (v128.const f32x4 1 1 1 1) (call $exp (f32x4.neg (local.get $v))))))))
            (if (i32.eq (local.get $kind) (i32.const 1))
              (then (br $value (v128.and (local.get $v) (f32x4.gt (local.get $v) (v128.const i32x4 0 0 0 0))))))
            (if (i32.eq (local.get $kind) (i32.const 2))
              (then
                ;; tanh(a) = sign(a)·(1 - t)/(1 + t) with t = exp(-2|a|) ≤ 1: no overflow
                (local.set $t (call $exp (f32x4.mul (f32x4.abs (local.get $v)) (v128.const f32x4 -2 -2 -2 -2))))
                (br $value
                  (v128.bitselect
                    (local.get $v)
                    (f32x4.div (f32x4.sub (v128.const f32x4 1 1 1 1) (local.get $t))
                               (f32x4.add (v128.const f32x4 1 1 1 1) (local.get $t)))
                    (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000)))))
            (v128.and (v128.const f32x4 1 1 1 1) (f32x4.gt (local.get $v) (v128.const i32x4 0 0 0 0)))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $each))))

  ;; da = dz·f'(a), with h = f(a) before dropout. kind as in activate.
  (func (export "activate_backward") (param $kind i32) (param $a i32) (param $h i32) (param $dz i32)
        (param $da i32) (param $count i32)
    (local $at i32) (local $end i32) (local $v v128) (local $d v128)
    (local.set $end (i32.shl (local.get $count) (i32.const 2)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_s (local.get $at) (local.get $end)))
        (local.set $d (v128.load (i32.add (local.get $dz) (local.get $at))))
        (local.set $v (v128.load (i32.add (local.get $h) (local.get $at))))
        (v128.store (i32.add (local.get $da) (local.get $at))
          (block $value (result v128)
            (if (i32.eqz (local.get $kind))
              (then (br $value (f32x4.mul (f32x4.mul (local.get $d) (local.get $v))
                                          (f32x4.sub (v128.const f32x4 1 1 1 1) (local.get $v))))))
            (if (i32.eq (local.get $kind) (i32.const 1))
              (then (br $value (v128.and (local.get $d)
                (f32x4.gt (v128.load (i32.add (local.get $a) (local.get $at))) (v128.const i32x4 0 0 0 0))))))
            (if (i32.eq (local.get $kind) (i32.const 2))
              (then (br $value (f32x4.mul (local.get $d)
                (f32x4.relaxed_nmadd (local.get $v) (local.get $v) (v128.const f32x4 1 1 1 1))))))
            (v128.const i32x4 0 0 0 0)))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $each))))

  ;; out = a·b element-wise on `count` floats (dropout masks).
  (func (export "multiply") (param $a i32) (param $b i32) (param $out i32) (param $count i32)
    (local $at i32) (local $end i32)
    (local.set $end (i32.shl (local.get $count) (i32.const 2)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_s (local.get $at) (local.get $end)))
        (v128.store (i32.add (local.get $out) (local.get $at))
          (f32x4.mul (v128.load (i32.add (local.get $a) (local.get $at)))
                     (v128.load (i32.add (local.get $b) (local.get $at)))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $each))))

  ;; Zero columns from..stride of each row (the padding, where an activation made it non-zero).
  (func (export "clear_columns") (param $z i32) (param $rows i32) (param $from i32) (param $stride i32)
    (local $i i32) (local $j i32)
    (block $done
      (loop $each
        (br_if $done (i32.ge_s (local.get $i) (local.get $rows)))
        (local.set $j (local.get $from))
        (block $doneRow
          (loop $eachCol
            (br_if $doneRow (i32.ge_s (local.get $j) (local.get $stride)))
            (f32.store (i32.add (local.get $z)
              (i32.shl (i32.add (i32.mul (local.get $i) (local.get $stride)) (local.get $j)) (i32.const 2)))
              (f32.const 0))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $eachCol)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each))))

  ;; Softmax with cross-entropy against integer labels, and its gradient. Per row of a (n
  ;; outputs, stride floats): y = softmax(a) over the n real columns (the max subtracted first
  ;; so exp cannot overflow); picked[i] = y[label]; and, for the loss -Σ log(y_t + 1e-7)·scale
  ;; exactly as defined (1e-7 included), da_k = g·y_k·([k = t] - y_t) with g = -scale/(y_t + 1e-7).
  (func (export "softmax_cross_entropy") (param $a i32) (param $rows i32) (param $n i32)
        (param $stride i32) (param $labels i32) (param $picked i32) (param $da i32) (param $scale f32)
    (local $i i32) (local $k i32) (local $row i32) (local $out i32) (local $max f32) (local $sum v128)
    (local $e v128) (local $t i32) (local $s f32) (local $yt f32) (local $g f32) (local $c v128)
    (local $bytes i32)
    (local.set $bytes (i32.shl (local.get $stride) (i32.const 2)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_s (local.get $i) (local.get $rows)))
        (local.set $row (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $bytes))))
        (local.set $out (i32.add (local.get $da) (i32.mul (local.get $i) (local.get $bytes))))
        (local.set $max (f32.load (local.get $row)))
        (local.set $k (i32.const 1))
        (block $doneMax
          (loop $eachMax
            (br_if $doneMax (i32.ge_s (local.get $k) (local.get $n)))
            (local.set $max (f32.max (local.get $max)
              (f32.load (i32.add (local.get $row) (i32.shl (local.get $k) (i32.const 2))))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $eachMax)))
        ;; exponentials into da (padding lanes masked to 0), and their sum
        (local.set $sum (v128.const i32x4 0 0 0 0))
        (local.set $k (i32.const 0))
        (block $doneExp
          (loop $eachExp
            (br_if $doneExp (i32.ge_s (local.get $k) (local.get $stride)))
            (local.set $e
              (v128.and
                (call $exp (f32x4.sub (v128.load (i32.add (local.get $row) (i32.shl (local.get $k) (i32.const 2))))
                                      (f32x4.splat (local.get $max))))
                (i32x4.lt_s (i32x4.add (i32x4.splat (local.get $k)) (v128.const i32x4 0 1 2 3))
                            (i32x4.splat (local.get $n)))))
            (v128.store (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 2))) (local.get $e))
            (local.set $sum (f32x4.add (local.get $sum) (local.get $e)))
            (local.set $k (i32.add (local.get $k) (i32.const 4)))
            (br $eachExp)))
        (local.set $s (call $hsum (local.get $sum)))
        (local.set $t (i32.load (i32.add (local.get $labels) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $yt (f32.div (f32.load (i32.add (local.get $out) (i32.shl (local.get $t) (i32.const 2))))
                                (local.get $s)))
        (f32.store (i32.add (local.get $picked) (i32.shl (local.get $i) (i32.const 2))) (local.get $yt))
        (local.set $g (f32.div (f32.neg (local.get $scale)) (f32.add (local.get $yt) (f32.const 1e-7))))
        ;; da_k = e_k·(-g·y_t/s), then the label's own g·y_t
        (local.set $c (f32x4.splat (f32.div (f32.mul (f32.neg (local.get $g)) (local.get $yt)) (local.get $s))))
        (local.set $k (i32.const 0))
        (block $doneGrad
          (loop $eachGrad
            (br_if $doneGrad (i32.ge_s (local.get $k) (local.get $stride)))
            (v128.store (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 2)))
              (f32x4.mul (v128.load (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 2)))) (local.get $c)))
            (local.set $k (i32.add (local.get $k) (i32.const 4)))
            (br $eachGrad)))
        (local.set $k (i32.add (local.get $out) (i32.shl (local.get $t) (i32.const 2))))
        (f32.store (local.get $k) (f32.add (f32.load (local.get $k)) (f32.mul (local.get $g) (local.get $yt))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each))))

  ;; out[0..n) = Σ_i a[i][0..n) (bias gradients); n a multiple of 4.
  (func (export "sum_rows") (param $a i32) (param $rows i32) (param $n i32) (param $out i32)
    (local $i i32) (local $k i32) (local $bytes i32) (local $s v128)
    (local.set $bytes (i32.shl (local.get $n) (i32.const 2)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_s (local.get $k) (local.get $bytes)))
        (local.set $s (v128.const i32x4 0 0 0 0))
        (local.set $i (i32.const 0))
        (block $doneRows
          (loop $eachRow
            (br_if $doneRows (i32.ge_s (local.get $i) (local.get $rows)))
            (local.set $s (f32x4.add (local.get $s)
              (v128.load (i32.add (local.get $a) (i32.add (i32.mul (local.get $i) (local.get $bytes)) (local.get $k))))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $eachRow)))
        (v128.store (i32.add (local.get $out) (local.get $k)) (local.get $s))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $each))))

  ;; y += alpha·x on `count` floats (weight decay: dW += λ·W).
  (func (export "axpy") (param $y i32) (param $x i32) (param $count i32) (param $alpha f32)
    (local $at i32) (local $end i32) (local $a v128)
    (local.set $a (f32x4.splat (local.get $alpha)))
    (local.set $end (i32.shl (local.get $count) (i32.const 2)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_s (local.get $at) (local.get $end)))
        (v128.store (i32.add (local.get $y) (local.get $at))
          (f32x4.relaxed_madd (local.get $a) (v128.load (i32.add (local.get $x) (local.get $at)))
                              (v128.load (i32.add (local.get $y) (local.get $at)))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $each))))

  ;; Σ x² over `count` floats (the gradient's norm, for clipping).
  (func (export "sum_squares") (param $x i32) (param $count i32) (result f32)
    (local $at i32) (local $end i32) (local $s v128) (local $v v128)
    (local.set $end (i32.shl (local.get $count) (i32.const 2)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_s (local.get $at) (local.get $end)))
        (local.set $v (v128.load (i32.add (local.get $x) (local.get $at))))
        (local.set $s (f32x4.relaxed_madd (local.get $v) (local.get $v) (local.get $s)))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $each)))
    (call $hsum (local.get $s)))

  ;; x *= factor on `count` floats.
  (func (export "scale") (param $x i32) (param $count i32) (param $factor f32)
    (local $at i32) (local $end i32) (local $f v128)
    (local.set $f (f32x4.splat (local.get $factor)))
    (local.set $end (i32.shl (local.get $count) (i32.const 2)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_s (local.get $at) (local.get $end)))
        (v128.store (i32.add (local.get $x) (local.get $at))
          (f32x4.mul (v128.load (i32.add (local.get $x) (local.get $at))) (local.get $f)))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $each))))

  ;; 1 when any of `count` floats is NaN or ±Infinity (x·0 is NaN exactly then), else 0.
  (func (export "non_finite") (param $x i32) (param $count i32) (result i32)
    (local $at i32) (local $end i32) (local $s v128)
    (local.set $end (i32.shl (local.get $count) (i32.const 2)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_s (local.get $at) (local.get $end)))
        (local.set $s (f32x4.add (local.get $s)
          (f32x4.mul (v128.load (i32.add (local.get $x) (local.get $at))) (v128.const i32x4 0 0 0 0))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $each)))
    (v128.any_true (f32x4.ne (local.get $s) (local.get $s))))

  ;; The optimizers of nn/optimizers.ts over `count` parameters p with gradients g.
  ;; SGD: p -= lr·g
  (func (export "sgd") (param $p i32) (param $g i32) (param $count i32) (param $lr f32)
    (local $at i32) (local $end i32) (local $r v128)
    (local.set $r (f32x4.splat (local.get $lr)))
    (local.set $end (i32.shl (local.get $count) (i32.const 2)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_s (local.get $at) (local.get $end)))
        (v128.store (i32.add (local.get $p) (local.get $at))
          (f32x4.relaxed_nmadd (local.get $r) (v128.load (i32.add (local.get $g) (local.get $at)))
                               (v128.load (i32.add (local.get $p) (local.get $at)))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $each))))

  ;; Momentum: v = μ·v - lr·g; p += v
  (func (export "momentum") (param $p i32) (param $g i32) (param $v i32) (param $count i32)
        (param $lr f32) (param $mu f32)
    (local $at i32) (local $end i32) (local $r v128) (local $m v128) (local $nv v128)
    (local.set $r (f32x4.splat (local.get $lr)))
    (local.set $m (f32x4.splat (local.get $mu)))
    (local.set $end (i32.shl (local.get $count) (i32.const 2)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_s (local.get $at) (local.get $end)))
        (local.set $nv
          (f32x4.relaxed_nmadd (local.get $r) (v128.load (i32.add (local.get $g) (local.get $at)))
            (f32x4.mul (local.get $m) (v128.load (i32.add (local.get $v) (local.get $at))))))
        (v128.store (i32.add (local.get $v) (local.get $at)) (local.get $nv))
        (v128.store (i32.add (local.get $p) (local.get $at))
          (f32x4.add (v128.load (i32.add (local.get $p) (local.get $at))) (local.get $nv)))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $each))))

  ;; AdaGrad: h += g²; p -= lr·g/(√h + 1e-7)
  (func (export "adagrad") (param $p i32) (param $g i32) (param $h i32) (param $count i32) (param $lr f32)
    (local $at i32) (local $end i32) (local $r v128) (local $gv v128) (local $hv v128)
    (local.set $r (f32x4.splat (local.get $lr)))
    (local.set $end (i32.shl (local.get $count) (i32.const 2)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_s (local.get $at) (local.get $end)))
        (local.set $gv (v128.load (i32.add (local.get $g) (local.get $at))))
        (local.set $hv (f32x4.relaxed_madd (local.get $gv) (local.get $gv) (v128.load (i32.add (local.get $h) (local.get $at)))))
        (v128.store (i32.add (local.get $h) (local.get $at)) (local.get $hv))
        (v128.store (i32.add (local.get $p) (local.get $at))
          (f32x4.sub (v128.load (i32.add (local.get $p) (local.get $at)))
            (f32x4.div (f32x4.mul (local.get $r) (local.get $gv))
                       (f32x4.add (f32x4.sqrt (local.get $hv)) (v128.const f32x4 1e-7 1e-7 1e-7 1e-7)))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $each))))

  ;; Adam as the book writes it: m += (1-β1)(g - m); v += (1-β2)(g² - v); p -= lrT·m/(√v + 1e-7),
  ;; lrT carrying the bias corrections.
  (func (export "adam") (param $p i32) (param $g i32) (param $m i32) (param $v i32) (param $count i32)
        (param $lrT f32) (param $beta1 f32) (param $beta2 f32)
    (local $at i32) (local $end i32) (local $r v128) (local $c1 v128) (local $c2 v128) (local $gv v128)
    (local $mv v128) (local $vv v128)
    (local.set $r (f32x4.splat (local.get $lrT)))
    (local.set $c1 (f32x4.splat (f32.sub (f32.const 1) (local.get $beta1))))
    (local.set $c2 (f32x4.splat (f32.sub (f32.const 1) (local.get $beta2))))
    (local.set $end (i32.shl (local.get $count) (i32.const 2)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_s (local.get $at) (local.get $end)))
        (local.set $gv (v128.load (i32.add (local.get $g) (local.get $at))))
        (local.set $mv (v128.load (i32.add (local.get $m) (local.get $at))))
        (local.set $vv (v128.load (i32.add (local.get $v) (local.get $at))))
        (local.set $mv (f32x4.relaxed_madd (local.get $c1) (f32x4.sub (local.get $gv) (local.get $mv)) (local.get $mv)))
        (local.set $vv (f32x4.relaxed_madd (local.get $c2)
          (f32x4.sub (f32x4.mul (local.get $gv) (local.get $gv)) (local.get $vv)) (local.get $vv)))
        (v128.store (i32.add (local.get $m) (local.get $at)) (local.get $mv))
        (v128.store (i32.add (local.get $v) (local.get $at)) (local.get $vv))
        (v128.store (i32.add (local.get $p) (local.get $at))
          (f32x4.sub (v128.load (i32.add (local.get $p) (local.get $at)))
            (f32x4.div (f32x4.mul (local.get $r) (local.get $mv))
                       (f32x4.add (f32x4.sqrt (local.get $vv)) (v128.const f32x4 1e-7 1e-7 1e-7 1e-7)))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $each))))
)
