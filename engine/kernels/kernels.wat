;; Dense-layer kernels in WebAssembly SIMD (f32x4), for nn/wasm_kernels.ts.
;;
;; Layout: row-major f32 matrices in linear memory; every pointer is a byte offset.
;; The two products gather the non-zero entries of their left operand first (most MNIST
;; pixels and many ReLU outputs are exactly 0), then accumulate 16 output columns at a time
;; in four v128 registers (4 rows of b per pass would spill): per gathered entry, one splat,
;; four vector loads and four multiply-adds. Column tails run 4 wide, then scalar.
(module
  (memory (export "memory") 1)

  ;; c[o .. o+n) = Σ_q val[q] · b[idx[q] .. idx[q]+n), idx as byte offsets of b's rows.
  (func $accumulate (param $idx i32) (param $val i32) (param $nnz i32) (param $c i32) (param $n i32)
    (local $j i32) (local $q i32) (local $row i32) (local $s v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $sum f32)
    ;; 16 columns at a time
    (block $done16
      (loop $cols16
        (br_if $done16 (i32.gt_s (i32.add (local.get $j) (i32.const 16)) (local.get $n)))
        (local.set $a0 (v128.const f32x4 0 0 0 0))
        (local.set $a1 (v128.const f32x4 0 0 0 0))
        (local.set $a2 (v128.const f32x4 0 0 0 0))
        (local.set $a3 (v128.const f32x4 0 0 0 0))
        (local.set $q (i32.const 0))
        (block $end
          (loop $rows
            (br_if $end (i32.ge_s (local.get $q) (local.get $nnz)))
            (local.set $s (f32x4.splat (f32.load (i32.add (local.get $val) (i32.shl (local.get $q) (i32.const 2))))))
            (local.set $row
              (i32.add (i32.load (i32.add (local.get $idx) (i32.shl (local.get $q) (i32.const 2))))
                       (i32.shl (local.get $j) (i32.const 2))))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $s) (v128.load offset=0 (local.get $row)))))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $s) (v128.load offset=16 (local.get $row)))))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $s) (v128.load offset=32 (local.get $row)))))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $s) (v128.load offset=48 (local.get $row)))))
            (local.set $q (i32.add (local.get $q) (i32.const 1)))
            (br $rows)))
        (local.set $row (i32.add (local.get $c) (i32.shl (local.get $j) (i32.const 2))))
        (v128.store offset=0 (local.get $row) (local.get $a0))
        (v128.store offset=16 (local.get $row) (local.get $a1))
        (v128.store offset=32 (local.get $row) (local.get $a2))
        (v128.store offset=48 (local.get $row) (local.get $a3))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $cols16)))
    ;; 4 columns at a time
    (block $done4
      (loop $cols4
        (br_if $done4 (i32.gt_s (i32.add (local.get $j) (i32.const 4)) (local.get $n)))
        (local.set $a0 (v128.const f32x4 0 0 0 0))
        (local.set $q (i32.const 0))
        (block $end
          (loop $rows
            (br_if $end (i32.ge_s (local.get $q) (local.get $nnz)))
            (local.set $row
              (i32.add (i32.load (i32.add (local.get $idx) (i32.shl (local.get $q) (i32.const 2))))
                       (i32.shl (local.get $j) (i32.const 2))))
            (local.set $a0
              (f32x4.add (local.get $a0)
                (f32x4.mul (f32x4.splat (f32.load (i32.add (local.get $val) (i32.shl (local.get $q) (i32.const 2)))))
                           (v128.load (local.get $row)))))
            (local.set $q (i32.add (local.get $q) (i32.const 1)))
            (br $rows)))
        (v128.store (i32.add (local.get $c) (i32.shl (local.get $j) (i32.const 2))) (local.get $a0))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $cols4)))
    ;; the last columns one by one
    (block $done1
      (loop $cols1
        (br_if $done1 (i32.ge_s (local.get $j) (local.get $n)))
        (local.set $sum (f32.const 0))
        (local.set $q (i32.const 0))
        (block $end
          (loop $rows
            (br_if $end (i32.ge_s (local.get $q) (local.get $nnz)))
            (local.set $sum
              (f32.add (local.get $sum)
                (f32.mul (f32.load (i32.add (local.get $val) (i32.shl (local.get $q) (i32.const 2))))
                         (f32.load (i32.add (i32.load (i32.add (local.get $idx) (i32.shl (local.get $q) (i32.const 2))))
                                            (i32.shl (local.get $j) (i32.const 2)))))))
            (local.set $q (i32.add (local.get $q) (i32.const 1)))
            (br $rows)))
        (f32.store (i32.add (local.get $c) (i32.shl (local.get $j) (i32.const 2))) (local.get $sum))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $cols1))))

  ;; c[m×n] = a[m×k] · b[k×n]
  (func (export "matmul") (param $a i32) (param $b i32) (param $c i32) (param $m i32) (param $k i32) (param $n i32)
        (param $idx i32) (param $val i32)
    (local $i i32) (local $p i32) (local $nnz i32) (local $v f32) (local $rowA i32)
    (block $done
      (loop $rows
        (br_if $done (i32.ge_s (local.get $i) (local.get $m)))
        (local.set $nnz (i32.const 0))
        (local.set $rowA (i32.add (local.get $a) (i32.shl (i32.mul (local.get $i) (local.get $k)) (i32.const 2))))
        (local.set $p (i32.const 0))
        (block $gathered
          (loop $gather
            (br_if $gathered (i32.ge_s (local.get $p) (local.get $k)))
            (local.set $v (f32.load (i32.add (local.get $rowA) (i32.shl (local.get $p) (i32.const 2)))))
            (if (f32.ne (local.get $v) (f32.const 0))
              (then
                (i32.store (i32.add (local.get $idx) (i32.shl (local.get $nnz) (i32.const 2)))
                  (i32.add (local.get $b) (i32.shl (i32.mul (local.get $p) (local.get $n)) (i32.const 2))))
                (f32.store (i32.add (local.get $val) (i32.shl (local.get $nnz) (i32.const 2))) (local.get $v))
                (local.set $nnz (i32.add (local.get $nnz) (i32.const 1)))))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $gather)))
        (call $accumulate (local.get $idx) (local.get $val) (local.get $nnz)
          (i32.add (local.get $c) (i32.shl (i32.mul (local.get $i) (local.get $n)) (i32.const 2))) (local.get $n))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))

  ;; c[k×n] = aᵀ · b with a[m×k], b[m×n]
  (func (export "matmulTransA") (param $a i32) (param $b i32) (param $c i32) (param $m i32) (param $k i32) (param $n i32)
        (param $idx i32) (param $val i32)
    (local $i i32) (local $p i32) (local $nnz i32) (local $v f32)
    (block $done
      (loop $cols
        (br_if $done (i32.ge_s (local.get $p) (local.get $k)))
        (local.set $nnz (i32.const 0))
        (local.set $i (i32.const 0))
        (block $gathered
          (loop $gather
            (br_if $gathered (i32.ge_s (local.get $i) (local.get $m)))
            (local.set $v (f32.load (i32.add (local.get $a)
              (i32.shl (i32.add (i32.mul (local.get $i) (local.get $k)) (local.get $p)) (i32.const 2)))))
            (if (f32.ne (local.get $v) (f32.const 0))
              (then
                (i32.store (i32.add (local.get $idx) (i32.shl (local.get $nnz) (i32.const 2)))
                  (i32.add (local.get $b) (i32.shl (i32.mul (local.get $i) (local.get $n)) (i32.const 2))))
                (f32.store (i32.add (local.get $val) (i32.shl (local.get $nnz) (i32.const 2))) (local.get $v))
                (local.set $nnz (i32.add (local.get $nnz) (i32.const 1)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $gather)))
        (call $accumulate (local.get $idx) (local.get $val) (local.get $nnz)
          (i32.add (local.get $c) (i32.shl (i32.mul (local.get $p) (local.get $n)) (i32.const 2))) (local.get $n))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $cols))))

  ;; c[m×k] = a[m×n] · bᵀ with b[k×n]: dot products, 4 lanes of j at a time.
  (func (export "matmulTransB") (param $a i32) (param $b i32) (param $c i32) (param $m i32) (param $n i32) (param $k i32)
    (local $i i32) (local $p i32) (local $j i32) (local $rowA i32) (local $rowB i32)
    (local $acc v128) (local $sum f32)
    (block $done
      (loop $rows
        (br_if $done (i32.ge_s (local.get $i) (local.get $m)))
        (local.set $rowA (i32.add (local.get $a) (i32.shl (i32.mul (local.get $i) (local.get $n)) (i32.const 2))))
        (local.set $p (i32.const 0))
        (block $cdone
          (loop $cols
            (br_if $cdone (i32.ge_s (local.get $p) (local.get $k)))
            (local.set $rowB (i32.add (local.get $b) (i32.shl (i32.mul (local.get $p) (local.get $n)) (i32.const 2))))
            (local.set $acc (v128.const f32x4 0 0 0 0))
            (local.set $j (i32.const 0))
            (block $vdone
              (loop $vec
                (br_if $vdone (i32.gt_s (i32.add (local.get $j) (i32.const 4)) (local.get $n)))
                (local.set $acc (f32x4.add (local.get $acc)
                  (f32x4.mul (v128.load (i32.add (local.get $rowA) (i32.shl (local.get $j) (i32.const 2))))
                             (v128.load (i32.add (local.get $rowB) (i32.shl (local.get $j) (i32.const 2)))))))
                (local.set $j (i32.add (local.get $j) (i32.const 4)))
                (br $vec)))
            (local.set $sum (f32.add
              (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
              (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
            (block $sdone
              (loop $scalar
                (br_if $sdone (i32.ge_s (local.get $j) (local.get $n)))
                (local.set $sum (f32.add (local.get $sum)
                  (f32.mul (f32.load (i32.add (local.get $rowA) (i32.shl (local.get $j) (i32.const 2))))
                           (f32.load (i32.add (local.get $rowB) (i32.shl (local.get $j) (i32.const 2)))))))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $scalar)))
            (f32.store (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $k)) (local.get $p)) (i32.const 2)))
              (local.get $sum))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $cols)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))
)
