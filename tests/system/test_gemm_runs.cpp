// Whole-chip GEMM runs through the driver, with cycle counts pinned and derived.
#include <catch2/catch.hpp>

#include "sim/core/error.h"
#include "sim/driver/presets.h"
#include "sim/driver/run.h"

namespace {

// `weights`: the --weights option ("" for the mapping's default); `tiles`: --tiles ("": the
// search's). The pins derived by hand give the tiles they derive, so that they do not move
// with the mapper's choices.
llmsim::driver::RunResult run(const std::string& arch, llmsim::workloads::Workload w,
                              std::vector<std::string> overrides = {},
                              const std::string& weights = "", const std::string& tiles = "") {
  using namespace llmsim;
  return driver::run({arch, driver::load_arch(arch), std::move(overrides), std::move(w),
                      driver::mapping_options("auto", "", "", weights, tiles)});
}

// A bundled workload by name.
llmsim::driver::RunResult run(const std::string& arch, const std::string& workload,
                              std::vector<std::string> overrides = {},
                              const std::string& weights = "", const std::string& tiles = "") {
  return run(arch, llmsim::workloads::load_workload(workload), std::move(overrides), weights,
             tiles);
}

// A one-matmul workload written inline.
llmsim::workloads::Workload matmul(std::uint64_t m, std::uint64_t k, std::uint64_t n,
                                   const char* dtype) {
  const llmsim::config::Json doc = {
      {"ops", {{{"op", "matmul"}, {"name", "g"}, {"m", m}, {"k", k}, {"n", n}, {"dtype", dtype}}}}};
  return llmsim::workloads::parse_workload(doc, "inline");
}

std::uint64_t core_counter(const llmsim::driver::RunResult& r, int core, const char* unit,
                           const char* stat) {
  return r.stats["chip"]["core" + std::to_string(core)][unit][stat].get<std::uint64_t>();
}

// The datacenter preset with its HBM replaced by a simple pipe of the same order of bandwidth
// (1.28 TB/s, 100 ns) and no NoC, so that every cycle of a run can be derived by hand.
const std::string kSimpleMemory =
    R"(memory={"type": "simple", "clock_mhz": 1250, "bus_bytes_per_cycle": 1024,
               "latency_cycles": 125})";
const std::string kNoNoc = "noc=null";
// The preset's arrays pipeline their folds; the pins below that derive a GEMM's cycles fold by
// fold (2R + Nf + M - 2 each) run them unpipelined, as SCALE-Sim times them.
const std::string kUnpipelined = "core.systolic.pipelining=none";
// The preset simulates its NoC a packet at a time; this simulates it flit by flit (4 VCs of 8
// flits, the defaults), for the pins that compare the two models.
const std::string kFlitNoc = "noc.model=flit";
// The tiles the hand derivations below work with (--tiles).
const std::string kTiles1024 = "1024x128x128";
const std::string kTiles2048 = "2048x128x128";

}  // namespace

TEST_CASE("datacenter cores on a simple memory: 1024x1024x1024 int8 matmul takes 17839 cycles") {
  const auto r = run("datacenter", "gemm1024", {kSimpleMemory, kNoNoc}, "", kTiles1024);
  // Derivation (datacenter.json cores: 4 x 128x128 WS at 1 GHz, pipelined; DMA 512 B/cycle;
  // accumulator 16 banks x 64 B = 1024 B/cycle; memory bus 1024 B per 0.8 ns cycle, 125 cycles
  // latency).
  //  - Tiling: mt x kt x nt = 1024 x 128 x 128 (one array fold per GEMM instruction; the
  //    A+B tile, 144 KiB, fits a slot; the 512 KiB int32 C tile fits a 1 MiB accumulator slot).
  //  - 8 output tiles dealt to 4 cores: 2 each, 8 k-tiles each: 16 GEMMs per core, back to
  //    back (each tile's 144 KiB loads in well under a fold, into another slot).
  //  - Pipelined WS (timing.h): one fill R = 128, then each fold streams M = 1024 rows (more than
  //    the R cycles the next fold's weights take to preload), then one drain Nf + R - 2 = 254:
  //    128 + 16 * 1024 + 254 = 16766 busy cycles (unpipelined: 16 * (2*128 + 128 + 1024 - 2)
  //    = 16 * 1406 = 22496).
  //  - Before the first GEMM: all four cores load A (128 KiB) and B (16 KiB) at t = 0; the
  //    memory bus carries 4*128 + 4*16 = 576 cycles of data, the last B then needs 125 cycles of
  //    latency: 701 memory cycles = 560.8 ns, so the last core starts computing at cycle 561.
  //  - After the last GEMM: the 1024x128 int32 C tile (512 KiB) leaves the accumulator at
  //    1024 B/cycle: 512 cycles (the DMA needs 128 KiB / 512 = 256; the memory
  //    128 + 125 cycles = 202.4 ns; both shorter).
  //  Total: 561 + 16766 + 512 = 17839 (unpipelined 561 + 22496 + 512 = 23569).
  CHECK(r.total_cycles == 17839);
  CHECK(run("datacenter", "gemm1024", {kSimpleMemory, kNoNoc, kUnpipelined}, "", kTiles1024)
            .total_cycles == 23569);
  REQUIRE(r.ops.size() == 1);
  CHECK(r.ops[0].plan.tiling.mt == 1024);
  CHECK(r.ops[0].plan.tiling.kt == 128);
  CHECK(r.ops[0].plan.tiling.nt == 128);
  for (int c = 0; c < 4; ++c) {
    CHECK(core_counter(r, c, "systolic", "busy_cycles") == 128 + 16 * 1024 + 254);
    CHECK(core_counter(r, c, "systolic", "stream_cycles") == 16 * 1024);
    CHECK(core_counter(r, c, "systolic", "macs") == (1ull << 30) / 4);
    CHECK(core_counter(r, c, "systolic", "stall_cycles") == 0);
  }
  // A-resident tiles (workloads/tiling.h): A (1024 x 1024 int8, 1 MiB) is one row block that
  // fits a core's 1 MiB A region, so each core reads it once, over its first output tile, and
  // keeps it for its second: 4 x 1 MiB, and B once, 1 MiB; C written once. (Without A
  // residency A was read once per output tile: 8 MiB.)
  CHECK(r.ops[0].plan.tiling.a_resident);
  CHECK(r.dram_read_bytes == 5 * (1ull << 20));
  CHECK(r.dram_written_bytes == 1ull << 20);
  CHECK(r.macs == 1ull << 30);
}

TEST_CASE("datacenter preset (HBM2E, NoC): 1024x1024x1024 int8 matmul takes 23852 cycles") {
  // The same program as above, unpipelined: 16 GEMMs of 1406 cycles per core, back to back (no
  // stalls).
  // What changes is the memory: the first A+B tiles of the four cores (4 x 144 KiB) and the last
  // C tiles now come from three HBM2E stacks through FR-FCFS controllers and the 4x4 mesh,
  // whose schedules are exact but not a closed form. Regression pins: with the cores wired to
  // the HBM directly, 23882 = 22496 of compute + 1386 cycles of first load and last store
  // (561 + 512 = 1073 with the simple memory); through the NoC, 23852 (packets of 1 KiB wait
  // for their last burst, and the first tiles cross the mesh), 23887 with the NoC simulated
  // flit by flit. All four cores read the same A tile first; its rows (128 B at a 1 KiB
  // stride) would fall on 12 of the 48 pseudo channels without the preset's interface hash:
  // 25651 cycles with memory.interface_hash=none and row-major weights. (With all-bank
  // refresh, the preset's until the per-bank refresh of configs/datacenter.json, 24175,
  // 24192, 24233 and 26584: a refresh no longer stops a whole pseudo channel.)
  CHECK(run("datacenter", "gemm1024", {kNoNoc, kUnpipelined}, "", kTiles1024).total_cycles ==
        23882);
  CHECK(run("datacenter", "gemm1024", {kFlitNoc, kUnpipelined}, "", kTiles1024).total_cycles ==
        23887);
  CHECK(run("datacenter", "gemm1024", {"memory.interface_hash=none", kUnpipelined}, "row_major",
            kTiles1024)
            .total_cycles == 25651);
  const auto r = run("datacenter", "gemm1024", {kUnpipelined}, "", kTiles1024);
  CHECK(r.total_cycles == 23852);
  for (int c = 0; c < 4; ++c) {
    CHECK(core_counter(r, c, "systolic", "busy_cycles") == 16 * 1406);
    CHECK(core_counter(r, c, "systolic", "stall_cycles") == 0);
  }
  REQUIRE(r.row_hit_rate.has_value());
  CHECK(*r.row_hit_rate > 0.9);  // streams of whole rows
  CHECK(r.stats["chip"]["memory"]["read_bytes"].get<double>() == 5.0 * (1 << 20));  // as above
  CHECK(r.achieved_bandwidth_gb_per_s < r.peak_bandwidth_gb_per_s);
  CHECK(r.peak_bandwidth_gb_per_s == Approx(3 * 409.6));
}

TEST_CASE("the same run twice in one process gives the same stats") {
  for (const char* arch : {"edge", "datacenter"}) {  // simple memory, then HBM
    const auto a = run(arch, "mlp");
    const auto b = run(arch, "mlp");
    CHECK(a.total_cycles == b.total_cycles);
    CHECK(a.stats == b.stats);
  }
}

TEST_CASE("a chained op starts after its producer is stored, independent ops overlap") {
  const auto r = run("edge", "mlp");
  REQUIRE(r.ops.size() == 3);
  const auto& up = r.ops[0];
  const auto& down = r.ops[1];  // A = ffn_up's output
  const auto& proj = r.ops[2];  // independent
  CHECK(down.start_cycle >= up.end_cycle);
  CHECK(proj.start_cycle < down.end_cycle);  // its loads begin while ffn_down computes
  CHECK(r.total_cycles == std::max({up.end_cycle, down.end_cycle, proj.end_cycle}));
}

TEST_CASE("one core's work splits over four: compute-bound GEMM close to 4x faster") {
  const auto four =
      run("datacenter", "gemm1024", {kSimpleMemory, kNoNoc, kUnpipelined}, "", kTiles1024);
  const auto one = run("datacenter", "gemm1024",
                       {kSimpleMemory, kNoNoc, kUnpipelined, "num_cores=1"}, "", kTiles1024);
  const double speedup = double(one.total_cycles) / double(four.total_cycles);
  CHECK(speedup > 3.8);
  CHECK(speedup <= 4.0);
}

TEST_CASE("datacenter through the NoC and HBM: a compute-bound GEMM runs 3.84x faster on 4 cores") {
  // Unpipelined (kUnpipelined).
  // 2048^3 int8, tiles 2048 x 128 x 128: one WS fold per GEMM instruction streams M = 2048 rows,
  // 2*128 + 128 + 2048 - 2 = 2430 cycles. 16 output tiles (columns of C) x 16 k-tiles = 256
  // GEMM instructions in all, 64 per core on 4 cores: 64 x 2430 = 155520 busy cycles per core, back
  // to back (no stalls: every tile's A+B, 2048x128 + 128x128 B, loads under the previous fold), and
  // 256 x 2430 = 622080 on one. The rest is the first load and the last store through the mesh and
  // HBM: 6916 cycles on 4 cores (the four cores load their first tiles at once), 1874 on one.
  // A lies at 0 and B at 4.5 MiB: each tensor of at least the HBM's interleaving period
  // (2.25 MiB, dram_buffers.h) starts on a multiple of it, so the first rows of A and B fall on
  // the same pseudo channels and banks, and the four cores' first tiles meet there (2283 cycles
  // on 4 cores when B started at 4 MiB). Regression pins; flit by flit, 162,333 and 624,074
  // cycles (the first tiles' packets interleave differently).
  const auto w = matmul(2048, 2048, 2048, "int8");
  const auto four = run("datacenter", w, {kUnpipelined}, "", kTiles2048);
  const auto one = run("datacenter", w, {kUnpipelined, "num_cores=1"}, "", kTiles2048);
  CHECK(run("datacenter", w, {kFlitNoc, kUnpipelined}, "", kTiles2048).total_cycles == 162333);
  CHECK(
      run("datacenter", w, {kFlitNoc, kUnpipelined, "num_cores=1"}, "", kTiles2048).total_cycles ==
      624074);
  for (int c = 0; c < 4; ++c) {
    CHECK(core_counter(four, c, "systolic", "busy_cycles") == 64 * 2430);
    CHECK(core_counter(four, c, "systolic", "stall_cycles") == 0);
  }
  CHECK(core_counter(one, 0, "systolic", "busy_cycles") == 256 * 2430);
  CHECK(four.total_cycles == 162436);
  CHECK(one.total_cycles == 623954);
  const double speedup = double(one.total_cycles) / double(four.total_cycles);
  CHECK(speedup == Approx(3.841).margin(0.001));
  // Both are within 24 % (4 cores) and 20 % (1 core) of the compute bound MACs / PEs (a fold's
  // 2430 cycles against 2048 of streaming).
  CHECK(double(four.total_cycles) / four.compute_bound_cycles < 1.24);
  CHECK(double(one.total_cycles) / one.compute_bound_cycles < 1.20);
}

TEST_CASE("datacenter: the rotate interface hash takes the 2048^3 GEMM's tiles off 12 interfaces") {
  // The same 2048^3 int8 GEMM as above, unpipelined. With row-major weights its A tiles (2048 rows
  // of 128 B at a 2 KiB pitch) and B tiles (128 rows at the same pitch) start every row at one of
  // 12 of the 48 pseudo channels unless the preset's interface hash rotates them
  // (tests/hbm/test_address_mapping.cpp works it out), so loads queue on a quarter of the HBM
  // while the rest idles: 164,090 cycles against 159,732. Tiled weights (the auto mapping's
  // default) read each B tile as one contiguous 16 KiB block, which needs the hash too:
  // without it the run takes 202,471 cycles, the cores stalled for memory 187,678 core-cycles
  // against 27,134. Regression pins.
  using namespace llmsim;
  const auto w = matmul(2048, 2048, 2048, "int8");
  const std::string none = "memory.interface_hash=none";
  const auto plain = run("datacenter", w, {none, kUnpipelined}, "row_major", kTiles2048);
  const auto hashed = run("datacenter", w, {kUnpipelined}, "row_major", kTiles2048);
  CHECK(plain.total_cycles == 164090);
  CHECK(hashed.total_cycles == 159732);
  CHECK(hashed.ops[0].breakdown.memory_stall_cycles < plain.ops[0].breakdown.memory_stall_cycles);
  CHECK(hashed.dram_read_bytes == plain.dram_read_bytes);
  const auto tiled_plain = run("datacenter", w, {none, kUnpipelined}, "", kTiles2048);
  const auto tiled = run("datacenter", w, {kUnpipelined}, "", kTiles2048);
  CHECK(tiled_plain.total_cycles == 202471);
  CHECK(tiled_plain.ops[0].breakdown.memory_stall_cycles == 187678);
  CHECK(tiled.total_cycles == 162436);
  CHECK(tiled.ops[0].breakdown.memory_stall_cycles == 27134);
  CHECK_THROWS_MATCHES(
      driver::validate(driver::load_arch("datacenter"), {"memory.interface_hash=xor"}), ConfigError,
      Catch::Matchers::Message("memory.interface_hash: must be one of none, rotate, got \"xor\""));
}

TEST_CASE("datacenter through the NoC and HBM: a memory-bound GEMM is no faster than HBM allows") {
  // 32768 x 128 x 128 fp32: A 16 MiB and C 16 MiB stream through, B is 64 KiB. Each output
  // tile (mt rows) reads its A rows and all of B once and writes its C rows once: 128 MACs per
  // 1 KiB of traffic, far below what the array needs to be busy. Unpipelined (the pins
  // predate the pipelined array). On 4 cores the tiles are
  // 1024 x 64 x 128 (32 tiles, 8 per core; 16 GEMMs of 1406 cycles = 22496 busy cycles per
  // core), on one core 2048 x 128 x 128 (16 tiles).
  const auto w = matmul(32768, 128, 128, "fp32");
  const auto four = run("datacenter", w, {kUnpipelined}, "", "1024x64x128");
  const auto one = run("datacenter", w, {kUnpipelined, "num_cores=1"}, "", "2048x128x128");
  const auto direct = run("datacenter", w, {kUnpipelined, "noc=null"}, "", "1024x64x128");
  for (const auto* r : {&four, &one, &direct}) {
    // Never faster than every byte at the HBM peak (3 stacks x 409.6 GB/s at 1 GHz core clock).
    const double bytes = double(r->dram_read_bytes + r->dram_written_bytes);
    CHECK(double(r->total_cycles) >= bytes / 1228.8);
    CHECK(r->achieved_bandwidth_gb_per_s <= r->peak_bandwidth_gb_per_s);
  }
  // One core is bound by its own DMA engine, 512 B per cycle: 34603008 B / 512 = 67584 cycles
  // (A and C once, B once per tile: 16 MiB + 16 x 64 KiB + 16 MiB), plus the first load's
  // latency and the last store's.
  CHECK(one.dram_read_bytes + one.dram_written_bytes == 34603008);
  CHECK(one.total_cycles >= 67584);
  // 70,204 without the nodes' cap of 32 packets in flight (noc.max_outstanding_packets = 0).
  CHECK(one.total_cycles == 68634);
  CHECK(one.dram_read_bytes == (16u << 20) + 16 * 64 * 1024);
  // Four cores share the HBM: 1.75x one core, not 4x.
  CHECK(four.dram_read_bytes == (16u << 20) + 32 * 64 * 1024);
  for (int c = 0; c < 4; ++c) CHECK(core_counter(four, c, "systolic", "busy_cycles") == 16 * 1406);
  CHECK(four.total_cycles == 38252);  // 932 GB/s through the mesh
  // Without the interface hash, 44,011 (810 GB/s).
  CHECK(run("datacenter", w, {kUnpipelined, "memory.interface_hash=none"}, "", "1024x64x128")
            .total_cycles == 44011);
  // Flit by flit, 38,738 (920 GB/s): a 1 KiB response waits for credits at each router.
  CHECK(run("datacenter", w, {kUnpipelined, kFlitNoc}, "", "1024x64x128").total_cycles == 38738);
  // Wired to the HBM directly: 1,067 GB/s, 87 % of the peak. The four DMA engines start their
  // blocks in lockstep, and this case is sensitive to the order of same-cycle arrivals
  // (HbmMemory: lower core first). (With all-bank refresh, the preset's until
  // configs/datacenter.json refreshed per bank: 40,925, 43,768, 41,121 and 37,212 cycles.)
  CHECK(direct.total_cycles == 33425);
  CHECK(double(one.total_cycles) / double(four.total_cycles) < 1.8);
  CHECK(four.achieved_bandwidth_gb_per_s < 0.8 * four.peak_bandwidth_gb_per_s);
}

TEST_CASE("cycles are never below the compute bound or the memory bound") {
  for (const char* arch : {"edge", "datacenter"}) {
    for (const char* w : {"gemm1024", "mlp"}) {
      const auto r = run(arch, w);
      const double compute_bound = double(r.macs) / double(r.peak_macs_per_cycle);
      const double bytes = double(r.dram_read_bytes + r.dram_written_bytes);
      const double memory_bound = bytes / (r.peak_bandwidth_gb_per_s * 1e9) * r.clock_mhz * 1e6;
      CHECK(double(r.total_cycles) >= compute_bound);
      CHECK(double(r.total_cycles) >= memory_bound);
    }
  }
}

TEST_CASE("every op carries the cost model's predicted cycles (calibration)") {
  // tools/calibration.py compares them with the simulated cycles over the regression set.
  // A matmul's prediction is its tiling's estimate (tiling.h); a fused op has none (0); every
  // other op's is max(busiest core's vector cycles, DRAM bytes / bandwidth) + one piece's DMA.
  const auto r = run("edge", "mlp");
  REQUIRE(r.ops.size() == 3);
  for (const auto& o : r.ops) {
    INFO(o.name);
    if (o.plan.fused_into >= 0) {
      CHECK(o.plan.predicted_cycles == 0);
    } else {
      CHECK(o.plan.predicted_cycles > 0);
    }
    if (o.kind == "matmul") CHECK(o.plan.predicted_cycles == o.plan.tiling.estimate_cycles);
  }
  const auto fixed = llmsim::driver::run({"edge",
                                          llmsim::driver::load_arch("edge"),
                                          {},
                                          llmsim::workloads::load_workload("mlp"),
                                          llmsim::driver::mapping_options("fixed", "", "", "")});
  for (const auto& o : fixed.ops) CHECK(o.plan.predicted_cycles > 0);  // estimated, not chosen
}
