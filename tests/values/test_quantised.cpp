// int8 quantisation in value mode (workloads/quant.h): the requantising store
// (isa::DmaStore::scale) and vector ops with quantisation steps (src_scale, src2_scale,
// dst_scale).
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
using test::vector_op;

std::vector<std::int8_t> stored_int8(const DramImage& dram, std::uint64_t addr, std::size_t n) {
  std::vector<std::int8_t> q(n);
  dram.read(addr, reinterpret_cast<std::uint8_t*>(q.data()), n);
  return q;
}

TEST_CASE("requantising store: float(x) * scale in fp32, then round half to even", "[values]") {
  // scale 0.1f = 0.100000001490116: the exact products 25 x 0.1f = 2.5000000373 and 35 x 0.1f
  // = 3.5000000522 round in fp32 to 2.5 and 3.5 (the excess is below half of fp32's spacing
  // 2^-22 there), which are ties: to even, 2 and 4 (an exact product would give 3 and 4).
  // 15 -> 1.5 -> 2; -25 -> -2.5 -> -2; 1000 -> 100; 100000 -> 10000 saturates to 127, -100000
  // to -128; 2^24 + 1 decodes to the float 2^24 (ties to even) -> 1677721.6 -> 127.
  SramImage acc(64);
  put_int32(acc, 0, {25, 35, 15, -25, 1000, 100000, -100000, (1 << 24) + 1});
  DramImage dram;
  isa::DmaStore st{{2, 4, 100, 32, 0}, isa::Sram::accumulator, 4, 1, 0.1f};
  store(st, acc, Format::int32, Format::int8, dram);
  CHECK(stored_int8(dram, 100, 4) == std::vector<std::int8_t>{2, 4, 2, -2});
  CHECK(stored_int8(dram, 132, 4) == std::vector<std::int8_t>{100, 127, -128, 127});

  // Scale 1 keeps the exact saturating path; any other conversion ignores the scale.
  st.scale = 1.0f;
  store(st, acc, Format::int32, Format::int8, dram);
  CHECK(stored_int8(dram, 100, 4) == std::vector<std::int8_t>{25, 35, 15, -25});
  put(acc, 0, Format::fp32, {1.5f, -2.0f, 3.0f, 4.0f});
  store({{1, 4, 200, 16, 0}, isa::Sram::accumulator, 4, 4, 0.5f}, acc, Format::fp32, Format::fp32,
        dram);
  std::vector<float> f(4);
  dram.read(200, reinterpret_cast<std::uint8_t*>(f.data()), 16);
  CHECK(f == std::vector<float>{1.5f, -2.0f, 3.0f, 4.0f});
}

TEST_CASE("int8 vector ops dequantise each input by its step and quantise dst by its own",
          "[values]") {
  // add: src [10, -20, 127, 100] x 0.5 = [5, -10, 63.5, 50]; src2 [4, 4, 4, 100] x 0.25 =
  // [1, 1, 1, 25]; the sum [6, -9, 64.5, 75] / dst step 2 = [3, -4.5, 32.25, 37.5], rounded
  // half to even: [3, -4, 32, 38].
  SramImage spad(256), acc(64);
  isa::VectorOp op = vector_op(VectorKind::add, 1, 4);
  op.src = {isa::Sram::scratchpad, 0, 1};
  op.src2 = {isa::Sram::scratchpad, 16, 1};
  op.src2_rows = 1;
  op.dst = {isa::Sram::scratchpad, 32, 1};
  op.src_scale = 0.5f, op.src2_scale = 0.25f, op.dst_scale = 2.0f;
  put(spad, 0, Format::int8, {10, -20, 127, 100});
  put(spad, 16, Format::int8, {4, 4, 4, 100});
  vector(op, Format::int8, Format::int8, Format::int8, spad, acc);
  CHECK(get(spad, 32, Format::int8, 4) == std::vector<float>{3, -4, 32, 38});

  // dst step 0.25: [24, -36, 258, 300] saturates to int8's range.
  op.dst_scale = 0.25f;
  vector(op, Format::int8, Format::int8, Format::int8, spad, acc);
  CHECK(get(spad, 32, Format::int8, 4) == std::vector<float>{24, -36, 127, 127});

  // Floating-point operands ignore the steps: fp32 [1, 2] + [3, 4] = [4, 6].
  put(spad, 64, Format::fp32, {1, 2});
  put(spad, 96, Format::fp32, {3, 4});
  op.cols = 2;
  op.src = {isa::Sram::scratchpad, 64, 4};
  op.src2 = {isa::Sram::scratchpad, 96, 4};
  op.dst = {isa::Sram::scratchpad, 128, 4};
  vector(op, Format::fp32, Format::fp32, Format::fp32, spad, acc);
  CHECK(get(spad, 128, Format::fp32, 2) == std::vector<float>{4, 6});
}

TEST_CASE("an epilogue op on the int32 accumulator: dequantised by s_a s_b, int32 at its step",
          "[values]") {
  // relu on the accumulator [1000, -1000, 3] at step 0.5 = [500, -500, 1.5] -> [500, 0, 1.5];
  // quantised at 0.25 into the int32 slot: [2000, 0, 6] (int32's range: no int8 saturation
  // until the store, which then saturates 2000 to 127 with multiplier 1).
  SramImage spad(64), acc(64);
  isa::VectorOp op = vector_op(VectorKind::relu, 1, 3);
  op.src = op.dst = {isa::Sram::accumulator, 0, 4};
  op.src_scale = 0.5f, op.dst_scale = 0.25f;
  put_int32(acc, 0, {1000, -1000, 3});
  vector(op, Format::int32, Format::int32, Format::int32, spad, acc);
  CHECK(get_int32(acc, 0, 3) == std::vector<std::int32_t>{2000, 0, 6});
  DramImage dram;
  store({{1, 3, 0, 3, 0}, isa::Sram::accumulator, 4, 1, 1.0f}, acc, Format::int32, Format::int8,
        dram);
  CHECK(stored_int8(dram, 0, 3) == std::vector<std::int8_t>{127, 0, 6});

  // softmax of an int8 row [0, 0, 0, 0] at any step is [0.25] x 4; at the step 1/127 (as
  // float, 0.0078740157) 0.25 / step = 31.75 -> 32.
  op = vector_op(VectorKind::softmax, 1, 4);
  op.src = {isa::Sram::scratchpad, 0, 1};
  op.dst = {isa::Sram::scratchpad, 8, 1};
  op.src_scale = 0.3f, op.dst_scale = float(1.0 / 127.0);
  put(spad, 0, Format::int8, {0, 0, 0, 0});
  vector(op, Format::int8, Format::int8, Format::int8, spad, acc);
  CHECK(get(spad, 8, Format::int8, 4) == std::vector<float>{32, 32, 32, 32});

  // A step that is not finite and positive is the caller's bug.
  op.dst_scale = 0.0f;
  CHECK_THROWS_AS(vector(op, Format::int8, Format::int8, Format::int8, spad, acc), InternalError);
}

}  // namespace
}  // namespace llmsim::values
