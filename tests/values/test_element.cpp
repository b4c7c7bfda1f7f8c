// Element formats: exact bits of every rounding rule of arch/values/element.h. The expected
// patterns were also checked against torch 1.13's `.half()`, `.bfloat16()` and torch.round.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include <catch2/catch.hpp>

#include "arch/values/element.h"
#include "tests/values/value_helpers.h"

namespace llmsim::values {
namespace {

using test::bits;
using test::from_bits;

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

TEST_CASE("fp16 encoding rounds to nearest even, with subnormals and overflow to inf", "[values]") {
  CHECK(float_to_fp16(1.0f) == 0x3c00);
  CHECK(float_to_fp16(-0.0f) == 0x8000);
  // 1 + 2^-11 lies halfway between 1 (mantissa 0, even) and 1 + 2^-10: down to 1.
  CHECK(float_to_fp16(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);
  // 1 + 3 * 2^-11 lies halfway between mantissas 1 (odd) and 2: up to 2.
  CHECK(float_to_fp16(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3c02);
  // Just above the first tie: up.
  CHECK(float_to_fp16(from_bits(bits(1.0f + std::ldexp(1.0f, -11)) + 1)) == 0x3c01);
  // 2047.5: halfway between 2047 (mantissa 0x3ff, odd) and 2048: the carry ripples into the
  // exponent, 2048 = 0x6800.
  CHECK(float_to_fp16(2047.5f) == 0x6800);
  // Largest finite 65504 = 0x7bff; 65520 is the midpoint to 2^16 and rounds (to even) to inf.
  CHECK(float_to_fp16(65504.0f) == 0x7bff);
  CHECK(float_to_fp16(from_bits(bits(65520.0f) - 1)) == 0x7bff);
  CHECK(float_to_fp16(65520.0f) == 0x7c00);
  CHECK(float_to_fp16(-1e6f) == 0xfc00);
  CHECK(float_to_fp16(kInf) == 0x7c00);
  CHECK(float_to_fp16(-kInf) == 0xfc00);
  // Subnormals: units of 2^-24. 2^-25 is a tie between 0 (even) and 1: 0; a hair above: 1.
  CHECK(float_to_fp16(std::ldexp(1.0f, -24)) == 0x0001);
  CHECK(float_to_fp16(std::ldexp(1.0f, -25)) == 0x0000);
  CHECK(float_to_fp16(-std::ldexp(1.0f, -25)) == 0x8000);
  CHECK(float_to_fp16(from_bits(bits(std::ldexp(1.0f, -25)) + 1)) == 0x0001);
  // 1.5 units: tie between 1 (odd) and 2: 2. 2.5 units: tie between 2 and 3: 2.
  CHECK(float_to_fp16(3 * std::ldexp(1.0f, -25)) == 0x0002);
  CHECK(float_to_fp16(5 * std::ldexp(1.0f, -25)) == 0x0002);
  // 1023.5 units: tie between the largest subnormal 0x3ff (odd) and the smallest normal 0x400.
  CHECK(float_to_fp16(1023.5f * std::ldexp(1.0f, -24)) == 0x0400);
  CHECK(float_to_fp16(std::ldexp(1.0f, -14)) == 0x0400);
  CHECK(float_to_fp16(1e-10f) == 0x0000);
  // NaN: the quiet NaN 0x7e00, sign kept.
  CHECK(float_to_fp16(kNaN) == 0x7e00);
  CHECK(float_to_fp16(-kNaN) == 0xfe00);
}

TEST_CASE("fp16 decoding is exact and every code round-trips", "[values]") {
  CHECK(fp16_to_float(0x0001) == std::ldexp(1.0f, -24));
  CHECK(fp16_to_float(0x03ff) == 1023 * std::ldexp(1.0f, -24));
  CHECK(fp16_to_float(0x8001) == -std::ldexp(1.0f, -24));
  CHECK(fp16_to_float(0x7bff) == 65504.0f);
  CHECK(fp16_to_float(0x3555) == 0.333251953125f);  // 1365 / 4096
  CHECK(fp16_to_float(0xfc00) == -kInf);
  CHECK(std::isnan(fp16_to_float(0x7e00)));
  int nans = 0;
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    const float f = fp16_to_float(std::uint16_t(h));
    if (std::isnan(f)) {
      ++nans;
      continue;
    }
    REQUIRE(float_to_fp16(f) == h);
  }
  CHECK(nans == 2 * 1023);  // exponent 31 with a non-zero mantissa, either sign
}

TEST_CASE("bf16 encoding rounds to nearest even; NaN becomes 0x7fc0", "[values]") {
  CHECK(float_to_bf16(1.0f) == 0x3f80);
  CHECK(float_to_bf16(-1.0f) == 0xbf80);
  // 1 + 2^-8: tie between mantissas 0 and 1: 0. 1 + 3 * 2^-8: tie between 1 and 2: 2.
  CHECK(float_to_bf16(1.0f + std::ldexp(1.0f, -8)) == 0x3f80);
  CHECK(float_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)) == 0x3f82);
  CHECK(float_to_bf16(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20)) == 0x3f81);
  // Largest finite bf16 0x7f7f; the next tie (0x7f7f8000) rounds to the even 0x7f80 = inf, and
  // so does FLT_MAX.
  CHECK(float_to_bf16(from_bits(0x7f7f7fffu)) == 0x7f7f);
  CHECK(float_to_bf16(from_bits(0x7f7f8000u)) == 0x7f80);
  CHECK(float_to_bf16(std::numeric_limits<float>::max()) == 0x7f80);
  CHECK(float_to_bf16(-kInf) == 0xff80);
  // fp32 subnormals round as bits: 0x00008000 is a tie to 0; 0x00018000 a tie to 2.
  CHECK(float_to_bf16(from_bits(0x00200000u)) == 0x0020);
  CHECK(float_to_bf16(from_bits(0x00008000u)) == 0x0000);
  CHECK(float_to_bf16(from_bits(0x00018000u)) == 0x0002);
  CHECK(float_to_bf16(from_bits(0x80008001u)) == 0x8001);
  CHECK(float_to_bf16(kNaN) == 0x7fc0);
  CHECK(float_to_bf16(-kNaN) == 0x7fc0);
  CHECK(float_to_bf16(from_bits(0x7f800001u)) == 0x7fc0);  // a signalling NaN stays NaN
}

TEST_CASE("bf16 decoding is the top half of fp32 and every code round-trips", "[values]") {
  CHECK(bf16_to_float(0x3f80) == 1.0f);
  CHECK(bits(bf16_to_float(0x0001)) == 0x00010000u);
  CHECK(bf16_to_float(0xff80) == -kInf);
  for (std::uint32_t b = 0; b < 0x10000; ++b) {
    const float f = bf16_to_float(std::uint16_t(b));
    if (!std::isnan(f)) REQUIRE(float_to_bf16(f) == b);
  }
}

TEST_CASE("int8 and int32 encoding round half to even, then saturate; NaN gives 0", "[values]") {
  const std::vector<float> in = {2.5f,   3.5f,   -2.5f,   -0.5f,  0.5f, 1.5f,  0.49999997f, 127.4f,
                                 127.5f, 200.0f, -128.5f, -129.f, kInf, -kInf, kNaN,        -1e30f};
  // torch.round(x).clamp(-128, 127): 2.5 -> 2, 3.5 -> 4, -2.5 -> -2, +-0.5 -> 0, 1.5 -> 2;
  // 127.5 -> 128 -> 127; -128.5 -> -128 (even) ; -129 -> -128.
  const std::vector<int> want = {2,   4,   -2,   0,    0,   2,    0, 127,
                                 127, 127, -128, -128, 127, -128, 0, -128};
  std::vector<std::uint8_t> bytes(in.size());
  encode(Format::int8, in.data(), in.size(), bytes.data());
  for (std::size_t i = 0; i < in.size(); ++i) {
    INFO("x = " << in[i]);
    CHECK(int(std::int8_t(bytes[i])) == want[i]);
    CHECK(int(float_to_int8(in[i])) == want[i]);
  }
  CHECK(float_to_int32(2147483520.0f) == 2147483520);  // the largest float below 2^31
  CHECK(float_to_int32(2147483648.0f) == 2147483647);  // 2^31 saturates
  CHECK(float_to_int32(-2147483648.0f) == -2147483647 - 1);
  CHECK(float_to_int32(-1e10f) == -2147483647 - 1);
  CHECK(float_to_int32(1e10f) == 2147483647);
  CHECK(float_to_int32(-6.5f) == -6);
  CHECK(float_to_int32(kNaN) == 0);
  CHECK(round_half_even(-3.5f) == -4.0f);
  CHECK(round_half_even(8388607.5f) == 8388608.0f);  // 2^23 - 0.5: tie, up to the even 2^23
}

TEST_CASE("round_half_even: the fast path below 2^22 agrees with round-then-fix-ties", "[values]") {
  // The definition: round halves away from zero, then halves back to the even neighbour.
  const auto reference = [](float x) {
    const float r = std::round(x);
    return std::fabs(x - r) == 0.5f ? 2.0f * std::round(x * 0.5f) : r;
  };
  const auto same = [](float a, float b) { return a == b && std::signbit(a) == std::signbit(b); };
  std::uint64_t bad = 0;
  // Every quarter in [-2^21, 2^21] (ties at every half, both parities, both signs) ...
  for (std::int64_t q = -(std::int64_t(1) << 23); q <= (std::int64_t(1) << 23); ++q) {
    const float x = float(q) * 0.25f;
    bad += !same(round_half_even(x), reference(x));
  }
  // ... and 2^20 bit patterns spread over all floats (a fixed LCG), and the path's edges.
  std::uint32_t u = 12345;
  for (int i = 0; i < (1 << 20); ++i) {
    u = u * 1664525u + 1013904223u;
    float x;
    std::memcpy(&x, &u, 4);
    if (!std::isnan(x)) bad += !same(round_half_even(x), reference(x));
  }
  for (const float x : {0x1p22f, -0x1p22f, 0x1p22f - 0.5f, -0x1p22f + 0.5f, 0x1p22f - 1.5f,
                        0x1p22f + 0.5f, -0.3f, -0.5f, 0.5f, -0.0f, 0.0f, 1.5f, 2.5f, -2.5f,
                        0x1p-149f, -0x1p-149f, 0.49999997f, -0.49999997f, 0x1p23f + 1.0f}) {
    INFO(x);
    CHECK(same(round_half_even(x), reference(x)));
  }
  CHECK(bad == 0);
  CHECK(std::signbit(round_half_even(-0.3f)));       // -0, as std::round gives
  CHECK(round_half_even(4194302.5f) == 4194302.0f);  // 2^22 - 1.5: a tie, to the even below
}

TEST_CASE("convert: integer to integer is exact or saturating, never through float", "[values]") {
  // 16777217 = 2^24 + 1 has no float: through float it would become 16777216.
  const std::vector<std::int32_t> ints = {16777217, 300, -300, 5, -128};
  std::vector<std::uint8_t> out32(4 * ints.size()), out8(ints.size());
  const auto* in = reinterpret_cast<const std::uint8_t*>(ints.data());
  convert(Format::int32, in, Format::int32, out32.data(), ints.size());
  CHECK(std::vector<std::uint8_t>(in, in + 4 * ints.size()) == out32);
  convert(Format::int32, in, Format::int8, out8.data(), ints.size());
  CHECK(std::vector<int>{int(std::int8_t(out8[0])), int(std::int8_t(out8[1])),
                         int(std::int8_t(out8[2])), int(std::int8_t(out8[3])),
                         int(std::int8_t(out8[4]))} == std::vector<int>{127, 127, -128, 5, -128});
  // int32 -> fp32 goes through float: 2^24 + 1 rounds to the even 2^24.
  float f = 0;
  convert(Format::int32, in, Format::fp32, reinterpret_cast<std::uint8_t*>(&f), 1);
  CHECK(f == 16777216.0f);
  // int8 -> int32 sign-extends.
  const std::uint8_t neg = 0x80;
  std::int32_t wide = 0;
  convert(Format::int8, &neg, Format::int32, reinterpret_cast<std::uint8_t*>(&wide), 1);
  CHECK(wide == -128);
  // fp32 -> fp32 keeps a NaN's payload (a byte copy); fp32 -> bf16 rounds.
  const std::vector<float> fl = {from_bits(0x7fa00001u), 1.0f + 3 * std::ldexp(1.0f, -8)};
  std::vector<std::uint8_t> same(8), half(4);
  const auto* fin = reinterpret_cast<const std::uint8_t*>(fl.data());
  convert(Format::fp32, fin, Format::fp32, same.data(), 2);
  CHECK(std::vector<std::uint8_t>(fin, fin + 8) == same);
  convert(Format::fp32, fin, Format::bf16, half.data(), 2);
  CHECK(std::vector<std::uint8_t>{half[2], half[3]} == std::vector<std::uint8_t>{0x82, 0x3f});
}

TEST_CASE("formats: widths, and the formats of each dtype", "[values]") {
  CHECK(width_bytes(Format::int8) == 1);
  CHECK(width_bytes(Format::fp16) == 2);
  CHECK(width_bytes(Format::bf16) == 2);
  CHECK(width_bytes(Format::int32) == 4);
  CHECK(width_bytes(Format::fp32) == 4);
  CHECK(element_format(isa::DType::bf16) == Format::bf16);
  CHECK(accumulator_format(isa::DType::int8) == Format::int32);
  CHECK(accumulator_format(isa::DType::fp16) == Format::fp32);
  for (isa::DType t : {isa::DType::int8, isa::DType::fp16, isa::DType::bf16, isa::DType::fp32}) {
    CHECK(width_bytes(element_format(t)) == isa::size_bytes(t));
    CHECK(width_bytes(accumulator_format(t)) == isa::accumulator_bytes(t));
  }
  // Little-endian bytes: fp16 1.0 = 0x3c00 is stored 00 3c.
  std::uint8_t two[2];
  const float one = 1.0f;
  encode(Format::fp16, &one, 1, two);
  CHECK((two[0] == 0x00 && two[1] == 0x3c));
}

}  // namespace
}  // namespace llmsim::values
