#include "workloads/tiling.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "sim/core/error.h"
#include "sim/core/units.h"

namespace llmsim::workloads {

ScratchpadLayout scratchpad_layout(const Target& t, bool automatic) {
  if (!automatic) return {t.scratchpad_bytes / 2, 2, 0};
  const std::uint64_t region = t.scratchpad_bytes / 8 / 64 * 64;  // 64 B aligned
  const std::uint32_t slots = t.array_pipelined ? kPipelinedSlots : 2;
  return {(t.scratchpad_bytes - 2 * region) / slots / 64 * 64, slots, region};
}
std::uint64_t accumulator_slot_bytes(const Target& t) {
  return t.accumulator_bytes / 2;
}

namespace {

// a x b x c <= limit, exactly (the factors may be up to 2^32 each).
bool product_at_most(std::uint64_t a, std::uint64_t b, std::uint64_t c, std::uint64_t limit) {
  return static_cast<unsigned __int128>(a) * b * c <= limit;
}

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

TileCost tile_cost(const Target& t, const MatmulOp& op, std::uint64_t mt, std::uint64_t kt,
                   std::uint64_t nt, const ScratchpadLayout& layout) {
  const std::uint64_t e = isa::size_bytes(op.dtype), acc = isa::accumulator_bytes(op.dtype);
  const std::uint64_t spad_slot = layout.slot_bytes, acc_slot = accumulator_slot_bytes(t);
  const double dram_bw = std::min(t.dram_bytes_per_cycle, t.dma_bytes_per_cycle * t.num_cores);
  TileCost c;
  if (!product_at_most(mt, nt, acc, acc_slot)) return c;
  // Counts are doubles: exact below 2^53, and a candidate of tiny tiles on a huge GEMM (whose
  // tile count would wrap 64 bits) only loses.
  const double tm = double(ceil_div(op.m, mt)), tn = double(ceil_div(op.n, nt)),
               tk = double(ceil_div(op.k, kt));
  const double out_tiles = double(op.batch) * tm * tn;
  c.tiles = out_tiles * tk;
  // Output tiles are dealt round-robin: the busiest core gets ceil(out_tiles / cores).
  const double cores_used = std::min(double(t.num_cores), out_tiles);
  // A-resident (the slot holds B pieces only, a region the A row block) where it saves bytes:
  // when a core computes several output tiles of one row block (more tiles along n than
  // cores); only with A regions (the auto layout).
  c.a_resident = layout.a_region_bytes > 0 && tn > cores_used &&
                 product_at_most(kt, nt, e, spad_slot) &&
                 product_at_most(mt, op.k, e, layout.a_region_bytes);
  if (!c.a_resident && !product_at_most(kt, mt + nt, e, spad_slot)) return c;
  double compute = 0;
  for_pieces(op.m, mt, [&](std::uint64_t m, std::uint64_t cm) {
    for_pieces(op.n, nt, [&](std::uint64_t n, std::uint64_t cn) {
      for_pieces(op.k, kt, [&](std::uint64_t k, std::uint64_t ck) {
        compute += double(op.batch) * double(cm) * double(cn) * double(ck) *
                   double(t.gemm_cost(t.dataflows.front(), m, k, n).latency);
      });
    });
  });
  const double busiest_share = std::ceil(out_tiles / cores_used) / out_tiles;
  // A read once per output tile, or, resident, once per row block per core (each row of
  // tn > cores_used tiles reaches every core).
  const double a_loads = c.a_resident ? double(op.batch) * tm * cores_used : out_tiles;
  c.dram_bytes = a_loads * (double(mt) * double(op.k) * double(e)) + c.tiles * double(kt * nt * e) +
                 out_tiles * double(mt * nt * e);
  const double per_core_dma = std::min(dram_bw, t.dma_bytes_per_cycle * cores_used);
  const double first_load = double((mt * kt + kt * nt) * e) / t.dma_bytes_per_cycle;
  const double last_store = double(mt * nt * e) / t.dma_bytes_per_cycle;
  c.cycles =
      std::max(compute * busiest_share, c.dram_bytes / per_core_dma) + first_load + last_store;
  c.fits = true;
  return c;
}

Tiling choose_tiling(const Target& t, const MatmulOp& op) {
  const ScratchpadLayout layout = scratchpad_layout(t, true);
  Tiling best;
  bool found = false;
  double best_tiles = 0, best_bytes = 0;
  for (std::uint64_t mt : candidates(op.m, t)) {
    for (std::uint64_t nt : candidates(op.n, t)) {
      for (std::uint64_t kt : candidates(op.k, t)) {
        const TileCost c = tile_cost(t, op, mt, kt, nt, layout);
        if (!c.fits) continue;
        const bool better = !found || c.cycles < best.estimate_cycles ||
                            (c.cycles == best.estimate_cycles &&
                             (c.dram_bytes < best_bytes ||
                              (c.dram_bytes == best_bytes &&
                               (c.tiles < best_tiles || (c.tiles == best_tiles && mt > best.mt)))));
        if (better) {
          found = true;
          best = {mt, kt, nt, c.cycles, c.a_resident, t.dataflows.front()};
          best_tiles = c.tiles;
          best_bytes = c.dram_bytes;
        }
      }
    }
  }
  if (!found) {
    throw WorkloadError("op \"" + op.name + "\": no tile fits the SRAMs (scratchpad slot " +
                        std::to_string(layout.slot_bytes) + " B, accumulator slot " +
                        std::to_string(accumulator_slot_bytes(t)) + " B)");
  }
  return best;
}

Tiling fixed_tiling(const Target& t, const MatmulOp& op) {
  const std::uint64_t e = isa::size_bytes(op.dtype), acc = isa::accumulator_bytes(op.dtype);
  const std::uint64_t slot = scratchpad_layout(t, false).slot_bytes;
  const std::uint64_t kt = std::min<std::uint64_t>(op.k, t.array_rows);
  const std::uint64_t nt = std::min<std::uint64_t>(op.n, t.array_cols);
  const std::uint64_t by_spad = slot / e >= kt * nt ? (slot / e - kt * nt) / kt : 0;
  const std::uint64_t mt = std::min({op.m, by_spad, accumulator_slot_bytes(t) / (nt * acc)});
  if (mt == 0) {
    throw WorkloadError("op \"" + op.name + "\": no tile fits the SRAMs (scratchpad slot " +
                        std::to_string(slot) + " B, accumulator slot " +
                        std::to_string(accumulator_slot_bytes(t)) + " B)");
  }
  // The estimate of the same cost model (for calibration; nothing is chosen by it).
  const TileCost c = tile_cost(t, op, mt, kt, nt, scratchpad_layout(t, false));
  return {mt, kt, nt, c.fits ? c.cycles : 0, false, t.dataflows.front()};
}

}  // namespace llmsim::workloads
