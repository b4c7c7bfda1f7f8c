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
#include "tests/systolic/reference_pe_pipeline.h"

namespace llmsim::test {
namespace {

using systolic::ArrayPipeline;
using systolic::ArrayShape;
using systolic::Dataflow;
using systolic::GemmSchedule;
using systolic::GemmShape;
using systolic::Pipelining;

Matrix random_matrix(std::uint64_t rows, std::uint64_t cols, std::mt19937& rng) {
  std::uniform_int_distribution<int> value(-9, 9);
  Matrix m(rows, cols);
  for (auto& v : m.values) v = value(rng);
  return m;
}

// The plain triple loop the reference's values are checked against.
Matrix matmul(const Matrix& a, const Matrix& b) {
  Matrix c(a.rows, b.cols);
  for (std::uint64_t i = 0; i < a.rows; ++i) {
    for (std::uint64_t j = 0; j < b.cols; ++j) {
      for (std::uint64_t k = 0; k < a.cols; ++k) c.at(i, j) += a.at(i, k) * b.at(k, j);
    }
  }
  return c;
}

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
// starts an idle array at 0 also against gemm_timing. Then the physical bound on the folds.
SequenceResult check_sequence(Dataflow d, ArrayShape array, Pipelining p,
                              const std::vector<GemmJob>& jobs) {
  INFO(describe(d, array, p, jobs));
  const SequenceResult ref = run_reference_sequence(d, array, p, jobs);
  REQUIRE(ref.gemms.size() == jobs.size());
  ArrayPipeline pipe(d, array, p);
  for (std::size_t g = 0; g < jobs.size(); ++g) {
    INFO("GEMM " << g);
    const GemmShape shape = shape_of(jobs[g]);
    const GemmSchedule want = pipe.run(shape, Cycles(jobs[g].ready));
    CHECK(ref.gemms[g].c == matmul(jobs[g].a, jobs[g].b));
    CHECK(ref.gemms[g].start == want.start.count());
    CHECK(ref.gemms[g].end == want.end.count());
    CHECK(ref.gemms[g].folds == want.folds);
    if (g == 0 && jobs[g].ready == 0) {
      const systolic::GemmTiming t = systolic::gemm_timing(d, array, shape, p);
      CHECK(ref.gemms[g].end == t.cycles.count());
      CHECK(ref.gemms[g].folds == t.folds);
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
