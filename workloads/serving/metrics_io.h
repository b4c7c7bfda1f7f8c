#pragma once
// The serving metrics as files: CSV tables (one header line, then one row a record, numbers
// only; a real number in its shortest round-trip form; an undefined value as an empty field)
// and the summary as JSON. Column names carry their units.
//  - requests:   id,arrival_ns,input_tokens,output_tokens,first_scheduled_ns,first_token_ns,
//                finish_ns,queueing_ns,ttft_ns,tpot_ns,e2e_ns,preemptions
//                (tpot_ns empty for a request of one output token)
//  - tokens:     request_id,token,time_ns   (every output token's emission, token from 0;
//                the inter-token latencies are the differences)
//  - iterations: index,start_ns,end_ns,num_seqs,num_tokens,num_prefill_tokens,num_decode_seqs,
//                kv_blocks_used,num_preempted,num_waiting,cycles,energy_pj
#include <ostream>
#include <vector>

#include "sim/core/json_input.h"
#include "workloads/serving/metrics.h"

namespace llmsim::serving {

void write_requests_csv(std::ostream& out, const std::vector<RequestMetrics>& requests);
void write_tokens_csv(std::ostream& out, const std::vector<RequestMetrics>& requests);
void write_iterations_csv(std::ostream& out, const std::vector<IterationRecord>& iterations);

// {"num_requests", "num_iterations", "duration_ns", "input_tokens", "output_tokens",
//  "output_tokens_per_s", "total_tokens_per_s", "requests_per_s",
//  "slo": {"ttft_ns": x or null, "tpot_ns": x or null, "met": n, "goodput_requests_per_s": x},
//  "ttft_ns" / "tpot_ns" / "itl_ns" / "e2e_ns" / "queueing_ns":
//      {"count", "mean", "p50", "p90", "p99", "max"},
//  "preemptions", "mean_batch_seqs", "mean_batch_tokens", "max_kv_blocks_used"}
config::Json summary_json(const Summary& s, const Slo& slo);

}  // namespace llmsim::serving
