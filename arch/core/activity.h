#pragma once
// What a core did with each of its cycles: the per-op and per-layer cycle breakdown.
//
// Every core cycle falls in exactly one class:
//   compute       the systolic array or the vector unit is busy (the compute queue runs a Gemm
//                 or a VectorOp, of whatever op, or the store queue a matmul's epilogue);
//   memory stall  neither is busy and at least one DMA block of this core is in flight (issued
//                 by the load or store queue and not yet complete): the core waits for operands
//                 to arrive or for results to leave;
//   sync          neither: the core waits at a barrier for the other cores, or has nothing to
//                 do (its part of the op is done while other cores still work).
// Hence over any span, compute + memory_stall + sync == the span, exactly.
//
// The core records busy and in-flight intervals as they happen (O(1) per instruction and per
// DMA block, no kernel events); after the simulation finish() derives the stall intervals and
// breakdown() answers any span in O(log intervals).
#include <cstdint>
#include <vector>

#include "sim/core/units.h"

namespace llmsim::core {

// Disjoint half-open intervals [start, end) of cycles, added in increasing order, with the
// running total of their lengths so that the cycles covered in any span cost a binary search.
class IntervalSet {
 public:
  // Requires start >= the start of the last interval; an interval that overlaps or touches
  // the last one merges with it (the union: the array and the vector unit may be busy at once,
  // when a matmul's epilogue runs from the store queue); empty ones are dropped.
  void add(Cycles start, Cycles end);
  // Cycles of [begin, end) covered by the set.
  Cycles covered(Cycles begin, Cycles end) const;
  // This set minus `other` (both sorted; one linear pass).
  IntervalSet minus(const IntervalSet& other) const;
  std::size_t size() const { return m_start.size(); }

 private:
  Cycles covered_before(Cycles t) const;  // cycles of [0, t) covered

  std::vector<Cycles> m_start, m_end;
  std::vector<Cycles> m_total_before;  // lengths of the intervals before interval i
};

struct CycleBreakdown {
  Cycles compute, memory_stall, sync;

  CycleBreakdown& operator+=(const CycleBreakdown& o) {
    compute += o.compute, memory_stall += o.memory_stall, sync += o.sync;
    return *this;
  }
};

class CoreActivity {
 public:
  // Before the simulation: the ops the program names (0 .. ops-1); forgets what was recorded.
  void reset(std::size_t ops);

  // While simulating, in simulated-time order.
  void busy(Cycles start, Cycles end) { m_busy.add(start, end); }
  void dma_issued(Cycles now);
  void dma_completed(Cycles now);
  // The core executed an instruction of `op` that takes time (a DMA, a Gemm or a VectorOp;
  // synchronisation does not count).
  void ran(std::size_t op) { m_ran[op] = true; }

  // After the simulation.
  void finish();
  bool ran_op(std::size_t op) const { return m_ran[op]; }
  // The classes of the cycles of [begin, end); requires finish().
  CycleBreakdown breakdown(Cycles begin, Cycles end) const;

 private:
  IntervalSet m_busy;     // array or vector unit busy
  IntervalSet m_dma;      // some DMA block in flight
  IntervalSet m_stalled;  // m_dma minus m_busy, made by finish()
  std::uint64_t m_dma_in_flight = 0;
  Cycles m_dma_since;  // when m_dma_in_flight last became positive
  bool m_finished = false;
  std::vector<bool> m_ran;
};

}  // namespace llmsim::core
