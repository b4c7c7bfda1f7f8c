#pragma once
// The run's energy, summed once from the stats tree (sim/core/energy.h): every node's
// energy_pj is its total, so the walk takes a node's energy_pj and does not descend below it,
// and attributes it to the node's name ("systolic", "scratchpad", "accumulator", "vector",
// "dma", "noc", "memory"), summed over cores. stats.json keeps the result under "energy";
// the summary and Python read it from there.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sim/core/config.h"
#include "sim/core/stats.h"
#include "workloads/workload.h"

namespace llmsim::driver {

struct RunEnergy {
  bool reported = false;  // some unit has an energy model (else every figure is 0)
  double total_pj = 0;    // the sum of by_unit
  // The part of total_pj that is on-chip leakage (the units' leakage_energy_pj). DRAM
  // background power is part of "memory" and not counted here.
  double leakage_pj = 0;
  // Unit name -> pJ (dynamic + leakage), summed over cores, in stats-tree order.
  std::vector<std::pair<std::string, double>> by_unit;
  // The units of by_unit that split out their leakage, leakage only.
  std::vector<std::pair<std::string, double>> leakage_by_unit;
  std::optional<std::uint64_t> tokens;  // see tokens_of
  std::optional<double> per_token_pj;   // total_pj / tokens
  double average_power_w = 0;           // total_pj / simulated time
};

// Tokens one run of the trace processes: batch x seq (seq is the new tokens per sequence:
// the prompt in prefill, 1 in decode), batch 1 when not given; a decode trace without seq
// counts batch. None for a trace that says neither (a plain GEMM workload).
std::optional<std::uint64_t> tokens_of(const workloads::TraceMeta& meta);

RunEnergy collect_energy(const stats::Group& chip, double seconds,
                         std::optional<std::uint64_t> tokens);

// {"total_pj", "leakage_pj", "by_unit": {unit: pJ}, "leakage_by_unit": {unit: pJ},
//  "average_power_w", and "tokens", "per_token_pj" when the trace has tokens}.
config::Json to_json(const RunEnergy& e);

}  // namespace llmsim::driver
