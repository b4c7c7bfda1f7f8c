#pragma once
// Closed-form latency of one VectorOp on the vector / special-function unit.
//
// The machine. L = `lanes` ALUs work on a vector of up to L elements. One vector issues at a
// time, and every micro-op of its pass (vector_op.h) is chained on it, so it holds the issue
// slot for
//     c = n_a a + n_e e + n_r r   cycles,
// where n_a, n_e, n_r are the pass's micro-ops per vector by class and a, e, r the classes'
// cycles per vector (add_mul_, exp_, reciprocal_cycles_per_vector: the inverse throughput of
// add/sub/mul/max/convert, exp, and reciprocal/rsqrt). Summing the classes is ONNXim's vector
// model (PSAL-POSTECH/ONNXim src/SystolicWS.cc, get_vector_compute_cycles:
// vec_op_iter * (add_latency + exp_latency + mul_latency)). The result of a vector issued in
// the cycles [t, t + c) is written D = pipeline_depth_cycles later, at t + c + D.
// Reductions (row max, row sum) run in a comparator/adder tree behind the lanes that takes one
// vector per cycle: no issue cycles, but a row's statistic is ready R = reduction_latency_cycles
// after the row's last result. A scalar reciprocal or rsqrt of it (1/sum, 1/sqrt(var + eps))
// takes S = scalar_latency_cycles more. So pass p + 1 of a row may start
//     G_p = D + R (+ S if pass p ends in a scalar op)   cycles
// after the last vector of pass p of that row has issued.
//
// Element-wise kinds. The rows * cols elements are independent and dense: V = ceil(rows * cols
// / L) vectors issue back to back, and the last result is written D cycles after the last
// issue:
//     cycles = V c + D.
//
// Row-wise kinds (softmax, layernorm, rmsnorm). A row never shares a vector with another row
// (the reduction needs the row's boundary), so each pass of a row issues Vr = ceil(cols / L)
// vectors, taking I_p = Vr c_p cycles. To hide G_p the unit interleaves rows: it holds the
// statistics of K = rows_in_flight rows (Gemmini's Normalizer keeps several rows' statistics in
// flight the same way, ucb-bar/gemmini Normalizer.scala `num_stats`), so it takes the rows K
// at a time and, within such a group of g rows, runs pass 1 of every row, then pass 2 of every
// row, and so on. The schedule is static (as a VLIW compiler would lay it out): pass p + 1 of
// the group starts at the first cycle from which all g rows can issue back to back without any
// row issuing before its statistic is ready. Row i of pass p issues in
// [s_p + i I_p, s_p + (i+1) I_p), so its statistic is ready at s_p + (i+1) I_p + G_p, and row i
// of pass p + 1 issues at s_{p+1} + i I_{p+1}. Both bounds are linear in i, so the binding row
// is the first (I_{p+1} >= I_p) or the last (I_{p+1} < I_p):
//     s_1 = 0
//     s_{p+1} = s_p + max(g I_p, I_p + G_p + (g - 1) max(0, I_p - I_{p+1}))
//     T(g) = s_P + g I_P                              (the group's last issue ends)
// The next group's pass 1 follows at once (it depends on nothing of this group), so with
// rows = qK + m:
//     cycles = q T(K) + T(m) + D,    T(0) = 0.
// K = 1 processes rows one by one with every G_p exposed: T(1) = sum I_p + sum_{p<P} G_p.
//
// Not modelled here: SRAM bandwidth. VectorUnit (vector_unit.h) streams every pass's operands
// through the bank ports, and an op ends when both its compute and its SRAM traffic are done.
#include <cstdint>

#include "arch/isa/isa.h"
#include "sim/core/units.h"

namespace llmsim::vector {

struct VectorTimingParams {
  std::uint64_t lanes = 1;                         // L
  std::uint64_t pipeline_depth_cycles = 0;         // D
  std::uint64_t add_mul_cycles_per_vector = 1;     // a
  std::uint64_t exp_cycles_per_vector = 1;         // e
  std::uint64_t reciprocal_cycles_per_vector = 1;  // r
  std::uint64_t reduction_latency_cycles = 0;      // R
  std::uint64_t scalar_latency_cycles = 0;         // S
  std::uint64_t rows_in_flight = 1;                // K
};

struct VectorTiming {
  Cycles cycles;              // compute latency, formula above
  std::uint64_t vectors = 0;  // vector issues over all passes
  // Element operations by cost class, for energy: micro-ops x elements (idle lanes do not
  // count) plus one reciprocal-class op per scalar op per row.
  std::uint64_t add_mul_element_ops = 0;
  std::uint64_t exp_element_ops = 0;
  std::uint64_t reciprocal_element_ops = 0;
};

// `op` must have passed check_vector_op (vector_op.h).
VectorTiming vector_timing(const VectorTimingParams& p, const isa::VectorOp& op);

}  // namespace llmsim::vector
