#pragma once
// What the vector unit does for each VectorOp kind: the passes it makes over the data, the
// micro-ops each pass chains on every vector, and the SRAM traffic. The cost of a pass comes
// from timing.h; this file only says what work there is.
//
// A pass streams the block (element-wise kinds: all rows * cols elements; row-wise kinds: each
// row) through the lanes once. Micro-ops per vector of a pass, by cost class:
//
//   kind        pass  add/mul  exp  recip  reduces  then        reads         writes
//   copy        1     1        .    .      .        .           src           dst
//   add, mul    1     1        .    .      .        .           src, src2     dst
//   scale       1     1        .    .      .        .           src           dst
//   relu        1     1        .    .      .        .           src           dst
//   mask        1     2        .    .      .        .           src           dst
//   quantize    1     2        .    .      .        .           src           dst
//   dequantize  1     2        .    .      .        .           src           dst
//   rope        1     3        .    .      .        .           src, src2     dst
//   silu        1     2        1    1      .        .           src           dst
//   tanh        1     3        1    1      .        .           src           dst
//   gelu        1     5        1    1      .        .           src           dst
//   softmax     1     1        .    .      max      .           src           .
//               2     1        1    .      sum      1/sum       src           dst
//               3     1        .    .      .        .           dst           dst
//   layernorm   1     1        .    .      sum      .           src (+src2)   .
//               2     2        .    .      sum      rsqrt       src           .
//               3     2 (+1)   .    .      .        .           src           dst
//   rmsnorm     1     1        .    .      sum      rsqrt       src (+src2)   .
//               2     1 (+1)   .    .      .        .           src           dst
//
// Where the counts come from (one add/mul-class op per operation; a fused multiply-add is one):
//  - copy converts; add, mul, scale and relu are one operation; the reduction passes spend one
//    op feeding (and for max, comparing) each element into the reduction tree.
//  - mask compares each lane's key position with its row's query position and selects -inf
//    (two ops, as a vector compare and a merge). quantize multiplies then rounds and saturates
//    to int8; dequantize converts then multiplies.
//  - rope: x cos (1), then a multiply-add of the pair partner by -sin or +sin (1), plus one op
//    that brings each element's partner into its lane (1): a lane permutation for adjacent
//    pairs, a swap between the two halves' vectors for halves.
//  - silu = x / (1 + exp(-x)): exp, one add, one reciprocal, one multiply.
//  - tanh = 2 / (1 + exp(-2x)) - 1: the doubling, exp, one add, one reciprocal, and the final
//    multiply-add (2 x r - 1): 3 add/mul.
//  - gelu, tanh approximation: 0.5 x (1 + tanh(z)) = x sigmoid(2z) exactly, with
//    2z = x (k1 + k2 x^2): x^2, the multiply-add, the multiply by x (3), then the sigmoid as
//    in silu (exp, add, reciprocal) and the final multiply by x (2 more): 5 add/mul.
//  - softmax keeps exp(x - max) in dst between passes 2 and 3 (max; subtract and exp; multiply
//    by 1/sum), as the issue text describes it.
//  - layernorm is two-pass for its statistics (mean, then the sum of (x - mean)^2), as
//    Gemmini's Normalizer (ucb-bar/gemmini src/main/scala/gemmini/Normalizer.scala) computes
//    them; the mean's 1/cols is a constant multiply in the tree's last stage. Its last pass is
//    (x - mean) and * inv_std (2), + 1 for the affine gamma * y + beta (a multiply-add) when
//    src2_rows = 2. rmsnorm: x^2 into the tree; then x * inv_rms, + 1 for * gamma.
//  - "then": a scalar reciprocal or reciprocal square root of the row's statistic, needed
//    before the next pass of that row (timing.h).
// src2 (broadcast rows, gamma, beta) is read once per op; the unit holds it while it needs it.
#include <array>
#include <cstddef>
#include <cstdint>

#include "arch/isa/isa.h"

namespace llmsim::vector {

struct VectorPass {
  std::uint32_t add_mul_ops = 0;  // micro-ops per vector, by cost class
  std::uint32_t exp_ops = 0;
  std::uint32_t reciprocal_ops = 0;
  bool reduces = false;    // ends in a row reduction (max or sum)
  bool scalar_op = false;  // the reduction is followed by a scalar reciprocal / rsqrt
  bool reads_src = false;
  bool reads_dst = false;
  bool writes_dst = false;
};

struct VectorPlan {
  bool row_wise = false;  // passes go row by row (and depend on each other) rather than packed
  std::array<VectorPass, 3> passes{};
  std::size_t num_passes = 0;
  bool reads_src2 = false;  // src2 (src2_rows x cols) read once
};

// The passes of `op`, which must have passed check_vector_op.
VectorPlan vector_plan(const isa::VectorOp& op);

// Throws WorkloadError, naming the instruction, if `op` breaks a rule of arch/isa/isa.h:
// zero rows or cols, an element width other than 1, 2 or 4 bytes, a src2_rows the kind does
// not take, an odd cols for rope, a quantize whose dst is not 1 byte wide, a dequantize whose
// src is not 1 or 4 bytes wide, or a mask whose rows_per_query does not divide rows.
void check_vector_op(const isa::VectorOp& op);

}  // namespace llmsim::vector
