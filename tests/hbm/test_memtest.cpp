// `llmsim memtest` on the hbm2-stack preset (one HBM2 stack: 16 pseudo channels of 64 bits at
// 1 GHz, BL4 -> 32 B bursts, tBL = tCCD_S = 2; tRFC 260, tREFI 3900, tRP = tRCDRD = 14;
// tRRD_S 4, tFAW 30, tRC 48). The arithmetic is in docs/timing.md, "HBM".
#include "sim/driver/memtest.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "sim/core/error.h"
#include "sim/driver/presets.h"

namespace llmsim::driver {
namespace {

MemtestResult memtest(const std::string& pattern, std::uint64_t requests,
                      std::vector<std::string> sets = {}) {
  MemtestOptions o;
  o.pattern = pattern;
  o.requests = requests;
  return run_memtest(load_arch("hbm2-stack"), sets, o);
}

}  // namespace

TEST_CASE("memtest: sequential reads reach peak less refresh", "[hbm][memtest]") {
  const MemtestResult r = memtest("seq_read", 100000);
  // Peak: 16 pseudo channels x 32 B per tBL = 2 cycles at 1 GHz = 256 GB/s.
  CHECK(r.peak_bandwidth_gbps == Approx(256.0));
  // Refresh: every tREFI = 3900 cycles a pseudo channel precharges (tRP 14), refreshes
  // (tRFC 260) and re-activates (tRCDRD 14): 288 cycles lost, 7.4 %. Bound:
  // 256 x (1 - 288 / 3900) = 237.1 GB/s. Row switches are hidden: the next row is in another
  // bank group and is activated while the current one streams.
  const double bound = 256.0 * (1.0 - 288.0 / 3900.0);
  CHECK(r.achieved_bandwidth_gbps <= bound);
  CHECK(r.achieved_bandwidth_gbps >= 0.99 * bound);
  // 100000 x 64 B = 200000 bursts, 12500 per pseudo channel: 25000 cycles of data, plus six
  // refreshes (27020 / 3900 = 6.9) of 288 = 1728, plus the first ACT -> data (14 + 14 + 2).
  // Regression pin of the exact schedule:
  CHECK(r.cycles == 27020);
  // One row of 1 KB = 32 bursts per activation: 31 of 32 column accesses hit.
  CHECK(r.row_hit_rate == Approx(0.96792));
}

TEST_CASE("memtest: uniform random reads miss rows and are bound by tFAW", "[hbm][memtest]") {
  const MemtestResult r = memtest("random_read", 100000);
  CHECK(r.row_hit_rate < 0.001);
  // Every 32 B burst needs its own ACT (a 64 B request spans two channels). A pseudo channel
  // may activate 4 rows per tFAW = 30 cycles (tRRD_S = 4 would allow 7.5, tRC = 48 over 16
  // banks 10.7): 4 x 32 B / 30 cycles x 16 pseudo channels = 68.3 GB/s, less refresh (7.4 %):
  // 63.2 GB/s. Bank collisions of random rows (tRC) cost the rest.
  const double bound = 4.0 * 32.0 / 30.0 * 16.0 * (1.0 - 288.0 / 3900.0);
  CHECK(r.achieved_bandwidth_gbps <= bound);
  CHECK(r.achieved_bandwidth_gbps >= 0.9 * bound);
  CHECK(r.cycles == 107036);  // regression pin of the exact schedule
}

TEST_CASE("memtest: an offered rate below peak is delivered at that rate", "[hbm][memtest]") {
  MemtestOptions o;
  o.pattern = "seq_read";
  o.requests = 20000;
  o.rate_gb_per_s = 64;  // a quarter of peak: queues stay short
  const MemtestResult r = run_memtest(load_arch("hbm2-stack"), {}, o);
  CHECK(r.offered_bandwidth_gbps == 64);
  CHECK(r.achieved_bandwidth_gbps == Approx(64).epsilon(0.01));
  // Unloaded read latency: ACT-free row hits take tCL + tBL = 16 cycles; the first of a row
  // adds tRCDRD = 14. The median request is a hit.
  CHECK(r.p50_latency_cycles == 16);
}

TEST_CASE("memtest: all patterns run and report JSON keys", "[hbm][memtest]") {
  for (const char* p :
       {"seq_read", "seq_write", "mixed", "random_read", "random_write", "strided"}) {
    const MemtestResult r = memtest(p, 4000);
    CHECK(r.requests == 4000);
    CHECK(r.bytes == 4000 * 64);
    CHECK(r.achieved_bandwidth_gbps > 0);
    const auto j = r.to_json();
    for (const char* k :
         {"achieved_bandwidth_gbps", "peak_bandwidth_gbps", "avg_latency_ns", "p50_latency_ns",
          "p99_latency_ns", "row_hit_rate", "energy_pj_per_bit"}) {
      CHECK(j.contains(k));
    }
  }
}

TEST_CASE("memtest: a request trace with and without cycles", "[hbm][memtest]") {
  const auto path = std::filesystem::temp_directory_path() / "llmsim_trace.txt";
  std::ofstream(path) << "# address R|W [cycle]\n0x0 R 0\n0x20 R 0\n4096 W 100\n";
  MemtestOptions o;
  o.trace_file = path.string();
  const MemtestResult r = run_memtest(load_arch("hbm2-stack"), {}, o);
  CHECK(r.requests == 3);
  CHECK(r.bytes == 3 * 32);  // a trace request is one burst
  // Burst 4096 / 32 = 128 decodes (ro_ba_bg_co_pc_ch) to channel 0, pseudo channel 0, column 8
  // of the row the read of address 0 opened: a row hit. WR at 100, its data tCWL 4 + tBL 2
  // later: done at 106.
  CHECK(r.cycles == 106);
  std::ofstream(path) << "0x0 X\n";
  CHECK_THROWS_WITH(run_memtest(load_arch("hbm2-stack"), {}, o),
                    path.string() + ":1: expected \"ADDRESS R|W [CYCLE]\", got \"0x0 X\"");
}

TEST_CASE("memtest: needs an HBM memory and a known pattern", "[hbm][memtest]") {
  MemtestOptions o;
  CHECK_THROWS_WITH(run_memtest(load_arch("edge"), {}, o),
                    "memory.type: must be \"hbm\" for memtest (the simple memory has no "
                    "controller to test)");
  o.pattern = "zigzag";
  CHECK_THROWS_AS(run_memtest(load_arch("hbm2-stack"), {}, o), UserError);
}

}  // namespace llmsim::driver
