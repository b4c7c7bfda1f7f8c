#pragma once
// `llmsim memtest`: the HBM memory system alone under synthetic traffic or a request trace,
// driven in plain C++ (no SystemC kernel: the generator is the only requester, so the
// controllers can be advanced lazily and exactly).
//
// Trace format, one request per line ('#' starts a comment):  ADDRESS R|W [CYCLE]
// ADDRESS is decimal or 0x-hex, CYCLE the DRAM clock cycle the request is offered (requests
// must be in non-decreasing CYCLE order); without CYCLE a request is offered as soon as its
// queue accepts it.
#include <cstdint>
#include <string>
#include <vector>

#include "sim/core/config.h"

namespace llmsim::driver {

// Limits, checked before the run (UserError naming the option): they keep a run to minutes.
//   requests      at most kMaxMemtestRequests (synthetic patterns and trace lines alike)
//   bursts        requests x the bursts each spans, at most kMaxMemtestBursts
//   request_bytes at most the capacity (half of it for `mixed`: its writes go to the upper half)
//   stride_bytes  1 to the capacity (`strided`)
//   read_fraction in [0, 1] (`mixed`)
//   rate_gb_per_s finite, >= 0; the requests must be offered within kMaxMemtestCycles DRAM
//                 cycles at that rate, as must every trace request's CYCLE
inline constexpr std::uint64_t kMaxMemtestRequests = 1'000'000'000;
inline constexpr std::uint64_t kMaxMemtestBursts = 1'000'000'000;
inline constexpr std::uint64_t kMaxMemtestCycles = 10'000'000'000;

// The synthetic patterns, in the order of the usage.
const std::vector<std::string>& memtest_patterns();

struct MemtestOptions {
  std::string pattern = "seq_read";  // seq_read seq_write mixed random_read random_write strided
  std::string trace_file;            // replaces the pattern when set
  std::uint64_t requests = 1 << 16;
  std::uint64_t request_bytes = 64;
  std::uint64_t stride_bytes = 4096;  // strided
  double read_fraction = 2.0 / 3.0;   // mixed: reads among requests
  double rate_gb_per_s = 0;           // offered load; 0 = as fast as the controllers accept
  std::uint64_t seed = 1;
};

struct MemtestResult {
  std::string device;
  std::uint64_t requests = 0, bytes = 0;
  std::uint64_t cycles = 0;  // DRAM cycles until the last data beat
  double seconds = 0;
  double achieved_bandwidth_gbps = 0, peak_bandwidth_gbps = 0;  // GB/s = 1e9 bytes/s
  double offered_bandwidth_gbps = 0;                            // 0 = as fast as accepted
  double avg_latency_ns = 0, p50_latency_ns = 0, p99_latency_ns = 0;
  double avg_latency_cycles = 0;
  std::uint64_t p50_latency_cycles = 0, p99_latency_cycles = 0;
  double row_hit_rate = 0;
  double energy_pj_per_bit = 0;
  double wall_seconds = 0;
  config::Json stats;  // the memory's stats tree

  config::Json to_json() const;
};

MemtestResult run_memtest(const config::Json& arch, const std::vector<std::string>& overrides,
                          const MemtestOptions& o);

void print_memtest(std::ostream& os, const MemtestResult& r);

}  // namespace llmsim::driver
