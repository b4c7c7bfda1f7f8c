// Vector kinds that convert (quantize, dequantize, copy), the compute dtype's rounding on the
// way in, operands in either SRAM, in-place ops, and the ops value mode rejects.
#include <cmath>
#include <cstdint>
#include <vector>

#include <catch2/catch.hpp>

#include "arch/values/semantics.h"
#include "sim/core/error.h"
#include "tests/values/value_helpers.h"

namespace llmsim::values {
namespace {

using isa::VectorKind;
using test::get;
using test::get_int32;
using test::put;
using test::put_int32;
using test::run_vector;
using test::vector_op;

isa::VectorOperand spad_at(std::uint64_t addr, Format f) {
  return {isa::Sram::scratchpad, addr, width_bytes(f)};
}

TEST_CASE("quantize: saturate(round_half_even(x * scalar)) into int8", "[values]") {
  // x * 2 = [0.5, 1.5, 2.5, -2.5, 200, -200, 127.5, 0.2] -> [0, 2, 2, -2, 127, -128, 127, 0].
  SramImage spad(256), acc(16);
  isa::VectorOp op = vector_op(VectorKind::quantize, 1, 8);
  op.scalar = 2.0;
  op.src = spad_at(0, Format::fp32);
  op.dst = spad_at(128, Format::int8);
  put(spad, 0, Format::fp32, {0.25f, 0.75f, 1.25f, -1.25f, 100, -100, 63.75f, 0.1f});
  vector(op, Format::fp32, Format::fp32, Format::int8, spad, acc);
  CHECK(get(spad, 128, Format::int8, 8) == std::vector<float>{0, 2, 2, -2, 127, -128, 127, 0});
}

TEST_CASE("dequantize: x * scalar from int8 or int32", "[values]") {
  SramImage spad(256), acc(64);
  isa::VectorOp op = vector_op(VectorKind::dequantize, 1, 3);
  op.scalar = 0.5;
  op.src = spad_at(0, Format::int8);
  op.dst = spad_at(64, Format::fp32);
  put(spad, 0, Format::int8, {-128, 1, 127});
  vector(op, Format::int8, Format::int8, Format::fp32, spad, acc);
  CHECK(get(spad, 64, Format::fp32, 3) == std::vector<float>{-64, 0.5f, 63.5f});
  // int32 accumulators in the accumulator SRAM, bf16 out: [100000, -3] * 0.25 = [25000, -0.75];
  // 25000 = 0x46c35000 rounds to the bf16 0x46c3 = 24960 (the dropped 0x5000 < half).
  op.cols = 2;
  op.scalar = 0.25;
  op.src = {isa::Sram::accumulator, 16, 4};
  op.dst = spad_at(128, Format::bf16);
  put_int32(acc, 16, {100000, -3});
  vector(op, Format::int32, Format::int32, Format::bf16, spad, acc);
  CHECK(get(spad, 128, Format::bf16, 2) == std::vector<float>{24960, -0.75f});
}

TEST_CASE("copy converts src to dst's format", "[values]") {
  SramImage spad(256), acc(64);
  isa::VectorOp op = vector_op(VectorKind::copy, 1, 2);
  // fp32 accumulator -> bf16: 1 + 3 * 2^-8 ties up to 1 + 2^-6; 1 + 2^-9 rounds down to 1.
  op.src = {isa::Sram::accumulator, 0, 4};
  op.dst = spad_at(0, Format::bf16);
  put(acc, 0, Format::fp32, {1.0f + 3 * std::ldexp(1.0f, -8), 1.0f + std::ldexp(1.0f, -9)});
  vector(op, Format::fp32, Format::fp32, Format::bf16, spad, acc);
  CHECK(get(spad, 0, Format::bf16, 2) == std::vector<float>{1.015625f, 1.0f});
  // int32 -> fp32 through the fp32 lanes: 2^24 + 1 rounds to 2^24.
  put_int32(acc, 0, {16777217, -7});
  op.dst = spad_at(64, Format::fp32);
  vector(op, Format::int32, Format::int32, Format::fp32, spad, acc);
  CHECK(get(spad, 64, Format::fp32, 2) == std::vector<float>{16777216.0f, -7});
}

TEST_CASE("a fp16 or bf16 compute dtype rounds each input on the way in", "[values]") {
  // A copy fp32 -> fp32 through bf16 lanes loses 2^-9 (below half an ulp of 1 in bf16), through
  // fp16 lanes 2^-12, through fp32 lanes nothing. Then a bf16 add: 1 + 2^-9 and 2^-9 are
  // rounded to 1 and 2^-9 first, so the sum (in fp32) is 1 + 2^-9, not 1 + 2^-8.
  const float e9 = std::ldexp(1.0f, -9), e12 = std::ldexp(1.0f, -12);
  isa::VectorOp op = vector_op(VectorKind::copy, 1, 2);
  op.dtype = isa::DType::bf16;
  CHECK(run_vector(op, {1 + e9, 3}) == std::vector<float>{1, 3});
  op.dtype = isa::DType::fp16;
  CHECK(run_vector(op, {1 + e12, 1 + e9}) == std::vector<float>{1, 1 + e9});
  op.dtype = isa::DType::fp32;
  CHECK(run_vector(op, {1 + e12, 1 + e9}) == std::vector<float>{1 + e12, 1 + e9});
  isa::VectorOp add = vector_op(VectorKind::add, 1, 1);
  add.dtype = isa::DType::bf16;
  add.src2_rows = 1;
  CHECK(run_vector(add, {1 + e9}, {e9}) == std::vector<float>{1 + e9});
}

TEST_CASE("in place and overlapping operands: all inputs are read before dst is written",
          "[values]") {
  SramImage spad(256), acc(16);
  // bf16 [1, 2, 3, 4] (8 B at 0) -> fp32 at 0 (16 B): dst overwrites src as it grows.
  isa::VectorOp copy = vector_op(VectorKind::copy, 1, 4);
  copy.src = spad_at(0, Format::bf16);
  copy.dst = spad_at(0, Format::fp32);
  put(spad, 0, Format::bf16, {1, 2, 3, 4});
  vector(copy, Format::bf16, Format::bf16, Format::fp32, spad, acc);
  CHECK(get(spad, 0, Format::fp32, 4) == std::vector<float>{1, 2, 3, 4});
  // Softmax in place: row [0, 0, 0, 0] -> 0.25 each.
  isa::VectorOp sm = vector_op(VectorKind::softmax, 1, 4);
  sm.src = sm.dst = spad_at(0, Format::fp32);
  put(spad, 0, Format::fp32, {0, 0, 0, 0});
  vector(sm, Format::fp32, Format::fp32, Format::fp32, spad, acc);
  CHECK(get(spad, 0, Format::fp32, 4) == std::vector<float>{0.25f, 0.25f, 0.25f, 0.25f});
  // Rope in place with halves (pair partners are in the other half: both read first), and
  // an add whose dst is its src2.
  isa::VectorOp rope = vector_op(VectorKind::rope, 1, 4);
  rope.src = rope.dst = spad_at(0, Format::fp32);
  rope.src2 = spad_at(64, Format::fp32);
  rope.src2_rows = 1;
  put(spad, 0, Format::fp32, {1, 2, 3, 4});
  put(spad, 64, Format::fp32, {0.5f, 1, 0.75f, 0});
  vector(rope, Format::fp32, Format::fp32, Format::fp32, spad, acc);
  CHECK(get(spad, 0, Format::fp32, 4) == std::vector<float>{-1.75f, 2, 2.25f, 4});
  isa::VectorOp add = vector_op(VectorKind::add, 2, 2);
  add.src = spad_at(0, Format::fp32);
  add.src2 = add.dst = spad_at(64, Format::fp32);
  add.src2_rows = 2;
  put(spad, 0, Format::fp32, {1, 2, 3, 4});
  put(spad, 64, Format::fp32, {10, 20, 30, 40});
  vector(add, Format::fp32, Format::fp32, Format::fp32, spad, acc);
  CHECK(get(spad, 64, Format::fp32, 4) == std::vector<float>{11, 22, 33, 44});
}

TEST_CASE("value mode rejects the ops isa.h forbids, and int8 lanes", "[values]") {
  SramImage spad(256), acc(16);
  isa::VectorOp rope = vector_op(VectorKind::rope, 1, 3);  // odd cols: no pairs
  rope.src = rope.dst = rope.src2 = spad_at(0, Format::fp32);
  rope.src2_rows = 1;
  CHECK_THROWS_AS(vector(rope, Format::fp32, Format::fp32, Format::fp32, spad, acc), WorkloadError);
  isa::VectorOp relu = vector_op(VectorKind::relu, 1, 2);
  relu.src = relu.dst = spad_at(0, Format::int8);
  relu.dtype = isa::DType::int8;
  CHECK_THROWS_WITH(vector(relu, Format::int8, Format::int8, Format::int8, spad, acc),
                    Catch::Matchers::Contains("fp16, bf16 or fp32 lanes, got dtype int8"));
  // A format that disagrees with the operand's width, or a block past the SRAM: caller bugs.
  relu.dtype = isa::DType::fp32;
  CHECK_THROWS_AS(vector(relu, Format::fp16, Format::int8, Format::int8, spad, acc), InternalError);
  CHECK_THROWS_AS(vector(relu, Format::int8, Format::int8, Format::fp16, spad, acc), InternalError);
  relu.src = relu.dst = spad_at(255, Format::int8);
  CHECK_THROWS_AS(vector(relu, Format::int8, Format::int8, Format::int8, spad, acc), InternalError);
}

}  // namespace
}  // namespace llmsim::values
