#pragma once
// Element formats of value mode and the conversions between their bytes and numbers. The ISA
// gives only byte widths; the caller (who knows the run's dtypes) names the format.
//
// Byte order is little-endian (the host's; llmsim builds on x86-64 and aarch64 Linux only).
//
// Decoding (bytes -> float) is exact for int8, fp16, bf16 and fp32. int32 decodes to the
// nearest float, ties to even (what static_cast<float> and torch's `.float()` do): exact for
// |x| <= 2^24. That is the value an fp32 lane holds; conversions between the two integer
// formats never pass through float (convert()), so an int32 -> int32 or int32 -> int8 DMA is
// exact.
//
// Encoding (float -> bytes), one rounding from the float:
//  - fp16: IEEE 754 binary16, round to nearest, ties to even, with subnormals (down to 2^-24;
//    2^-25 rounds to 0 as a tie to even). Finite values of magnitude >= 65520 (the midpoint of
//    the largest finite 65504 and 2^16) become inf; inf stays inf; NaN becomes the quiet NaN
//    0x7e00 with the sign kept. As torch's c10::Half (`.half()`).
//  - bf16: the top 16 bits of the fp32 pattern, rounded to nearest, ties to even (subnormals
//    included, as bits); values that round past the largest finite 0x7f7f become inf; NaN
//    becomes 0x7fc0 whatever its sign. As torch's c10::BFloat16 (`.to(torch.bfloat16)`).
//  - fp32: the float's bits.
//  - int8, int32: round half to even (torch.round), then saturate to the format's range; NaN
//    gives 0; +-inf saturate. Not torch's `.to(torch.int8)`, which truncates and wraps: this is
//    the rounding of a quantizing unit and of a saturating DMA.
#include <cstddef>
#include <cstdint>

#include "arch/isa/dtype.h"

namespace llmsim::values {

enum class Format { int8, int32, fp16, bf16, fp32 };

constexpr std::uint32_t width_bytes(Format f) {
  switch (f) {
    case Format::int8:
      return 1;
    case Format::fp16:
    case Format::bf16:
      return 2;
    case Format::int32:
    case Format::fp32:
      return 4;
  }
  return 0;
}

constexpr bool is_integer(Format f) {
  return f == Format::int8 || f == Format::int32;
}

const char* to_string(Format f);  // "bf16"

// The format of a dtype's elements, and of its accumulators (int32 for int8, else fp32;
// isa::accumulator_bytes).
Format element_format(isa::DType t);
Format accumulator_format(isa::DType t);

// Scalar conversions, as described above.
float fp16_to_float(std::uint16_t h);
std::uint16_t float_to_fp16(float f);
float bf16_to_float(std::uint16_t b);
std::uint16_t float_to_bf16(float f);
std::int8_t float_to_int8(float f);
std::int32_t float_to_int32(float f);

// x rounded to the nearest integer, ties to even (independent of the FPU's rounding mode).
float round_half_even(float x);

// `n` elements of format `f` at `bytes` -> out[0..n).
void decode(Format f, const std::uint8_t* bytes, std::size_t n, float* out);
// in[0..n) -> `n` elements of format `f` at `bytes`.
void encode(Format f, const float* in, std::size_t n, std::uint8_t* bytes);
// `n` elements of `from` at `src` -> `n` elements of `to` at `dst` (no overlap): a byte copy
// for equal formats (NaN payloads kept), int32 -> int8 saturating without rounding (the value is
// already an integer), int8 -> int32 exact, anything else decode() then encode().
void convert(Format from, const std::uint8_t* src, Format to, std::uint8_t* dst, std::size_t n);

}  // namespace llmsim::values
