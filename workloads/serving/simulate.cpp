#include "workloads/serving/simulate.h"

#include "sim/core/error.h"

namespace llmsim::serving {

SimulationResult simulate(const std::vector<Request>& requests, const SchedulerParams& params,
                          const CostFn& cost) {
  Scheduler sched(params, requests);
  SimulationResult out;
  std::uint64_t now = 0;
  while (!sched.done()) {
    const Iteration it = sched.step(now);
    if (it.empty()) {
      const auto next = sched.next_arrival_ns();
      LLMSIM_CHECK(next && *next > now, "nothing runnable and no arrival ahead");
      now = *next;
      continue;
    }
    const std::uint64_t dt = cost(it);
    LLMSIM_CHECK(dt < (std::uint64_t(1) << 62) - now, "serving clock overflow");
    now += dt;
    sched.finish(it, now);
    out.iterations.push_back(iteration_record(it, now));
  }
  out.requests.reserve(sched.states().size());
  for (const RequestState& s : sched.states()) out.requests.push_back(request_metrics(s));
  return out;
}

}  // namespace llmsim::serving
