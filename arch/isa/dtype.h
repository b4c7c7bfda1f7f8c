#pragma once
// Element types of the ISA. Part of the frontend/hardware contract, so it lives with the ISA.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace llmsim::isa {

enum class DType { int8, fp16, bf16, fp32 };

constexpr std::uint32_t size_bytes(DType t) {
  switch (t) {
    case DType::int8:
      return 1;
    case DType::fp16:
      return 2;
    case DType::bf16:
      return 2;
    case DType::fp32:
      return 4;
  }
  return 0;
}

// Accumulators are int32 for int8 inputs and fp32 for the floating-point types.
constexpr std::uint32_t accumulator_bytes(DType) {
  return 4;
}

constexpr const char* to_string(DType t) {
  switch (t) {
    case DType::int8:
      return "int8";
    case DType::fp16:
      return "fp16";
    case DType::bf16:
      return "bf16";
    case DType::fp32:
      return "fp32";
  }
  return "?";
}

inline std::optional<DType> parse_dtype(std::string_view s) {
  if (s == "int8") return DType::int8;
  if (s == "fp16") return DType::fp16;
  if (s == "bf16") return DType::bf16;
  if (s == "fp32") return DType::fp32;
  return std::nullopt;
}

inline constexpr const char* kDTypeNames = "int8, fp16, bf16, fp32";

}  // namespace llmsim::isa
