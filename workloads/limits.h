#pragma once
// Size limits of workloads, so that a trace, a model or a lowering too large for this machine
// is a WorkloadError naming the limit before any large allocation or long work:
//  - sizes multiply in checked arithmetic (checked_mul / checked_add): a product past 2^64 is
//    an error naming what was multiplied, never a wrapped number;
//  - every op dimension (m, k, n, batch, rows, cols, tokens, vocab, hidden, heads, head_dim,
//    kv_len, row_offset, row_stride) is at most config::kMaxInteger = 2^32, and every operand,
//    output and parameter table at most kMaxElements = 2^40 elements (4 TiB of fp32);
//  - a trace has at most kMaxTraceOps ops;
//  - a lowering emits at most kDefaultMaxInstructions = 50 M ISA instructions, estimated from
//    the sizes before lowering and counted while lowering; $LLMSIM_MAX_INSTRUCTIONS or
//    MappingOptions::max_instructions sets another limit. A run's memory grows by about 190
//    bytes an instruction (measured: BERT-large on edge, batch 8, seq 512, the largest case of
//    the regression set, lowers to 20.4 M instructions in 3.75 GB), so 50 M is about 9.5 GB;
//  - the DRAM a lowering addresses is at most the memory's capacity (or kMaxDramBytes for a
//    memory without one).
#include <cstdint>
#include <string>

namespace llmsim::workloads {

inline constexpr std::uint64_t kMaxElements = std::uint64_t(1) << 40;
inline constexpr std::uint64_t kMaxTraceOps = std::uint64_t(1) << 20;
inline constexpr std::uint64_t kDefaultMaxInstructions = 50'000'000;
inline constexpr std::uint64_t kMaxDramBytes = std::uint64_t(1) << 48;

// a x b, or a WorkloadError "<what>: a x b overflows 64 bits".
std::uint64_t checked_mul(std::uint64_t a, std::uint64_t b, const std::string& what);
// a + b, or a WorkloadError "<what>: a + b overflows 64 bits".
std::uint64_t checked_add(std::uint64_t a, std::uint64_t b, const std::string& what);
// The product of `dims`, or a WorkloadError if it exceeds kMaxElements:
//   "<what> = 100000 x 100000 x 1000 = 10000000000000 elements, more than the 1099511627776
//   an operand may have"
std::uint64_t elements(std::initializer_list<std::uint64_t> dims, const std::string& what);

// The instruction limit: $LLMSIM_MAX_INSTRUCTIONS when set (a positive integer, else a
// UserError naming the variable), else kDefaultMaxInstructions.
std::uint64_t max_instructions_from_env();

}  // namespace llmsim::workloads
