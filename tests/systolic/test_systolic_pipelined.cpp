// Proves the pipelined array of arch/systolic/timing.h exact: for each dataflow, the
// register-level reference running a sequence of GEMMs on one array (reference_pe_pipeline.h)
// must compute every GEMM's C and give every GEMM exactly the start, end and folds that
// systolic::ArrayPipeline::run gives it, with pipelining double_buffered and none, on random
// sequences and on hand-worked cases.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "arch/systolic/timing.h"
#include "sim/core/error.h"
#include "tests/systolic/reference_pe_pipeline.h"

namespace llmsim::test {
namespace {

using systolic::ArrayPipeline;
using systolic::ArrayShape;
using systolic::Dataflow;
using systolic::GemmSchedule;
using systolic::GemmShape;
using systolic::Pipelining;

GemmShape shape_of(const GemmJob& j) {
  return {j.a.rows, j.a.cols, j.b.cols};
}

std::string describe(Dataflow d, ArrayShape array, Pipelining p, const std::vector<GemmJob>& js) {
  std::ostringstream s;
  s << systolic::to_string(d) << " " << systolic::to_string(p) << " on " << array.rows << "x"
    << array.cols << ":";
  for (const GemmJob& j : js) {
    s << " [M=" << j.a.rows << " K=" << j.a.cols << " N=" << j.b.cols << " ready=" << j.ready
      << "]";
  }
  return s.str();
}

// Runs the reference on the sequence and checks every GEMM's values against the triple loop and
// its start, end and folds against ArrayPipeline::run with the same ready cycles; a GEMM that
// starts an idle array at 0 also against gemm_timing. The GEMM's `accept` (when the array takes
// the next one) must be when the reference's next GEMM could start: WS, IS and none exactly
// (max(ready, accept)), OS at the latest (its next fold may also wait for a clean set).
// Then the physical bound on the folds.
SequenceResult check_sequence(Dataflow d, ArrayShape array, Pipelining p,
                              const std::vector<GemmJob>& jobs) {
  INFO(describe(d, array, p, jobs));
  const SequenceResult ref = run_reference_sequence(d, array, p, jobs);
  REQUIRE(ref.gemms.size() == jobs.size());
  ArrayPipeline pipe(d, array, p);
  std::uint64_t accept = 0;  // the previous GEMM's
  for (std::size_t g = 0; g < jobs.size(); ++g) {
    INFO("GEMM " << g);
    const GemmShape shape = shape_of(jobs[g]);
    const GemmSchedule want = pipe.run(shape, Cycles(jobs[g].ready));
    CHECK(ref.gemms[g].c == matmul(jobs[g].a, jobs[g].b));
    CHECK(ref.gemms[g].start == want.start.count());
    CHECK(ref.gemms[g].end == want.end.count());
    CHECK(ref.gemms[g].folds == want.folds);
    CHECK(want.macs == shape.m * shape.k * shape.n);
    const std::uint64_t earliest = std::max(jobs[g].ready, accept);
    if (d == Dataflow::os && p == Pipelining::double_buffered) {
      CHECK(ref.gemms[g].start >= earliest);
    } else {
      CHECK(ref.gemms[g].start == earliest);
    }
    accept = want.accept.count();
    if (g == 0 && jobs[g].ready == 0) {
      const systolic::GemmTiming t = systolic::gemm_timing(d, array, shape, p);
      CHECK(ref.gemms[g].end == t.cycles.count());
      CHECK(ref.gemms[g].folds == t.folds);
    }
    if (p == Pipelining::double_buffered) {
      std::uint64_t stream_cycles = 0;  // the reference's folds of this GEMM
      for (const PipelinedFold& f : ref.fold_log) stream_cycles += f.gemm == g ? f.stream : 0;
      CHECK(want.stream_cycles == stream_cycles);
    }
  }
  // The physical bound: WS/IS, one R-row weight tile per R cycles and one streamed row per
  // cycle, so consecutive stream starts are >= max(S, R) apart. OS: stream starts >= K apart,
  // a column's drains >= R apart (two accumulator sets let two folds stream K apart, so a
  // single gap may be < R), and n consecutive folds take >= n * max(K, R) from the first's
  // stream start to the last's end.
  const std::vector<PipelinedFold>& folds = ref.fold_log;
  std::uint64_t too_fast = 0;
  for (std::size_t f = 1; f < folds.size(); ++f) {
    const PipelinedFold &a = folds[f - 1], &b = folds[f];
    if (d == Dataflow::os) {
      if (b.stream_start < a.stream_start + a.stream) ++too_fast;
      if (b.drain_start < a.drain_start + array.rows) ++too_fast;
    } else if (b.stream_start < a.stream_start + std::max<std::uint64_t>(a.stream, array.rows)) {
      ++too_fast;
    }
  }
  if (d == Dataflow::os) {
    for (std::size_t f = 0; f < folds.size(); ++f) {
      std::uint64_t sum_k = 0;
      for (std::size_t l = f; l < folds.size(); ++l) {
        sum_k += folds[l].stream;
        const std::uint64_t bound = std::max<std::uint64_t>(sum_k, (l - f + 1) * array.rows);
        if (folds[l].end < folds[f].stream_start + bound) ++too_fast;
      }
    }
  }
  CHECK(too_fast == 0);
  return ref;
}

std::vector<GemmJob> jobs_of(const std::vector<GemmShape>& shapes,
                             const std::vector<std::uint64_t>& ready, std::mt19937& rng) {
  std::vector<GemmJob> jobs;
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    jobs.push_back({random_matrix(shapes[i].m, shapes[i].k, rng),
                    random_matrix(shapes[i].k, shapes[i].n, rng), ready[i]});
  }
  return jobs;
}

// `cases` random sequences: R, C in 1..8, 1..3 GEMMs with M, K, N in 1..24 (a quarter of them
// rounded up to whole folds), the first ready at 0 or a little later, each later one ready at 0
// (back to back), in the middle of the previous GEMM, or after its end plus an idle gap of
// 1..12 cycles (the pipeline refills). The ready cycles are picked from the closed form's
// schedule of the previous GEMM, the same for pipelining double_buffered and none.
void check_random_sequences(Dataflow d, std::uint32_t seed, int cases) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::uint32_t> array_dim(1, 8);
  std::uniform_int_distribution<std::uint64_t> gemm_dim(1, 24), count(1, 3), kind(0, 2), gap(1, 12),
      late(0, 5);
  for (int i = 0; i < cases; ++i) {
    const ArrayShape array{array_dim(rng), array_dim(rng)};
    std::vector<GemmShape> shapes(count(rng));
    for (GemmShape& g : shapes) {
      g = {gemm_dim(rng), gemm_dim(rng), gemm_dim(rng)};
      if (i % 4 == 0) {
        // Spatial dimensions: WS K x N, IS K x M, OS M x N over R x C.
        std::uint64_t& over_rows = d == Dataflow::os ? g.m : g.k;
        std::uint64_t& over_cols = d == Dataflow::is ? g.m : g.n;
        over_rows = (over_rows + array.rows - 1) / array.rows * array.rows;
        over_cols = (over_cols + array.cols - 1) / array.cols * array.cols;
      }
    }
    for (const Pipelining p : {Pipelining::double_buffered, Pipelining::none}) {
      ArrayPipeline pipe(d, array, p);
      std::vector<std::uint64_t> ready;
      GemmSchedule last;
      for (std::size_t g = 0; g < shapes.size(); ++g) {
        std::uint64_t r = 0;
        if (g == 0) {
          r = i % 2 ? late(rng) : 0;
        } else if (const std::uint64_t k = kind(rng); k == 1) {
          r = (last.start.count() + last.end.count()) / 2;
        } else if (k == 2) {
          r = last.end.count() + gap(rng);
        }
        ready.push_back(r);
        last = pipe.run(shapes[g], Cycles(r));
      }
      check_sequence(d, array, p, jobs_of(shapes, ready, rng));
    }
  }
}

TEST_CASE("pipelined reference matches ArrayPipeline on random GEMM sequences: WS", "[systolic]") {
  check_random_sequences(Dataflow::ws, 20261207u, 200);
}

TEST_CASE("pipelined reference matches ArrayPipeline on random GEMM sequences: IS", "[systolic]") {
  check_random_sequences(Dataflow::is, 20261208u, 200);
}

TEST_CASE("pipelined reference matches ArrayPipeline on random GEMM sequences: OS", "[systolic]") {
  check_random_sequences(Dataflow::os, 20261209u, 200);
}

}  // namespace
}  // namespace llmsim::test
namespace llmsim::test {
namespace {

// One GEMM of shape g with random operands, ready at `ready`.
GemmJob job(GemmShape g, std::uint64_t ready, std::mt19937& rng) {
  return {random_matrix(g.m, g.k, rng), random_matrix(g.k, g.n, rng), ready};
}

std::vector<std::uint64_t> stream_starts(const SequenceResult& r) {
  std::vector<std::uint64_t> s;
  for (const PipelinedFold& f : r.fold_log) s.push_back(f.stream_start);
  return s;
}

std::vector<std::uint64_t> fold_ends(const SequenceResult& r) {
  std::vector<std::uint64_t> e;
  for (const PipelinedFold& f : r.fold_log) e.push_back(f.end);
  return e;
}

using V = std::vector<std::uint64_t>;

TEST_CASE("hand-worked pipelined WS, S < R: 4x4 array, M=2 K=4 N=8 is 16 cycles (none: 24)",
          "[systolic]") {
  // Two folds (N=8 over C=4), both Nf=4, S=M=2. Fold 0: preload from p0=0; column 0's weights
  // are captured at the end of cycle p0 + R - 1 = 3, so PE (0,0)'s shadow holds them at the
  // start of 4: s0=4. Fold 1: preload once fold 0's has left column 0's top edge (p0 + R = 4)
  // and fold 0 has started streaming (s0 = 4): p1=4; captured at the end of 7, so s1=8, though
  // fold 0's 2 rows had entered by 6: preload-bound, one fold per R=4 cycles. Output (x, c)
  // leaves p[3][c] at the end of s + x + c + R - 1: fold 0's last (1, 3) at 11 (end 12), fold
  // 1's at 15 (end 16). Without pipelining 2 x (2R + Nf + M - 2) = 2 x 12 = 24.
  std::mt19937 rng(11);
  const std::vector<GemmJob> jobs{job({2, 4, 8}, 0, rng)};
  const SequenceResult r = check_sequence(Dataflow::ws, {4, 4}, Pipelining::double_buffered, jobs);
  REQUIRE(r.fold_log.size() == 2);
  CHECK(r.fold_log[1].preload == 4);
  CHECK(stream_starts(r) == V{4, 8});
  CHECK(fold_ends(r) == V{12, 16});
  CHECK(r.gemms[0].end == 16);
  CHECK(check_sequence(Dataflow::ws, {4, 4}, Pipelining::none, jobs).gemms[0].end == 24);
}

TEST_CASE("hand-worked pipelined WS, S > R: 4x4 array, M=6 K=4 N=8 is 22 cycles (none: 32)",
          "[systolic]") {
  // As above with S=6: p0=0, s0=4, p1=4 (weights captured at the end of 7), but fold 0's six
  // rows enter row 0 in cycles 4..9, so s1 = s0 + S = 10: stream-bound. Fold 0's last output
  // (5, 3) leaves at the end of 4+5+3+3 = 15 (end 16), fold 1's at 10+5+3+3 = 21 (end 22).
  // Without pipelining 2 x (8 + 4 + 6 - 2) = 32.
  std::mt19937 rng(12);
  const std::vector<GemmJob> jobs{job({6, 4, 8}, 0, rng)};
  const SequenceResult r = check_sequence(Dataflow::ws, {4, 4}, Pipelining::double_buffered, jobs);
  CHECK(stream_starts(r) == V{4, 10});
  CHECK(fold_ends(r) == V{16, 22});
  CHECK(r.gemms[0].end == 22);
  CHECK(check_sequence(Dataflow::ws, {4, 4}, Pipelining::none, jobs).gemms[0].end == 32);
}

TEST_CASE("hand-worked pipelined WS chain: back to back continues, an idle gap refills",
          "[systolic]") {
  // 4x4 array, two GEMMs M=2 K=4 N=4 (one fold each). The first: p=0, s=4, last output (1, 3)
  // at the end of 4+1+3+3 = 11: [0, 12). Back to back (second ready at 0): its preload waits
  // for the first's to leave column 0's top edge and for its stream to start: p=4, s=8, end
  // 16. Ready at 20 (the first ended at 12, then 8 idle cycles): p=20, s=24, end 32, the
  // 12 cycles of an idle array.
  std::mt19937 rng(13);
  const SequenceResult chained = check_sequence(Dataflow::ws, {4, 4}, Pipelining::double_buffered,
                                                {job({2, 4, 4}, 0, rng), job({2, 4, 4}, 0, rng)});
  CHECK(chained.gemms[0].start == 0);
  CHECK(chained.gemms[0].end == 12);
  CHECK(chained.gemms[1].start == 4);
  CHECK(chained.gemms[1].end == 16);
  const SequenceResult gap = check_sequence(Dataflow::ws, {4, 4}, Pipelining::double_buffered,
                                            {job({2, 4, 4}, 0, rng), job({2, 4, 4}, 20, rng)});
  CHECK(gap.gemms[1].start == 20);
  CHECK(stream_starts(gap) == V{4, 24});
  CHECK(gap.gemms[1].end == 32);
}

TEST_CASE("hand-worked pipelined IS: 4x4 array, M=8 K=3 N=5 is 20 cycles (none: 30)",
          "[systolic]") {
  // IS: A^T stationary (K=3 over rows: row 3 preloads zeros; M=8 over C=4: two folds), the 5
  // columns of B streamed (S=5 > R=4). p0=0, s0=4, p1=4 (captured at the end of 7), s1 =
  // s0 + S = 9. C[m0 + c][n] leaves column c at the end of s + n + c + R - 1: fold 0's last
  // (n=4, c=3) at 14 (end 15), fold 1's at 19 (end 20). None: 2 x (8 + 4 + 5 - 2) = 30.
  std::mt19937 rng(14);
  const std::vector<GemmJob> jobs{job({8, 3, 5}, 0, rng)};
  const SequenceResult r = check_sequence(Dataflow::is, {4, 4}, Pipelining::double_buffered, jobs);
  CHECK(stream_starts(r) == V{4, 9});
  CHECK(fold_ends(r) == V{15, 20});
  CHECK(check_sequence(Dataflow::is, {4, 4}, Pipelining::none, jobs).gemms[0].end == 30);
}

TEST_CASE("hand-worked pipelined OS, K < R: 4x4 array, M=12 K=2 N=4 is 20 cycles (none: 36)",
          "[systolic]") {
  // Three folds (M=12 over R=4), Mf=Nf=4, K=2, into sets 0, 1, 0. PE (i, j) does fold f's MAC
  // k in cycle s_f + k + i + j. Fold 0: s0=0, column 0's last MAC (row 3, k=1) in cycle 4, so
  // it drains from e0=5, column j from 5 + j. Fold 1 (set 1, clean): s1 = s0 + K = 2; column
  // 0 done after cycle 6 but busy draining fold 0 in 5..8: e1 = 9. Fold 2 (set 0): PE (0,0)
  // is zeroed by fold 0's first drain cycle (5), clean from 6: s2 = 6 (not s1 + K = 4); done
  // after cycle 10, column 0 drains fold 1 in 9..12: e2 = 13. Column 3 drains fold f from
  // e_f + 3 and its row 0 leaves on the R-th shift, at the end of e_f + 6: ends 12, 16, 20.
  // Drain-bound: one fold per R=4 cycles. None: 3 x (R + Mf + Nf + K - 2) = 3 x 12 = 36.
  std::mt19937 rng(15);
  const std::vector<GemmJob> jobs{job({12, 2, 4}, 0, rng)};
  const SequenceResult r = check_sequence(Dataflow::os, {4, 4}, Pipelining::double_buffered, jobs);
  CHECK(stream_starts(r) == V{0, 2, 6});
  REQUIRE(r.fold_log.size() == 3);
  CHECK(r.fold_log[0].drain_start == 5);
  CHECK(r.fold_log[1].drain_start == 9);
  CHECK(r.fold_log[2].drain_start == 13);
  CHECK(fold_ends(r) == V{12, 16, 20});
  CHECK(check_sequence(Dataflow::os, {4, 4}, Pipelining::none, jobs).gemms[0].end == 36);
}

TEST_CASE("hand-worked pipelined OS, one fold: as long as without pipelining", "[systolic]") {
  // 4x4 array, M=2 K=3 N=3: the last MAC of column 0 (row 1, k=2) in cycle 3, so e=4; column
  // 2 drains from 6 and its row 0 leaves at the end of 6 + R - 1 = 9: end 10, the same as
  // R + Mf + Nf + K - 2 = 10 without pipelining (a single fold has nothing to overlap).
  std::mt19937 rng(16);
  const std::vector<GemmJob> jobs{job({2, 3, 3}, 0, rng)};
  CHECK(check_sequence(Dataflow::os, {4, 4}, Pipelining::double_buffered, jobs).gemms[0].end == 10);
  CHECK(check_sequence(Dataflow::os, {4, 4}, Pipelining::none, jobs).gemms[0].end == 10);
}

}  // namespace
}  // namespace llmsim::test
namespace llmsim::test {
namespace {

std::string hazard(Dataflow d, ArrayShape array, GemmShape g, const ReferenceOptions& faults) {
  std::mt19937 rng(17);
  try {
    run_reference_sequence(d, array, Pipelining::double_buffered, {job(g, 0, rng)}, faults);
  } catch (const InternalError& e) {
    return e.what();
  }
  return "no hazard detected";
}

TEST_CASE("pipelined reference: a controller that drops a condition trips a hazard check",
          "[systolic]") {
  // The checks are what make the reference's timing trustworthy: each condition of the
  // controller, dropped, must be caught by the registers, not pass silently.
  using Catch::Matchers::Contains;
  ReferenceOptions f;
  // WS, 3 folds with S=6 > R=4: fold 2's preload at p1 + R = 8 captures at the end of 11, while
  // fold 1 (s1 = 10) switches PE (3, 0) in cycle 13.
  f.fault_preload_before_switch = true;
  CHECK_THAT(hazard(Dataflow::ws, {4, 4}, {6, 4, 12}, f),
             Contains("overwrote a shadow weight not yet switched in"));
  // WS, the stream starts at p0 + 1 = 1: PE (0, 0) switches in an empty shadow register.
  f = {};
  f.fault_stream_before_preload = true;
  CHECK_THAT(hazard(Dataflow::ws, {4, 4}, {2, 4, 4}, f),
             Contains("switched in a shadow weight that is not its new fold's"));
  // OS, the hand-worked 3 folds with K=2 < R: fold 2 streams at s1 + K = 4 into set 0, whose
  // PE (0, 0) holds fold 0's output until its drain in cycle 5.
  f = {};
  f.fault_stream_into_dirty_set = true;
  CHECK_THAT(hazard(Dataflow::os, {4, 4}, {12, 2, 4}, f), Contains("undrained value"));
  // OS, a column drains while its fold still accumulates.
  f = {};
  f.fault_drain_before_macs = true;
  CHECK_THAT(hazard(Dataflow::os, {4, 4}, {4, 6, 4}, f), Contains("a MAC and a drain"));
}

}  // namespace
}  // namespace llmsim::test
namespace llmsim::test {
namespace {

TEST_CASE("pipelined OS: the closed form models the column drains as a wave, left to right",
          "[systolic]") {
  // In the reference a column the fold does not use drains in its turn, after the column to
  // its left, so column j drains fold f from e_f + j, as timing.h assumes. A design whose
  // columns drain independently (a column not used skips the fold) can end a chain earlier:
  // 4x4 array, GEMM A (M=4 K=1 N=1) then GEMM B (M=4 K=1 N=4), back to back.
  // A: s=0, column 0's last MAC (row 3) in cycle 3, drains 4..7, its end 8; columns 1..3 drain
  // in their turn, j in 4+j..7+j. B (set 1): s=1, column j done after cycle 4 + j but busy
  // until 8 + j: it drains from 8 + j, column 3 from 11, and B ends at 15. Independent:
  // columns 1..3 never drained A, so column j drains B from 5 + j once its last MAC (cycle 4 + j)
  // is done: column 3 from 8; column 0 (from 8) and 3 both end 12.
  std::mt19937 rng(18);
  const std::vector<GemmJob> jobs{job({4, 1, 1}, 0, rng), job({4, 1, 4}, 0, rng)};
  const SequenceResult wave =
      check_sequence(Dataflow::os, {4, 4}, Pipelining::double_buffered, jobs);
  CHECK(wave.gemms[1].end == 15);
  ReferenceOptions independent;
  independent.variant_independent_column_drains = true;
  const SequenceResult r =
      run_reference_sequence(Dataflow::os, {4, 4}, Pipelining::double_buffered, jobs, independent);
  CHECK(r.gemms[1].c == matmul(jobs[1].a, jobs[1].b));
  CHECK(r.gemms[1].start == 1);
  CHECK(r.gemms[1].end == 12);
  // On random sequences the closed form is an upper bound for that design (it changes no
  // start, only ends a few GEMMs in drain-bound chains earlier): 100 sequences.
  std::uniform_int_distribution<std::uint32_t> array_dim(1, 8);
  std::uniform_int_distribution<std::uint64_t> gemm_dim(1, 24), count(1, 3);
  std::uint64_t later = 0, earlier = 0;
  for (int i = 0; i < 100; ++i) {
    const ArrayShape array{array_dim(rng), array_dim(rng)};
    std::vector<GemmJob> seq;
    for (std::uint64_t g = count(rng); g > 0; --g) {
      seq.push_back(job({gemm_dim(rng), gemm_dim(rng), gemm_dim(rng)}, 0, rng));
    }
    const SequenceResult v =
        run_reference_sequence(Dataflow::os, array, Pipelining::double_buffered, seq, independent);
    ArrayPipeline pipe(Dataflow::os, array, Pipelining::double_buffered);
    for (std::size_t g = 0; g < seq.size(); ++g) {
      const GemmSchedule want = pipe.run(shape_of(seq[g]), Cycles(0));
      CHECK(v.gemms[g].start == want.start.count());
      if (v.gemms[g].end > want.end.count()) ++later;
      if (v.gemms[g].end < want.end.count()) ++earlier;
    }
  }
  CHECK(later == 0);
  CHECK(earlier > 0);
}

}  // namespace
}  // namespace llmsim::test
