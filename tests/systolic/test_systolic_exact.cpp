// Proves the closed-form GEMM latency of arch/systolic/timing.h exact: for each dataflow, the
// register-level reference PE array (reference_pe_array.h) must compute the right C and take
// exactly systolic::gemm_timing's cycles and folds, on random shapes and on hand-worked cases.
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <sstream>
#include <string>

#include "arch/systolic/timing.h"
#include "tests/systolic/reference_pe_array.h"

namespace llmsim::test {
namespace {

using systolic::ArrayShape;
using systolic::Dataflow;
using systolic::GemmShape;

std::string describe(Dataflow d, ArrayShape array, GemmShape g) {
  std::ostringstream s;
  s << systolic::to_string(d) << " on " << array.rows << "x" << array.cols << ", M=" << g.m
    << " K=" << g.k << " N=" << g.n;
  return s.str();
}

// Runs the reference on random operands of shape g and checks values, total cycles, folds,
// and every fold's cycles against the closed forms. Returns the reference's result.
ReferenceResult check_gemm(Dataflow d, ArrayShape array, GemmShape g, std::mt19937& rng) {
  INFO(describe(d, array, g));
  const Matrix a = random_matrix(g.m, g.k, rng), b = random_matrix(g.k, g.n, rng);
  const ReferenceResult ref = run_reference(d, array, a, b);
  const systolic::GemmTiming timing = systolic::gemm_timing(d, array, g);
  CHECK(ref.c == matmul(a, b));
  CHECK(ref.cycles == timing.cycles.count());
  CHECK(ref.folds == timing.folds);
  std::uint64_t wrong_folds = 0;  // folds whose own latency disagrees with fold_cycles
  for (const FoldRecord& f : ref.fold_log) {
    const auto want = systolic::fold_cycles(d, array, f.rows_used, f.cols_used, f.stream).count();
    if (f.cycles != want) ++wrong_folds;
  }
  CHECK(wrong_folds == 0);
  return ref;
}

std::uint64_t round_up(std::uint64_t x, std::uint64_t multiple) {
  return (x + multiple - 1) / multiple * multiple;
}

// 200 random shapes: R, C in 1..16 and M, K, N in 1..40. Every fourth shape has its spatial
// dimensions rounded up to whole multiples of the array (only full folds); the others mostly
// leave partial folds.
void check_random_shapes(Dataflow d, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::uint32_t> array_dim(1, 16);
  std::uniform_int_distribution<std::uint64_t> gemm_dim(1, 40);
  for (int i = 0; i < 200; ++i) {
    const ArrayShape array{array_dim(rng), array_dim(rng)};
    GemmShape g{gemm_dim(rng), gemm_dim(rng), gemm_dim(rng)};
    if (i % 4 == 0) {
      // Spatial dimensions: WS K x N, IS K x M, OS M x N over R x C.
      std::uint64_t& over_rows = d == Dataflow::os ? g.m : g.k;
      std::uint64_t& over_cols = d == Dataflow::is ? g.m : g.n;
      over_rows = round_up(over_rows, array.rows);
      over_cols = round_up(over_cols, array.cols);
    }
    check_gemm(d, array, g, rng);
  }
}

TEST_CASE("reference PE array matches the closed form on random shapes: WS", "[systolic]") {
  check_random_shapes(Dataflow::ws, 20240601u);
}

TEST_CASE("reference PE array matches the closed form on random shapes: IS", "[systolic]") {
  check_random_shapes(Dataflow::is, 20240602u);
}

TEST_CASE("reference PE array matches the closed form on random shapes: OS", "[systolic]") {
  check_random_shapes(Dataflow::os, 20240603u);
}

TEST_CASE("hand-worked WS: 4x4 array, M=5 K=4 N=4 is 15 cycles", "[systolic]") {
  // One fold (K=4 <= R, N=4 <= C). Fill: 4 cycles shift the 4 weight rows in. Stream: row m of
  // A enters PE row r at stream cycle m + r; output (m, c) leaves p[3][c] after stream cycle
  // m + c + 3; the last, (4, 3), after stream cycle 10, i.e. 11 = 5+4+4-2 stream cycles.
  // Total 4 + 11 = 15.
  std::mt19937 rng(1);
  const ReferenceResult r = check_gemm(Dataflow::ws, {4, 4}, {5, 4, 4}, rng);
  CHECK(r.cycles == 15);
  CHECK(r.folds == 1);
}

TEST_CASE("hand-worked IS: 4x4 array, M=3 K=2 N=6 is 15 cycles", "[systolic]") {
  // One fold: A^T (2 x 3) stationary in rows 0..1, columns 0..2; rows 2..3 get zero weights.
  // Fill 4. Column n of B enters PE row r at stream cycle n + r; C[c][n] leaves the bottom of
  // column c after stream cycle n + c + 3; the last, n=5 in column 2, after cycle 10: 11 = 6+3+4-2
  // stream cycles. Total 4 + 11 = 15.
  std::mt19937 rng(2);
  const ReferenceResult r = check_gemm(Dataflow::is, {4, 4}, {3, 2, 6}, rng);
  CHECK(r.cycles == 15);
  CHECK(r.folds == 1);
}

TEST_CASE("hand-worked OS: 4x4 array, M=2 K=3 N=3 is 10 cycles", "[systolic]") {
  // One fold in PEs (0..1, 0..2). PE (i, j) does MAC k at cycle k + i + j; the last, k=2 in
  // PE (1, 2), at cycle 5: compute is 6 = 3+2+3-2 cycles. Drain: row 3 leaves first, output
  // row 0 leaves at drain cycle 3: 4 cycles. Total 10.
  std::mt19937 rng(3);
  const ReferenceResult r = check_gemm(Dataflow::os, {4, 4}, {2, 3, 3}, rng);
  CHECK(r.cycles == 10);
  CHECK(r.folds == 1);
}

TEST_CASE("hand-worked WS with partial folds: 2x2 array, M=K=N=3 is 26 cycles", "[systolic]") {
  // K folds {2, 1} x N folds {2, 1}, each 2R + Nf + M - 2 = 5 + Nf: 7, 6, 7, 6 -> 26.
  // In the K=1 folds, PE row 1 still holds a weight of the previous fold until the fill shifts
  // in a zero row: a fill of only the used rows would give a wrong C here.
  std::mt19937 rng(4);
  const ReferenceResult r = check_gemm(Dataflow::ws, {2, 2}, {3, 3, 3}, rng);
  CHECK(r.cycles == 26);
  REQUIRE(r.fold_log.size() == 4);
  CHECK(r.fold_log[0].cycles == 7);
  CHECK(r.fold_log[1].cycles == 6);
  CHECK(r.fold_log[2].cycles == 7);
  CHECK(r.fold_log[3].cycles == 6);
}

TEST_CASE("hand-worked OS with partial folds: 2x3 array, M=3 K=2 N=4 is 22 cycles", "[systolic]") {
  // M folds {2, 1} x N folds {3, 1}, each compute K + Mf + Nf - 2 then drain R = 2:
  // (2,3): 5+2 = 7, (2,1): 3+2 = 5, (1,3): 4+2 = 6, (1,1): 2+2 = 4 -> 22.
  std::mt19937 rng(5);
  const ReferenceResult r = check_gemm(Dataflow::os, {2, 3}, {3, 2, 4}, rng);
  CHECK(r.cycles == 22);
  REQUIRE(r.fold_log.size() == 4);
  CHECK(r.fold_log[0].cycles == 7);
  CHECK(r.fold_log[1].cycles == 5);
  CHECK(r.fold_log[2].cycles == 6);
  CHECK(r.fold_log[3].cycles == 4);
}

TEST_CASE("hand-worked 1x1 array: every dataflow does one MAC per fold", "[systolic]") {
  // M=K=N=2: 4 folds of one PE. WS/IS: fill 1 + stream (2 + 1 + 1 - 2) = 3 per fold -> 12
  // (WS folds K x N with M=2 streamed, IS K x M with N=2 streamed). OS: folds M x N, compute
  // K + 1 + 1 - 2 = 2, drain 1 -> 3 per fold -> 12.
  std::mt19937 rng(6);
  for (const Dataflow d : {Dataflow::ws, Dataflow::is, Dataflow::os}) {
    const ReferenceResult r = check_gemm(d, {1, 1}, {2, 2, 2}, rng);
    CHECK(r.cycles == 12);
    CHECK(r.folds == 4);
  }
}

}  // namespace
}  // namespace llmsim::test
