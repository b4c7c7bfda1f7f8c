#pragma once
// A small lowering target for the workloads tests: a 16x16 int8 array per core, a 256 KiB
// scratchpad (128 KiB slots), a 64 KiB accumulator, 64 bytes per cycle of DMA and DRAM, and the
// GEMM cost m + k + n cycles.
#include <cstdint>

#include "workloads/target.h"

namespace llmsim::testing {

inline workloads::Target small_target(std::uint32_t cores = 1) {
  workloads::Target t;
  t.num_cores = cores;
  t.array_rows = t.array_cols = 16;
  t.scratchpad_bytes = 256 * 1024;
  t.accumulator_bytes = 64 * 1024;
  t.dma_bytes_per_cycle = 64;
  t.dram_bytes_per_cycle = 64;
  t.dtypes = {isa::DType::int8};
  t.gemm_cost = [](isa::Dataflow, std::uint64_t m, std::uint64_t k, std::uint64_t n) {
    return workloads::Target::GemmCost{m + k + n, m + k + n};
  };
  return t;
}

}  // namespace llmsim::testing
