// DMA loads and stores, and GEMMs, in value mode (arch/values/semantics.h).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include <catch2/catch.hpp>

#include "arch/values/semantics.h"
#include "sim/core/error.h"
#include "tests/values/value_helpers.h"

namespace llmsim::values {
namespace {

using test::get;
using test::get_int32;
using test::put;
using test::put_int32;

constexpr std::int32_t kMax = std::numeric_limits<std::int32_t>::max();
constexpr std::int32_t kMin = std::numeric_limits<std::int32_t>::min();

TEST_CASE("load copies a strided DRAM block into dense SRAM, byte for byte", "[values]") {
  DramImage dram;
  std::vector<std::uint8_t> row0 = {1, 2, 3, 4, 5, 6}, row1 = {7, 8, 9, 10, 11, 12};
  dram.write(1000, row0.data(), 6);  // 2 rows x 3 elements of 2 B, 100 B apart
  dram.write(1100, row1.data(), 6);
  SramImage spad(64);
  spad.span(0, 64)[9] = 0xee;  // the bytes around the block are left alone
  spad.span(0, 64)[22] = 0xee;
  load(isa::DmaLoad{{2, 3, 1000, 100, 10}, isa::Sram::scratchpad, 2}, dram, spad);
  std::vector<std::uint8_t> got(spad.span(9, 14), spad.span(9, 14) + 14);
  CHECK(got == std::vector<std::uint8_t>{0xee, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0xee});
}

TEST_CASE("store converts each element to the DRAM format and writes strided rows", "[values]") {
  SramImage acc(64);
  // fp32 -> bf16: 1 + 3 * 2^-8 ties up to 0x3f82; 65520 = 0x477ff000 rounds up to 65536 =
  // 0x4780; 0.1f = 0x3dcccccd rounds up to 0x3dcd.
  put(acc, 0, Format::fp32, {1.0f, 1.0f + 3 * std::ldexp(1.0f, -8), -2.0f, 65520.0f, 0.1f, 3.0f});
  DramImage dram;
  isa::DmaStore st{{2, 3, 5000, 64, 0}, isa::Sram::accumulator, 4, 2};
  store(st, acc, Format::fp32, Format::bf16, dram);
  std::vector<std::uint16_t> r0(3), r1(3);
  dram.read(5000, reinterpret_cast<std::uint8_t*>(r0.data()), 6);
  dram.read(5064, reinterpret_cast<std::uint8_t*>(r1.data()), 6);
  CHECK(r0 == std::vector<std::uint16_t>{0x3f80, 0x3f82, 0xc000});
  CHECK(r1 == std::vector<std::uint16_t>{0x4780, 0x3dcd, 0x4040});
  std::vector<std::uint8_t> gap(58);  // between the rows: never written
  dram.read(5006, gap.data(), gap.size());
  CHECK(gap == std::vector<std::uint8_t>(58, 0));

  // fp32 -> fp16: 65520 overflows to inf (0x7c00).
  store(st, acc, Format::fp32, Format::fp16, dram);
  std::uint16_t h = 0;
  dram.read(5064, reinterpret_cast<std::uint8_t*>(&h), 2);
  CHECK(h == 0x7c00);

  // int32 -> int8 saturates.
  put_int32(acc, 0, {300, -5, -300, 127, 128, -129});
  store({{1, 6, 0, 6, 0}, isa::Sram::accumulator, 4, 1}, acc, Format::int32, Format::int8, dram);
  std::vector<std::int8_t> q(6);
  dram.read(0, reinterpret_cast<std::uint8_t*>(q.data()), 6);
  CHECK(q == std::vector<std::int8_t>{127, -5, -128, 127, 127, -128});

  // A format whose width is not the instruction's is the caller's bug.
  CHECK_THROWS_AS(store(st, acc, Format::bf16, Format::bf16, dram), InternalError);
}

// A = [[1, 2, 3], [4, 5, 6]] at spad:0, B = [[7, 8], [9, 10], [11, 12]] at spad:256,
// C at acc:0: A x B = [[1*7 + 2*9 + 3*11, 1*8 + 2*10 + 3*12], [4*7 + 5*9 + 6*11, ...]]
//                   = [[58, 64], [139, 154]].
isa::Gemm gemm_2x3x2(isa::DType t, bool accumulate) {
  isa::Gemm g;
  g.a_addr = 0;
  g.b_addr = 256;
  g.c_addr = 0;
  g.m = 2;
  g.k = 3;
  g.n = 2;
  g.dtype = t;
  g.accumulate = accumulate;
  return g;
}

TEST_CASE("gemm 2x3 x 3x2 in every dtype, with accumulate off and on", "[values]") {
  for (isa::DType t : {isa::DType::int8, isa::DType::fp16, isa::DType::bf16, isa::DType::fp32}) {
    INFO("dtype " << isa::to_string(t));
    const Format in = element_format(t), out = accumulator_format(t);
    SramImage spad(512), acc(64);
    put(spad, 0, in, {1, 2, 3, 4, 5, 6});
    put(spad, 256, in, {7, 8, 9, 10, 11, 12});
    put(acc, 0, out, {100, 100, 100, 100});  // overwritten without accumulate
    gemm(gemm_2x3x2(t, false), spad, acc);
    CHECK(get(acc, 0, out, 4) == std::vector<float>{58, 64, 139, 154});
    // Accumulate onto C0 = [[1, -1], [5, 2]]: [[59, 63], [144, 156]].
    put(acc, 0, out, {1, -1, 5, 2});
    gemm(gemm_2x3x2(t, true), spad, acc);
    CHECK(get(acc, 0, out, 4) == std::vector<float>{59, 63, 144, 156});
  }
}

TEST_CASE("gemm sums fp16 and bf16 products in fp32 and keeps fp32 inputs whole", "[values]") {
  // [1, e] x [1, 1]^T = 1 + e: e = 2^-11 vanishes in fp16 (half an ulp of 1, a tie to even)
  // but not in the fp32 accumulator; likewise 2^-9 in bf16; fp32 inputs keep 2^-20.
  struct Case {
    isa::DType t;
    float e;
  };
  for (Case c :
       {Case{isa::DType::fp16, std::ldexp(1.0f, -11)}, Case{isa::DType::bf16, std::ldexp(1.0f, -9)},
        Case{isa::DType::fp32, std::ldexp(1.0f, -20)}}) {
    SramImage spad(64), acc(16);
    put(spad, 0, element_format(c.t), {1.0f, c.e});
    put(spad, 32, element_format(c.t), {1.0f, 1.0f});
    isa::Gemm g;
    g.b_addr = 32;
    g.m = 1;
    g.k = 2;
    g.n = 1;
    g.dtype = c.t;
    gemm(g, spad, acc);
    CHECK(get(acc, 0, Format::fp32, 1)[0] == 1.0f + c.e);
  }
}

TEST_CASE("gemm int8: exact products, the int32 sum wraps modulo 2^32", "[values]") {
  SramImage spad(1 << 19), acc(16);
  isa::Gemm g;
  g.b_addr = 1 << 18;
  g.m = 1;
  g.n = 1;
  g.dtype = isa::DType::int8;
  // [-128, 127] x [-128, 127]^T = 16384 + 16129 = 32513.
  put(spad, 0, Format::int8, {-128, 127});
  put(spad, g.b_addr, Format::int8, {-128, 127});
  g.k = 2;
  gemm(g, spad, acc);
  CHECK(get_int32(acc, 0, 1)[0] == 32513);
  // INT32_MAX + 1 * 1 wraps to INT32_MIN.
  put(spad, 0, Format::int8, {1});
  put(spad, g.b_addr, Format::int8, {1});
  g.k = 1;
  g.accumulate = true;
  put_int32(acc, 0, {kMax});
  gemm(g, spad, acc);
  CHECK(get_int32(acc, 0, 1)[0] == kMin);
  // k = 2^17 - 1 products of (-128)(-128) = 2^14: 2^31 - 2^14 (summed in double), then plus
  // C0 = 2^14 it is 2^31, which wraps to INT32_MIN.
  const std::vector<float> minus128((1 << 17), -128.0f);
  put(spad, 0, Format::int8, minus128);
  put(spad, g.b_addr, Format::int8, minus128);
  g.k = (1 << 17) - 1;
  g.accumulate = false;
  gemm(g, spad, acc);
  CHECK(get_int32(acc, 0, 1)[0] == kMax - 16383);
  put_int32(acc, 0, {16384});
  g.accumulate = true;
  gemm(g, spad, acc);
  CHECK(get_int32(acc, 0, 1)[0] == kMin);
  // k = 2^17: the sum alone is 2^31, which wraps to INT32_MIN.
  g.k = 1 << 17;
  g.accumulate = false;
  gemm(g, spad, acc);
  CHECK(get_int32(acc, 0, 1)[0] == kMin);
  // At the edge of the fp32 sum (k <= 1024: every partial sum below 2^24): k = 1024 gives 2^24;
  // k = 1025 (summed in double) 2^24 + 2^14, and with the first B element 1 (that product
  // -128) 1024 * 2^14 - 128 = 2^24 - 128.
  g.k = 1024;
  gemm(g, spad, acc);
  CHECK(get_int32(acc, 0, 1)[0] == (1 << 24));
  g.k = 1025;
  gemm(g, spad, acc);
  CHECK(get_int32(acc, 0, 1)[0] == (1 << 24) + (1 << 14));
  put(spad, g.b_addr, Format::int8, {1});  // the first product: -128 x 1
  gemm(g, spad, acc);
  CHECK(get_int32(acc, 0, 1)[0] == (1 << 24) - 128);
}

}  // namespace
}  // namespace llmsim::values
