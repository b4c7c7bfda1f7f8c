#include "arch/systolic/timing.h"

#include "sim/core/error.h"

namespace llmsim::systolic {

const char* to_string(Dataflow d) {
  switch (d) {
    case Dataflow::ws:
      return "ws";
    case Dataflow::os:
      return "os";
    case Dataflow::is:
      return "is";
  }
  return "?";
}

Cycles fold_cycles(Dataflow d, ArrayShape a, std::uint64_t rows_used, std::uint64_t cols_used,
                   std::uint64_t stream) {
  LLMSIM_CHECK(
      rows_used >= 1 && rows_used <= a.rows && cols_used >= 1 && cols_used <= a.cols && stream >= 1,
      "fold does not fit the array");
  const std::uint64_t r = a.rows;
  switch (d) {
    case Dataflow::ws:
    case Dataflow::is:
      return Cycles(2 * r + cols_used + stream - 2);
    case Dataflow::os:
      return Cycles(r + rows_used + cols_used + stream - 2);
  }
  return Cycles(0);
}

namespace {

// Sum of fold latencies over a spatial grid: `rows_total` folded over R and `cols_total` over C.
// Folds of equal shape have equal latency, so only the (at most) four distinct shapes are
// evaluated: O(1) whatever the GEMM size.
GemmTiming fold_grid(Dataflow d, ArrayShape a, std::uint64_t rows_total, std::uint64_t cols_total,
                     std::uint64_t stream) {
  GemmTiming t;
  const std::uint64_t full_r = rows_total / a.rows, rem_r = rows_total % a.rows;
  const std::uint64_t full_c = cols_total / a.cols, rem_c = cols_total % a.cols;
  const std::uint64_t row_sizes[2] = {a.rows, rem_r}, row_counts[2] = {full_r, rem_r ? 1u : 0u};
  const std::uint64_t col_sizes[2] = {a.cols, rem_c}, col_counts[2] = {full_c, rem_c ? 1u : 0u};
  std::uint64_t cycles = 0;
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 2; ++j) {
      const std::uint64_t n = row_counts[i] * col_counts[j];
      if (n == 0) continue;
      cycles += n * fold_cycles(d, a, row_sizes[i], col_sizes[j], stream).count();
      t.folds += n;
    }
  }
  t.cycles = Cycles(cycles);
  return t;
}

}  // namespace

GemmTiming gemm_timing(Dataflow d, ArrayShape a, GemmShape g) {
  LLMSIM_CHECK(g.m >= 1 && g.k >= 1 && g.n >= 1, "empty GEMM");
  GemmTiming t;
  switch (d) {
    case Dataflow::ws:
      t = fold_grid(d, a, g.k, g.n, g.m);
      break;
    case Dataflow::is:
      t = fold_grid(d, a, g.k, g.m, g.n);
      break;
    case Dataflow::os:
      t = fold_grid(d, a, g.m, g.n, g.k);
      break;
  }
  t.macs = g.m * g.k * g.n;
  return t;
}

}  // namespace llmsim::systolic
