#pragma once
// The mapping of one matmul: its tile sizes, the dataflow its GEMMs run in, and how its output
// tiles are dealt to the cores. A tile is an (mt x kt) block of A, a (kt x nt) block of B and an
// (mt x nt) block of C; the scratchpad holds the A+B pieces in operand slots (ScratchpadLayout)
// and the accumulator two C tiles (one being computed, one being stored).
//
// With the `auto` mapping the scratchpad also holds two A regions: with A-resident tiles a core
// keeps an (mt x k) row block of A there across the output tiles it computes with it, so A is
// read once per block per core instead of once per output tile.
//
// `auto` searches (choose_tiling, two stages: docs/isa.md "Mapping"): every candidate tile size
// per dimension (the whole dimension,
// powers of two, multiples of the array's sides, and the dimension cut evenly into 2 .. 2 x cores
// pieces, which need not divide it), A-resident or not, each dataflow the arrays offer, each
// split of the output tiles over the cores and each number of cores (all, or a power of two
// below), priced by mapping_cost; the cheapest wins, estimates within 1 % counting as equal
// (then: fewer DRAM bytes, the lower estimate, fewer tiles, larger mt). The cost model, per core c, from the exact list of output tiles the split deals it:
//   compute_c = sum over its output tiles of their GEMM instructions' periods in a back-to-back
//               chain (Target::gemm_cost: one fold period per fold on a pipelined array, the
//               whole latency on an unpipelined one), or, where longer, half of that plus the
//               tile's accumulator turnaround (its fused epilogue's vector cycles, its store at
//               the DMA rate and a DRAM round trip: with two accumulator slots tile i + 2 waits
//               for tile i's store); and at least its epilogues' vector cycles;
//   memory_c  = the largest of: its DMA bytes at the DMA engine's rate; its DRAM bytes at its
//               share (1 / cores used) of the bandwidth the memory achieves on each operand's
//               access pattern (Target::dram_bandwidth); and its DMA blocks' round trips
//               (latency + block bytes at the DMA rate) spread over the blocks it keeps in
//               flight (Little's law with DmaParams::max_outstanding_blocks);
//   estimate  = max over cores of max(compute_c, memory_c) + the first piece's load (a round
//               trip and its bytes) + the last GEMM's drain (its latency - its period) + the
//               last tile's store.
// `fixed` is the baseline: one array fold per GEMM (kt = min(k, R), nt = min(n, C)), mt as large
// as the slots allow, split `tiles` over every core, the array's default dataflow.
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "workloads/target.h"
#include "workloads/workload.h"

namespace llmsim::workloads {

// How output tiles (bi, mi, ni) are dealt to the cores, round robin:
//   tiles  over all output tiles, batch item, then row, then column
//   rows   whole tile rows (all tile columns of an m range)
//   cols   whole tile columns
//   batch  whole batch items (sequences x heads)
enum class Split { tiles, rows, cols, batch };
const char* to_string(Split s);
std::optional<Split> parse_split(const std::string& s);  // also accepts nothing else

// The core, of `cores`, of output tile (bi, mi, ni) in a grid of tm x tn tiles per batch item.
inline std::uint64_t core_of(Split s, std::uint64_t cores, std::uint64_t tm, std::uint64_t tn,
                             std::uint64_t bi, std::uint64_t mi, std::uint64_t ni) {
  switch (s) {
    case Split::tiles:
      return ((bi * tm + mi) * tn + ni) % cores;
    case Split::rows:
      return (bi * tm + mi) % cores;
    case Split::cols:
      return (bi * tn + ni) % cores;
    case Split::batch:
      return bi % cores;
  }
  return 0;
}

struct Tiling {
  std::uint64_t mt = 0, kt = 0, nt = 0;
  double estimate_cycles = 0;  // the cost model's (mapping_cost)
  bool a_resident = false;     // A row blocks kept in an A region across output tiles
  isa::Dataflow dataflow = isa::Dataflow::ws;  // the arrays run its GEMMs in
  Split split = Split::tiles;
  std::uint32_t cores = 1;  // output tiles go to cores 0 .. cores-1
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

// What the lowering does that the cost model must know.
struct MappingContext {
  ScratchpadLayout layout;
  bool tiled_weights = false;  // a weight B tile is one contiguous block (MappingOptions)
  // Tile sizes mt, kt, nt given by the user (MappingOptions::tiles; each clamped to the op's
  // dimension): the search tries only these.
  std::optional<std::array<std::uint64_t, 3>> tiles;
  // ISA instructions the op's candidates may lower to (about 6 per piece and 5 per output
  // tile); the search keeps within it when any candidate does. 0: no budget.
  double instruction_budget = 0;
  // Vector-unit cycles of the op's fused epilogue on one rows x cols output tile (the store
  // queue runs it before the tile's store, lowering.h); none: no epilogue.
  std::function<double(std::uint64_t rows, std::uint64_t cols)> epilogue_cycles;
};

// The cost model's view of candidate `c` (its mt, kt, nt, a_resident, dataflow, split, cores).
struct MappingCost {
  bool fits = false;  // A+B (or B, A-resident) fit a slot, A a region, C an accumulator slot
  double cycles = 0;  // the estimate, as above
  double compute = 0, memory = 0;  // of the core where max(compute_c, memory_c) is largest
  double dram_bytes = 0;
  double tiles = 0;  // output tiles x k tiles
};
MappingCost mapping_cost(const Target& t, const MatmulOp& op, const Tiling& c,
                         const MappingContext& ctx);

// Throws WorkloadError if not even the smallest tile fits the SRAMs. A batched matmul's
// `batch` items multiply its tiles (they are dealt to the cores like any others). `split`:
// search only that split (a --split option).
Tiling choose_tiling(const Target& t, const MatmulOp& op, const MappingContext& ctx,
                     std::optional<Split> split = std::nullopt);
// The `fixed` mapping; estimate_cycles what the cost model predicts for it (it does not choose).
Tiling fixed_tiling(const Target& t, const MatmulOp& op, const MappingContext& ctx,
                    std::optional<Split> split = std::nullopt);

// Bytes one double-buffer slot of the accumulator may hold.
std::uint64_t accumulator_slot_bytes(const Target& t);

}  // namespace llmsim::workloads
