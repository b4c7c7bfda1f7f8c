// sim/driver/dram_bandwidth.h: the DRAM bandwidth table behind Target::dram_bandwidth.
//
// hbm2-stack (configs/hbm2-stack.json): one HBM2 stack, 8 channels x 2 pseudo channels of
// 64 bits at 1 GHz, BL4: 32 B bursts, one burst per tBL = 2 cycles per pseudo channel, so
// 16 x 16 B per cycle = 256 GB/s peak. Mapping ro_ba_bg_co_pc_ch, from the least significant
// address bit: 5 bits of byte within a burst, 3 bits of channel (bits 5-7), 1 bit of pseudo
// channel (bit 8), 5 bits of column (32 bursts of a 1 KiB page, bits 9-13), then bank group,
// bank and row. All-bank refresh: tRP 14 + tRFC 260 + tRCDRD 14 = 288 of every tREFI = 3900
// cycles, so the table's refresh share is 1 - 288 / 3900 = 0.926154 and no pattern exceeds
// 256 x 0.926154 = 237.1 GB/s.
//
// The exact values are the model's deterministic schedule (regenerate with
// `llmsim memtest --arch hbm2-stack --set num_cores=4 --pattern-table --json`).
#include "sim/driver/dram_bandwidth.h"

#include <sstream>

#include <catch2/catch.hpp>

#include "sim/core/error.h"
#include "sim/driver/cli.h"
#include "sim/driver/presets.h"
#include "sim/driver/run.h"

namespace llmsim::driver {
namespace {

DramBandwidthTable table(const std::string& arch, std::vector<std::string> sets = {}) {
  return DramBandwidthTable::for_arch(validate(load_arch(arch), sets));
}

constexpr double kRefresh = 1.0 - 288.0 / 3900.0;
constexpr double kGB = 1e9;

}  // namespace

TEST_CASE("dram bandwidth: a contiguous stream reaches 90 % of the HBM2 peak", "[driver][dram]") {
  const DramBandwidthTable t = table("hbm2-stack");
  CHECK(t.peak_bytes_per_second() == Approx(256e9));
  const DramMeasurement m = t.measure({4096, 4096, 1});
  CHECK(m.refresh_availability == Approx(kRefresh));
  // Consecutive bursts walk the 16 pseudo channels, 32 to a page: 31 of 32 reads hit.
  CHECK(m.row_hit_rate == Approx(31.0 / 32.0).epsilon(0.002));
  CHECK(m.bytes_per_second >= 0.9 * 256e9);
  CHECK(m.bytes_per_second <= 256e9 * kRefresh);
  CHECK(m.bytes_per_second / kGB == Approx(232.78).margin(0.01));  // regression pin
}

TEST_CASE("dram bandwidth: 256 B rows at a 2 KiB stride reach half the pseudo channels",
          "[driver][dram]") {
  const DramBandwidthTable t = table("hbm2-stack", {"num_cores=4"});
  // A row starting at a multiple of 2048 covers bytes 0-255 of it: bursts with channel bits
  // 5-7 = 0..7 and pseudo-channel bit 8 = 0. Every row of the stride has bit 8 = 0, so one
  // requester reaches 8 of the 16 pseudo channels (pc 0 of each channel): at most
  // 8 x 16 B per cycle = 128 GB/s, 118.55 with refresh. Each pseudo channel streams: the
  // stride moves 4 columns (2048 / 512), 8 rows to a page, 7 of 8 reads hit.
  const DramMeasurement one = t.measure({256, 2048, 1});
  const double bound = 128e9 * kRefresh;
  CHECK(one.bytes_per_second <= bound * 1.0001);
  CHECK(one.bytes_per_second >= 0.95 * bound);  // floor: the pseudo channels it reaches stream
  CHECK(one.row_hit_rate == Approx(7.0 / 8.0).epsilon(0.002));
  // A second requester reads the neighbouring tile, 256 B further: bit 8 = 1, the other 8
  // pseudo channels. Together they reach all 16: at most 237.1 GB/s.
  const DramMeasurement two = t.measure({256, 2048, 2});
  CHECK(two.bytes_per_second <= 256e9 * kRefresh * 1.0001);
  CHECK(two.bytes_per_second >= 0.95 * 256e9 * kRefresh);
  // The table prices the mapper's 384 B rows at 1536 B as the grid point 256 B at 2048 B.
  const DramPattern q = t.quantise({384, 1536, 3});
  CHECK(q.row_bytes == 256);
  CHECK(q.stride_bytes == 2048);
  CHECK(q.streams == 2);
  CHECK(t.bytes_per_second({384, 1536, 3}) == two.bytes_per_second);
}

TEST_CASE("dram bandwidth: the interface hash spreads a strided tile over more channels",
          "[driver][dram]") {
  // 128 B rows at a 1 KiB stride: 4 bursts (channels 0-3) with bit 8 = 0, the same 4 pseudo
  // channels in every row: at most 64 GB/s, 59.27 with refresh.
  const double plain = table("hbm2-stack").measure({128, 1024, 1}).bytes_per_second;
  CHECK(plain <= 64e9 * kRefresh * 1.0001);
  CHECK(plain >= 0.95 * 64e9 * kRefresh);
  // "rotate" adds the column (2 more per row) to the interface index ch x 2 + pc: rows
  // rotate over the 8 even interfaces, twice as many: at most 118.55 GB/s.
  const double hashed = table("hbm2-stack", {"memory.interface_hash=rotate"})
                            .measure({128, 1024, 1})
                            .bytes_per_second;
  CHECK(hashed > 1.9 * plain);
  CHECK(hashed <= 128e9 * kRefresh * 1.0001);
}

TEST_CASE(
    "dram bandwidth: no grid point exceeds the peak less refresh, and all reach the "
    "steady state",
    "[driver][dram]") {
  const DramBandwidthTable t = table("hbm2-stack", {"num_cores=4"});
  const std::vector<DramTableRow> rows = dram_pattern_table(t, 4);
  // Rows 32 B .. 16 KiB (10) x 4 strides x 1, 2, 4 requesters.
  REQUIRE(rows.size() == 10 * 4 * 3);
  for (const DramTableRow& r : rows) {
    INFO(r.pattern.row_bytes << " B at " << r.pattern.stride_bytes << ", " << r.pattern.streams);
    CHECK(r.measured.bytes_per_second > 0);
    CHECK(r.measured.bytes_per_second <= 256e9 * kRefresh * 1.0001);
  }
  // Twice the warm-up and window move a point by less than 2 %.
  for (const DramPattern p : {DramPattern{4096, 4096, 1}, DramPattern{256, 2048, 1},
                              DramPattern{128, 8192, 4}, DramPattern{1024, 65536, 2}}) {
    INFO(p.row_bytes << " B at " << p.stride_bytes << ", " << p.streams);
    CHECK(t.measure(p, 2).bytes_per_second == Approx(t.measure(p).bytes_per_second).epsilon(0.02));
  }
}

TEST_CASE("dram bandwidth: the cache measures a point once per process", "[driver][dram]") {
  const DramBandwidthTable t = table("hbm2-stack", {"num_cores=2"});
  const std::uint64_t before = dram_bandwidth_measurements();
  const double first = t.bytes_per_second({512, 4096, 2});
  CHECK(dram_bandwidth_measurements() == before + 1);
  // The same grid point, from the same table, a pattern rounding to it, and another table of
  // the same memory: no new measurement.
  CHECK(t.bytes_per_second({512, 4096, 2}) == first);
  CHECK(t.bytes_per_second({700, 3000, 3}) == first);
  CHECK(table("hbm2-stack", {"num_cores=2"}).bytes_per_second({512, 4096, 2}) == first);
  CHECK(dram_bandwidth_measurements() == before + 1);
  // Another memory config, or another DMA depth, is another table.
  table("hbm2-stack", {"num_cores=2", "memory.interface_hash=rotate"})
      .bytes_per_second({512, 4096, 2});
  CHECK(dram_bandwidth_measurements() == before + 2);
  table("hbm2-stack", {"num_cores=2", "core.dma.max_outstanding_blocks=1"})
      .bytes_per_second({512, 4096, 2});
  CHECK(dram_bandwidth_measurements() == before + 3);
}

TEST_CASE("dram bandwidth: quantising rounds towards less bandwidth", "[driver][dram]") {
  const DramBandwidthTable t = table("hbm2-stack", {"num_cores=4"});
  auto q = [&](std::uint64_t row, std::uint64_t stride, std::uint32_t streams) {
    const DramPattern p = t.quantise({row, stride, streams});
    return std::vector<std::uint64_t>{p.row_bytes, p.stride_bytes, p.streams};
  };
  CHECK(q(384, 384, 4) == std::vector<std::uint64_t>{256, 256, 4});  // contiguous stays so
  CHECK(q(300, 320, 3) == std::vector<std::uint64_t>{256, 512, 2});  // sparser, fewer
  CHECK(q(8, 64, 8) == std::vector<std::uint64_t>{32, 64, 4});       // one burst at least
  CHECK(q(1 << 20, 1 << 22, 1) == std::vector<std::uint64_t>{16384, 1 << 20, 1});  // capped
  CHECK(q(16384, 20000, 1) == std::vector<std::uint64_t>{16384, 32768, 1});
  // A row shorter than a burst still moves the burst: 16 useful bytes of every 32.
  CHECK(t.bytes_per_second({16, 16, 1}) == Approx(0.5 * t.bytes_per_second({32, 32, 1})));
}

TEST_CASE("dram bandwidth: the simple memory's closed form", "[driver][dram]") {
  // edge: one bus of 16 B per cycle at 1066 MHz (17.056 GB/s), latency 107 cycles, DMA
  // max_outstanding_blocks 4 (the default). A 16 KiB block holds the bus 1024 cycles: four
  // in flight keep it busy, 17.056 GB/s on every pattern.
  const DramBandwidthTable t = table("edge");
  CHECK(t.peak_bytes_per_second() == Approx(17.056e9));
  CHECK(t.bytes_per_second({16, 16, 1}) == Approx(17.056e9));
  CHECK(t.bytes_per_second({256, 65536, 1}) == Approx(17.056e9));
  // One block in flight: 16384 B per 1024 + 107 cycles.
  const DramBandwidthTable one = table("edge", {"core.dma.max_outstanding_blocks=1"});
  CHECK(one.bytes_per_second({64, 128, 1}) == Approx(16384.0 / 1131.0 * 1066e6));
}

TEST_CASE("dram bandwidth: llmsim memtest --pattern-table prints the grid", "[driver][dram]") {
  std::ostringstream out, err;
  REQUIRE(cli_main({"memtest", "--arch", "edge", "--pattern-table"}, out, err) == 0);
  // edge: 1 core; rows 16 B .. 16 KiB (11) x 4 strides; every point at the peak.
  CHECK(out.str().find("44 points") != std::string::npos);
  CHECK(out.str().find("   16384         16384        1     17.1   100.0") != std::string::npos);
  std::ostringstream out2, err2;
  CHECK(cli_main({"memtest", "--arch", "edge", "--pattern-table", "--bytes", "64"}, out2, err2) ==
        2);
  CHECK(err2.str().find("--bytes 64: applies only without --pattern-table") != std::string::npos);
}

}  // namespace llmsim::driver
