#pragma once
// Helpers of the value-mode tests: numbers in and out of SRAM images, and distances in ulps.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "arch/isa/isa.h"
#include "arch/values/element.h"
#include "arch/values/memory_image.h"
#include "arch/values/semantics.h"

namespace llmsim::values::test {

inline void put(SramImage& img, std::uint64_t addr, Format f, const std::vector<float>& v) {
  encode(f, v.data(), v.size(), img.span(addr, v.size() * width_bytes(f)));
}

inline std::vector<float> get(const SramImage& img, std::uint64_t addr, Format f, std::size_t n) {
  std::vector<float> out(n);
  decode(f, img.span(addr, n * width_bytes(f)), n, out.data());
  return out;
}

inline void put_int32(SramImage& img, std::uint64_t addr, const std::vector<std::int32_t>& v) {
  std::memcpy(img.span(addr, 4 * v.size()), v.data(), 4 * v.size());
}

inline std::vector<std::int32_t> get_int32(const SramImage& img, std::uint64_t addr,
                                           std::size_t n) {
  std::vector<std::int32_t> out(n);
  std::memcpy(out.data(), img.span(addr, 4 * n), 4 * n);
  return out;
}

inline std::uint32_t bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

inline float from_bits(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// How many floats lie between a and b (0: equal; +0 and -0 are equal). Both finite.
inline std::int64_t ulps_apart(float a, float b) {
  auto key = [](float f) {
    const auto u = std::int64_t(bits(f) & 0x7fffffffu);
    return bits(f) >> 31 ? -u : u;
  };
  return std::llabs(key(a) - key(b));
}

// A vector op of `kind` on rows x cols in fp32 lanes; operands as the caller sets them.
inline isa::VectorOp vector_op(isa::VectorKind kind, std::uint64_t rows, std::uint64_t cols) {
  isa::VectorOp op;
  op.kind = kind;
  op.rows = rows;
  op.cols = cols;
  op.dtype = isa::DType::fp32;
  return op;
}

// Runs `op` with fp32 operands in a 4 KiB scratchpad: src `x` at 0, src2 `y` (if any) at 1024,
// dst at 2048; returns dst's rows x cols values.
inline std::vector<float> run_vector(isa::VectorOp op, const std::vector<float>& x,
                                     const std::vector<float>& y = {}) {
  SramImage spad(4096), acc(64);
  op.src = {isa::Sram::scratchpad, 0, 4};
  op.dst = {isa::Sram::scratchpad, 2048, 4};
  put(spad, 0, Format::fp32, x);
  if (!y.empty()) {
    op.src2 = {isa::Sram::scratchpad, 1024, 4};
    put(spad, 1024, Format::fp32, y);
  }
  vector(op, Format::fp32, Format::fp32, Format::fp32, spad, acc);
  return get(spad, 2048, Format::fp32, op.rows * op.cols);
}

}  // namespace llmsim::values::test
