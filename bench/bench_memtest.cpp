// Benchmark: HBM requests simulated per wall second (`llmsim memtest` on the hbm2-stack preset):
// 16 Mi sequential 64-byte reads and 1 Mi uniform random 64-byte reads. Prints figures only.
#include <cstdio>
#include <cstdlib>

#include <systemc>

#include "sim/driver/memtest.h"
#include "sim/driver/presets.h"

int sc_main(int, char*[]) {
  return 1;
}  // required by libsystemc; never called

int main() {
  using namespace llmsim::driver;
  std::printf("%-12s %10s %14s %12s %16s %10s\n", "pattern", "requests", "sim cycles", "wall ms",
              "requests/wall s", "GB/s");
  for (const auto& [pattern, requests] :
       {std::pair<const char*, std::uint64_t>{"seq_read", 16u << 20}, {"random_read", 1u << 20}}) {
    MemtestOptions o;
    o.pattern = pattern;
    o.requests = requests;
    const MemtestResult r = run_memtest(load_arch("hbm2-stack"), {}, o);
    std::printf("%-12s %10llu %14llu %12.1f %16.3e %10.1f\n", pattern,
                static_cast<unsigned long long>(r.requests),
                static_cast<unsigned long long>(r.cycles), r.wall_seconds * 1e3,
                double(r.requests) / r.wall_seconds, r.achieved_bandwidth_gbps);
  }
  return 0;
}
