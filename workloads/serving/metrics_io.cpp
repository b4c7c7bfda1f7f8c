#include "workloads/serving/metrics_io.h"

#include <charconv>
#include <string>

namespace llmsim::serving {
namespace {

std::string real(double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

config::Json distribution_json(const Distribution& d) {
  return config::Json{{"count", d.count}, {"mean", d.mean}, {"p50", d.p50},
                      {"p90", d.p90},     {"p99", d.p99},   {"max", d.max}};
}

config::Json optional_json(const std::optional<double>& v) {
  return v ? config::Json(*v) : config::Json(nullptr);
}

}  // namespace

void write_requests_csv(std::ostream& out, const std::vector<RequestMetrics>& requests) {
  out << "id,arrival_ns,input_tokens,output_tokens,first_scheduled_ns,first_token_ns,finish_ns,"
         "queueing_ns,ttft_ns,tpot_ns,e2e_ns,preemptions\n";
  for (const RequestMetrics& r : requests) {
    out << r.id << ',' << r.arrival_ns << ',' << r.input_tokens << ',' << r.output_tokens << ','
        << r.first_scheduled_ns << ',' << r.first_token_ns << ',' << r.finish_ns << ','
        << r.queueing_ns << ',' << r.ttft_ns << ',' << (r.tpot_ns ? real(*r.tpot_ns) : "") << ','
        << r.e2e_ns << ',' << r.preemptions << '\n';
  }
}

void write_tokens_csv(std::ostream& out, const std::vector<RequestMetrics>& requests) {
  out << "request_id,token,time_ns\n";
  for (const RequestMetrics& r : requests) {
    std::uint64_t t = r.first_token_ns;
    out << r.id << ",0," << t << '\n';
    for (std::size_t i = 0; i < r.itl_ns.size(); ++i) {
      t += r.itl_ns[i];
      out << r.id << ',' << i + 1 << ',' << t << '\n';
    }
  }
}

void write_iterations_csv(std::ostream& out, const std::vector<IterationRecord>& iterations) {
  out << "index,start_ns,end_ns,num_seqs,num_tokens,num_prefill_tokens,num_decode_seqs,"
         "kv_blocks_used,num_preempted,num_waiting,cycles,energy_pj\n";
  for (const IterationRecord& r : iterations) {
    out << r.index << ',' << r.start_ns << ',' << r.end_ns << ',' << r.num_seqs << ','
        << r.num_tokens << ',' << r.num_prefill_tokens << ',' << r.num_decode_seqs << ','
        << r.kv_blocks_used << ',' << r.num_preempted << ',' << r.num_waiting << ',' << r.cycles
        << ',' << real(r.energy_pj) << '\n';
  }
}

config::Json summary_json(const Summary& s, const Slo& slo) {
  config::Json j;
  j["num_requests"] = s.num_requests;
  j["num_iterations"] = s.num_iterations;
  j["duration_ns"] = s.duration_ns;
  j["input_tokens"] = s.input_tokens;
  j["output_tokens"] = s.output_tokens;
  j["output_tokens_per_s"] = s.output_tokens_per_s;
  j["total_tokens_per_s"] = s.total_tokens_per_s;
  j["requests_per_s"] = s.requests_per_s;
  j["slo"] = {{"ttft_ns", optional_json(slo.ttft_ns)},
              {"tpot_ns", optional_json(slo.tpot_ns)},
              {"met", s.slo_met},
              {"goodput_requests_per_s", s.goodput_requests_per_s}};
  j["ttft_ns"] = distribution_json(s.ttft_ns);
  j["tpot_ns"] = distribution_json(s.tpot_ns);
  j["itl_ns"] = distribution_json(s.itl_ns);
  j["e2e_ns"] = distribution_json(s.e2e_ns);
  j["queueing_ns"] = distribution_json(s.queueing_ns);
  j["preemptions"] = s.preemptions;
  j["mean_batch_seqs"] = s.mean_batch_seqs;
  j["mean_batch_tokens"] = s.mean_batch_tokens;
  j["max_kv_blocks_used"] = s.max_kv_blocks_used;
  return j;
}

}  // namespace llmsim::serving
