#pragma once
// Closed-form latency of a GEMM on an R x C systolic array, per dataflow.
//
// A GEMM is C[M][N] = A[M][K] * B[K][N]. The array folds the GEMM into pieces that fit it and
// runs the folds one after the other. Each fold has three phases: fill (load the stationary
// operand, or skew the first operands in), stream, and drain (the last result leaves the array).
//
//   dataflow  stationary        spatial rows x cols        streamed   fold latency
//   WS        B (weights)       K over R  x  N over C      M          2R + Nf + M - 2
//   IS        A (inputs)        K over R  x  M over C      N          2R + Mf + N - 2
//   OS        C (outputs)       M over R  x  N over C      K          R + Mf + Nf + K - 2
//
// where Nf, Mf are the columns (rows for OS) a fold actually uses (<= C, <= R). Derivations:
//  WS: the weights shift in from the top edge, one array row per cycle, always all R rows
//      (unused rows get zeros, clearing the previous fold): R cycles. Then A streams from the left
//      edge with row r skewed by r cycles; partial sums flow down every row of the array and leave
//      the bottom of column c; output (m, c) leaves at stream cycle m + c + R - 1. The last one,
//      (M-1, Nf-1), needs M + Nf + R - 2 stream cycles. Total R + (M + Nf + R - 2).
//  IS: the same machine with A^T stationary and the columns of B streamed: swap M and N.
//  OS: A streams from the left (row i skewed by i) and B from the top (column j skewed by j);
//      PE (i, j) does its k-th MAC at cycle k + i + j, so the last MAC, in PE (Mf-1, Nf-1), ends
//      after K + Mf + Nf - 2 cycles. The accumulators then shift down and out of the bottom edge,
//      one row per cycle; row 0 needs all R shifts: R cycles of drain.
//
// Against SCALE-Sim (scalesim-project/scale-sim-v2, `scalesim/compute/`), whose per-fold cost
// is 2*Sr + Sc + T - 2 with the array's full Sr x Sc: the formulas agree for full folds. On
// purpose we differ for partial folds: a fold that uses only Nf < C columns finishes when its
// last used column drains (the unused columns hold no output), while the row dimension is
// always paid in full because data must cross the whole array to reach its bottom edge.
// Like SCALE-Sim, folds do not overlap: a fold starts when the previous one has drained.
//
// Proven to the cycle by the register-level reference PE array in tests/systolic/.
#include <cstdint>

#include "sim/core/units.h"

namespace llmsim::systolic {

enum class Dataflow { ws, os, is };

const char* to_string(Dataflow d);

struct ArrayShape {
  std::uint32_t rows = 0;  // R
  std::uint32_t cols = 0;  // C
};

struct GemmShape {
  std::uint64_t m = 0;
  std::uint64_t k = 0;
  std::uint64_t n = 0;
};

struct GemmTiming {
  Cycles cycles;            // fill + stream + drain over all folds
  std::uint64_t folds = 0;  // pieces of the GEMM mapped onto the array one after the other
  std::uint64_t macs = 0;   // useful multiply-accumulates, M * K * N
};

// Latency of one fold; `rows_used` <= R and `cols_used` <= C are the parts of the array the
// fold maps data onto; `stream` is the length of the streamed dimension.
Cycles fold_cycles(Dataflow d, ArrayShape a, std::uint64_t rows_used, std::uint64_t cols_used,
                   std::uint64_t stream);

// Latency of a whole GEMM, folds run back to back. All of m, k, n must be >= 1.
GemmTiming gemm_timing(Dataflow d, ArrayShape a, GemmShape g);

}  // namespace llmsim::systolic
