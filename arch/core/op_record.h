#pragma once
// Per-op accounting, filled by the cores as they run the instructions tagged with an op index,
// read by the driver for the per-op report (ops.csv).
#include <cstdint>
#include <limits>
#include <vector>

#include "sim/core/units.h"

namespace llmsim::core {

struct OpRecord {
  Cycles first_start{std::numeric_limits<std::uint64_t>::max()};
  Cycles last_end;
  std::uint64_t macs = 0;
  std::uint64_t dram_read_bytes = 0;
  std::uint64_t dram_written_bytes = 0;
  Cycles compute_cycles;  // cycles the systolic array or vector unit worked on this op

  bool started() const { return first_start.count() != std::numeric_limits<std::uint64_t>::max(); }
  Cycles span() const { return started() ? last_end - first_start : Cycles(0); }
};

using OpRecords = std::vector<OpRecord>;

}  // namespace llmsim::core
