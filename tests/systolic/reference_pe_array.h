#pragma once
// Register-level reference of the systolic array, for tests only. It clocks every PE register
// of the full R x C array one cycle at a time, computes the GEMM value by value, and finds when
// a fold ends by watching its outputs leave the array. It uses none of the closed forms of
// arch/systolic/timing.h, which tests/systolic/test_systolic_exact.cpp checks against it.
//
// Micro-architecture (every register updates at the end of its cycle; cycles count from 0):
//  WS / IS, one machine: PE[r][c] holds a stationary weight w, an input register a (moves right)
//    and a partial-sum register p (moves down).
//    Fill, R cycles: every weight row shifts down one PE row and row 0 takes a new row vector;
//      at fill cycle t that is weight row R-1-t of the fold, zero past the rows and columns the
//      fold uses, so rows the fold does not use are cleared of the previous fold's weights.
//    Stream, cycle s: a_in = (c == 0 ? left edge of row r : a[r][c-1]),
//      p_in = (r == 0 ? 0 : p[r-1][c]); next a = a_in, next p = p_in + a_in * w.
//      Streamed row x enters the left edge of PE row r at stream cycle x + r (zero for rows the
//      fold does not use). Column c's output for row x is whatever leaves p[R-1][c] with x's tag.
//    WS: w = B (K over rows, N over columns), streamed rows = rows of A: out[m][c] = C[m][n0+c].
//    IS: w = A^T (K over rows, M over columns), streamed rows = columns of B:
//      out[n][c] = C[m0+c][n].
//  OS: PE[i][j] holds an accumulator and operand registers a (moves right), b (moves down).
//    Compute, cycle t: a_in = (j == 0 ? A[m0+i][t-i] : a[i][j-1]),
//      b_in = (i == 0 ? B[t-j][n0+j] : b[i-1][j]) (zero outside the fold), acc += a_in * b_in;
//      it runs until every used PE has done all K of its multiply-accumulates.
//    Drain: each cycle row R-1's accumulators leave the bottom edge, every other row shifts down
//      one, row 0 takes zero; it runs until every used accumulator has left.
//
// How the end of a fold is found without a formula: every streamed operand carries a tag (its
// fold and its index along the streamed or reduced dimension) next to its value. A partial sum
// takes the tag of the operands it meets; the reference checks that they all agree (a broken
// skew throws) and records an output when a partial sum of the current fold that met all R PE
// rows leaves the bottom edge. Likewise OS counts each PE's multiply-accumulates of the current
// fold and labels the accumulators with their output when the drain starts.
//
// Folding, as timing.cpp maps it: WS folds K over R and N over C, IS K over R and M over C,
// OS M over R and N over C; folds run one after the other without overlap, and partial results
// of different K folds add up outside the array (as in an accumulator SRAM). One PE array is
// used for all folds of a GEMM and is never reset: stale weights, operands and partial sums of
// the previous fold stay in its registers, so a fold that fails to clear them gives wrong values.
#include <cstdint>
#include <random>
#include <vector>

#include "arch/systolic/timing.h"

namespace llmsim::test {

// A row-major matrix of int64 values.
struct Matrix {
  std::uint64_t rows = 0;
  std::uint64_t cols = 0;
  std::vector<std::int64_t> values;

  Matrix() = default;
  Matrix(std::uint64_t r, std::uint64_t c) : rows(r), cols(c), values(r * c, 0) {}
  std::int64_t& at(std::uint64_t r, std::uint64_t c) { return values[r * cols + c]; }
  std::int64_t at(std::uint64_t r, std::uint64_t c) const { return values[r * cols + c]; }
  bool operator==(const Matrix& o) const {
    return rows == o.rows && cols == o.cols && values == o.values;
  }
  bool operator!=(const Matrix& o) const { return !(*this == o); }
};

// Random values in [-9, 9].
inline Matrix random_matrix(std::uint64_t rows, std::uint64_t cols, std::mt19937& rng) {
  std::uniform_int_distribution<int> value(-9, 9);
  Matrix m(rows, cols);
  for (auto& v : m.values) v = value(rng);
  return m;
}

// The plain triple loop the references' values are checked against.
inline Matrix matmul(const Matrix& a, const Matrix& b) {
  Matrix c(a.rows, b.cols);
  for (std::uint64_t i = 0; i < a.rows; ++i) {
    for (std::uint64_t j = 0; j < b.cols; ++j) {
      for (std::uint64_t k = 0; k < a.cols; ++k) c.at(i, j) += a.at(i, k) * b.at(k, j);
    }
  }
  return c;
}

// The registers both references are built of (reference_pe_array.cpp and
// reference_pe_pipeline.cpp).
namespace ref {

// Identity of a streamed operand: its fold and its index along the streamed (WS, IS) or
// reduced (OS) dimension. fold < 0: a bubble. Metadata only; no value depends on it.
struct Tag {
  std::int64_t fold = -1;
  std::int64_t index = -1;
  bool valid() const { return fold >= 0; }
  bool operator==(const Tag& o) const { return fold == o.fold && index == o.index; }
  bool operator!=(const Tag& o) const { return !(*this == o); }
};

struct Operand {
  std::int64_t value = 0;
  Tag tag;
};

struct Psum {
  std::int64_t value = 0;
  Tag tag;                 // taken from the operands it met
  std::uint64_t rows = 0;  // PE rows at which it met an operand with that tag
};

}  // namespace ref

// One fold as the reference ran it: the array rows and columns it mapped data onto
// (rows_used <= R, cols_used <= C), the length of its streamed dimension (M for WS, N for IS,
// K for OS), and the simulated cycles from its first fill cycle to the cycle in which its last
// useful output left the array.
struct FoldRecord {
  std::uint64_t rows_used = 0;
  std::uint64_t cols_used = 0;
  std::uint64_t stream = 0;
  std::uint64_t cycles = 0;
};

struct ReferenceResult {
  Matrix c;                  // M x N
  std::uint64_t cycles = 0;  // sum over the folds (they do not overlap)
  std::uint64_t folds = 0;
  std::vector<FoldRecord> fold_log;  // in the order the folds ran
};

// Runs C = A * B, with A M x K and B K x N (all >= 1), on an R x C array (R, C >= 1).
// Throws InternalError if the simulated machine misbehaves (misaligned operands, an output
// that never leaves).
ReferenceResult run_reference(systolic::Dataflow d, systolic::ArrayShape array, const Matrix& a,
                              const Matrix& b);

}  // namespace llmsim::test
