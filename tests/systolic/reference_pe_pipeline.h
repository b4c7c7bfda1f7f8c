#pragma once
// Register-level reference of the systolic array running a SEQUENCE of GEMMs, with or without
// pipelining between folds, for tests only. Like reference_pe_array.h it clocks every register
// of the full R x C array one cycle at a time and uses none of the closed forms of
// arch/systolic/timing.h; tests/systolic/test_systolic_pipelined.cpp checks them against it.
//
// The GEMMs run on ONE array, never reset, in order; each is folded as timing.cpp folds it (WS,
// IS: K chunks outer, column chunks inner; OS: M chunks outer, N chunks inner) and the folds of
// the whole sequence get one global index f. A GEMM's operands are ready from its `ready` cycle.
//
// Pipelining none: each GEMM is run by run_reference (reference_pe_array.h) and starts at
// max(ready, previous GEMM's end).
//
// Pipelining double_buffered (cycles count from 0; registers update at the end of their cycle):
//  WS / IS: PE (r, c) holds a stationary weight w and a shadow weight sw, each with its fold's
//    tag (sw also with a 'switched in' flag), a transit register tw on a downward per-column
//    path, the input register a (moves right) and the partial sum p (moves down).
//    Preload of fold f from cycle p_f: column c's top edge takes, in cycle p_f + c + x
//      (x = 0..R-1), the weight of row R-1-x (zero outside the fold), addressed to row R-1-x.
//      In a cycle the input of row r is the top edge (r = 0) or tw[r-1][c]; addressed to r, it
//      is captured into sw[r][c], else it goes on into tw[r][c]. A capture asserts that the sw it
//      overwrites has been switched in (or is empty).
//    Stream of fold f from cycle s_f: streamed row x enters PE row r in cycle s_f + x + r
//      (tagged zeros in rows the fold does not use). An operand whose fold differs from w's
//      switches the PE: w <- sw (asserted to hold that fold's weight), sw marked switched in,
//      and that cycle's MAC uses the new w. Outputs leave p[R-1][c] as in run_reference.
//    Controller, fold by fold: p_f is the first cycle >= the GEMM's ready cycle with
//      p_f >= p_{f-1} + R (the last preload has left column 0's top edge) and fold f-1's stream
//      started; s_f the first cycle with s_f >= s_{f-1} + S_{f-1} (the last stream has entered
//      row 0) in which PE (0, 0)'s sw holds fold f's weight (read at the start of the cycle).
//  OS: PE (i, j) holds two accumulators (sets 0 and 1), each with the label of the output it
//    holds, and operand registers a (moves right), b (moves down). Fold f accumulates into set
//    f mod 2; row i of its lhs enters PE row i from the left in cycle s_f + k + i, column j of
//    its rhs enters column j from the top in cycle s_f + k + j (bubbles in unused rows and
//    columns); a PE multiplies only two valid operands of the same (fold, k).
//    Drain, per column j, on the fold's set: column j of fold f starts draining in the first
//      cycle in which (read at its start) the column's previous drain has made its R shifts and
//      every PE of the column the fold maps data onto has done its K MACs (per-PE MAC
//      counters). A column the fold does not use (nothing to wait for) drains in its turn: in a
//      cycle after column j-1 started draining fold f. (For used columns that order follows
//      from the skew: the tests pass with it imposed on every column.) Drain cycle t = 0..R-1:
//      row R-1's value leaves the bottom (recorded by its label), rows i > t take row i-1's
//      value, row t becomes clean (zero), rows < t are left alone (they may already hold the
//      fold two later). Asserted: a MAC never adds into a register holding another fold's value,
//      nor into one a drain writes in the same cycle; a drain moves only values of its own fold
//      whose K MACs are done (or clean ones).
//    Controller: s_f is the first cycle >= the GEMM's ready cycle with s_f >= s_{f-1} + K_{f-1}
//      in which PE (0, 0)'s accumulator of set f mod 2 is clean (read at the start of the cycle).
//
// Every hazard the controller might miss is an LLMSIM_CHECK (InternalError), not an assumption.
#include <cstdint>
#include <vector>

#include "arch/systolic/timing.h"
#include "tests/systolic/reference_pe_array.h"

namespace llmsim::test {

// One GEMM of a sequence: C = A * B (A M x K, B K x N, all >= 1), operands ready from `ready`.
struct GemmJob {
  Matrix a;
  Matrix b;
  std::uint64_t ready = 0;
};

// One fold as the pipelined reference ran it (cycles of the array's clock).
struct PipelinedFold {
  std::uint64_t gemm = 0;       // index of its GEMM in the sequence
  std::uint64_t rows_used = 0;  // array rows / columns it maps data onto
  std::uint64_t cols_used = 0;
  std::uint64_t stream = 0;        // S (WS: M, IS: N) or K (OS)
  std::uint64_t preload = 0;       // WS, IS: p_f, the first preload cycle
  std::uint64_t stream_start = 0;  // s_f: its first streamed element enters PE row 0
  std::uint64_t drain_start = 0;   // OS: when column 0 started draining it
  std::uint64_t end = 0;           // the cycle after its last output left the array
};

// One GEMM as the reference ran it.
struct GemmRun {
  Matrix c;                 // M x N
  std::uint64_t start = 0;  // WS, IS: its first preload (none: fill) cycle; OS: first stream cycle
  std::uint64_t end = 0;    // the cycle after its last output left the array
  std::uint64_t folds = 0;
};

struct SequenceResult {
  std::vector<GemmRun> gemms;
  std::vector<PipelinedFold> fold_log;  // double_buffered only, in fold order
};

// Deliberate departures from the micro-architecture above (double_buffered only), for tests:
// the faults drop one condition of the controller, so that the hazard checks must fire; the
// variant is another drain control the closed form does not model.
struct ReferenceOptions {
  // WS/IS: p_f waits only for p_{f-1} + R, not for fold f-1's stream to start.
  bool fault_preload_before_switch = false;
  // WS/IS: s_f waits for p_f + 1 instead of PE (0, 0)'s shadow register.
  bool fault_stream_before_preload = false;
  // OS: s_f does not wait for PE (0, 0)'s accumulator of its set to be clean.
  bool fault_stream_into_dirty_set = false;
  // OS: a column drains as soon as its fold has streamed and its previous drain is over,
  // without waiting for the MAC counters (nor for the column to its left).
  bool fault_drain_before_macs = false;
  // OS variant: each column drains on its own, when its PEs are done and its previous drain
  // is over (not in its turn after the column to its left), and a column a fold does not use
  // skips that fold (it has nothing to drain).
  bool variant_independent_column_drains = false;
};

// Runs the GEMMs in order on one R x C array (R, C >= 1). Throws InternalError if the simulated
// machine misbehaves (a hazard, misaligned operands, an output that never leaves).
SequenceResult run_reference_sequence(systolic::Dataflow d, systolic::ArrayShape array,
                                      systolic::Pipelining p, const std::vector<GemmJob>& jobs,
                                      const ReferenceOptions& options = {});

}  // namespace llmsim::test
