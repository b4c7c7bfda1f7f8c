#pragma once
// Closed-form latency of GEMMs on an R x C systolic array, per dataflow, with or without
// pipelining between folds.
//
// A GEMM is C[M][N] = A[M][K] * B[K][N]. The array folds the GEMM into pieces that fit it and
// runs the folds in a fixed order (WS, IS: K chunks outer, column chunks inner; OS: M chunks
// outer, N chunks inner). Each fold has three phases: fill (load the stationary operand, or skew
// the first operands in), stream, and drain (the last result leaves the array).
//
//   dataflow  stationary        spatial rows x cols        streamed S  fold latency (none)
//   WS        B (weights)       K over R  x  N over C      M           2R + Nf + M - 2
//   IS        A (inputs)        K over R  x  M over C      N           2R + Mf + N - 2
//   OS        C (outputs)       M over R  x  N over C      K           R + Mf + Nf + K - 2
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
// Pipelining `none` (SCALE-Sim v2's model): a fold starts when the previous one has drained, and
// a GEMM when the previous GEMM has drained. Against SCALE-Sim (scalesim-project/scale-sim-v2,
// `scalesim/compute/`), whose per-fold cost is 2*Sr + Sc + T - 2 with the array's full Sr x Sc:
// the formulas agree for full folds. On purpose we differ for partial folds: a fold that uses
// only Nf < C columns finishes when its last used column drains (the unused columns hold no
// output), while the row dimension is always paid in full (data must cross the whole array).
//
// Pipelining `double_buffered` (the TPU's double-buffered weights, Gemmini's preload): times are
// cycles from the array's start; fold f has a preload start p_f (WS, IS), a stream start s_f
// (its first streamed row enters PE row 0 in cycle s_f), and its GEMM's operands are ready at r.
//  WS, IS: every PE holds a shadow register next to its stationary one. Fold f's weights enter
//    the top of column c in cycles p_f + c .. p_f + c + R - 1 on a transit path, bottom row
//    first, and every PE of the column captures its own weight into its shadow register at the
//    end of cycle p_f + c + R - 1. PE (r, c) switches shadow -> stationary when the fold's first
//    streamed element reaches it, in cycle s_f + r + c (the element carries the switch, as
//    Gemmini's propagate bit does). So a capture must not precede the previous fold's switch,
//    the transit path carries one fold at a time, and the stream needs its weights captured:
//      p_f = max(r, s_{f-1})            (p_{f-1} + R <= s_{f-1} always)
//      s_f = max(p_f + R, s_{f-1} + S_{f-1})
//      fold f's last output leaves at the end of cycle s_f + S_f + Nf_f + R - 3.
//    A chain of folds pays one fill R, then max(S, R) per fold, then one drain Nf + R - 2:
//    one R-element weight row per cycle is the most the array takes in.
//  OS: every PE has two accumulators; fold f accumulates into set f mod 2 while the other set
//    drains. Column j of fold f starts draining in cycle e_f + j, once its last MAC (row Mf-1)
//    is done and its previous drain has made its R shifts; a drain cycle t moves rows > t down
//    one, zeroes row t and leaves rows < t alone (they are clean), so row i is clean from cycle
//    e + j + i + 1 on, when the fold two later may accumulate there:
//      s_f = max(r, s_{f-1} + K, e_{f-2} + 1)
//      e_f = max(s_f + K + Mf_f - 1, e_{f-1} + R)
//      fold f's last output leaves at the end of cycle e_f + Nf_f + R - 2.
//    In steady state a fold costs max(K, R).
//  A GEMM has read its operands once the last fold's last streamed element has entered the
//  array's far row (WS, IS: s + S + R - 1) or far row and column (OS: s + K + max(R, C) - 1).
//  A GEMM ends when the last of its outputs has left the array; the array accepts the next GEMM
//  (and its instruction queue moves on) at the last fold's stream start (WS, IS: its shadow
//  registers are free) or stream end (OS), so that back-to-back GEMMs continue the pipeline,
//  and a GEMM whose operands come late refills it.
//
// Dataflow switches (a reconfigurable array, core.systolic.dataflows): every GEMM runs in a
// dataflow; the array starts in its default one. A GEMM in the dataflow the array is in runs as
// above. A GEMM in another dataflow first switches the array, with either pipelining:
//      w = max(r, D, h)      D: the end of every GEMM run so far (the array has drained),
//                            h: the hold (hold_until); r: the GEMM is issued, so its dataflow
//                            is known, and its operands are ready
//      the array reconfigures in cycles w .. w + X - 1   (X = the switch cycles)
//    and the GEMM then runs as the first GEMM on an idle array whose operands are ready at
//    w + X (WS, IS: p_0 = w + X; OS: s_0 = w + X; none: its folds from w + X on). Nothing of
//    two GEMMs of different dataflows overlaps; GEMMs after it in the same dataflow pipeline
//    behind it as above. A switch costs its GEMM the whole drain of the one before plus X,
//    where staying in the dataflow would have overlapped them.
//
// Proven to the cycle by the register-level reference PE array in tests/systolic/.
#include <cstdint>

#include "arch/isa/isa.h"
#include "sim/core/units.h"

namespace llmsim::systolic {

using Dataflow = isa::Dataflow;  // ws, os, is
enum class Pipelining { none, double_buffered };

using isa::to_string;  // of a Dataflow
const char* to_string(Pipelining p);

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
  Cycles cycles;            // from the first fill cycle to the last output, on an idle array
  std::uint64_t folds = 0;  // pieces of the GEMM mapped onto the array one after the other
  std::uint64_t macs = 0;   // useful multiply-accumulates, M * K * N
};

// Latency of one fold without pipelining; `rows_used` <= R and `cols_used` <= C are the parts of
// the array the fold maps data onto; `stream` is the length of the streamed dimension.
Cycles fold_cycles(Dataflow d, ArrayShape a, std::uint64_t rows_used, std::uint64_t cols_used,
                   std::uint64_t stream);

// Latency of a whole GEMM on an idle array. All of m, k, n must be >= 1.
GemmTiming gemm_timing(Dataflow d, ArrayShape a, GemmShape g, Pipelining p = Pipelining::none);

// When one GEMM of a sequence ran, in cycles of the array's clock.
struct GemmSchedule {
  Cycles start;       // its first fill, preload or stream cycle
  Cycles accept;      // the array takes the next GEMM from here on
  Cycles reads_done;  // its operands have entered the array (their SRAM buffers may be reused)
  Cycles end;         // its last output has left the array (the cycle after it)
  std::uint64_t folds = 0;
  std::uint64_t macs = 0;
  std::uint64_t stream_cycles = 0;  // sum over its folds of S: cycles operands streamed in
  bool switched = false;            // the array switched dataflow for it, in [start - X, start)
};

// The array as a pipeline: the state one GEMM leaves for the next. O(1) per GEMM for WS and IS
// (a switch included); OS walks its folds (a few per GEMM instruction).
class ArrayPipeline {
 public:
  // `d`: the dataflow the array starts in; `switch_cycles`: X, the cost of a switch (above).
  ArrayPipeline(Dataflow d, ArrayShape a, Pipelining p, Cycles switch_cycles = Cycles(0));

  // Runs GEMM g (m, k, n >= 1) in dataflow `d` after every GEMM run so far, switching the array
  // first if it is in another one; its operands are ready from cycle `ready` on (any cycle; the
  // array starts it when both it and the operands are ready). Which dataflows the array offers
  // is the caller's to check (SystolicArray).
  GemmSchedule run(Dataflow d, GemmShape g, Cycles ready);
  // The same in the dataflow the array is in.
  GemmSchedule run(GemmShape g, Cycles ready) { return run(m_d, g, ready); }
  // Nothing of a later GEMM happens before cycle t (the array waited for its SRAM ports).
  void hold_until(Cycles t);

  // The dataflow the array is in: its initial one, or the last GEMM's.
  Dataflow dataflow() const { return m_d; }
  ArrayShape shape() const { return m_a; }
  Pipelining pipelining() const { return m_p; }

 private:
  GemmSchedule run_stationary(GemmShape g, Cycles ready);  // WS, IS
  GemmSchedule run_output_stationary(GemmShape g, Cycles ready);

  Dataflow m_d;
  ArrayShape m_a;
  Pipelining m_p;
  Cycles m_switch;
  std::uint64_t m_drained = 0;  // D: the latest end of every GEMM run so far
  bool m_started = false;       // a fold has run
  // The last fold: its stream start and length (the next preload may start at m_last_s);
  // pipelining none: m_end, when the last GEMM ended.
  std::uint64_t m_last_s = 0, m_last_len = 0, m_end = 0;
  // OS: drain starts e of the last two folds (m_e1 the last).
  std::uint64_t m_e1 = 0, m_e2 = 0;
  bool m_have_e2 = false;
  std::uint64_t m_hold = 0;  // nothing starts before
};

}  // namespace llmsim::systolic
