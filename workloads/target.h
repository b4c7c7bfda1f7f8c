#pragma once
// What the frontend needs to know about the hardware to lower a workload: sizes and rates as
// plain numbers, and the hardware's own cost function for a GEMM (the closed form of
// arch/systolic, injected by the driver so that workloads/ does not depend on arch models).
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "arch/isa/dtype.h"
#include "arch/isa/isa.h"

namespace llmsim::workloads {

struct Target {
  std::uint32_t num_cores = 1;
  std::uint32_t array_rows = 0;         // systolic array, R
  std::uint32_t array_cols = 0;         // systolic array, C
  std::uint64_t scratchpad_bytes = 0;   // per core
  std::uint64_t accumulator_bytes = 0;  // per core
  double dma_bytes_per_cycle = 0;       // per core, in core cycles
  std::uint32_t dma_max_outstanding_blocks = 1;  // per core: DMA blocks in flight at once
  // Core cycles from a lone DMA read's issue to its data at an idle memory (the memory's idle
  // latency, plus the NoC's zero-load round trip where there is one).
  double dram_latency_cycles = 0;
  double dram_bytes_per_cycle = 0;      // whole chip, peak, in core cycles
  // An access pattern: `streams` requesters (cores) at once, each reading blocks made of rows
  // of `row_bytes` contiguous bytes, `stride_bytes` apart (stride == row_bytes: contiguous).
  struct DramPattern {
    std::uint64_t row_bytes = 0, stride_bytes = 0;
    std::uint32_t streams = 1;
  };
  // Bytes per core cycle the whole chip's memory achieves on `p` (measured on the memory model:
  // address mapping, banks, rows, queues); none: dram_bytes_per_cycle, the peak.
  std::function<double(const DramPattern& p)> dram_bandwidth;
  std::vector<isa::DType> dtypes;       // supported by the systolic arrays
  // The memory's interleaving period (MemoryBackend::interleave_period_bytes): a buffer at
  // least this large starts at a multiple of it (dram_buffers.h); 0: none.
  std::uint64_t dram_period_bytes = 0;
  // The memory's capacity in bytes; none: limited to kMaxDramBytes (workloads/limits.h).
  std::optional<std::uint64_t> dram_capacity_bytes;
  // The array overlaps consecutive GEMM instructions (core.systolic.pipelining).
  bool array_pipelined = false;
  // The dataflows the arrays offer; the first is their default (core.systolic).
  std::vector<isa::Dataflow> dataflows{isa::Dataflow::ws};
  // What one GEMM instruction of m x k x n in `dataflow` costs on one core's array (the closed
  // forms of arch/systolic/timing.h):
  //   latency  its cycles on an idle array without pipelining, fill and drain included;
  //   period   the cycles it adds to a back-to-back chain of identical GEMMs on this array
  //            (pipelined: one fold period per fold; not pipelined: the latency).
  struct GemmCost {
    std::uint64_t latency = 0, period = 0;
  };
  std::function<GemmCost(isa::Dataflow, std::uint64_t m, std::uint64_t k, std::uint64_t n)>
      gemm_cost;
  // Cycles of one vector instruction on one core's vector unit (arch/vector/timing.h), for the
  // predicted cycles of vector ops; none: not predicted.
  std::function<std::uint64_t(const isa::VectorOp&)> vector_cycles;
};

}  // namespace llmsim::workloads
