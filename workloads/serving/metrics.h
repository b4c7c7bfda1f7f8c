#pragma once
// Serving metrics, from the scheduler's record of each request and iteration. Times in ns.
//  - TTFT: arrival to the first output token (the end of the iteration that completed its
//    prompt). Queueing: arrival to the start of the first iteration that scheduled it.
//  - Inter-token latencies: the gaps between consecutive output tokens (output_tokens - 1 of
//    them); TPOT: their mean, (last token - first token) / (output_tokens - 1), undefined for a
//    request of one output token. End-to-end: arrival to the last token.
//  - Percentiles: linear interpolation between the closest ranks (numpy's default): of sorted
//    x[0..n-1], q-th percentile = x[k] + f (x[k+1] - x[k]) with k + f = q / 100 (n - 1).
//  - Throughput over the span from the first arrival to the last token: output tokens per s,
//    all (input + output) tokens per s, requests per s. Goodput (DistServe's): requests per s
//    that met every SLO given (TTFT <= slo, TPOT <= slo; a request without a TPOT meets that one).
#include <cstdint>
#include <optional>
#include <vector>

#include "workloads/serving/scheduler.h"

namespace llmsim::serving {

struct RequestMetrics {
  std::uint64_t id = 0;
  std::uint64_t arrival_ns = 0;
  std::uint64_t input_tokens = 0;
  std::uint64_t output_tokens = 0;
  std::uint64_t first_scheduled_ns = 0;
  std::uint64_t first_token_ns = 0;
  std::uint64_t finish_ns = 0;  // the last token
  std::uint64_t queueing_ns = 0;
  std::uint64_t ttft_ns = 0;
  std::uint64_t e2e_ns = 0;
  std::optional<double> tpot_ns;
  std::vector<std::uint64_t> itl_ns;
  std::uint64_t preemptions = 0;
};

// Per iteration: when it ran, what it held, the cache after its allocations.
struct IterationRecord {
  std::uint64_t index = 0;
  std::uint64_t start_ns = 0;
  std::uint64_t end_ns = 0;
  std::uint64_t num_seqs = 0;
  std::uint64_t num_tokens = 0;
  std::uint64_t num_prefill_tokens = 0;
  std::uint64_t num_decode_seqs = 0;
  std::uint64_t kv_blocks_used = 0;
  std::uint64_t num_preempted = 0;
  std::uint64_t num_waiting = 0;
  // On the chip (sim/driver/serve.h): its core cycles and energy; 0 from a chipless cost.
  std::uint64_t cycles = 0;
  double energy_pj = 0;
};

struct Distribution {
  std::uint64_t count = 0;  // 0: the other fields are 0
  double mean = 0, p50 = 0, p90 = 0, p99 = 0, max = 0;
};

struct Slo {
  std::optional<double> ttft_ns;
  std::optional<double> tpot_ns;
};

struct Summary {
  std::uint64_t num_requests = 0;
  std::uint64_t num_iterations = 0;
  std::uint64_t input_tokens = 0;
  std::uint64_t output_tokens = 0;
  std::uint64_t duration_ns = 0;  // first arrival to last token
  double output_tokens_per_s = 0;
  double total_tokens_per_s = 0;
  double requests_per_s = 0;
  std::uint64_t slo_met = 0;  // requests meeting every SLO given (all of them if none)
  double goodput_requests_per_s = 0;
  Distribution ttft_ns, tpot_ns, itl_ns, e2e_ns, queueing_ns;
  std::uint64_t preemptions = 0;
  double mean_batch_seqs = 0;
  double mean_batch_tokens = 0;
  std::uint64_t max_kv_blocks_used = 0;
};

// A finished request's metrics (InternalError if it has not finished).
RequestMetrics request_metrics(const RequestState& s);
IterationRecord iteration_record(const Iteration& it, std::uint64_t end_ns);

// The q-th percentile (q in [0, 100]) of `values` (non-empty), as described above.
double percentile(std::vector<double> values, double q);
Distribution distribution(std::vector<double> values);

Summary summarize(const std::vector<RequestMetrics>& requests,
                  const std::vector<IterationRecord>& iterations, const Slo& slo = {});

}  // namespace llmsim::serving
