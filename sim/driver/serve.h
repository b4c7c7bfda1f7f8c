#pragma once
// `llmsim serve` and Python llmsim.serve: many requests on one chip (docs/serving.md).
//
// The loop is serving::simulate (workloads/serving/simulate.h): the scheduler plans an
// iteration, the chip gives its time, the clock moves to its end; an idle chip waits for the
// next arrival. Each iteration is a workload (workloads::build_iteration) whose KV blocks are
// the scheduler's block tables at real DRAM addresses; its time comes from an IterationCoster
// (iteration_cost.h): "exact" simulates each, "table" is the named approximation whose error
// against exact is measured on `check_iterations` iterations drawn at random (seeded) from the
// run and reported.
//
// The KV cache: the `serving` section of the arch config (scheduler_params.h; `--set
// serving.max_num_seqs=64` works as for any key). Without num_kv_blocks or kv_cache_bytes it
// holds what the memory has left after the lowering placed the weights and the activations of
// the largest iteration (max_num_batched_tokens tokens).
//
// Time: an iteration of c core cycles at f MHz takes ceil(c x 1000 / f) ns.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/config.h"
#include "workloads/lowering.h"
#include "workloads/model_config.h"
#include "workloads/serving/metrics.h"
#include "workloads/serving/request.h"
#include "workloads/serving/scheduler_params.h"

namespace llmsim::driver {

struct ServeSpec {
  std::string arch_name;
  config::Json arch;
  std::vector<std::string> overrides;
  workloads::ModelConfig model;
  isa::DType dtype = isa::DType::bf16;
  workloads::MappingOptions mapping{};
  std::vector<serving::Request> requests;
  std::string requests_source = "requests";  // names them in errors
  serving::Slo slo;
  std::string cost = "table";             // "exact" or "table"
  std::uint64_t calibration_layers = 3;   // table: layers of a calibration iteration
  std::uint64_t check_iterations = 2;     // table: iterations simulated exactly as well
  std::uint64_t check_seed = 0;           // table: which ones
  // Progress lines (the CLI prints them on stderr); may be empty.
  std::function<void(const std::string&)> log{};
};

// One sampled iteration costed both ways.
struct CostCheck {
  std::uint64_t iteration = 0;
  std::uint64_t tokens = 0, seqs = 0;
  std::uint64_t table_cycles = 0, exact_cycles = 0;
  double table_pj = 0, exact_pj = 0;
  double error() const { return double(table_cycles) / double(exact_cycles) - 1; }
  double energy_error() const { return exact_pj > 0 ? table_pj / exact_pj - 1 : 0; }
};

struct ServeResult {
  std::string arch_name, model_name, dtype, cost;
  serving::SchedulerParams scheduler;  // num_kv_blocks resolved
  std::uint64_t kv_bytes_per_token = 0;
  double clock_mhz = 0;
  std::vector<serving::RequestMetrics> requests;
  std::vector<serving::IterationRecord> iterations;  // with their cycles and energy
  serving::Summary summary;
  serving::Slo slo;
  double energy_pj = 0;  // of the iterations (an idle chip's leakage is not counted)
  double energy_per_output_token_pj = 0;
  double average_power_w = 0;  // energy over the busy time
  std::vector<CostCheck> checks;  // table only
  std::uint64_t simulations = 0;  // chip simulations: iterations or calibrations, and checks
  std::uint64_t simulated_cycles = 0;
  std::uint64_t reused_iterations = 0;  // exact: iterations equal to one simulated before
  double wall_seconds = 0, check_wall_seconds = 0;
};

ServeResult serve(const ServeSpec& spec);

// summary.json: serving::summary_json plus the run's chip, cost, energy and checks.
config::Json summary_json(const ServeResult& r);

// requests.csv, tokens.csv, iterations.csv (metrics_io.h) and summary.json into `dir`
// (created if missing).
void write_serve_outputs(const ServeResult& r, const std::string& dir);

// The iterations as a Chrome trace-event JSON (ui.perfetto.dev): a span per iteration on one
// track, counters for the batch (sequences, tokens), the KV blocks used and the waiting queue.
void write_serve_timeline(const ServeResult& r, const std::string& file);

// The summary as the CLI prints it.
void print_serve_summary(std::ostream& out, const ServeResult& r);

}  // namespace llmsim::driver
