// DmaEngine (arch/dma/dma_engine.h) with a SimpleMemory and BankedSrams: a block occupies the
// engine for ceil(DRAM-side bytes / bytes_per_cycle) core cycles, first come first served with
// the reservation made on arrival, and is done when the engine, the memory and the SRAM ports
// have all finished with it. Stores narrow accumulator elements on the way to DRAM.
#include "arch/dma/dma_engine.h"

#include <cstdint>
#include <exception>
#include <functional>
#include <utility>

#include <catch2/catch.hpp>
#include <systemc>

#include "arch/memory/simple_memory.h"
#include "arch/sram/banked_sram.h"
#include "sim/core/stats.h"
#include "sim/core/units.h"
#include "sim/driver/kernel_session.h"
#include "tests/support/actor.h"

namespace llmsim::dma {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;

using test::Actor;

using test::run_all;

// What a test varies; everything else is fixed: core and memory at 1000 MHz (1 ns cycles),
// memory bus 64 B per cycle, 64 KiB scratchpad, 16 KiB accumulator.
struct RigParams {
  std::uint64_t dma_bytes_per_cycle = 64;
  std::uint64_t mem_latency_cycles = 100;
  std::uint64_t spad_banks = 8, spad_bank_width = 16;
  std::uint64_t acc_banks = 8, acc_bank_width = 16;
  std::uint64_t max_outstanding = 4;
};

sram::BankedSramParams sram_params(std::uint64_t capacity, std::uint64_t banks,
                                   std::uint64_t width) {
  sram::BankedSramParams p;
  p.capacity_bytes = capacity;
  p.banks = banks;
  p.bank_width_bytes = width;
  p.shared_port = false;
  return p;
}

memory::SimpleMemoryParams mem_params(std::uint64_t latency) {
  memory::SimpleMemoryParams p;
  p.clock_mhz = 1000;
  p.bus_bytes_per_cycle = 64;
  p.latency_cycles = latency;
  return p;
}

DmaParams dma_params(std::uint64_t bytes_per_cycle, std::uint64_t max_outstanding = 4) {
  DmaParams p;
  p.bytes_per_cycle = bytes_per_cycle;
  p.max_outstanding_blocks = max_outstanding;
  return p;
}

// A core's DMA side. Construct inside a KernelSession (SimpleMemory is an sc_module).
// Stats: "mem.*", "spad.*", "acc.*" and "dma.*" under `root`.
struct Rig {
  explicit Rig(const RigParams& p)
      : core_clock(1000),
        mem("mem", mem_params(p.mem_latency_cycles), root),
        spad(sram_params(64 * 1024, p.spad_banks, p.spad_bank_width), root, "spad"),
        acc(sram_params(16 * 1024, p.acc_banks, p.acc_bank_width), root, "acc"),
        dma("dma", dma_params(p.dma_bytes_per_cycle, p.max_outstanding), core_clock, mem,
            /*core_id=*/0, root) {}

  stats::Group root{"chip"};
  ClockDomain core_clock;
  memory::SimpleMemory mem;
  sram::BankedSram spad;
  sram::BankedSram acc;
  DmaEngine dma;
};

// rows x cols elements of elem_bytes, dense in DRAM at dram_addr and in SRAM at sram_addr.
isa::DmaLoad load_of(std::uint64_t rows, std::uint64_t cols, std::uint32_t elem_bytes,
                     std::uint64_t dram_addr = 0, std::uint64_t sram_addr = 0) {
  isa::DmaLoad i;
  i.block.rows = rows;
  i.block.cols = cols;
  i.block.dram_addr = dram_addr;
  i.block.dram_stride_bytes = cols * elem_bytes;
  i.block.sram_addr = sram_addr;
  i.dst = isa::Sram::scratchpad;
  i.elem_bytes = elem_bytes;
  return i;
}

// An int32 accumulator block stored as int8.
isa::DmaStore store_of(std::uint64_t rows, std::uint64_t cols, std::uint64_t dram_addr = 0,
                       std::uint64_t sram_addr = 0) {
  isa::DmaStore i;
  i.block.rows = rows;
  i.block.cols = cols;
  i.block.dram_addr = dram_addr;
  i.block.dram_stride_bytes = cols;
  i.block.sram_addr = sram_addr;
  i.src = isa::Sram::accumulator;
  i.sram_elem_bytes = 4;
  i.dram_elem_bytes = 1;
  return i;
}

// Runs one load of 16 x 256 int8 (4096 B) at 0 ns into the scratchpad and checks it was done at
// `done_ns`. The check runs inside the session: an sc_time counts units of its own context's
// time resolution, so it must not outlive the session that made it.
void check_one_load(const RigParams& p, int done_ns) {
  driver::KernelSession session;
  Rig rig(p);
  Actor a("load", sc_time(0, SC_NS), [&] { rig.dma.load(load_of(16, 256, 1), rig.spad); });
  run_all({&a});
  REQUIRE(a.done_at() == sc_time(done_ns, SC_NS));
}

}  // namespace

TEST_CASE("A load is done when the engine, the memory and the SRAM are all done", "[dma]") {
  // 16 x 256 x 1 B = 4096 B in each case.
  RigParams p;
  SECTION("memory-bound") {
    // Engine 4096 / 64 = 64 cycles; memory 64 bus + 100 latency = 164; SRAM 8 banks x 16 B:
    // 256 lines / 8 = 32. Done at max(64, 164, 32) = 164 ns.
    check_one_load(p, 164);
  }
  SECTION("engine-bound") {
    // Engine 4096 / 16 = 256 cycles; memory 164; SRAM 32. Done at max(256, 164, 32) = 256 ns.
    p.dma_bytes_per_cycle = 16;
    check_one_load(p, 256);
  }
  SECTION("SRAM-bound") {
    // Engine 64; memory 164; SRAM of 1 bank x 8 B: 4096 / 8 = 512 lines = 512 cycles.
    // Done at max(64, 164, 512) = 512 ns.
    p.spad_banks = 1;
    p.spad_bank_width = 8;
    check_one_load(p, 512);
  }
}

TEST_CASE("A load moves rows x cols x elem_bytes and counts it", "[dma]") {
  driver::KernelSession session;
  Rig rig(RigParams{});
  std::uint64_t moved = 0;
  // 8 x 128 x 2 B = 2048 B. Engine 2048 / 64 = 32 cycles; memory 32 + 100 = 132; SRAM
  // 2048 / 16 = 128 lines / 8 banks = 16. Starting at 10 ns: done at 10 + 132 = 142 ns.
  Actor a("load", sc_time(10, SC_NS),
          [&] { moved = rig.dma.load(load_of(8, 128, 2, 1 << 20, 512), rig.spad); });
  run_all({&a});
  REQUIRE(a.done_at() == sc_time(142, SC_NS));
  REQUIRE(moved == 2048);
  REQUIRE(rig.root.counter_value("dma.loaded_bytes") == 2048);
  REQUIRE(rig.root.counter_value("dma.stored_bytes") == 0);
  REQUIRE(rig.root.counter_value("dma.busy_cycles") == 32);
  REQUIRE(rig.root.counter_value("dma.transfers") == 1);
  REQUIRE(rig.root.counter_value("mem.read_bytes") == 2048);
  REQUIRE(rig.root.counter_value("spad.written_bytes") == 2048);  // a load writes the SRAM
  REQUIRE(rig.root.counter_value("spad.read_bytes") == 0);
}

TEST_CASE("A store narrows 4-byte accumulators to 1-byte DRAM elements", "[dma]") {
  // 16 x 64 elements: SRAM side 16 * 64 * 4 = 4096 B (256 lines of 16 B, 32 per bank of 8),
  // DRAM side 16 * 64 * 1 = 1024 B (16 bus cycles; engine 1024 / 64 = 16 cycles).
  RigParams p;
  std::uint64_t moved = 0;
  SECTION("memory-bound") {
    // Done at max(engine 16, memory 16 + 100 = 116, SRAM 32) = 116 ns.
    driver::KernelSession session;
    Rig rig(p);
    Actor a("store", sc_time(0, SC_NS), [&] { moved = rig.dma.store(store_of(16, 64), rig.acc); });
    run_all({&a});
    REQUIRE(a.done_at() == sc_time(116, SC_NS));
    REQUIRE(moved == 1024);
    REQUIRE(rig.root.counter_value("dma.stored_bytes") == 1024);
    REQUIRE(rig.root.counter_value("dma.loaded_bytes") == 0);
    REQUIRE(rig.root.counter_value("dma.busy_cycles") == 16);
    REQUIRE(rig.root.counter_value("mem.written_bytes") == 1024);
    REQUIRE(rig.root.counter_value("mem.read_bytes") == 0);
    REQUIRE(rig.root.counter_value("acc.read_bytes") == 4096);  // a store reads the SRAM
    REQUIRE(rig.root.counter_value("acc.written_bytes") == 0);
  }
  SECTION("SRAM-bound: the SRAM side moves the wide elements") {
    // With no memory latency: engine 16, memory 16, SRAM 32 (4096 B, not 1024 B which would
    // take 8). Done at max(16, 16, 32) = 32 ns.
    p.mem_latency_cycles = 0;
    driver::KernelSession session;
    Rig rig(p);
    Actor a("store", sc_time(0, SC_NS), [&] { moved = rig.dma.store(store_of(16, 64), rig.acc); });
    run_all({&a});
    REQUIRE(a.done_at() == sc_time(32, SC_NS));
    REQUIRE(moved == 1024);
  }
}

TEST_CASE("The engine serves the queues first come first served, reserving on arrival", "[dma]") {
  // Engine 32 B per cycle, memory latency 10, accumulator 4 banks x 16 B (64 B per cycle).
  RigParams p;
  p.dma_bytes_per_cycle = 32;
  p.mem_latency_cycles = 10;
  p.acc_banks = 4;
  driver::KernelSession session;
  Rig rig(p);
  // L1 at 0 ns: 16 x 256 x 1 B = 4096 B. Engine [0, 128); spad 32 lines per bank -> 32;
  //   memory bus [0, 64), done 74. Done at max(128, 74, 32) = 128 ns.
  Actor l1("l1", sc_time(0, SC_NS), [&] { rig.dma.load(load_of(16, 256, 1), rig.spad); });
  // S at 1 ns: 16 x 64 int32 -> int8: DRAM 1024 B -> engine 32 cycles, waits for L1:
  //   [128, 160). Accumulator read of 4096 B = 256 lines / 4 banks = 64 -> 128 + 64 = 192.
  //   Memory bus [128, 144) (idle since 64), done 154. Done at max(160, 154, 192) = 192 ns.
  //   (Without waiting for the engine it would be done at 90 ns: bus [64, 80) + 10.)
  Actor s("s", sc_time(1, SC_NS), [&] { rig.dma.store(store_of(16, 64), rig.acc); });
  // L2 at 2 ns: 4096 B. S reserved [128, 160) on arrival, while still waiting for L1, so L2
  //   gets [160, 288) behind it. Spad write at 160: 160 + 32 = 192. Memory bus [160, 224)
  //   (idle since 144), done 234. Done at max(288, 234, 192) = 288 ns.
  Actor l2("l2", sc_time(2, SC_NS),
           [&] { rig.dma.load(load_of(16, 256, 1, 1 << 20, 4096), rig.spad); });
  run_all({&l1, &s, &l2});
  REQUIRE(l1.done_at() == sc_time(128, SC_NS));
  REQUIRE(s.done_at() == sc_time(192, SC_NS));
  REQUIRE(l2.done_at() == sc_time(288, SC_NS));

  REQUIRE(rig.root.counter_value("dma.transfers") == 3);
  REQUIRE(rig.root.counter_value("dma.busy_cycles") == 128 + 32 + 128);
  REQUIRE(rig.root.counter_value("dma.loaded_bytes") == 8192);
  REQUIRE(rig.root.counter_value("dma.stored_bytes") == 1024);
  REQUIRE(rig.root.counter_value("mem.read_bytes") == 8192);
  REQUIRE(rig.root.counter_value("mem.written_bytes") == 1024);
  REQUIRE(rig.root.counter_value("mem.queue_cycles") == 0);  // the engine did all the queueing
  REQUIRE(rig.root.counter_value("spad.written_bytes") == 8192);
  REQUIRE(rig.root.counter_value("acc.read_bytes") == 4096);
}

TEST_CASE("A block arriving exactly when the engine frees does not wait", "[dma]") {
  // Engine 16 B per cycle: the first 4096 B load holds it for [0, 256). Gate at t-1 and t for
  // a second 1024 B load (engine 64 cycles; memory 16 bus + 100 = 116; spad 8 lines/bank):
  //  - arriving at 255 ns it starts at 256: engine [256, 320), memory bus [256, 272) done 372,
  //    spad [256, 264). Done at max(320, 372, 264) = 372 ns;
  //  - arriving at 256 ns: the same, 372 ns;
  //  - arriving at 257 ns it starts at once: done 257 + 116 = 373 ns.
  struct Case {
    int arrive_ns, done_ns;
  };
  const Case cases[] = {{255, 372}, {256, 372}, {257, 373}};
  RigParams p;
  p.dma_bytes_per_cycle = 16;
  for (const Case& c : cases) {
    INFO("second load at " << c.arrive_ns << " ns");
    driver::KernelSession session;
    Rig rig(p);
    Actor a("a", sc_time(0, SC_NS), [&] { rig.dma.load(load_of(16, 256, 1), rig.spad); });
    Actor b("b", sc_time(c.arrive_ns, SC_NS),
            [&] { rig.dma.load(load_of(4, 256, 1, 1 << 20, 8192), rig.spad); });
    run_all({&a, &b});
    REQUIRE(a.done_at() == sc_time(256, SC_NS));
    REQUIRE(b.done_at() == sc_time(c.done_ns, SC_NS));
  }
}

}  // namespace llmsim::dma

namespace llmsim::dma {
namespace {

// Issues three 4096 B loads back to back from one thread (as a load queue does) and records
// when each was accepted and when each completed.
struct Pipelined {
  std::vector<double> accepted_ns, completed_ns;
};

Pipelined issue_three(std::uint64_t max_outstanding) {
  driver::KernelSession session;
  RigParams p;
  p.max_outstanding = max_outstanding;
  Rig rig(p);
  Pipelined out;
  Actor a("queue", sc_time(0, SC_NS), [&] {
    for (int i = 0; i < 3; ++i) {
      rig.dma.issue_load(
          load_of(16, 256, 1, 4096 * i, 4096 * i), rig.spad,
          [&](Cycles end, std::uint64_t) { out.completed_ns.push_back(double(end.count())); });
      out.accepted_ns.push_back(sc_core::sc_time_stamp().to_seconds() * 1e9);
    }
  });
  run_all({&a});
  return out;
}

}  // namespace

TEST_CASE("DMA: issue does not wait for completion; memory latency overlaps across blocks") {
  // Core, memory at 1 GHz; each 4096 B block: engine 4096/64 = 64 cycles, memory bus 64 cycles,
  // latency 100. With 4 slots all three are accepted at 0 ns. The datapath is reserved FCFS:
  // starts at 0, 64, 128. The memory bus serves them back to back: bus [0,64), [64,128),
  // [128,192), each done 100 cycles after its bus end: 164, 228, 292 ns. Blocking one at a time
  // would have ended at 164, 328, 492.
  const Pipelined r = issue_three(4);
  CHECK(r.accepted_ns == std::vector<double>{0, 0, 0});
  CHECK(r.completed_ns == std::vector<double>{164, 228, 292});
}

TEST_CASE("DMA: with one outstanding block, issue waits for the previous block to complete") {
  // max_outstanding_blocks = 1: block 2 is accepted when block 1 completes (164 ns) and runs
  // alone: done 164 + 164 = 328; block 3 accepted at 328, done 492.
  const Pipelined r = issue_three(1);
  CHECK(r.accepted_ns == std::vector<double>{0, 164, 328});
  CHECK(r.completed_ns == std::vector<double>{164, 328, 492});
}

}  // namespace llmsim::dma
