#pragma once
// Test support: one core on a simple memory, run program by program, for the core-level tests
// that derive cycles by hand (tests/arch/test_core_pipelined.cpp, test_core_dataflows.cpp).
#include <cstdint>
#include <exception>
#include <string>

#include <catch2/catch.hpp>
#include <systemc>

#include "arch/core/core.h"
#include "arch/memory/simple_memory.h"
#include "tests/support/small_core.h"

namespace llmsim::test {

// small_core() (1 GHz, 16x16 int8, SRAMs of 8 banks x 16 B) with a 16-lane fp32 vector unit of
// 4 pipeline stages and a 64 B/cycle DMA engine of 4 blocks in flight; the rig's simple memory
// moves 64 B per 1 GHz cycle after 100 cycles of latency.
inline core::CoreParams rig_core() {
  core::CoreParams c = small_core();
  c.vector.timing.lanes = 16;
  c.vector.timing.pipeline_depth_cycles = 4;
  c.vector.dtypes = {isa::DType::fp32};
  c.dma.bytes_per_cycle = 64;
  c.dma.max_outstanding_blocks = 4;
  return c;
}

// A dense 16x16 int8 block at `dram_addr` (rows 16 B apart) to or from `sram_addr`.
inline isa::Block block16(std::uint64_t dram_addr, std::uint64_t sram_addr) {
  isa::Block b;
  b.rows = b.cols = 16;
  b.dram_addr = dram_addr;
  b.dram_stride_bytes = 16;
  b.sram_addr = sram_addr;
  return b;
}

// Core "core0" of `p` on its own simple memory (build it inside a KernelSession).
struct CoreRig {
  explicit CoreRig(const core::CoreParams& p)
      : mem("mem", memory::SimpleMemoryParams{}, root),
        barriers(1),
        ops(1),
        core("core0", 0, p, mem, barriers, ops, root) {}
  stats::Group root{"chip"};
  memory::SimpleMemory mem;
  core::BarrierHub barriers;
  core::OpRecords ops;
  core::Core core;

  // Runs `program` (which must outlive the simulation) to its end; rethrows a queue's error.
  void run(const isa::CoreProgram& program) {
    core.load(program);
    sc_core::sc_start();
    if (core.error()) std::rethrow_exception(core.error());
    REQUIRE(core.finished());
  }

  std::uint64_t systolic(const char* stat) const {
    return root.counter_value("core0.systolic." + std::string(stat));
  }
};

}  // namespace llmsim::test
