// The cycle breakdown (arch/core/activity.h): every core cycle of a span is compute, memory
// stall or sync, and the three add up to the span.
#include "arch/core/activity.h"

#include <cstdint>
#include <random>
#include <vector>

#include <catch2/catch.hpp>
#include <systemc>

#include "arch/core/core.h"
#include "arch/memory/simple_memory.h"
#include "sim/driver/kernel_session.h"
#include "sim/driver/presets.h"
#include "sim/driver/run.h"
#include "tests/support/small_core.h"

namespace llmsim::core {
namespace {

// 1 GHz core with a 16x16 WS int8 array, 8 x 16 B SRAMs and a 64 B/cycle DMA engine (4 blocks
// in flight) on a simple memory of 64 B per 1 GHz cycle and 100 cycles latency.
CoreParams core_params() {
  CoreParams p = test::small_core();
  p.vector.timing.lanes = 16;
  p.vector.timing.pipeline_depth_cycles = 4;
  p.dma.bytes_per_cycle = 64;
  p.dma.max_outstanding_blocks = 4;
  return p;
}

isa::Block block(std::uint64_t dram_addr, std::uint64_t sram_addr, std::uint64_t stride) {
  isa::Block b;
  b.rows = b.cols = 16;
  b.dram_addr = dram_addr;
  b.dram_stride_bytes = stride;
  b.sram_addr = sram_addr;
  return b;
}

struct Rig {
  Rig() : mem("mem", memory::SimpleMemoryParams{}, root), barriers(1), ops(1) {}
  stats::Group root{"chip"};
  memory::SimpleMemory mem;
  BarrierHub barriers;
  OpRecords ops;
  Core core{"core0", 0, core_params(), mem, barriers, ops, root};
};

// Cycles of [begin, end) in `set`, one cycle at a time.
std::uint64_t brute_covered(const std::vector<std::vector<bool>>& cycles, std::size_t set,
                            std::uint64_t begin, std::uint64_t end) {
  std::uint64_t n = 0;
  for (std::uint64_t t = begin; t < end; ++t) n += cycles[set][t];
  return n;
}

}  // namespace

TEST_CASE("activity: a single-tile GEMM on one core is load stall, compute, store stall",
          "[core][activity]") {
  driver::KernelSession session;
  Rig rig;
  isa::CoreProgram program;
  program.semaphore_init = {0, 0};  // 0: A and B loaded; 1: C computed
  isa::DmaLoad a{block(0, 0, 16)}, b{block(0x1000, 0x100, 16)};
  isa::Gemm g;
  g.a_addr = 0, g.b_addr = 0x100, g.c_addr = 0, g.m = g.k = g.n = 16;
  isa::DmaStore c{block(0x2000, 0, 16)};  // 16 x 16 int32 accumulators -> int8
  program.queue(isa::QueueKind::load) = {{a, 0}, {b, 0}, {isa::SemSignal{0}, -1}};
  program.queue(isa::QueueKind::compute) = {{isa::SemWait{0}, -1}, {g, 0}, {isa::SemSignal{1}, -1}};
  program.queue(isa::QueueKind::store) = {{isa::SemWait{1}, -1}, {c, 0}};
  rig.core.load(program);
  sc_core::sc_start();
  REQUIRE_FALSE(rig.core.error());
  REQUIRE(rig.core.finished());
  rig.core.finish_activity();
  // Load A (256 B) issues at 0: engine 256/64 = 4 cycles, bus 0-4 + 100 latency: done at 104.
  // Load B issues at 0 too; the engine and the bus are free at 4: done at 8 + 100 = 108.
  // sem 0 (released when both loads are done) lets the GEMM start at 108: one WS fold,
  // 2R + N + M - 2 = 32 + 16 + 16 - 2 = 62 cycles: 108-170. The store (256 B to DRAM, 1 KiB
  // of accumulators = 8 lines per bank) issues at 170: engine 4, bus 170-174 + 100: done at 274.
  const OpRecord& op = rig.ops[0];
  CHECK(op.first_start == Cycles(0));
  CHECK(op.last_end == Cycles(274));
  const CoreActivity& act = rig.core.activity();
  CHECK(act.ran_op(0));
  const CycleBreakdown in_op = act.breakdown(op.first_start, op.last_end);
  CHECK(in_op.compute == Cycles(62));              // 108-170
  CHECK(in_op.memory_stall == Cycles(108 + 104));  // 0-108 loads, 170-274 the store
  CHECK(in_op.sync == Cycles(0));
  // Past the end of the program the core idles: sync. A span inside the GEMM is all compute.
  const CycleBreakdown longer = act.breakdown(Cycles(100), Cycles(300));
  CHECK(longer.memory_stall == Cycles(8 + 104));
  CHECK(longer.compute == Cycles(62));
  CHECK(longer.sync == Cycles(26));
  const CycleBreakdown inside = act.breakdown(Cycles(120), Cycles(130));
  CHECK(inside.compute == Cycles(10));
  CHECK(inside.memory_stall + inside.sync == Cycles(0));
}

TEST_CASE("activity: interval sets answer spans as a cycle-by-cycle count does",
          "[core][activity]") {
  // Two random interval sets on [0, 400), the difference of one and the other, and random
  // spans: covered() and minus() against a per-cycle bitmap. Intervals come in order of their
  // starts and may overlap the one before (the array and the vector unit busy at once): the
  // set holds their union.
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<std::vector<bool>> cycles(3, std::vector<bool>(400, false));
    IntervalSet sets[2];
    for (int s = 0; s < 2; ++s) {
      std::uint64_t t = rng() % 10;
      while (t < 390) {
        const std::uint64_t len = rng() % 20, gap = rng() % 3 * (rng() % 15);  // gap 0: merges
        const std::uint64_t end = std::min<std::uint64_t>(t + len, 400);
        sets[s].add(Cycles(t), Cycles(end));
        for (std::uint64_t c = t; c < end; ++c) cycles[s][c] = true;
        t = rng() % 4 == 0 ? t + 1 + rng() % (len + 1) : end + gap;  // overlapping, or after
      }
    }
    const IntervalSet diff = sets[0].minus(sets[1]);
    for (std::uint64_t c = 0; c < 400; ++c) cycles[2][c] = cycles[0][c] && !cycles[1][c];
    for (int span = 0; span < 20; ++span) {
      std::uint64_t b = rng() % 401, e = rng() % 401;
      if (b > e) std::swap(b, e);
      CHECK(sets[0].covered(Cycles(b), Cycles(e)).count() == brute_covered(cycles, 0, b, e));
      CHECK(sets[1].covered(Cycles(b), Cycles(e)).count() == brute_covered(cycles, 1, b, e));
      CHECK(diff.covered(Cycles(b), Cycles(e)).count() == brute_covered(cycles, 2, b, e));
    }
  }
}

TEST_CASE("activity: per op and per layer, compute + stall + sync = span x cores",
          "[core][activity]") {
  // BERT-style layers on four datacenter cores (HBM, NoC, barriers between dependent ops).
  const auto r = driver::run(
      {"datacenter", driver::load_arch("datacenter"), {}, workloads::load_workload("mlp"), {}});
  std::uint64_t stall = 0, sync = 0;
  for (const driver::OpResult& o : r.ops) {
    INFO(o.name);
    const driver::CoreCycles& c = o.breakdown;
    CHECK(c.cores >= 1);
    CHECK(c.cores <= 4);
    CHECK(c.compute_cycles + c.memory_stall_cycles + c.sync_cycles == o.cycles * c.cores);
    stall += c.memory_stall_cycles, sync += c.sync_cycles;
  }
  for (const driver::LayerResult& l : r.layers) {
    INFO(l.name);
    const driver::CoreCycles& c = l.breakdown;
    CHECK(c.compute_cycles + c.memory_stall_cycles + c.sync_cycles == l.cycles * c.cores);
  }
  CHECK(stall > 0);  // every op waits for its first loads
  CHECK(sync > 0);   // the cores finish their shares of an op's tiles at different times
  CHECK(r.stats["ops"][0]["memory_stall_cycles"] == r.ops[0].breakdown.memory_stall_cycles);
  CHECK(r.stats["layers"][0]["cores"] == r.layers[0].breakdown.cores);
}

}  // namespace llmsim::core
