#pragma once
// Test support: the small core the core-level tests run on.
#include "arch/core/core.h"

namespace llmsim::test {

// 64 KiB in 8 banks of 16 B.
inline sram::BankedSramParams small_sram() {
  sram::BankedSramParams p;
  p.capacity_bytes = 64 * 1024;
  p.banks = 8;
  p.bank_width_bytes = 16;
  return p;
}

// 1 GHz core: a 16x16 WS int8 array, scratchpad and accumulator of small_sram(); the vector
// unit and DMA engine at their defaults (tests set what they use).
inline core::CoreParams small_core() {
  core::CoreParams p;
  p.clock_mhz = 1000;
  p.systolic.shape = {16, 16};
  p.systolic.dataflows = {systolic::Dataflow::ws};
  p.systolic.dtypes = {isa::DType::int8};
  p.scratchpad = small_sram();
  p.accumulator = small_sram();
  return p;
}

}  // namespace llmsim::test
