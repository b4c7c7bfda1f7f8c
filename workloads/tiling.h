#pragma once
// Choice of GEMM tile sizes. A tile is an (mt x kt) block of A, a (kt x nt) block of B and an
// (mt x nt) block of C; the scratchpad holds two A+B tiles (double buffering: one being
// loaded while the other is computed on) and the accumulator two C tiles (one being computed,
// one being stored).
//
// Cost model (documented in README.md, "Tiling"): for each candidate tiling that fits,
//   compute = sum over tiles of target.gemm_cycles(tile), times the share of the output tiles
//             that the busiest core gets (tiles are dealt round-robin: ceil(tiles / cores));
//   memory  = DRAM bytes / min(chip DRAM bandwidth, cores used x DMA bandwidth),
//             where DRAM bytes count A and B once per tile and C once per output tile;
//   estimate = max(compute, memory) + the first tile's load + the last tile's store,
// and the smallest estimate wins (ties: fewer tiles, then larger mt). Candidates for each
// dimension are its full size, powers of two, and multiples of the array sizes.
#include <cstdint>

#include "workloads/target.h"
#include "workloads/workload.h"

namespace llmsim::workloads {

struct Tiling {
  std::uint64_t mt = 0, kt = 0, nt = 0;
  double estimate_cycles = 0;
};

// Throws WorkloadError if not even the smallest tile fits the SRAMs. A batched matmul's
// `batch` items multiply its tiles (they are dealt to the cores like any others).
Tiling choose_tiling(const Target& t, const MatmulOp& op);
// The `fixed` mapping: one array fold per GEMM instruction (kt = min(k, R), nt = min(n, C)) and
// mt as large as the slots allow; estimate_cycles 0 (not estimated).
Tiling fixed_tiling(const Target& t, const MatmulOp& op);

// Bytes one double-buffer slot of the scratchpad and of the accumulator may hold.
std::uint64_t scratchpad_slot_bytes(const Target& t);
std::uint64_t accumulator_slot_bytes(const Target& t);

}  // namespace llmsim::workloads
