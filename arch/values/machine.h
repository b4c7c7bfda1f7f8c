#pragma once
// Value mode's state for one run: the DRAM image the cores share, each core's scratchpad and
// accumulator images, and, per op, the bytes its stores wrote. The cores call the instruction
// hooks when an instruction takes effect (arch/core/core.cpp), so values ride the timing
// model's schedule and a wrong synchronisation in a program reads stale or partial data:
//   DMA load   at its completion: reads DRAM, writes the SRAM;
//   DMA store  at its completion: reads the SRAM, writes DRAM;
//   GEMM       when the array takes it: reads A, B (and the bias row), writes C;
//   vector op  when the unit starts it: reads and writes the SRAMs.
// Nothing here knows about time, and with value mode off the cores never call it.
//
// Element formats: the ISA carries byte widths only. An element of an instruction of op i is
// read by op i's dtype D: 1 byte int8; 2 bytes D (fp16 or bf16); 4 bytes int32 when D is int8
// (accumulators, bias rows), fp32 otherwise.
#include <cstdint>
#include <vector>

#include "arch/isa/isa.h"
#include "arch/values/element.h"
#include "arch/values/memory_image.h"

namespace llmsim::values {

class Machine {
 public:
  // `op_dtypes`: the dtype of each op of the workload, by op index. `record_stores` false:
  // stored_by() is empty for every op (no copy of the stored bytes is kept; the DRAM image
  // alone holds them, until a later store reuses the buffer).
  Machine(std::uint32_t cores, std::uint64_t scratchpad_bytes, std::uint64_t accumulator_bytes,
          std::vector<isa::DType> op_dtypes, bool record_stores = true);

  DramImage& dram() { return m_dram; }
  const DramImage& dram() const { return m_dram; }

  // Instruction `op` (its workload op; -1 for none) of core `core` takes effect.
  void load(std::uint32_t core, const isa::DmaLoad& i, int op);
  void store(std::uint32_t core, const isa::DmaStore& i, int op);
  void gemm(std::uint32_t core, const isa::Gemm& i, int op);
  void vector(std::uint32_t core, const isa::VectorOp& i, int op);

  // The bytes op `op`'s stores wrote, at their DRAM addresses (zero elsewhere): an op's output
  // buffer is reused once its readers are done, so the DRAM image at the end no longer holds it.
  // Empty without record_stores.
  const DramImage& stored_by(int op) const;

  // The format of an element `bytes` wide of op `op` (above).
  Format format(int op, std::uint32_t bytes) const;

 private:
  struct CoreImages {
    SramImage scratchpad, accumulator;
  };
  SramImage& sram(std::uint32_t core, isa::Sram s);

  DramImage m_dram;
  std::vector<CoreImages> m_cores;
  std::vector<isa::DType> m_dtypes;
  std::vector<DramImage> m_stored;  // per op; empty without record_stores
  DramImage m_empty;
};

}  // namespace llmsim::values
