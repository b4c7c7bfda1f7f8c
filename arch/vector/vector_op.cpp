#include "arch/vector/vector_op.h"

#include <string>

#include "arch/isa/dump.h"
#include "sim/core/error.h"

namespace llmsim::vector {

namespace {

using isa::VectorKind;

VectorPass element_pass(std::uint32_t add_mul, std::uint32_t exp = 0, std::uint32_t recip = 0) {
  VectorPass p;
  p.add_mul_ops = add_mul;
  p.exp_ops = exp;
  p.reciprocal_ops = recip;
  p.reads_src = true;
  p.writes_dst = true;
  return p;
}

// A pass of a row-wise kind: `add_mul` / `exp` ops per vector, reads src unless `from_dst`.
VectorPass row_pass(std::uint32_t add_mul, std::uint32_t exp, bool reduces, bool scalar_op,
                    bool from_dst, bool writes_dst) {
  VectorPass p;
  p.add_mul_ops = add_mul;
  p.exp_ops = exp;
  p.reduces = reduces;
  p.scalar_op = scalar_op;
  p.reads_src = !from_dst;
  p.reads_dst = from_dst;
  p.writes_dst = writes_dst;
  return p;
}

bool good_width(std::uint32_t b) {
  return b == 1 || b == 2 || b == 4;
}

}  // namespace

VectorPlan vector_plan(const isa::VectorOp& op) {
  VectorPlan plan;
  auto one = [&plan](VectorPass p) {
    plan.passes[0] = p;
    plan.num_passes = 1;
  };
  switch (op.kind) {
    case VectorKind::copy:
    case VectorKind::scale:
    case VectorKind::relu:
      one(element_pass(1));
      break;
    case VectorKind::add:
    case VectorKind::mul:
      one(element_pass(1));
      plan.reads_src2 = true;
      break;
    case VectorKind::mask:
    case VectorKind::quantize:
    case VectorKind::dequantize:
      one(element_pass(2));
      break;
    case VectorKind::rope:
      one(element_pass(3));
      plan.reads_src2 = true;
      break;
    case VectorKind::silu:
      one(element_pass(2, 1, 1));
      break;
    case VectorKind::tanh:  // 2 / (1 + exp(-2x)) - 1: the doubling, exp, add, reciprocal, the
      one(element_pass(3, 1, 1));  // final multiply-add
      break;
    case VectorKind::gelu:
      one(element_pass(5, 1, 1));
      break;
    case VectorKind::softmax:
      plan.row_wise = true;
      plan.passes = {row_pass(1, 0, true, false, false, false),  // max
                     row_pass(1, 1, true, true, false, true),    // exp(x - max) -> dst, sum
                     row_pass(1, 0, false, false, true, true)};  // dst * (1 / sum)
      plan.num_passes = 3;
      break;
    case VectorKind::layernorm: {
      const std::uint32_t affine = op.src2_rows > 0 ? 1 : 0;
      plan.row_wise = true;
      plan.passes = {row_pass(1, 0, true, false, false, false),            // sum -> mean
                     row_pass(2, 0, true, true, false, false),             // (x - mean)^2
                     row_pass(2 + affine, 0, false, false, false, true)};  // normalise
      plan.num_passes = 3;
      plan.reads_src2 = affine > 0;
      break;
    }
    case VectorKind::rmsnorm: {
      const std::uint32_t affine = op.src2_rows > 0 ? 1 : 0;
      plan.row_wise = true;
      plan.passes[0] = row_pass(1, 0, true, true, false, false);            // x^2 -> rsqrt
      plan.passes[1] = row_pass(1 + affine, 0, false, false, false, true);  // normalise
      plan.num_passes = 2;
      plan.reads_src2 = affine > 0;
      break;
    }
  }
  LLMSIM_CHECK(plan.num_passes > 0, "vector kind without a plan");
  return plan;
}

void check_vector_op(const isa::VectorOp& op) {
  auto fail = [&op](const std::string& what) {
    throw WorkloadError(isa::to_string(isa::Instruction{op, -1}) + ": " + what);
  };
  if (op.rows == 0 || op.cols == 0) fail("rows and cols must be at least 1");
  if (!good_width(op.src.elem_bytes) || !good_width(op.dst.elem_bytes)) {
    fail("element widths must be 1, 2 or 4 bytes, got src " + std::to_string(op.src.elem_bytes) +
         " and dst " + std::to_string(op.dst.elem_bytes));
  }
  const auto s2 = op.src2_rows;
  switch (op.kind) {
    case VectorKind::add:
    case VectorKind::mul:
    case VectorKind::rope:
      if (s2 == 0 || op.rows % s2 != 0) {
        fail("src2_rows must divide rows (" + std::to_string(op.rows) + "), got " +
             std::to_string(s2));
      }
      break;
    case VectorKind::layernorm:
      if (s2 != 0 && s2 != 2)
        fail("src2_rows must be 0 or 2 (gamma, beta), got " + std::to_string(s2));
      break;
    case VectorKind::rmsnorm:
      if (s2 > 1) fail("src2_rows must be 0 or 1 (gamma), got " + std::to_string(s2));
      break;
    default:
      if (s2 != 0) fail("takes no second source, got src2_rows " + std::to_string(s2));
      break;
  }
  if (s2 > 0 && !good_width(op.src2.elem_bytes)) {
    fail("element widths must be 1, 2 or 4 bytes, got src2 " + std::to_string(op.src2.elem_bytes));
  }
  if (op.kind == VectorKind::rope && op.cols % 2 != 0) {
    fail("cols must be even (pairs), got " + std::to_string(op.cols));
  }
  if (op.kind == VectorKind::quantize && op.dst.elem_bytes != 1) {
    fail("dst must be int8 (elem_bytes 1), got elem_bytes " + std::to_string(op.dst.elem_bytes));
  }
  if (op.kind == VectorKind::dequantize && op.src.elem_bytes == 2) {
    fail("src must be int8 or int32 (elem_bytes 1 or 4), got elem_bytes 2");
  }
  if (op.kind == VectorKind::mask &&
      (op.mask.rows_per_query == 0 || op.rows % op.mask.rows_per_query != 0)) {
    fail("mask.rows_per_query must divide rows (" + std::to_string(op.rows) + "), got " +
         std::to_string(op.mask.rows_per_query));
  }
}

}  // namespace llmsim::vector
