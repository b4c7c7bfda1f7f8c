#include "workloads/tiling.h"

#include <algorithm>
#include <set>

#include "sim/core/error.h"
#include "sim/core/units.h"

namespace llmsim::workloads {

std::uint64_t scratchpad_slot_bytes(const Target& t) {
  return t.scratchpad_bytes / 2;
}
std::uint64_t accumulator_slot_bytes(const Target& t) {
  return t.accumulator_bytes / 2;
}

namespace {

std::vector<std::uint64_t> candidates(std::uint64_t dim, const Target& t) {
  std::set<std::uint64_t> c{dim};
  for (std::uint64_t p = 1; p < dim; p *= 2) {
    c.insert(p);
    if (t.array_rows * p < dim) c.insert(t.array_rows * p);
    if (t.array_cols * p < dim) c.insert(t.array_cols * p);
  }
  return {c.begin(), c.end()};
}

// Sum of `f(size)` over the pieces of `dim` cut into `tile`-sized pieces, with their counts.
template <class F>
void for_pieces(std::uint64_t dim, std::uint64_t tile, F f) {
  if (dim / tile) f(tile, dim / tile);
  if (dim % tile) f(dim % tile, 1);
}

}  // namespace

Tiling choose_tiling(const Target& t, const MatmulOp& op) {
  const std::uint64_t e = isa::size_bytes(op.dtype), acc = isa::accumulator_bytes(op.dtype);
  const std::uint64_t spad_slot = scratchpad_slot_bytes(t), acc_slot = accumulator_slot_bytes(t);
  const double dram_bw = std::min(t.dram_bytes_per_cycle, t.dma_bytes_per_cycle * t.num_cores);
  Tiling best;
  std::uint64_t best_tiles = 0;
  for (std::uint64_t mt : candidates(op.m, t)) {
    for (std::uint64_t nt : candidates(op.n, t)) {
      if (mt * nt * acc > acc_slot) continue;
      for (std::uint64_t kt : candidates(op.k, t)) {
        if ((mt * kt + kt * nt) * e > spad_slot) continue;
        const std::uint64_t tm = ceil_div(op.m, mt), tn = ceil_div(op.n, nt),
                            tk = ceil_div(op.k, kt);
        const std::uint64_t tiles = op.batch * tm * tn * tk, out_tiles = op.batch * tm * tn;
        double compute = 0;
        for_pieces(op.m, mt, [&](std::uint64_t m, std::uint64_t cm) {
          for_pieces(op.n, nt, [&](std::uint64_t n, std::uint64_t cn) {
            for_pieces(op.k, kt, [&](std::uint64_t k, std::uint64_t ck) {
              compute += double(op.batch * cm * cn * ck) * double(t.gemm_cycles(m, k, n));
            });
          });
        });
        // Output tiles are dealt round-robin: the busiest core gets ceil(out_tiles / cores).
        const std::uint64_t cores_used = std::min<std::uint64_t>(t.num_cores, out_tiles);
        const double cores = double(cores_used);
        const double busiest_share = double(ceil_div(out_tiles, cores_used)) / double(out_tiles);
        const double bytes = double(tiles) * double((mt * kt + kt * nt) * e) +
                             double(out_tiles) * double(mt * nt * e);
        const double per_core_dma = std::min(dram_bw, t.dma_bytes_per_cycle * cores);
        const double first_load = double((mt * kt + kt * nt) * e) / t.dma_bytes_per_cycle;
        const double last_store = double(mt * nt * e) / t.dma_bytes_per_cycle;
        const double est =
            std::max(compute * busiest_share, bytes / per_core_dma) + first_load + last_store;
        const bool better = best_tiles == 0 || est < best.estimate_cycles ||
                            (est == best.estimate_cycles &&
                             (tiles < best_tiles || (tiles == best_tiles && mt > best.mt)));
        if (better) {
          best = {mt, kt, nt, est};
          best_tiles = tiles;
        }
      }
    }
  }
  if (best_tiles == 0) {
    throw WorkloadError("op \"" + op.name + "\": no tile fits the SRAMs (scratchpad slot " +
                        std::to_string(spad_slot) + " B, accumulator slot " +
                        std::to_string(acc_slot) + " B)");
  }
  return best;
}

Tiling fixed_tiling(const Target& t, const MatmulOp& op) {
  const std::uint64_t e = isa::size_bytes(op.dtype), acc = isa::accumulator_bytes(op.dtype);
  const std::uint64_t kt = std::min<std::uint64_t>(op.k, t.array_rows);
  const std::uint64_t nt = std::min<std::uint64_t>(op.n, t.array_cols);
  const std::uint64_t by_spad =
      scratchpad_slot_bytes(t) / e >= kt * nt ? (scratchpad_slot_bytes(t) / e - kt * nt) / kt : 0;
  const std::uint64_t mt = std::min({op.m, by_spad, accumulator_slot_bytes(t) / (nt * acc)});
  if (mt == 0) {
    throw WorkloadError("op \"" + op.name + "\": no tile fits the SRAMs (scratchpad slot " +
                        std::to_string(scratchpad_slot_bytes(t)) + " B, accumulator slot " +
                        std::to_string(accumulator_slot_bytes(t)) + " B)");
  }
  return {mt, kt, nt, 0};
}

}  // namespace llmsim::workloads
