#include "workloads/limits.h"

#include <cctype>
#include <cstdlib>
#include <limits>

#include "sim/core/error.h"
#include "sim/core/json_input.h"

namespace llmsim::workloads {

std::uint64_t checked_mul(std::uint64_t a, std::uint64_t b, const std::string& what) {
  std::uint64_t out = 0;
  if (__builtin_mul_overflow(a, b, &out)) {
    throw WorkloadError(what + ": " + std::to_string(a) + " x " + std::to_string(b) +
                        " overflows 64 bits");
  }
  return out;
}

std::uint64_t checked_add(std::uint64_t a, std::uint64_t b, const std::string& what) {
  std::uint64_t out = 0;
  if (__builtin_add_overflow(a, b, &out)) {
    throw WorkloadError(what + ": " + std::to_string(a) + " + " + std::to_string(b) +
                        " overflows 64 bits");
  }
  return out;
}

std::uint64_t elements(std::initializer_list<std::uint64_t> dims, const std::string& what) {
  std::uint64_t n = 1;
  bool over = false;
  std::string text;
  for (std::uint64_t d : dims) {
    text += (text.empty() ? "" : " x ") + std::to_string(d);
    // Past kMaxElements (<= 2^40) the product is not needed exactly: stop it from wrapping.
    if (!over && __builtin_mul_overflow(n, d, &n)) over = true;
    if (n > kMaxElements) over = true;
  }
  if (over) {
    throw WorkloadError(what + ": " + text + " elements, more than the " +
                        std::to_string(kMaxElements) + " an operand may have");
  }
  return n;
}

std::uint64_t max_instructions_from_env() {
  const char* v = std::getenv("LLMSIM_MAX_INSTRUCTIONS");
  if (v == nullptr) return kDefaultMaxInstructions;
  const std::string s(v);
  bool digits = !s.empty() && s.size() <= 19;
  for (char c : s) digits = digits && std::isdigit(static_cast<unsigned char>(c));
  const std::uint64_t n = digits ? std::stoull(s) : 0;
  if (n == 0) {
    throw UserError("LLMSIM_MAX_INSTRUCTIONS=" + config::printable(s) +
                    ": must be a positive integer (default " +
                    std::to_string(kDefaultMaxInstructions) + ")");
  }
  return n;
}

}  // namespace llmsim::workloads
