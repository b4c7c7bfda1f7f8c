#pragma once
// The serving loop without a chip, for tests and quick studies: each iteration costs what
// `cost` says. The driver (sim/driver/serve.cpp) runs the same protocol with the chip.
//
// Clock: starts at 0. Each step plans an iteration at `now`; a non-empty one ends at
// now + cost(iteration) and the clock moves there; an empty one (nothing runnable) moves the
// clock to the next arrival. Ends when every request has finished.
#include <cstdint>
#include <functional>
#include <vector>

#include "workloads/serving/metrics.h"
#include "workloads/serving/request.h"
#include "workloads/serving/scheduler_params.h"

namespace llmsim::serving {

// The time one iteration takes on the machine, in ns.
using CostFn = std::function<std::uint64_t(const Iteration&)>;

struct SimulationResult {
  std::vector<RequestMetrics> requests;     // by id
  std::vector<IterationRecord> iterations;  // in order
};

// `params.num_kv_blocks` must be set. Errors as Scheduler's constructor.
SimulationResult simulate(const std::vector<Request>& requests, const SchedulerParams& params,
                          const CostFn& cost);

}  // namespace llmsim::serving
