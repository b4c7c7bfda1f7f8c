// The vLLM-style scheduler (workloads/serving/scheduler.h) through simulate() with the affine
// cost 1000 + 10 x tokens ns an iteration: every time below is derived by hand in a comment.
// A decode step of b sequences costs 1000 + 10 b; a prefill of p tokens alone 1000 + 10 p.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "sim/core/config.h"
#include "sim/core/error.h"
#include "workloads/serving/scheduler.h"
#include "workloads/serving/simulate.h"

namespace llmsim::serving {
namespace {

using Catch::Matchers::Contains;
using Catch::Matchers::Message;
using Catch::Matchers::StartsWith;

// The exception's type, and its message by a partial matcher (Catch2 v2's Message() matches
// the whole string only).
#define CHECK_THROWS_LIKE(expr, type, matcher) \
  do {                                         \
    CHECK_THROWS_AS(expr, type);               \
    CHECK_THROWS_WITH(expr, matcher);          \
  } while (0)

std::uint64_t affine(const Iteration& it) {
  return 1000 + 10 * it.num_tokens();
}

SchedulerParams params(std::uint64_t blocks, std::uint64_t budget = 2048,
                       std::uint64_t max_seqs = 256) {
  SchedulerParams p;
  p.max_num_seqs = max_seqs;
  p.max_num_batched_tokens = budget;
  p.block_size = 16;
  p.num_kv_blocks = blocks;
  return p;
}

Request req(std::uint64_t id, std::uint64_t arrival, std::uint64_t in, std::uint64_t out) {
  return Request{id, arrival, in, out};
}

std::vector<std::uint64_t> token_times(const RequestMetrics& m) {
  std::vector<std::uint64_t> t{m.first_token_ns};
  for (const std::uint64_t g : m.itl_ns) t.push_back(t.back() + g);
  return t;
}

TEST_CASE("serving: one request alone", "[serving]") {
  // Arrives at 500 (the clock idles from 0 to 500), prompt 100, 5 output tokens.
  // Prefill: 1000 + 10 x 100 = 2000 ns, token 1 at 2500: TTFT = 2000 = the prefill's cost.
  // Four decode steps of 1 token, 1010 ns each: tokens at 3510, 4520, 5530, 6540; TPOT = 1010.
  const auto r = simulate({req(0, 500, 100, 5)}, params(100), affine);
  REQUIRE(r.requests.size() == 1);
  const RequestMetrics& m = r.requests[0];
  CHECK(m.queueing_ns == 0);
  CHECK(m.ttft_ns == 2000);
  REQUIRE(m.tpot_ns.has_value());
  CHECK(*m.tpot_ns == 1010);
  CHECK(m.itl_ns == std::vector<std::uint64_t>{1010, 1010, 1010, 1010});
  CHECK(m.e2e_ns == 6040);
  CHECK(m.finish_ns == 6540);
  CHECK(m.preemptions == 0);
  REQUIRE(r.iterations.size() == 5);
  CHECK(r.iterations[0].start_ns == 500);
  CHECK(r.iterations[0].num_prefill_tokens == 100);
  CHECK(r.iterations[0].kv_blocks_used == 7);  // ceil(100 / 16)
  CHECK(r.iterations[4].num_decode_seqs == 1);
  CHECK(r.iterations[4].kv_blocks_used == 7);  // 104 tokens of KV at the last decode
  const Summary s = summarize(r.requests, r.iterations);
  // 5 tokens over 6040 ns (arrival to last token).
  CHECK(s.duration_ns == 6040);
  CHECK(s.output_tokens_per_s == Approx(5 / 6040e-9));
  CHECK(s.requests_per_s == Approx(1 / 6040e-9));
  CHECK(s.ttft_ns.p99 == 2000);
  CHECK(s.itl_ns.count == 4);
}

TEST_CASE("serving: two requests arriving together share every iteration", "[serving]") {
  // One prefill of 100 + 50 = 150 tokens: 2500 ns, both first tokens at 2500.
  // Then decode steps of 2 sequences, 1020 ns: tokens at 3520 and 4540.
  const auto r = simulate({req(0, 0, 100, 3), req(1, 0, 50, 3)}, params(100), affine);
  for (const RequestMetrics& m : r.requests) {
    CHECK(m.ttft_ns == 2500);
    CHECK(*m.tpot_ns == 1020);
    CHECK(token_times(m) == std::vector<std::uint64_t>{2500, 3520, 4540});
  }
  REQUIRE(r.iterations.size() == 3);
  CHECK(r.iterations[0].num_seqs == 2);
  CHECK(r.iterations[0].num_tokens == 150);
  CHECK(r.iterations[1].num_tokens == 2);
  CHECK(r.iterations[1].kv_blocks_used == 7 + 4);  // ceil(101 / 16) + ceil(51 / 16)
}

TEST_CASE("serving: a KV cache too small for both preempts the newer by recompute", "[serving]") {
  // Two requests at 0, prompt 32, 20 output tokens each: at their longest 32 + 19 = 51 tokens
  // of KV, 4 blocks of 16. The cache has 6 blocks: each alone fits, both do not.
  //  step 0       both prefills, 64 tokens, 1640 ns -> 1640; 2 + 2 blocks; token 1 each.
  //  steps 1-16   both decode, 1020 ns each -> 1640 + 16 x 1020 = 17960. At step 1 each
  //               grows to 33 tokens, 3 blocks (6 used). After step 16: 48 tokens of KV each,
  //               17 tokens generated.
  //  step 17      A needs a 4th block for token 49 of KV, none free: B (admitted last) is
  //               preempted, its 3 blocks freed; A decodes alone, 1010 -> 18970 (token 18).
  //               No admission in a step that preempted (vLLM).
  //  step 18      A decodes alone -> 19980 (token 19). B would need 4 blocks for its 49
  //               tokens (32 prompt + 17 generated), only 2 are free: it waits.
  //  step 19      A decodes alone -> 20990: token 20, A finishes and frees its 4 blocks.
  //  step 20      B recomputes 49 tokens: 1000 + 490 = 1490 -> 22480 (token 18).
  //  steps 21-22  B decodes alone, 1010 each -> 23490, 24500: token 20, B finishes.
  // With a large cache both would finish at 1640 + 19 x 1020 = 21020. Preemption makes A finish
  // 3 x 10 = 30 ns earlier (three steps alone) and B later by
  //   (3 x 1010 + 1490 + 2 x 1010) - 3 x 1020 = 6540 - 3060 = 3480 ns.
  const std::vector<Request> reqs{req(0, 0, 32, 20), req(1, 0, 32, 20)};
  const auto big = simulate(reqs, params(100), affine);
  const auto small = simulate(reqs, params(6), affine);
  CHECK(big.requests[0].finish_ns == 21020);
  CHECK(big.requests[1].finish_ns == 21020);
  CHECK(small.requests[0].finish_ns == 21020 - 30);
  CHECK(small.requests[1].finish_ns == 21020 + 3480);
  CHECK(small.requests[0].preemptions == 0);
  CHECK(small.requests[1].preemptions == 1);
  const auto b = token_times(small.requests[1]);
  REQUIRE(b.size() == 20);
  CHECK(b[0] == 1640);    // TTFT is the first token ever, not the recompute's
  CHECK(b[16] == 17960);  // token 17, the last before the preemption
  CHECK(b[17] == 22480);  // token 18, out of the recompute
  CHECK(b[19] == 24500);
  CHECK(small.requests[1].ttft_ns == 1640);
  CHECK(small.requests[1].itl_ns[16] == 22480 - 17960);
  REQUIRE(small.iterations.size() == 23);
  CHECK(small.iterations[16].kv_blocks_used == 6);
  CHECK(small.iterations[17].num_preempted == 1);
  CHECK(small.iterations[17].num_seqs == 1);
  CHECK(small.iterations[17].kv_blocks_used == 4);
  CHECK(small.iterations[18].num_waiting == 1);
  CHECK(small.iterations[20].num_prefill_tokens == 49);
  CHECK(small.iterations[20].start_ns == 20990);
  CHECK(summarize(small.requests, small.iterations).preemptions == 1);
}

TEST_CASE("serving: the token budget splits a long prompt into chunks", "[serving]") {
  // Budget 256, prompt 600: chunks 256, 256, 88 at KV lengths 0, 256, 512.
  // 1000 + 2560 = 3560 twice, then 1000 + 880 = 1880: token 1 at 9000 = TTFT.
  // One decode: 1010 -> 10010.
  const auto r = simulate({req(0, 0, 600, 2)}, params(100, 256), affine);
  REQUIRE(r.iterations.size() == 4);
  CHECK(r.iterations[0].num_tokens == 256);
  CHECK(r.iterations[1].num_tokens == 256);
  CHECK(r.iterations[2].num_tokens == 88);
  CHECK(r.iterations[3].num_decode_seqs == 1);
  CHECK(r.requests[0].ttft_ns == 9000);
  CHECK(r.requests[0].finish_ns == 10010);

  // Chunks ride with decodes. A (prompt 10, 4 tokens) at 0; B (prompt 600) at 1 ns.
  //  step 0 at 0      A's prefill alone (B not arrived): 1100 -> 1100, A token 1.
  //  step 1 at 1100   A decode (KV 10) + B chunk 255 (KV 0): 256 tokens, 3560 -> 4660.
  //  step 2 at 4660   A decode (KV 11) + B chunk 255 (KV 255) -> 8220.
  //  step 3 at 8220   A decode (KV 12, token 4, done) + B's last 90 (KV 510): 91 tokens,
  //                   1910 -> 10130, B token 1: TTFT 10129.
  Scheduler s(params(100, 256), {req(0, 0, 10, 4), req(1, 1, 600, 2)});
  std::uint64_t now = 0;
  std::vector<Iteration> its;
  while (!s.done()) {
    Iteration it = s.step(now);
    REQUIRE(!it.empty());
    now += affine(it);
    s.finish(it, now);
    its.push_back(it);
  }
  REQUIRE(its.size() == 5);
  REQUIRE(its[1].seqs.size() == 2);
  const ScheduledSeq& a1 = its[1].seqs[0];
  const ScheduledSeq& b1 = its[1].seqs[1];
  CHECK((a1.request_id == 0 && a1.num_tokens == 1 && a1.kv_len_before == 10));
  CHECK((!a1.is_prefill && a1.emits_token));
  CHECK((b1.request_id == 1 && b1.num_tokens == 255 && b1.kv_len_before == 0));
  CHECK((b1.is_prefill && !b1.emits_token));
  const ScheduledSeq& b2 = its[2].seqs[1];
  CHECK((b2.num_tokens == 255 && b2.kv_len_before == 255 && !b2.emits_token));
  const ScheduledSeq& b3 = its[3].seqs[1];
  CHECK((b3.num_tokens == 90 && b3.kv_len_before == 510 && b3.is_prefill && b3.emits_token));
  CHECK(its[3].start_ns == 8220);
  CHECK(s.state(0).token_ns == std::vector<std::uint64_t>{1100, 4660, 8220, 10130});
  CHECK(s.state(1).token_ns.front() - 1 == 10129);
  CHECK(s.state(1).first_scheduled_ns == std::uint64_t(1100));
  CHECK(s.kv_cache().used_blocks() == 0);
}

TEST_CASE("serving: max_num_seqs caps the batch", "[serving]") {
  // Three requests at 0 (prompt 10, 2 tokens), at most 2 sequences running.
  //  step 0  A, B prefill (20 tokens): 1200 -> 1200. C waits: the running set is full.
  //  step 1  A, B decode: 1020 -> 2220, both finish.
  //  step 2  C prefill: 1100 -> 3320 (queueing 2220, TTFT 3320).
  //  step 3  C decode: 1010 -> 4330.
  const auto r = simulate({req(0, 0, 10, 2), req(1, 0, 10, 2), req(2, 0, 10, 2)},
                          params(100, 2048, 2), affine);
  REQUIRE(r.iterations.size() == 4);
  CHECK(r.iterations[0].num_seqs == 2);
  CHECK(r.iterations[0].num_waiting == 1);
  CHECK(r.iterations[1].num_seqs == 2);
  CHECK(r.iterations[2].num_seqs == 1);
  CHECK(r.requests[2].queueing_ns == 2220);
  CHECK(r.requests[2].ttft_ns == 3320);
  CHECK(r.requests[2].finish_ns == 4330);
  CHECK(r.requests[0].finish_ns == 2220);
}

TEST_CASE("serving: without chunked prefill a prompt waits for a budget it fits", "[serving]") {
  // Budget 100, prompts 60 and 60 at 0. Step 0: A (60); B's 60 exceed the 40 left: it waits
  // (chunked, it would take a 40-token chunk). 1600 -> 1600.
  // Step 1: A decode + B's 60: 61 tokens, 1610 -> 3210; A done, B token 1.
  // Step 2: B decode, 1010 -> 4220.
  SchedulerParams p = params(100, 100);
  p.enable_chunked_prefill = false;
  const auto r = simulate({req(0, 0, 60, 2), req(1, 0, 60, 2)}, p, affine);
  REQUIRE(r.iterations.size() == 3);
  CHECK(r.iterations[0].num_tokens == 60);
  CHECK(r.iterations[1].num_tokens == 61);
  CHECK(r.requests[1].ttft_ns == 3210);
  CHECK(r.requests[1].finish_ns == 4220);
  CHECK(r.requests[0].ttft_ns == 1600);
  // Chunked: step 0 is A 60 + B's first 40 (100 tokens, 2000 -> 2000), step 1 A decode + B's
  // last 20 (21 tokens, 1210 -> 3210), step 2 B decode (-> 4220). B's times are the same (the
  // same steps and tokens in all); A's first token comes 400 ns later, B's chunk riding along.
  const auto c = simulate({req(0, 0, 60, 2), req(1, 0, 60, 2)}, params(100, 100), affine);
  CHECK(c.iterations[0].num_tokens == 100);
  CHECK(c.iterations[1].num_tokens == 21);
  CHECK(c.requests[0].ttft_ns == 2000);
  CHECK(c.requests[1].ttft_ns == 3210);
  CHECK(c.requests[1].finish_ns == 4220);
}

TEST_CASE("serving: long_prefill_token_threshold caps each chunk", "[serving]") {
  // Threshold 100, prompt 250: chunks 100, 100, 50 even though the budget is 2048.
  SchedulerParams p = params(100);
  p.long_prefill_token_threshold = 100;
  const auto r = simulate({req(0, 0, 250, 1)}, p, affine);
  REQUIRE(r.iterations.size() == 3);
  CHECK(r.iterations[2].num_tokens == 50);
  CHECK(r.requests[0].ttft_ns == 2000 + 2000 + 1500);
}

TEST_CASE("serving: block tables hold the request's KV in vLLM's block order", "[serving]") {
  // Blocks are handed out in id order, then the released ones first in, first out, each
  // request's released last block first.
  Scheduler s(params(4), {req(0, 0, 20, 1), req(1, 0, 20, 2), req(2, 10, 20, 1)});
  Iteration it = s.step(0);
  CHECK(s.state(0).blocks == std::vector<BlockId>{0, 1});
  CHECK(s.state(1).blocks == std::vector<BlockId>{2, 3});
  s.finish(it, 10);  // request 0 is done (1 token), its blocks 1 and 0 return to the pool
  CHECK(s.state(0).blocks.empty());
  CHECK(s.kv_cache().used_blocks() == 2);
  it = s.step(10);  // request 1 decodes at KV 20 in its 2 blocks; request 2 arrives, takes 1, 0
  CHECK(s.state(1).blocks == std::vector<BlockId>{2, 3});
  CHECK(s.state(2).blocks == std::vector<BlockId>{1, 0});
  CHECK(it.kv_blocks_used == 4);
  s.finish(it, 20);
  CHECK(s.done());
}

TEST_CASE("serving: requests that could never run are errors naming them", "[serving]") {
  // 4 blocks of 16 = 64 tokens; 60 + 10 - 1 = 69 tokens of KV need 5.
  CHECK_THROWS_MATCHES(
      simulate({req(0, 0, 10, 1), req(1, 0, 60, 10)}, params(4), affine), WorkloadError,
      Message("requests: request 1 (input 60 + output 10 tokens) needs 5 KV blocks of 16 "
              "tokens for its 69 tokens of KV, more than the 4 the cache holds: it could never "
              "run (raise serving.num_kv_blocks or shorten the request)"));
  SchedulerParams p = params(100, 50);
  p.enable_chunked_prefill = false;
  CHECK_THROWS_MATCHES(
      simulate({req(0, 0, 51, 1)}, p, affine), WorkloadError,
      Message("requests: request 0 (input 51 + output 1 tokens): its prompt exceeds "
              "serving.max_num_batched_tokens = 50 and serving.enable_chunked_prefill is false: "
              "it could never run"));
  CHECK_THROWS_MATCHES(simulate({req(0, 5, 1, 1), req(1, 4, 1, 1)}, params(4), affine),
                       WorkloadError,
                       Message("requests: request 1: arrives at 4 ns, before request 0 "
                               "(arrival times must not decrease)"));
  CHECK_THROWS_MATCHES(simulate({req(0, 0, 1, 0)}, params(4), affine), WorkloadError,
                       Message("requests: request 0: output_tokens must be in [1, 16777216], "
                               "got 0"));
  CHECK_THROWS_MATCHES(simulate({}, params(4), affine), WorkloadError,
                       Message("requests: no requests"));
  // 17 requests of 2^24 - 1 + 1 tokens: the 17th passes 2^28 in all.
  std::vector<Request> huge;
  for (std::uint64_t i = 0; i < 17; ++i) huge.push_back(req(i, 0, kMaxTokens - 1, 1));
  CHECK_THROWS_MATCHES(simulate(huge, params(4), affine), WorkloadError,
                       Message("requests: more than 268435456 tokens (input + output) in all "
                               "requests up to request 16: too many to simulate"));
}

TEST_CASE("serving: a recompute longer than the unchunked budget is an error", "[serving]") {
  // Budget 40 unchunked, 7 blocks of 16. A and B: prompt 20, 40 tokens (longest KV 59, 4
  // blocks: each fits alone). Step 0 prefills both (2 + 2 blocks); both grow to 3 blocks at
  // KV 33 (6 used); at KV 49 A takes the last block and B, needing its 4th, preempts itself
  // with 20 + 29 = 49 tokens. A runs to its end; B's recompute of 49 tokens exceeds the
  // unchunked budget of 40 for ever: an error, not a hang.
  SchedulerParams p = params(7, 40);
  p.enable_chunked_prefill = false;
  CHECK_THROWS_MATCHES(
      simulate({req(0, 0, 20, 40), req(1, 0, 20, 40)}, p, affine), WorkloadError,
      Message("request 1 cannot be scheduled: it must prefill 49 tokens after a preemption, "
              "more than serving.max_num_batched_tokens = 40, with "
              "serving.enable_chunked_prefill false"));
}

TEST_CASE("serving: the serving config section is strict", "[serving]") {
  const auto parse = [](const std::string& text) {
    config::Json node = config::Json::parse(text), resolved;
    config::Reader r(node, "serving", resolved);
    SchedulerParams p = SchedulerParams::parse(r);
    r.finish();
    return p;
  };
  const SchedulerParams d = parse("{}");
  CHECK(d.max_num_seqs == 256);
  CHECK(d.max_num_batched_tokens == 2048);
  CHECK(d.block_size == 16);
  CHECK(!d.num_kv_blocks);
  CHECK(d.enable_chunked_prefill);
  const SchedulerParams p = parse(
      R"({"max_num_seqs": 8, "max_num_batched_tokens": 512, "block_size": 32,
          "num_kv_blocks": 1000, "enable_chunked_prefill": false,
          "long_prefill_token_threshold": 64})");
  CHECK(p.max_num_seqs == 8);
  CHECK(p.block_size == 32);
  CHECK(*p.num_kv_blocks == 1000);
  CHECK(!p.enable_chunked_prefill);
  CHECK(p.long_prefill_token_threshold == 64);
  CHECK_THROWS_MATCHES(parse(R"({"max_num_seqs": 0})"), ConfigError,
                       Message("serving.max_num_seqs: must be a positive integer, got 0"));
  CHECK_THROWS_MATCHES(parse(R"({"max_num_batched_tokens": 16777217})"), ConfigError,
                       Message("serving.max_num_batched_tokens: must be in [1, 16777216], got "
                               "16777217"));
  CHECK_THROWS_MATCHES(parse(R"({"num_kv_blocks": 4, "kv_cache_bytes": 4096})"), ConfigError,
                       Message("serving.kv_cache_bytes: give num_kv_blocks or kv_cache_bytes, "
                               "not both"));
  CHECK_THROWS_LIKE(parse(R"({"max_num_seq": 4})"), ConfigError,
                    Contains("serving.max_num_seq: unknown key (did you mean "
                             "\"max_num_seqs\"?)"));
  CHECK_THROWS_MATCHES(parse(R"({"enable_chunked_prefill": 1})"), ConfigError,
                       Message("serving.enable_chunked_prefill: must be true or false, got 1"));
}

TEST_CASE("serving: KV blocks from bytes", "[serving]") {
  SchedulerParams p;  // block_size 16
  // 4096 bytes a token (Llama-3-8B bf16: 2 x 32 layers x 8 KV heads x 128 x 2 B = 131072; a
  // small one here): a block is 65536 bytes; 1 MiB + 1 holds 16 blocks.
  CHECK(p.resolve_num_kv_blocks(4096, (1 << 20) + 1) == 16);
  p.kv_cache_bytes = 65536 * 3 + 5;
  CHECK(p.resolve_num_kv_blocks(4096, 1 << 20) == 3);
  p.kv_cache_bytes = (1 << 20) + 1;
  CHECK_THROWS_MATCHES(p.resolve_num_kv_blocks(4096, 1 << 20), ConfigError,
                       Message("serving.kv_cache_bytes: must be at most the 1048576 bytes HBM "
                               "holds after the weights and activations, got 1048577"));
  p.kv_cache_bytes = 100;
  CHECK_THROWS_MATCHES(p.resolve_num_kv_blocks(4096, 1 << 20), ConfigError,
                       Message("serving.kv_cache_bytes: 100 bytes hold no KV block of 65536 "
                               "bytes (16 tokens x 4096 bytes)"));
  p.kv_cache_bytes.reset();
  p.num_kv_blocks = 7;
  CHECK(p.resolve_num_kv_blocks(4096, 0) == 7);
}

TEST_CASE("serving: percentiles and goodput", "[serving]") {
  // numpy.percentile([1, 2, 3, 4], 90) = 3 + 0.7 x 1 = 3.7 (h = 0.9 x 3 = 2.7).
  CHECK(percentile({4, 1, 3, 2}, 90) == Approx(3.7));
  CHECK(percentile({4, 1, 3, 2}, 50) == Approx(2.5));
  CHECK(percentile({5}, 99) == 5);
  // Two requests at 0 as in "two requests arriving together": TTFT 2500, TPOT 1020 each.
  // Three at 0 in a batch of two: the third's TTFT is 2220 + 1100 = 3320 (max_num_seqs test).
  const auto r = simulate({req(0, 0, 10, 2), req(1, 0, 10, 2), req(2, 0, 10, 2)},
                          params(100, 2048, 2), affine);
  Slo slo;
  slo.ttft_ns = 2000;  // A and B (TTFT 1200) meet it, C (3320) does not
  const Summary s = summarize(r.requests, r.iterations, slo);
  CHECK(s.slo_met == 2);
  CHECK(s.duration_ns == 4330);
  CHECK(s.goodput_requests_per_s == Approx(2 / 4330e-9));
  CHECK(s.requests_per_s == Approx(3 / 4330e-9));
  // TPOT: A and B 1020, C 1010.
  slo.tpot_ns = 1015;
  CHECK(summarize(r.requests, r.iterations, slo).slo_met == 0);
  slo.ttft_ns.reset();
  CHECK(summarize(r.requests, r.iterations, slo).slo_met == 1);
  CHECK(s.mean_batch_seqs == Approx((2 + 2 + 1 + 1) / 4.0));
  CHECK(s.ttft_ns.max == 3320);
  CHECK(s.ttft_ns.p50 == 1200);
}

}  // namespace
}  // namespace llmsim::serving
