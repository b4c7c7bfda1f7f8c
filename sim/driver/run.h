#pragma once
// The run driver: arch config + workload -> chip, ISA programs, simulation, results.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "arch/isa/isa.h"
#include "sim/core/config.h"
#include "sim/core/timeline.h"
#include "sim/driver/energy.h"
#include "sim/driver/values.h"
#include "workloads/lowering.h"
#include "workloads/workload.h"

namespace llmsim::driver {

struct RunSpec {
  std::string arch_name;               // for reports
  config::Json arch;                   // the arch config document, before overrides
  std::vector<std::string> overrides;  // "path.to.key=value", applied in order
  workloads::Workload workload;
  workloads::MappingOptions mapping{};                  // --mapping auto|fixed, --split
  std::optional<timeline::TimelineOptions> timeline{};  // --timeline: written after the run
  // Called once the chip is built and loaded, before the simulation starts, inside the run's
  // kernel context: a place to spawn extra SystemC processes (probes, traffic, the
  // determinism test's kernel noise).
  std::function<void()> elaborated{};
  // --values: the programs compute real values (arch/values/); the cycles are the same.
  std::optional<ValuesSpec> values{};
  // Called with the lowered programs before the chip loads them: fault injection for the tests
  // that prove a wrong program is caught (a planted stride the value check must name).
  std::function<void(isa::Program&)> edit_program{};
};

// Where the cores' cycles of an op's (or a layer's) span went, in core-cycles summed over the
// cores that ran it (executed one of its DMAs, GEMMs or vector ops); arch/core/activity.h
// defines the classes. compute + memory_stall + sync == cycles x cores, exactly.
struct CoreCycles {
  std::uint64_t cores = 0;
  std::uint64_t compute_cycles = 0, memory_stall_cycles = 0, sync_cycles = 0;
};

struct OpResult {
  std::string name, layer, kind;  // kind: "matmul", "embedding", "kv_write" or the vector kind
  std::string shape;              // "m x k x n" (batch "b x m x k x n"), "rows x cols", ...
  std::uint64_t m = 0, k = 0, n = 0, batch = 0;  // matmuls; 0 otherwise
  std::string dtype;
  workloads::OpPlan plan;
  std::uint64_t start_cycle = 0, end_cycle = 0, cycles = 0;
  std::uint64_t macs = 0;
  CoreCycles breakdown{};
  std::uint64_t dram_read_bytes = 0, dram_written_bytes = 0;
  double utilisation = 0;  // macs / (cycles x PEs of all cores)
};

// Ops grouped by their trace `layer`, in order of first appearance. cycles = the span from the
// first op's start to the last op's end (ops of neighbouring layers may overlap it).
struct LayerResult {
  std::string name;
  std::uint64_t ops = 0;
  std::uint64_t start_cycle = 0, end_cycle = 0, cycles = 0;
  std::uint64_t macs = 0, dram_bytes = 0, compulsory_bytes = 0;
  CoreCycles breakdown{};
  double utilisation = 0;
  double compute_bound_cycles = 0;  // macs / peak MACs per cycle
  double memory_bound_cycles = 0;   // compulsory bytes / peak DRAM bytes per core cycle
  const char* bound() const {
    return compute_bound_cycles >= memory_bound_cycles ? "compute" : "memory";
  }
};

// The mapping options from their CLI and Python spellings: `mapping` "auto" or "fixed",
// `split` empty or tiles|rows|cols|batch, `fusion` empty (the mapping's default), "on" or
// "off", `weights` empty (the mapping's default), "tiled" or "row_major". UserError naming the
// option for anything else.
workloads::MappingOptions mapping_options(const std::string& mapping, const std::string& split,
                                          const std::string& fusion,
                                          const std::string& weights = "",
                                          const std::string& tiles = "");

// The per-op and per-layer records as they appear in stats.json ("ops", "layers") and in Python.
config::Json to_json(const OpResult& o);
config::Json to_json(const LayerResult& l);

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
  // Lower bounds on total_cycles: all MACs on every PE, and every compulsory byte (weights,
  // inputs, KV cache read once, final outputs and KV rows written once) at the peak DRAM rate.
  double compute_bound_cycles = 0, memory_bound_cycles = 0;
  std::uint64_t compulsory_bytes = 0;
  // DRAM the program addresses (workloads::Lowered::dram_footprint_bytes).
  std::uint64_t dram_footprint_bytes = 0;
  RunEnergy energy;  // from the stats tree once; stats.json "energy"
  std::vector<OpResult> ops;
  std::vector<LayerResult> layers;
  config::Json stats;  // the stats.json document (totals, "energy", "ops", "chip", "stat_info")
  // With RunSpec::timeline: spans written, and spans dropped at the cap (0: the whole run).
  std::uint64_t timeline_spans = 0, timeline_dropped = 0;
  double wall_seconds = 0;
  // Of which the mapping: the search and the lowering to instructions (workloads::lower).
  double mapping_seconds = 0;
  // DRAM access patterns the mapping had measured (dram_bandwidth.h; 0 once cached).
  std::uint64_t dram_patterns_measured = 0;
  // With RunSpec::values and its keep all: every op's output (values.h), by op index, and the
  // external operands' values (values.h); empty with keep none.
  std::vector<OpValues> values;
  std::vector<TensorValues> tensors;
};

RunResult run(const RunSpec& spec);

// Builds the chip without simulating: the arch config is checked and resolved.
config::Json validate(const config::Json& arch, const std::vector<std::string>& overrides);

// Lowers the workload for the arch without simulating.
isa::Program compile(const RunSpec& spec);

// What the lowering places in DRAM against what the memory holds, without simulating; and the
// core clock. A workload larger than the memory is the lowering's WorkloadError.
struct MemoryFit {
  std::uint64_t footprint_bytes = 0, capacity_bytes = 0;
  double clock_mhz = 0;
  std::uint64_t period_bytes = 0;  // the alignment of large buffers (Target::dram_period_bytes)
};
MemoryFit memory_fit(const RunSpec& spec);

}  // namespace llmsim::driver
