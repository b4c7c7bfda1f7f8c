#include "arch/values/element.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "sim/core/error.h"

namespace llmsim::values {

namespace {

std::uint32_t float_bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float bits_float(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Round half to even, then clamp to [lo, hi]; NaN -> 0. In double: every int32 bound is exact.
double saturate_round(float f, double lo, double hi) {
  if (std::isnan(f)) return 0.0;
  const double r = round_half_even(f);
  return r < lo ? lo : r > hi ? hi : r;
}

template <typename T>
T load_le(const std::uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <typename T>
void store_le(std::uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof v);
}

}  // namespace

const char* to_string(Format f) {
  switch (f) {
    case Format::int8:
      return "int8";
    case Format::int32:
      return "int32";
    case Format::fp16:
      return "fp16";
    case Format::bf16:
      return "bf16";
    case Format::fp32:
      return "fp32";
  }
  return "?";
}

Format element_format(isa::DType t) {
  switch (t) {
    case isa::DType::int8:
      return Format::int8;
    case isa::DType::fp16:
      return Format::fp16;
    case isa::DType::bf16:
      return Format::bf16;
    case isa::DType::fp32:
      return Format::fp32;
  }
  LLMSIM_CHECK(false, "unknown dtype");
}

Format accumulator_format(isa::DType t) {
  return t == isa::DType::int8 ? Format::int32 : Format::fp32;
}

float round_half_even(float x) {
  if (std::fabs(x) < 0x1p22f) {
    // x + 1.5 x 2^23 lies in [2^23, 2^24), where the fp32 spacing is 1: the addition rounds
    // x to an integer, ties to even (IEEE's default mode; 1.5 x 2^23 is even, so the parity is
    // x's), and the subtraction is exact. The sign restores -0 for x in (-0.5, 0]. A few
    // instructions against libm's roundf twice (a fifth of an int8 run's value time).
    return std::copysign((x + 0x1.8p23f) - 0x1.8p23f, x);
  }
  const float r = std::round(x);  // halves away from zero
  // x - r is exact (|x - r| <= 0.5 and r is x's nearest integer or next to it).
  if (std::fabs(x - r) == 0.5f) return 2.0f * std::round(x * 0.5f);
  return r;
}

float fp16_to_float(std::uint16_t h) {
  const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1fu;
  const std::uint32_t man = h & 0x3ffu;
  if (exp == 0x1f) return bits_float(sign | 0x7f800000u | (man << 13));  // inf, NaN
  if (exp == 0) {                                                        // zero, subnormal
    const float mag = std::ldexp(float(man), -24);                       // exact
    return sign ? -mag : mag;
  }
  return bits_float(sign | ((exp - 15 + 127) << 23) | (man << 13));
}

std::uint16_t float_to_fp16(float f) {
  const std::uint32_t x = float_bits(f);
  const auto sign = std::uint16_t((x >> 16) & 0x8000u);
  const std::uint32_t ax = x & 0x7fffffffu;
  if (ax > 0x7f800000u) return sign | 0x7e00u;   // NaN
  if (ax >= 0x477ff000u) return sign | 0x7c00u;  // >= 65520 (and inf) -> inf
  if (ax < 0x38800000u) {                        // below 2^-14: subnormal or zero
    if (ax <= 0x33000000u) return sign;          // <= 2^-25: rounds to zero (2^-25: a tie)
    // |f| = m * 2^(e - 150); in units of 2^-24 that is m >> (126 - e), e in [102, 112].
    const std::uint32_t e = ax >> 23;
    const std::uint32_t m = (ax & 0x7fffffu) | 0x800000u;
    const std::uint32_t shift = 126 - e;
    std::uint32_t q = m >> shift;
    const std::uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1))) ++q;  // may carry into the smallest normal
    return sign | std::uint16_t(q);
  }
  // Normal: rebias the exponent, keep 10 mantissa bits, round the 13 dropped ones to even
  // (a carry may ripple into the exponent; below 65520 it never reaches inf).
  std::uint32_t h = (((ax >> 23) - 127 + 15) << 10) | ((ax >> 13) & 0x3ffu);
  const std::uint32_t rem = ax & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) ++h;
  return sign | std::uint16_t(h);
}

float bf16_to_float(std::uint16_t b) {
  return bits_float(std::uint32_t(b) << 16);
}

std::uint16_t float_to_bf16(float f) {
  if (std::isnan(f)) return 0x7fc0u;
  const std::uint32_t x = float_bits(f);
  // Adding 0x7fff plus the lowest kept bit rounds to nearest, ties to even; a carry past the
  // largest finite value gives the inf pattern 0x7f80.
  return std::uint16_t((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

std::int8_t float_to_int8(float f) {
  return std::int8_t(saturate_round(f, -128.0, 127.0));
}

std::int32_t float_to_int32(float f) {
  return std::int32_t(saturate_round(f, -2147483648.0, 2147483647.0));
}

void decode(Format f, const std::uint8_t* bytes, std::size_t n, float* out) {
  auto each = [&](std::size_t w, auto one) {
    for (std::size_t i = 0; i < n; ++i) out[i] = one(bytes + i * w);
  };
  switch (f) {
    case Format::int8:
      return each(1, [](const std::uint8_t* p) { return float(load_le<std::int8_t>(p)); });
    case Format::int32:
      return each(4, [](const std::uint8_t* p) { return float(load_le<std::int32_t>(p)); });
    case Format::fp16:
      return each(2,
                  [](const std::uint8_t* p) { return fp16_to_float(load_le<std::uint16_t>(p)); });
    case Format::bf16:
      return each(2,
                  [](const std::uint8_t* p) { return bf16_to_float(load_le<std::uint16_t>(p)); });
    case Format::fp32:
      std::memcpy(out, bytes, n * 4);
      return;
  }
}

void encode(Format f, const float* in, std::size_t n, std::uint8_t* bytes) {
  auto each = [&](std::size_t w, auto one) {
    for (std::size_t i = 0; i < n; ++i) store_le(bytes + i * w, one(in[i]));
  };
  switch (f) {
    case Format::int8:
      return each(1, float_to_int8);
    case Format::int32:
      return each(4, float_to_int32);
    case Format::fp16:
      return each(2, float_to_fp16);
    case Format::bf16:
      return each(2, float_to_bf16);
    case Format::fp32:
      std::memcpy(bytes, in, n * 4);
      return;
  }
}

void convert(Format from, const std::uint8_t* src, Format to, std::uint8_t* dst, std::size_t n) {
  if (from == to) {
    std::memcpy(dst, src, n * width_bytes(from));
    return;
  }
  if (from == Format::int32 && to == Format::int8) {
    for (std::size_t i = 0; i < n; ++i) {
      const std::int32_t v = load_le<std::int32_t>(src + 4 * i);
      store_le(dst + i, std::int8_t(v < -128 ? -128 : v > 127 ? 127 : v));
    }
    return;
  }
  if (from == Format::int8 && to == Format::int32) {
    for (std::size_t i = 0; i < n; ++i) store_le(dst + 4 * i, std::int32_t(std::int8_t(src[i])));
    return;
  }
  // Through float, a chunk at a time (no allocation per call).
  constexpr std::size_t kChunk = 256;
  float buf[kChunk];
  for (std::size_t i = 0; i < n; i += kChunk) {
    const std::size_t k = n - i < kChunk ? n - i : kChunk;
    decode(from, src + i * width_bytes(from), k, buf);
    encode(to, buf, k, dst + i * width_bytes(to));
  }
}

}  // namespace llmsim::values
