#pragma once
// The run driver: arch config + workload -> chip, ISA programs, simulation, results.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "arch/isa/isa.h"
#include "sim/core/config.h"
#include "workloads/lowering.h"
#include "workloads/workload.h"

namespace llmsim::driver {

struct RunSpec {
  std::string arch_name;               // for reports
  config::Json arch;                   // the arch config document, before overrides
  std::vector<std::string> overrides;  // "path.to.key=value", applied in order
  workloads::Workload workload;
};

struct OpResult {
  std::string name;
  std::uint64_t m = 0, k = 0, n = 0;
  std::string dtype;
  workloads::Tiling tiling;
  std::uint64_t start_cycle = 0, end_cycle = 0, cycles = 0;
  std::uint64_t macs = 0;
  std::uint64_t dram_read_bytes = 0, dram_written_bytes = 0;
  double utilisation = 0;  // macs / (cycles x PEs of all cores)
};

// The per-op record as it appears in stats.json ("ops") and in Python.
config::Json to_json(const OpResult& o);

struct RunResult {
  std::string arch_name, workload_name;
  config::Json resolved_config;  // the arch config with every default written out
  double clock_mhz = 0;          // core clock; cycles below are core cycles
  std::uint64_t total_cycles = 0;
  double seconds = 0;
  std::uint64_t macs = 0;
  std::uint64_t peak_macs_per_cycle = 0;  // PEs over all cores
  double array_utilisation = 0;
  std::uint64_t dram_read_bytes = 0, dram_written_bytes = 0;
  double achieved_bandwidth_gb_per_s = 0, peak_bandwidth_gb_per_s = 0;
  std::optional<double> row_hit_rate;  // memories with rows (HBM)
  std::vector<OpResult> ops;
  config::Json stats;  // the stats.json document (totals, "ops", "chip" tree, "stat_info")
  double wall_seconds = 0;
};

RunResult run(const RunSpec& spec);

// Builds the chip without simulating: the arch config is checked and resolved.
config::Json validate(const config::Json& arch, const std::vector<std::string>& overrides);

// Lowers the workload for the arch without simulating.
isa::Program compile(const RunSpec& spec);

}  // namespace llmsim::driver
