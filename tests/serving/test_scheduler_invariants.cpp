// The scheduler's invariants on generated workloads under cache pressure (many preemptions),
// every step checked: the limits hold, the block tables agree with the pool and with each
// sequence's KV length, every request gets exactly its tokens in time order, and every token
// computed is accounted for (each request's input + output - 1, plus what recomputes redo).
#include <algorithm>
#include <set>
#include <vector>

#include <catch2/catch.hpp>

#include "workloads/serving/generator.h"
#include "workloads/serving/scheduler.h"

namespace llmsim::serving {
namespace {

struct Case {
  std::uint64_t seed, blocks, budget, max_seqs;
  bool chunked;
  std::uint64_t threshold;
};

TEST_CASE("serving: scheduler invariants on generated workloads", "[serving]") {
  const std::vector<Case> cases{
      {1, 200, 512, 64, true, 0},     // tight cache: preemptions
      {2, 2000, 256, 8, true, 0},     // max_num_seqs binds
      {3, 300, 2048, 256, false, 0},  // unchunked
      {4, 250, 1024, 32, true, 100},  // chunks capped by the threshold
  };
  for (const Case& c : cases) {
    CAPTURE(c.seed);
    GeneratorParams g;
    g.num_requests = 400;
    g.rate_rps = 1e5;  // a request every 10 us, each needing about 65 us alone: a queue
    g.seed = c.seed;
    g.input = LengthDist::lognormal(300, 0.8, 1024);
    g.output = LengthDist::lognormal(60, 0.8, 500);
    const std::vector<Request> reqs = generate_requests(g);
    SchedulerParams p;
    p.num_kv_blocks = c.blocks;
    p.max_num_batched_tokens = c.budget;
    p.max_num_seqs = c.max_seqs;
    p.enable_chunked_prefill = c.chunked;
    p.long_prefill_token_threshold = c.threshold;
    Scheduler s(p, reqs);

    std::uint64_t now = 0, computed = 0, preemptions = 0, recompute_bound = 0, max_running = 0;
    while (!s.done()) {
      const Iteration it = s.step(now);
      if (it.empty()) {
        REQUIRE(s.next_arrival_ns());
        now = *s.next_arrival_ns();
        continue;
      }
      REQUIRE(it.num_tokens() <= c.budget);
      REQUIRE(it.seqs.size() <= c.max_seqs);
      REQUIRE(s.num_running() <= c.max_seqs);
      max_running = std::max<std::uint64_t>(max_running, s.num_running());
      REQUIRE(s.kv_cache().used_blocks() <= c.blocks);
      std::uint64_t held = 0;
      std::set<BlockId> ids;
      for (const RequestState& st : s.states()) {
        held += st.blocks.size();
        for (const BlockId b : st.blocks) {
          REQUIRE(b < c.blocks);
          REQUIRE(ids.insert(b).second);  // no block in two tables
        }
      }
      REQUIRE(held == s.kv_cache().used_blocks());
      for (const std::uint64_t id : it.preempted) {
        ++preemptions;
        recompute_bound += s.state(id).num_tokens();
        REQUIRE(s.state(id).blocks.empty());
      }
      for (const ScheduledSeq& q : it.seqs) {
        const RequestState& st = s.state(q.request_id);
        REQUIRE(q.num_tokens >= 1);
        REQUIRE(q.kv_len_before == st.num_computed);
        REQUIRE(st.blocks.size() == (q.kv_len_before + q.num_tokens + 15) / 16);
        REQUIRE(q.emits_token == (q.kv_len_before + q.num_tokens == st.num_tokens()));
        if (!q.is_prefill) REQUIRE(q.num_tokens == 1);
        if (c.threshold && q.is_prefill) REQUIRE(q.num_tokens <= c.threshold);
        computed += q.num_tokens;
      }
      now += 1000 + 10 * it.num_tokens();
      s.finish(it, now);
    }
    std::uint64_t needed = 0;
    for (const RequestState& st : s.states()) {
      needed += st.request.input_tokens + st.request.output_tokens - 1;
      REQUIRE(st.finished);
      REQUIRE(st.token_ns.size() == st.request.output_tokens);
      REQUIRE(std::is_sorted(st.token_ns.begin(), st.token_ns.end()));
      REQUIRE(*st.first_scheduled_ns >= st.request.arrival_ns);
      REQUIRE(st.token_ns.front() > *st.first_scheduled_ns);
    }
    REQUIRE(s.kv_cache().used_blocks() == 0);
    // Each preemption throws away at most the request's tokens at that moment.
    CHECK(computed >= needed);
    CHECK(computed <= needed + recompute_bound);
    if (c.seed == 1) CHECK(preemptions > 0);  // the tight case does exercise preemption
    if (c.seed == 2) CHECK(max_running == c.max_seqs);
  }
}

}  // namespace
}  // namespace llmsim::serving
