// `llmsim serve` on the chip (sim/driver/serve.h): the serving loop's times against iterations
// simulated by hand, the KV capacity, the table approximation against exact, and errors.
#include <catch2/catch.hpp>

#include <numeric>

#include "sim/core/error.h"
#include "sim/driver/fork_pool.h"
#include "sim/driver/iteration_cost.h"
#include "sim/driver/presets.h"
#include "sim/driver/run.h"
#include "sim/driver/serve.h"
#include "tests/support/tiny_llama.h"
#include "workloads/serving/iteration_workload.h"

namespace {

using namespace llmsim;
using namespace llmsim::driver;
using workloads::IterationSeq;
using workloads::IterationShape;

workloads::ModelConfig tiny_llama() {
  return test::tiny_llama(2, 512);
}

// On datacenter (1000 MHz: a cycle is a ns), a KV cache of `blocks` blocks of 16 tokens.
ServeSpec spec(std::vector<serving::Request> requests, std::uint64_t blocks = 64) {
  ServeSpec s;
  s.arch_name = "datacenter";
  s.arch = load_arch("datacenter");
  s.overrides = {"serving.num_kv_blocks=" + std::to_string(blocks)};
  s.model = tiny_llama();
  s.requests = std::move(requests);
  s.cost = "exact";
  return s;
}

// The cycles of one iteration built and simulated by hand (pool of `pool` blocks).
std::uint64_t cycles(std::vector<IterationSeq> seqs, std::uint64_t pool = 64) {
  IterationShape s;
  s.dtype = isa::DType::bf16;
  s.block_size = 16;
  s.num_blocks = pool;
  s.seqs = std::move(seqs);
  RunSpec r{"datacenter", load_arch("datacenter"), {},
            workloads::build_iteration(tiny_llama(), s), {}};
  return run(r).total_cycles;
}

std::vector<std::uint64_t> iota(std::uint64_t first, std::uint64_t n) {
  std::vector<std::uint64_t> v(n);
  std::iota(v.begin(), v.end(), first);
  return v;
}

}  // namespace

TEST_CASE("serve: one request alone: TTFT is its prefill iteration, TPOT its decode iterations") {
  // Input 40, output 4, arriving at 1000 ns. Iteration 0 prefills its 40 tokens (blocks 0, 1,
  // 2: the never-used blocks in order) and emits token 1; iterations 1 to 3 each decode one
  // token with 40, 41, 42 tokens cached (41 to 43 tokens: still 3 blocks).
  const ServeResult r = serve(spec({{0, 1000, 40, 4}}));
  REQUIRE(r.iterations.size() == 4);
  const std::uint64_t prefill = cycles({{40, 0, iota(0, 3), true}});
  std::vector<std::uint64_t> decode;
  for (std::uint64_t kv : {40, 41, 42}) decode.push_back(cycles({{1, kv, iota(0, 3), true}}));
  CHECK(r.iterations[0].cycles == prefill);
  CHECK(r.iterations[0].start_ns == 1000);
  const serving::RequestMetrics& m = r.requests.at(0);
  CHECK(m.ttft_ns == prefill);  // 1 ns a cycle at 1000 MHz
  REQUIRE(m.tpot_ns.has_value());
  CHECK(*m.tpot_ns == Approx(double(decode[0] + decode[1] + decode[2]) / 3));
  CHECK(m.itl_ns == decode);
  CHECK(m.e2e_ns == prefill + decode[0] + decode[1] + decode[2]);
  CHECK(r.summary.num_iterations == 4);
  CHECK(r.simulations == 4);
  CHECK(r.energy_pj > 0);
}

TEST_CASE("serve: two requests arriving together share one prefill iteration") {
  // Both arrive at 0: iteration 0 holds both prompts (30 tokens in blocks 0, 1; 20 tokens in
  // blocks 2, 3), both emit; iteration 1 decodes both (30 and 20 cached).
  const ServeResult r = serve(spec({{0, 0, 30, 2}, {1, 0, 20, 2}}));
  REQUIRE(r.iterations.size() == 2);
  const std::uint64_t first = cycles({{30, 0, iota(0, 2), true}, {20, 0, iota(2, 2), true}});
  const std::uint64_t second = cycles({{1, 30, iota(0, 2), true}, {1, 20, iota(2, 2), true}});
  CHECK(r.requests[0].ttft_ns == first);
  CHECK(r.requests[1].ttft_ns == first);
  CHECK(r.requests[0].e2e_ns == first + second);
  CHECK(r.requests[1].e2e_ns == first + second);
  CHECK(r.iterations[0].num_tokens == 50);
  CHECK(r.iterations[1].num_decode_seqs == 2);
}

TEST_CASE("serve: identical iterations are simulated once") {
  // Two requests one after the other, far apart, in a cache of one block: both prefill 10
  // tokens into block 0 (with more blocks the second would take a never-used one, a different
  // DRAM address, and be simulated again).
  const ServeResult r = serve(spec({{0, 0, 10, 1}, {1, 50'000'000, 10, 1}}, 1));
  REQUIRE(r.iterations.size() == 2);
  CHECK(r.iterations[0].cycles == r.iterations[1].cycles);
  CHECK(r.simulations == 1);
  CHECK(r.reused_iterations == 1);
  // The chip idles from the end of the first to the second's arrival.
  CHECK(r.iterations[1].start_ns == 50'000'000);
}

TEST_CASE("serve: the KV cache without a size holds what HBM has left after the weights") {
  ServeSpec s = spec({{0, 0, 10, 1}});
  s.overrides.clear();
  const ServeResult r = serve(s);
  // K and V of 2 layers x 2 KV heads x 64 x 2 bytes (bf16) a token.
  CHECK(r.kv_bytes_per_token == 2 * 2 * 2 * 64 * 2);
  // Datacenter's three HBM2E stacks hold 3 x 16 GiB; the tiny model's weights and activations
  // take a few MiB, so nearly all of it is cache (blocks of 16 tokens x 1 KiB).
  const std::uint64_t all = (std::uint64_t(48) << 30) / (16 * 1024);
  REQUIRE(r.scheduler.num_kv_blocks.has_value());
  CHECK(*r.scheduler.num_kv_blocks < all);
  CHECK(*r.scheduler.num_kv_blocks > all - all / 100);
}

TEST_CASE("serve: a KV cache too small for both requests preempts, and the run matches by hand") {
  // 4 blocks of 16 tokens. Request 0 (input 30, output 20) and request 1 (input 30, output 20)
  // arrive together: each takes 2 blocks. At 32 cached tokens each needs a third: request 1
  // (admitted last) is preempted, and recomputes later. The times are what the chip gives, so
  // this checks the bookkeeping: the preemption, the recompute's prefill of input + generated
  // tokens, and that every request finishes.
  const ServeResult r = serve(spec({{0, 0, 30, 20}, {1, 0, 30, 20}}, 4));
  CHECK(r.summary.preemptions >= 1);
  CHECK(r.requests[1].preemptions >= 1);
  bool recompute = false;
  for (const serving::IterationRecord& i : r.iterations) {
    CHECK(i.kv_blocks_used <= 4);
    recompute = recompute || (i.num_prefill_tokens > 30);
  }
  CHECK(recompute);
  CHECK(r.requests[1].finish_ns > r.requests[0].finish_ns);
}

TEST_CASE("serve: the table approximation against full simulation on the tiny model") {
  std::vector<serving::Request> req;
  for (std::uint64_t i = 0; i < 6; ++i) req.push_back({i, i * 100'000, 20 + 7 * i, 3 + i % 3});
  ServeSpec t = spec(req, 256);
  t.cost = "table";
  t.check_iterations = 3;
  const ServeResult table = serve(t);
  ServeSpec e = spec(req, 256);
  const ServeResult exact = serve(e);
  REQUIRE(table.checks.size() == 3);
  for (const CostCheck& c : table.checks) {
    INFO("iteration " << c.iteration << ": table " << c.table_cycles << ", exact "
                      << c.exact_cycles);
    // The check's exact cycles are the exact run's for the same iteration when the two runs
    // scheduled it alike (the scheduler sees only times, which differ by the error).
    CHECK(std::abs(c.error()) < 0.05);
  }
  // Fewer simulations than iterations: the tables serve the rest.
  CHECK(table.simulations < exact.simulations + table.checks.size());
  CHECK(table.summary.num_iterations == exact.summary.num_iterations);
}

TEST_CASE("serve: mistakes are errors naming them") {
  ServeSpec s = spec({{0, 0, 500, 20}});
  CHECK_THROWS_WITH(serve(s), Catch::Contains("reaches position 519") &&
                                  Catch::Contains("max_position_embeddings 512"));
  s = spec({{0, 0, 10, 2}});
  s.cost = "fast";
  CHECK_THROWS_WITH(serve(s), Catch::Contains("cost fast: must be exact or table"));
  s = spec({{0, 0, 10, 2}});
  s.overrides = {"serving.max_num_seqs=0"};
  CHECK_THROWS_AS(serve(s), ConfigError);
  s = spec({{0, 0, 10, 2}});
  s.model = workloads::load_model("bert-base-uncased");
  CHECK_THROWS_WITH(serve(s), Catch::Contains("is an encoder"));
  s = spec({{0, 0, 100, 2}}, 4);  // 101 tokens of KV need 7 blocks of 16
  CHECK_THROWS_WITH(serve(s), Catch::Contains("could never run"));
}

TEST_CASE("fork pool: results come back in job order; a failing job is an error naming it") {
  for (const unsigned width : {1u, 2u, 3u}) {
    const std::vector<std::string> out =
        run_in_children(5, [](std::size_t i) { return std::string(i * 1000, char('a' + i)); },
                        width);
    REQUIRE(out.size() == 5);
    for (std::size_t i = 0; i < 5; ++i) CHECK(out[i] == std::string(i * 1000, char('a' + i)));
  }
  const auto failing = [](std::size_t i) -> std::string {
    if (i == 1) throw WorkloadError("boom");
    return "ok";
  };
  CHECK_THROWS_WITH(run_in_children(3, failing, 2),
                    Catch::Contains("simulation job 1 failed in its child process: boom"));
  CHECK_THROWS_WITH(run_in_children(3, failing, 1), "boom");  // in this process
}
