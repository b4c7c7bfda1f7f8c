#pragma once
// Choice of GEMM tile sizes. A tile is an (mt x kt) block of A, a (kt x nt) block of B and an
// (mt x nt) block of C; the scratchpad holds two A+B tiles (double buffering: one being
// loaded while the other is computed on) and the accumulator two C tiles (one being computed,
// one being stored).
//
// With the `auto` mapping the scratchpad also holds two A regions (see ScratchpadLayout): when
// an (mt x k) row block of A fits one, a core keeps it there across the output tiles it
// computes with that block (A-resident tiles), so A is read once per block per core instead of
// once per output tile; the first tile with a block loads its k pieces into the region as it
// goes, so the pipeline fills as fast as without.
//
// Cost model (documented in docs/isa.md, "Tiling and double buffering"): for each candidate tiling
// that fits,
//   compute = sum over tiles of target.gemm_cycles(tile), times the share of the output tiles
//             that the busiest core gets (tiles are dealt round-robin: ceil(tiles / cores));
//   memory  = DRAM bytes / min(chip DRAM bandwidth, cores used x DMA bandwidth),
//             where DRAM bytes count B once per tile, C once per output tile and A once per
//             tile, or, A-resident, once per row block per core that computes with it
//             (min(tiles along n, cores) of them when output tiles are dealt round-robin);
//   estimate = max(compute, memory) + the first tile's load + the last tile's store,
// and the smallest estimate wins (ties: fewer DRAM bytes, fewer tiles, then larger mt). Candidates
// for each dimension are its full size, powers of two, and multiples of the array sizes.
#include <cstdint>

#include "workloads/target.h"
#include "workloads/workload.h"

namespace llmsim::workloads {

struct Tiling {
  std::uint64_t mt = 0, kt = 0, nt = 0;
  double estimate_cycles = 0;
  bool a_resident = false;  // A row blocks kept in an A region across output tiles
  isa::Dataflow dataflow = isa::Dataflow::ws;  // the arrays run its GEMMs in
};

// Where a core's scratchpad holds what. `fixed` mapping: two double-buffer slots of half the
// scratchpad. `auto`: two A regions of 1/8 (for A-resident tiles; double buffered, so that a
// core loads its next row block while it computes with the last one) and the rest in slots:
// two, or kPipelinedSlots on a pipelined array, whose folds need their next operands sooner:
// a slot is reloaded only once its GEMM has read it, and the load then waits a DRAM round trip
// (about a microsecond through the NoC and HBM on the datacenter preset), during which the
// array must still have loaded tiles to work on.
struct ScratchpadLayout {
  std::uint64_t slot_bytes = 0;      // slot s at s * slot_bytes
  std::uint32_t slots = 2;           // operand slots, used round robin
  std::uint64_t a_region_bytes = 0;  // region r at slots * slot_bytes + r * a_region_bytes; 0: none
};
inline constexpr std::uint32_t kPipelinedSlots = 8;
ScratchpadLayout scratchpad_layout(const Target& t, bool automatic);

// The cost model's view of one candidate tiling mt x kt x nt on `layout`.
struct TileCost {
  bool fits = false;        // A+B (or B, A-resident) fit a slot and C an accumulator slot
  bool a_resident = false;  // A row blocks would stay in an A region (auto layout only)
  double cycles = 0;        // the estimate, as above
  double dram_bytes = 0;
  double tiles = 0;  // output tiles x k tiles
};
TileCost tile_cost(const Target& t, const MatmulOp& op, std::uint64_t mt, std::uint64_t kt,
                   std::uint64_t nt, const ScratchpadLayout& layout);

// Throws WorkloadError if not even the smallest tile fits the SRAMs. A batched matmul's
// `batch` items multiply its tiles (they are dealt to the cores like any others).
Tiling choose_tiling(const Target& t, const MatmulOp& op);
// The `fixed` mapping: one array fold per GEMM instruction (kt = min(k, R), nt = min(n, C)) and
// mt as large as the slots allow; estimate_cycles what the cost model predicts for it (it does
// not choose).
Tiling fixed_tiling(const Target& t, const MatmulOp& op);

// Bytes one double-buffer slot of the accumulator may hold.
std::uint64_t accumulator_slot_bytes(const Target& t);

}  // namespace llmsim::workloads
