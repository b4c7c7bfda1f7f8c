#include "workloads/serving/metrics.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "sim/core/error.h"

namespace llmsim::serving {

RequestMetrics request_metrics(const RequestState& s) {
  LLMSIM_CHECK(s.finished && s.first_scheduled_ns && !s.token_ns.empty(),
               "metrics of unfinished request " + std::to_string(s.request.id));
  RequestMetrics m;
  m.id = s.request.id;
  m.arrival_ns = s.request.arrival_ns;
  m.input_tokens = s.request.input_tokens;
  m.output_tokens = s.request.output_tokens;
  m.first_scheduled_ns = *s.first_scheduled_ns;
  m.first_token_ns = s.token_ns.front();
  m.finish_ns = s.token_ns.back();
  m.queueing_ns = m.first_scheduled_ns - m.arrival_ns;
  m.ttft_ns = m.first_token_ns - m.arrival_ns;
  m.e2e_ns = m.finish_ns - m.arrival_ns;
  for (std::size_t i = 1; i < s.token_ns.size(); ++i) {
    m.itl_ns.push_back(s.token_ns[i] - s.token_ns[i - 1]);
  }
  if (!m.itl_ns.empty()) m.tpot_ns = double(m.finish_ns - m.first_token_ns) / m.itl_ns.size();
  m.preemptions = s.preemptions;
  return m;
}

IterationRecord iteration_record(const Iteration& it, std::uint64_t end_ns) {
  IterationRecord r;
  r.index = it.index;
  r.start_ns = it.start_ns;
  r.end_ns = end_ns;
  r.num_seqs = it.seqs.size();
  r.num_tokens = it.num_tokens();
  r.num_prefill_tokens = it.num_prefill_tokens();
  r.num_decode_seqs = it.num_decode_seqs();
  r.kv_blocks_used = it.kv_blocks_used;
  r.num_preempted = it.preempted.size();
  r.num_waiting = it.num_waiting;
  return r;
}

double percentile(std::vector<double> v, double q) {
  LLMSIM_CHECK(!v.empty() && q >= 0 && q <= 100, "percentile of nothing or out of range");
  std::sort(v.begin(), v.end());
  const double h = q / 100 * double(v.size() - 1);
  const std::size_t k = std::size_t(std::floor(h));
  if (k + 1 >= v.size()) return v.back();
  return v[k] + (h - double(k)) * (v[k + 1] - v[k]);
}

Distribution distribution(std::vector<double> v) {
  Distribution d;
  if (v.empty()) return d;
  std::sort(v.begin(), v.end());
  d.count = v.size();
  double sum = 0;
  for (const double x : v) sum += x;
  d.mean = sum / double(v.size());
  d.p50 = percentile(v, 50);
  d.p90 = percentile(v, 90);
  d.p99 = percentile(v, 99);
  d.max = v.back();
  return d;
}

Summary summarize(const std::vector<RequestMetrics>& requests,
                  const std::vector<IterationRecord>& iterations, const Slo& slo) {
  Summary s;
  s.num_requests = requests.size();
  s.num_iterations = iterations.size();
  if (requests.empty()) return s;
  std::uint64_t first_arrival = requests.front().arrival_ns, last_token = 0;
  std::vector<double> ttft, tpot, itl, e2e, queueing;
  for (const RequestMetrics& r : requests) {
    first_arrival = std::min(first_arrival, r.arrival_ns);
    last_token = std::max(last_token, r.finish_ns);
    s.input_tokens += r.input_tokens;
    s.output_tokens += r.output_tokens;
    s.preemptions += r.preemptions;
    ttft.push_back(double(r.ttft_ns));
    e2e.push_back(double(r.e2e_ns));
    queueing.push_back(double(r.queueing_ns));
    if (r.tpot_ns) tpot.push_back(*r.tpot_ns);
    for (const std::uint64_t g : r.itl_ns) itl.push_back(double(g));
    const bool ttft_ok = !slo.ttft_ns || double(r.ttft_ns) <= *slo.ttft_ns;
    const bool tpot_ok = !slo.tpot_ns || !r.tpot_ns || *r.tpot_ns <= *slo.tpot_ns;
    if (ttft_ok && tpot_ok) ++s.slo_met;
  }
  s.duration_ns = last_token - first_arrival;
  if (s.duration_ns > 0) {
    const double seconds = double(s.duration_ns) * 1e-9;
    s.output_tokens_per_s = double(s.output_tokens) / seconds;
    s.total_tokens_per_s = double(s.input_tokens + s.output_tokens) / seconds;
    s.requests_per_s = double(s.num_requests) / seconds;
    s.goodput_requests_per_s = double(s.slo_met) / seconds;
  }
  s.ttft_ns = distribution(std::move(ttft));
  s.tpot_ns = distribution(std::move(tpot));
  s.itl_ns = distribution(std::move(itl));
  s.e2e_ns = distribution(std::move(e2e));
  s.queueing_ns = distribution(std::move(queueing));
  if (!iterations.empty()) {
    double seqs = 0, tokens = 0;
    for (const IterationRecord& it : iterations) {
      seqs += double(it.num_seqs);
      tokens += double(it.num_tokens);
      s.max_kv_blocks_used = std::max(s.max_kv_blocks_used, it.kv_blocks_used);
    }
    s.mean_batch_seqs = seqs / double(iterations.size());
    s.mean_batch_tokens = tokens / double(iterations.size());
  }
  return s;
}

}  // namespace llmsim::serving
