// The serving metrics as CSV and JSON (workloads/serving/metrics_io.h), exactly, for the
// "one request alone" case of test_scheduler.cpp: arrival 500, prompt 100, 3 tokens under
// cost 1000 + 10 x tokens: prefill 2000 ns (token 0 at 2500), decodes 1010 (3510, 4520).
#include <sstream>

#include <catch2/catch.hpp>

#include "workloads/serving/metrics_io.h"
#include "workloads/serving/simulate.h"

namespace llmsim::serving {
namespace {

TEST_CASE("serving: metrics as CSV and JSON", "[serving]") {
  SchedulerParams p;
  p.num_kv_blocks = 100;
  const auto r = simulate({Request{0, 500, 100, 3}, Request{1, 600, 10, 1}}, p,
                          [](const Iteration& it) { return 1000 + 10 * it.num_tokens(); });
  // Request 1 arrives during request 0's prefill; step 1 at 2500: 0's decode + 1's prefill
  // (11 tokens, 1110 -> 3610); step 2: 0's decode alone (1010 -> 4620).
  std::ostringstream req, tok, its;
  write_requests_csv(req, r.requests);
  write_tokens_csv(tok, r.requests);
  write_iterations_csv(its, r.iterations);
  CHECK(req.str() ==
        "id,arrival_ns,input_tokens,output_tokens,first_scheduled_ns,first_token_ns,finish_ns,"
        "queueing_ns,ttft_ns,tpot_ns,e2e_ns,preemptions\n"
        "0,500,100,3,500,2500,4620,0,2000,1060,4120,0\n"
        "1,600,10,1,2500,3610,3610,1900,3010,,3010,0\n");
  CHECK(tok.str() == "request_id,token,time_ns\n0,0,2500\n0,1,3610\n0,2,4620\n1,0,3610\n");
  CHECK(its.str() ==
        "index,start_ns,end_ns,num_seqs,num_tokens,num_prefill_tokens,num_decode_seqs,"
        "kv_blocks_used,num_preempted,num_waiting,cycles,energy_pj\n"
        "0,500,2500,1,100,100,0,7,0,0,0,0\n"
        "1,2500,3610,2,11,10,1,8,0,0,0,0\n"
        "2,3610,4620,1,1,0,1,7,0,0,0,0\n");
  Slo slo;
  slo.ttft_ns = 2500;
  const config::Json j = summary_json(summarize(r.requests, r.iterations, slo), slo);
  CHECK(j["num_requests"] == 2);
  CHECK(j["duration_ns"] == 4120);  // 500 to 4620
  CHECK(j["slo"]["met"] == 1);      // request 0 (TTFT 2000), not 1 (3010)
  CHECK(j["slo"]["tpot_ns"].is_null());
  CHECK(j["tpot_ns"]["count"] == 1);
  CHECK(j["tpot_ns"]["p50"] == 1060.0);
  CHECK(j["ttft_ns"]["max"] == 3010.0);
  CHECK(j["max_kv_blocks_used"] == 8);
  CHECK(j["output_tokens_per_s"].get<double>() == Approx(4 / 4120e-9));
}

}  // namespace
}  // namespace llmsim::serving
