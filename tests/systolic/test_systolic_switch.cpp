// A reconfigurable array (core.systolic.dataflows) switching dataflow between GEMMs: the switch
// rule of arch/systolic/timing.h by hand-worked cycles, and proven against the register-level
// reference: a sequence with switches must give every GEMM exactly what the reference gives when
// it runs each same-dataflow run of the sequence on its own, on an idle array, the first GEMM of
// each run made ready at max(its ready, the end of every GEMM before) + X.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "arch/systolic/timing.h"
#include "tests/systolic/reference_pe_pipeline.h"

namespace llmsim::test {
namespace {

using systolic::ArrayPipeline;
using systolic::ArrayShape;
using systolic::Dataflow;
using systolic::GemmSchedule;
using systolic::GemmShape;
using systolic::Pipelining;

constexpr Pipelining kDb = Pipelining::double_buffered;

// One GEMM of a sequence on a reconfigurable array: its dataflow, shape and ready cycle.
struct Step {
  Dataflow d;
  GemmShape g;
  std::uint64_t ready = 0;
};

std::vector<GemmSchedule> run_all(ArrayPipeline& pipe, const std::vector<Step>& steps) {
  std::vector<GemmSchedule> out;
  for (const Step& s : steps) out.push_back(pipe.run(s.d, s.g, Cycles(s.ready)));
  return out;
}

}  // namespace

// 4x4 array, X = 10. Idle latencies (timing.h): WS 8x4x4 (M=8, K=4, N=4), one fold,
// 2R + Nf + M - 2 = 8 + 4 + 8 - 2 = 18; OS 4x8x4, one fold, R + Mf + Nf + K - 2 =
// 4 + 4 + 4 + 8 - 2 = 18.
TEST_CASE("dataflow switch: WS then OS ends at the first end + X + the OS idle latency",
          "[systolic][dataflows]") {
  const GemmShape ws{8, 4, 4}, os{4, 8, 4};
  for (const Pipelining p : {kDb, Pipelining::none}) {
    INFO(systolic::to_string(p));
    ArrayPipeline pipe(Dataflow::ws, {4, 4}, p, Cycles(10));
    const auto s = run_all(pipe, {{Dataflow::ws, ws, 0}, {Dataflow::os, os, 0}});
    CHECK(s[0].end == Cycles(18));
    CHECK_FALSE(s[0].switched);
    // The array drains at 18, reconfigures in 18..27 and starts the OS GEMM at 28 as on an
    // idle array: 28 + 18 = 46.
    CHECK(s[1].switched);
    CHECK(s[1].start == Cycles(28));
    CHECK(s[1].end == Cycles(46));
    CHECK(pipe.dataflow() == Dataflow::os);
  }
}

TEST_CASE("dataflow switch: the same dataflow twice keeps pipelining, a switch back drains",
          "[systolic][dataflows]") {
  const GemmShape ws{8, 4, 4}, os{4, 8, 4};
  ArrayPipeline pipe(Dataflow::ws, {4, 4}, kDb, Cycles(10));
  const auto s = run_all(pipe, {{Dataflow::ws, ws, 0},
                                {Dataflow::ws, ws, 0},
                                {Dataflow::os, os, 0},
                                {Dataflow::os, os, 0},
                                {Dataflow::ws, ws, 0}});
  // WS 1: p = 0, s = 4, end s + S + Nf + R - 2 = 4 + 8 + 4 + 4 - 2 = 18.
  // WS 2 pipelines (no switch): p = 4 (WS 1's stream start), s = max(4 + R, 4 + S) = 12,
  // end 12 + 8 + 4 + 4 - 2 = 26 (not 18 + 18 = 36).
  CHECK(s[1].start == Cycles(4));
  CHECK(s[1].end == Cycles(26));
  CHECK_FALSE(s[1].switched);
  // OS 1 switches: w = max(0, D = 26) = 26, starts at 36: s = 36, e = s + K + Mf - 1 = 47,
  // end e + Nf + R - 1 = 54.
  CHECK(s[2].switched);
  CHECK(s[2].start == Cycles(36));
  CHECK(s[2].end == Cycles(54));
  // OS 2 pipelines: s = max(36 + K, hold 36) = 44, e = max(44 + 8 + 3, 47 + R) = 55, end 62.
  CHECK_FALSE(s[3].switched);
  CHECK(s[3].start == Cycles(44));
  CHECK(s[3].end == Cycles(62));
  // WS 3 switches back: w = 62, starts at 72 on an idle array, ends 72 + 18 = 90.
  CHECK(s[4].switched);
  CHECK(s[4].start == Cycles(72));
  CHECK(s[4].end == Cycles(90));
}

TEST_CASE("dataflow switch: waits for the GEMM's ready cycle, and for the latest end so far",
          "[systolic][dataflows]") {
  SECTION("ready after the drain: the switch starts at ready") {
    ArrayPipeline pipe(Dataflow::ws, {4, 4}, kDb, Cycles(10));
    const auto s = run_all(pipe, {{Dataflow::ws, {8, 4, 4}, 0}, {Dataflow::os, {4, 8, 4}, 40}});
    CHECK(s[1].start == Cycles(50));  // w = max(40, 18) = 40, + X
    CHECK(s[1].end == Cycles(68));
  }
  SECTION("the first GEMM in another dataflow than the initial one switches too") {
    ArrayPipeline pipe(Dataflow::ws, {4, 4}, kDb, Cycles(10));
    const GemmSchedule s = pipe.run(Dataflow::os, {4, 8, 4}, Cycles(3));
    CHECK(s.switched);
    CHECK(s.start == Cycles(13));
    CHECK(s.end == Cycles(31));
  }
  SECTION("an earlier GEMM that ends after a later one holds the switch") {
    // 2x8 array. WS 1x2x8: p = 0, s = 2, end 2 + 1 + 8 + 2 - 2 = 11. WS 1x2x1: p = 2,
    // s = max(2 + R, 2 + S) = 4, end 4 + 1 + 1 + 2 - 2 = 6 < 11. The switch waits for 11:
    // OS 1x1x1 starts at 11 + 5 = 16 and ends 16 + (R + Mf + Nf + K - 2 = 3) = 19.
    ArrayPipeline pipe(Dataflow::ws, {2, 8}, kDb, Cycles(5));
    const auto s = run_all(
        pipe,
        {{Dataflow::ws, {1, 2, 8}, 0}, {Dataflow::ws, {1, 2, 1}, 0}, {Dataflow::os, {1, 1, 1}, 0}});
    CHECK(s[0].end == Cycles(11));
    CHECK(s[1].end == Cycles(6));
    CHECK(s[2].start == Cycles(16));
    CHECK(s[2].end == Cycles(19));
  }
  SECTION("a hold (SRAM stall) also delays the switch") {
    ArrayPipeline pipe(Dataflow::ws, {4, 4}, Pipelining::none, Cycles(10));
    pipe.run(Dataflow::ws, {8, 4, 4}, Cycles(0));  // ends 18
    pipe.hold_until(Cycles(25));
    CHECK(pipe.run(Dataflow::is, {4, 4, 8}, Cycles(0)).start == Cycles(35));
  }
  SECTION("X = 0 still drains") {
    ArrayPipeline pipe(Dataflow::ws, {4, 4}, kDb, Cycles(0));
    const auto s = run_all(pipe, {{Dataflow::ws, {8, 4, 4}, 0}, {Dataflow::is, {4, 4, 8}, 0}});
    CHECK(s[1].start == Cycles(18));  // not 4, where a second WS GEMM would preload
  }
}

namespace {

std::string describe(ArrayShape array, Pipelining p, std::uint64_t x, const std::vector<Step>& s) {
  std::ostringstream o;
  o << systolic::to_string(p) << " on " << array.rows << "x" << array.cols << " X=" << x << ":";
  for (const Step& st : s) {
    o << " [" << systolic::to_string(st.d) << " M=" << st.g.m << " K=" << st.g.k << " N=" << st.g.n
      << " ready=" << st.ready << "]";
  }
  return o.str();
}

// The reference, chained by the switch rule: each maximal run of one dataflow runs on its own
// idle reference array, its first GEMM ready at max(ready, D) + X when the array switches for
// it (D: the latest end of every GEMM before). Every GEMM's C, start, end and folds must equal
// ArrayPipeline's.
void check_chained(ArrayShape array, Pipelining p, std::uint64_t x, Dataflow initial,
                   const std::vector<Step>& steps, std::mt19937& rng) {
  INFO(describe(array, p, x, steps));
  ArrayPipeline pipe(initial, array, p, Cycles(x));
  const std::vector<GemmSchedule> want = run_all(pipe, steps);
  Dataflow current = initial;
  std::uint64_t drained = 0;
  std::size_t i = 0;
  while (i < steps.size()) {
    std::size_t j = i;
    while (j < steps.size() && steps[j].d == steps[i].d) ++j;
    std::vector<GemmJob> jobs;
    for (std::size_t g = i; g < j; ++g) {
      jobs.push_back({random_matrix(steps[g].g.m, steps[g].g.k, rng),
                      random_matrix(steps[g].g.k, steps[g].g.n, rng), steps[g].ready});
    }
    const bool switched = steps[i].d != current;
    if (switched) jobs[0].ready = std::max(jobs[0].ready, drained) + x;
    const SequenceResult ref = run_reference_sequence(steps[i].d, array, p, jobs);
    REQUIRE(ref.gemms.size() == j - i);
    for (std::size_t g = i; g < j; ++g) {
      INFO("GEMM " << g);
      const GemmRun& r = ref.gemms[g - i];
      CHECK(r.c == matmul(jobs[g - i].a, jobs[g - i].b));
      CHECK(r.start == want[g].start.count());
      CHECK(r.end == want[g].end.count());
      CHECK(r.folds == want[g].folds);
      CHECK(want[g].switched == (g == i && switched));
      drained = std::max(drained, r.end);
    }
    current = steps[i].d;
    i = j;
  }
}

}  // namespace

// 150 random sequences per pipelining: R, C in 1..6, 2..5 GEMMs with M, K, N in 1..16, each
// in one of 2 or 3 dataflows (switches, runs, and switches back), X in 0..12; each GEMM ready
// at 0, in the middle of the previous GEMM or after its end plus 1..12 (from ArrayPipeline's
// schedule of the previous GEMM).
TEST_CASE("switching array matches the chained register-level reference on random sequences",
          "[systolic][dataflows]") {
  std::mt19937 rng(20261207u);
  std::uniform_int_distribution<std::uint32_t> array_dim(1, 6);
  std::uniform_int_distribution<std::uint64_t> gemm_dim(1, 16), count(2, 5), kind(0, 2), gap(1, 12),
      switch_cycles(0, 12), pick(0, 2);
  const Dataflow all[3] = {Dataflow::ws, Dataflow::os, Dataflow::is};
  int switches = 0;
  for (int i = 0; i < 150; ++i) {
    const ArrayShape array{array_dim(rng), array_dim(rng)};
    const std::uint64_t x = switch_cycles(rng);
    // Offered: all three, or two of them; the initial (default) is the first offered.
    std::vector<Dataflow> offered = {all[pick(rng)]};
    for (const Dataflow d : all) {
      if (d != offered[0] && (offered.size() < 2 || i % 2 == 0)) offered.push_back(d);
    }
    std::uniform_int_distribution<std::size_t> which(0, offered.size() - 1);
    for (const Pipelining p : {kDb, Pipelining::none}) {
      std::vector<Step> steps(count(rng));
      ArrayPipeline pipe(offered[0], array, p, Cycles(x));
      GemmSchedule last;
      for (std::size_t g = 0; g < steps.size(); ++g) {
        steps[g].d = offered[which(rng)];
        steps[g].g = {gemm_dim(rng), gemm_dim(rng), gemm_dim(rng)};
        if (g > 0) {
          const std::uint64_t k = kind(rng);
          steps[g].ready = k == 1   ? (last.start.count() + last.end.count()) / 2
                           : k == 2 ? last.end.count() + gap(rng)
                                    : 0;
        }
        last = pipe.run(steps[g].d, steps[g].g, Cycles(steps[g].ready));
        switches += last.switched ? 1 : 0;
      }
      check_chained(array, p, x, offered[0], steps, rng);
    }
  }
  CHECK(switches > 300);  // the sequences do switch (about 2 in 3 GEMMs)
}

}  // namespace llmsim::test
