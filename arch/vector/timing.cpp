#include "arch/vector/timing.h"

#include <algorithm>

#include "arch/vector/vector_op.h"
#include "sim/core/error.h"

namespace llmsim::vector {

namespace {

// c: issue cycles one vector of the pass holds.
std::uint64_t issue_cycles(const VectorTimingParams& p, const VectorPass& pass) {
  return pass.add_mul_ops * p.add_mul_cycles_per_vector + pass.exp_ops * p.exp_cycles_per_vector +
         pass.reciprocal_ops * p.reciprocal_cycles_per_vector;
}

// G: from the last issue of a pass of a row to the first issue of its next pass.
std::uint64_t gap_cycles(const VectorTimingParams& p, const VectorPass& pass) {
  return p.pipeline_depth_cycles + (pass.reduces ? p.reduction_latency_cycles : 0) +
         (pass.scalar_op ? p.scalar_latency_cycles : 0);
}

// T(g): the cycles from the first issue of a group of g rows to the end of its last issue.
std::uint64_t group_cycles(const VectorTimingParams& p, const VectorPlan& plan, std::uint64_t vr,
                           std::uint64_t g) {
  if (g == 0) return 0;
  std::uint64_t s = 0;
  for (std::size_t k = 0; k + 1 < plan.num_passes; ++k) {
    const std::uint64_t i = vr * issue_cycles(p, plan.passes[k]);
    const std::uint64_t next = vr * issue_cycles(p, plan.passes[k + 1]);
    const std::uint64_t stagger = i > next ? (g - 1) * (i - next) : 0;
    s += std::max(g * i, i + gap_cycles(p, plan.passes[k]) + stagger);
  }
  return s + g * vr * issue_cycles(p, plan.passes[plan.num_passes - 1]);
}

}  // namespace

VectorTiming vector_timing(const VectorTimingParams& p, const isa::VectorOp& op) {
  LLMSIM_CHECK(p.lanes >= 1 && p.rows_in_flight >= 1, "vector timing params out of range");
  const VectorPlan plan = vector_plan(op);
  const std::uint64_t elements = op.rows * op.cols;
  VectorTiming t;
  for (std::size_t k = 0; k < plan.num_passes; ++k) {
    const VectorPass& pass = plan.passes[k];
    t.add_mul_element_ops += pass.add_mul_ops * elements;
    t.exp_element_ops += pass.exp_ops * elements;
    t.reciprocal_element_ops += pass.reciprocal_ops * elements + (pass.scalar_op ? op.rows : 0);
  }
  if (!plan.row_wise) {
    const std::uint64_t v = ceil_div(elements, p.lanes);
    t.vectors = v;
    t.cycles = Cycles(v * issue_cycles(p, plan.passes[0]) + p.pipeline_depth_cycles);
    return t;
  }
  const std::uint64_t vr = ceil_div(op.cols, p.lanes);
  const std::uint64_t k = p.rows_in_flight;
  t.vectors = plan.num_passes * op.rows * vr;
  t.cycles = Cycles((op.rows / k) * group_cycles(p, plan, vr, k) +
                    group_cycles(p, plan, vr, op.rows % k) + p.pipeline_depth_cycles);
  return t;
}

}  // namespace llmsim::vector
