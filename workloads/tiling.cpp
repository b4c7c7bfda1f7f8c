#include "workloads/tiling.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>
#include <vector>

#include "sim/core/error.h"
#include "sim/core/units.h"

namespace llmsim::workloads {

const char* to_string(Split s) {
  switch (s) {
    case Split::tiles:
      return "tiles";
    case Split::rows:
      return "rows";
    case Split::cols:
      return "cols";
    case Split::batch:
      return "batch";
  }
  return "?";
}

std::optional<Split> parse_split(const std::string& s) {
  for (Split x : {Split::tiles, Split::rows, Split::cols, Split::batch}) {
    if (s == to_string(x)) return x;
  }
  return std::nullopt;
}

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

// Tile sizes tried for a dimension: itself, powers of two, multiples of the array's sides, and
// even cuts into 2 .. 2 x cores pieces.
std::vector<std::uint64_t> candidates(std::uint64_t dim, const Target& t) {
  std::set<std::uint64_t> c{dim};
  for (std::uint64_t p = 1; p < dim; p *= 2) {
    c.insert(p);
    if (t.array_rows * p < dim) c.insert(t.array_rows * p);
    if (t.array_cols * p < dim) c.insert(t.array_cols * p);
  }
  for (std::uint64_t j = 2; j <= 2 * std::uint64_t(t.num_cores) && j < dim; ++j) {
    c.insert(ceil_div(dim, j));
  }
  return {c.begin(), c.end()};
}

// Output tiles up to which mapping_cost deals them to the cores one by one; above, each core
// gets its round-robin share of an average tile (the imbalance is then at most one tile in
// kExactTiles / cores).
constexpr double kExactTiles = 4096;

// The costs the search asks for again and again, memoised for one op.
class Costs {
 public:
  Costs(const Target& t) : m_t(t) {}
  Target::GemmCost gemm(isa::Dataflow d, std::uint64_t m, std::uint64_t k, std::uint64_t n) {
    const auto key = std::make_tuple(int(d), m, k, n);
    const auto it = m_gemm.find(key);
    if (it != m_gemm.end()) return it->second;
    return m_gemm[key] = m_t.gemm_cost(d, m, k, n);
  }
  // Bytes per core cycle on rows of `row` bytes `stride` apart from `streams` cores; the peak
  // until measure(true) (each pattern measured costs milliseconds: stage 1 of the search
  // prices thousands of candidates at the peak, stage 2 a few dozen as measured).
  void measure(bool on) { m_measure = on; }
  double bandwidth(std::uint64_t row, std::uint64_t stride, std::uint32_t streams) {
    if (!m_t.dram_bandwidth || !m_measure) return m_t.dram_bytes_per_cycle;
    const auto key = std::make_tuple(row, stride, streams);
    const auto it = m_bw.find(key);
    if (it != m_bw.end()) return it->second;
    const double bw =
        std::min(m_t.dram_bytes_per_cycle, m_t.dram_bandwidth({row, stride, streams}));
    return m_bw[key] = bw > 0 ? bw : m_t.dram_bytes_per_cycle;
  }

 private:
  const Target& m_t;
  bool m_measure = true;
  std::map<std::tuple<int, std::uint64_t, std::uint64_t, std::uint64_t>, Target::GemmCost> m_gemm;
  std::map<std::tuple<std::uint64_t, std::uint64_t, std::uint32_t>, double> m_bw;
};

// mapping_cost; `exact`: deal the output tiles one by one (else the round-robin share).
MappingCost cost(const Target& t, const MatmulOp& op, const Tiling& c, const MappingContext& ctx,
                 Costs& costs, bool exact) {
  const std::uint64_t e = isa::size_bytes(op.dtype), acc = isa::accumulator_bytes(op.dtype);
  const ScratchpadLayout& layout = ctx.layout;
  MappingCost r;
  if (!product_at_most(c.mt, c.nt, acc, accumulator_slot_bytes(t))) return r;
  if (c.a_resident) {
    if (layout.a_region_bytes == 0 || !product_at_most(c.kt, c.nt, e, layout.slot_bytes) ||
        !product_at_most(c.mt, op.k, e, layout.a_region_bytes)) {
      return r;
    }
  } else if (!product_at_most(c.kt, c.mt + c.nt, e, layout.slot_bytes)) {
    return r;
  }
  r.fits = true;
  const std::uint64_t cores =
      std::max<std::uint64_t>(1, std::min<std::uint64_t>(c.cores, t.num_cores));
  const std::uint64_t tm = ceil_div(op.m, c.mt), tn = ceil_div(op.n, c.nt),
                      tk = ceil_div(op.k, c.kt);
  const std::uint64_t m_last = op.m - (tm - 1) * c.mt, n_last = op.n - (tn - 1) * c.nt;
  const std::uint64_t k_full = op.k / c.kt, k_rem = op.k % c.kt;
  // Counts are doubles: exact below 2^53, and a candidate of tiny tiles on a huge GEMM (whose
  // tile count would wrap 64 bits) only loses.
  const double out_tiles = double(op.batch) * double(tm) * double(tn);
  r.tiles = out_tiles * double(tk);

  // The bandwidth the memory achieves on each operand's rows, shared by the cores used.
  const auto streams = std::uint32_t(cores);
  const std::uint64_t ks = std::min(c.kt, op.k), ns = std::min(c.nt, op.n);
  const double bw_a = ks == op.k ? costs.bandwidth(op.k * e, op.k * e, streams)
                                 : costs.bandwidth(ks * e, op.k * e, streams);
  double bw_b;
  if (!op.b.is_op() && ctx.tiled_weights) {
    bw_b = costs.bandwidth(ks * ns * e, ks * ns * e, streams);  // one contiguous block
  } else if (op.transpose_b) {
    bw_b = costs.bandwidth(ks * e, op.k * e, streams);
  } else {
    bw_b = costs.bandwidth(ns * e, op.n * e, streams);
  }
  const double bw_out = costs.bandwidth(ns * e, op.n * e, streams);
  // One output tile of ms x ns: its GEMMs' periods, and its bytes and DMA blocks by operand.
  // `period`: what the tile adds to its core's time: its GEMMs' periods, or, when its
  // accumulator slot's turnaround is longer (two slots: tile i + 2 waits for tile i's
  // epilogue and store), half of its GEMMs plus that turnaround. `epilogue`: vector cycles.
  // `burst`: with A resident, what the tile that loads its row block's A waits beyond its
  // GEMMs: the whole row block and the tile's B arrive at the core's share of the bandwidth
  // while its GEMMs take only their periods, and the next row block cannot load early (it
  // overwrites this one), so the wait is not hidden (edge gemm1024, 128x32x32 tiles: a row
  // block's 32 GEMMs take 240 cycles each instead of 128).
  struct TileWork {
    double period = 0, a = 0, b = 0, out = 0, blocks = 0, epilogue = 0, burst = 0;
  };
  auto tile = [&](std::uint64_t ms, std::uint64_t ns) {
    TileWork w;
    const double gemms = double(k_full) * double(costs.gemm(c.dataflow, ms, c.kt, ns).period) +
                         (k_rem ? double(costs.gemm(c.dataflow, ms, k_rem, ns).period) : 0.0);
    w.epilogue = ctx.epilogue_cycles ? ctx.epilogue_cycles(ms, ns) : 0.0;
    const double turnaround =
        w.epilogue + double(ms * ns * e) / t.dma_bytes_per_cycle + t.dram_latency_cycles;
    w.period = std::max(gemms, (gemms + turnaround) / 2);
    w.a = double(ms) * double(op.k) * double(e);
    w.b = double(op.k) * double(ns) * double(e);
    w.out = double(ms) * double(ns) * double(e) + (op.bias ? double(ns * acc) : 0.0);
    w.blocks = double(tk) + 1 + (op.bias ? 1 : 0);  // B pieces, the store, the bias row
    if (c.a_resident) {
      const double arrive = std::max((w.a + w.b) / t.dma_bytes_per_cycle,
                                     double(cores) * (w.a / bw_a + w.b / bw_b));
      w.burst = std::max(0.0, arrive - gemms);
    }
    return w;
  };
  const TileWork kinds[2][2] = {{tile(c.mt, c.nt), tile(c.mt, n_last)},
                                {tile(m_last, c.nt), tile(m_last, n_last)}};

  // Per core: compute, bytes of A, of B, of C (and bias), DMA blocks.
  struct Load {
    double compute = 0, a = 0, b = 0, out = 0, blocks = 0, vector = 0;
  };
  const bool dealt = exact && out_tiles <= kExactTiles;  // else: load[0], the busiest core
  std::vector<Load> load(dealt ? cores : 1);
  if (dealt) {
    struct Held {
      bool valid = false;
      std::uint64_t bi = 0, mi = 0;
    };
    std::vector<Held> held(cores);
    for (std::uint64_t bi = 0; bi < op.batch; ++bi) {
      for (std::uint64_t mi = 0; mi < tm; ++mi) {
        for (std::uint64_t ni = 0; ni < tn; ++ni) {
          const std::uint64_t ci = core_of(c.split, cores, tm, tn, bi, mi, ni);
          const TileWork& w = kinds[mi + 1 == tm][ni + 1 == tn];
          Load& l = load[ci];
          l.compute += w.period;
          l.vector += w.epilogue;
          l.b += w.b;
          l.out += w.out;
          l.blocks += w.blocks;
          Held& h = held[ci];
          if (!c.a_resident || !h.valid || h.bi != bi || h.mi != mi) {
            l.compute += w.burst;
            l.a += w.a;
            l.blocks += double(tk);
            h = {true, bi, mi};
          }
        }
      }
    }
  } else {
    // The busiest core: ceil(out_tiles / cores) average tiles; A-resident, the row blocks it
    // loads (each row block's tiles reach min(tn, cores) cores, or one with rows and batch).
    const double cm = double(tm - 1) / double(tm), cn = double(tn - 1) / double(tn);
    auto avg = [&](double TileWork::*f) {
      return cm * cn * kinds[0][0].*f + cm * (1 - cn) * kinds[0][1].*f +
             (1 - cm) * cn * kinds[1][0].*f + (1 - cm) * (1 - cn) * kinds[1][1].*f;
    };
    const double share = std::ceil(out_tiles / double(cores));
    Load& l = load[0];
    l.compute = share * avg(&TileWork::period);
    l.vector = share * avg(&TileWork::epilogue);
    l.b = share * avg(&TileWork::b);
    l.out = share * avg(&TileWork::out);
    l.blocks = share * avg(&TileWork::blocks);
    double a_loads = share;
    if (c.a_resident) {
      const bool whole_rows = c.split == Split::rows || c.split == Split::batch;
      const double readers = whole_rows ? 1.0 : double(std::min<std::uint64_t>(tn, cores));
      a_loads = std::ceil(double(op.batch) * double(tm) * readers / double(cores));
    }
    l.a = a_loads * avg(&TileWork::a);
    l.compute += a_loads * avg(&TileWork::burst);
    l.blocks += a_loads * double(tk);
  }

  for (const Load& l : load) {
    const double bytes = l.a + l.b + l.out;
    const double dma = bytes / t.dma_bytes_per_cycle;
    const double dram = double(cores) * (l.a / bw_a + l.b / bw_b + l.out / bw_out);
    const double block = l.blocks > 0 ? bytes / l.blocks : 0;
    const double round_trips = l.blocks * (t.dram_latency_cycles + block / t.dma_bytes_per_cycle) /
                               double(std::max<std::uint32_t>(1, t.dma_max_outstanding_blocks));
    const double memory = std::max({dma, dram, round_trips});
    const double compute = std::max(l.compute, l.vector);  // the epilogues share the vector unit
    if (std::max(compute, memory) >= std::max(r.compute, r.memory)) {
      r.compute = compute;
      r.memory = memory;
    }
    r.dram_bytes += bytes;
  }
  if (!dealt) r.dram_bytes *= double(cores);  // the busiest core's share, on every core
  const Target::GemmCost last = costs.gemm(c.dataflow, c.mt, ks, c.nt);
  const double first_load = t.dram_latency_cycles + double((c.mt * ks + ks * c.nt) * e) /
                                                        t.dma_bytes_per_cycle;  // A-resident too
  const double last_store = t.dram_latency_cycles + double(c.mt * c.nt * e) / t.dma_bytes_per_cycle;
  r.cycles =
      std::max(r.compute, r.memory) + first_load + double(last.latency - last.period) + last_store;
  return r;
}

// The instructions a candidate lowers to, as the lowering's estimate counts them.
double instructions(const MatmulOp& op, const Tiling& c) {
  const double out_tiles = double(op.batch) * std::ceil(double(op.m) / double(c.mt)) *
                           std::ceil(double(op.n) / double(c.nt));
  return 6 * out_tiles * std::ceil(double(op.k) / double(c.kt)) + 5 * out_tiles;
}

bool better(const MappingCost& a, const Tiling& ta, const MappingCost& b, const Tiling& tb) {
  if (a.cycles != b.cycles) return a.cycles < b.cycles;
  if (a.dram_bytes != b.dram_bytes) return a.dram_bytes < b.dram_bytes;
  if (a.tiles != b.tiles) return a.tiles < b.tiles;
  return ta.mt > tb.mt;
}

// The final choice: estimates within kCloseCycles of each other are taken as equal (the model's
// error is larger than that) and the one that moves fewer DRAM bytes wins, being the more robust
// to the memory's behaviour (hbm2-stack with a second stack: 128-row tiles estimated 0.1 % below
// 256-row ones re-read B twice as often and took 77,412 cycles against 70,196). Measured
// alternatives: within 1 % preferring fewer pieces made BERT-base seq 128 on datacenter 439,493
// cycles but 5.0 % of its core cycles in sync; within 0.2 % or 0.5 % each left another step of
// tools/monotonic.py slower. Only for the linear scan of stage 2: not a strict weak order.
constexpr double kCloseCycles = 0.01;
bool clearly_better(const MappingCost& a, const Tiling& ta, const MappingCost& b,
                    const Tiling& tb) {
  const double close = kCloseCycles * std::min(a.cycles, b.cycles);
  if (std::abs(a.cycles - b.cycles) > close) return a.cycles < b.cycles;
  if (a.dram_bytes != b.dram_bytes) return a.dram_bytes < b.dram_bytes;
  return better(a, ta, b, tb);
}

[[noreturn]] void no_fit(const Target& t, const MatmulOp& op, const MappingContext& ctx) {
  const std::string sizes = ctx.tiles ? std::to_string(std::min(op.m, (*ctx.tiles)[0])) + "x" +
                                            std::to_string(std::min(op.k, (*ctx.tiles)[1])) + "x" +
                                            std::to_string(std::min(op.n, (*ctx.tiles)[2]))
                                      : "";
  throw WorkloadError(
      "op \"" + op.name + "\": " +
      (ctx.tiles ? "the tiles " + sizes + " (--tiles) do not fit" : std::string("no tile fits")) +
      " the SRAMs (scratchpad slot " + std::to_string(ctx.layout.slot_bytes) +
      " B, accumulator slot " + std::to_string(accumulator_slot_bytes(t)) + " B)");
}

}  // namespace

MappingCost mapping_cost(const Target& t, const MatmulOp& op, const Tiling& c,
                         const MappingContext& ctx) {
  Costs costs(t);
  return cost(t, op, c, ctx, costs, true);
}

Tiling choose_tiling(const Target& t, const MatmulOp& op, const MappingContext& ctx,
                     std::optional<Split> split) {
  Costs costs(t);
  costs.measure(false);
  // Stage 1: every tile size, residency and dataflow on every core, split `tiles` (or the one
  // forced), priced with the round-robin share; the best kKeep go on to stage 2.
  constexpr std::size_t kKeep = 12;  // per dataflow
  struct Scored {
    Tiling t;
    MappingCost c;
    std::size_t order;  // ties go to the earlier candidate (the default dataflow first)
  };
  std::vector<Scored> kept;
  Scored over_budget{};
  const Split first_split = split.value_or(Split::tiles);
  std::vector<isa::Dataflow> dataflows = t.dataflows;
  if (op.dataflow) dataflows = {*op.dataflow};  // the trace's
  for (const isa::Dataflow d : dataflows) {
    const auto sizes = [&](std::uint64_t dim, int d) {
      return ctx.tiles ? std::vector<std::uint64_t>{std::min(dim, (*ctx.tiles)[d])}
                       : candidates(dim, t);
    };
    for (std::uint64_t mt : sizes(op.m, 0)) {
      for (std::uint64_t nt : sizes(op.n, 2)) {
        for (std::uint64_t kt : sizes(op.k, 1)) {
          for (const bool resident : {false, true}) {
            if (resident && ctx.layout.a_region_bytes == 0) continue;
            const Tiling cand{mt, kt, nt, 0, resident, d, first_split, t.num_cores};
            const MappingCost mc = cost(t, op, cand, ctx, costs, false);
            if (!mc.fits) continue;
            if (ctx.instruction_budget > 0 && instructions(op, cand) > ctx.instruction_budget) {
              if (!over_budget.c.fits || better(mc, cand, over_budget.c, over_budget.t)) {
                over_budget = {cand, mc, 0};  // the fallback: the cheapest over the budget
              }
              continue;
            }
            kept.push_back({cand, mc, kept.size()});
          }
        }
      }
    }
  }
  if (kept.empty() && over_budget.c.fits) kept.push_back(over_budget);
  if (kept.empty()) no_fit(t, op, ctx);
  // Per dataflow, the best kKeep, and the kKeep that move the fewest DRAM bytes among those
  // within kNear of the best: at the peak bandwidth many compute-bound candidates differ only by
  // their fill and drain, and the ones that re-read less are those the measured bandwidth
  // favours (hbm2-stack gemm1024 with a second stack: 256x256x128 tiles, 67,189 cycles, were
  // not among the best 12 at the peak, and 128x256x128, 75,122, was chosen). Offering another
  // dataflow takes no candidate of the others out of stage 2.
  constexpr double kNear = 0.05;
  std::sort(kept.begin(), kept.end(), [](const Scored& a, const Scored& b) {
    return better(a.c, a.t, b.c, b.t) || (!better(b.c, b.t, a.c, a.t) && a.order < b.order);
  });
  std::map<int, std::vector<const Scored*>> by_dataflow;
  for (const Scored& s : kept) by_dataflow[int(s.t.dataflow)].push_back(&s);
  std::set<std::size_t> taken;
  for (auto& [d, list] : by_dataflow) {
    const double near = (1 + kNear) * list.front()->c.cycles;
    std::vector<const Scored*> frugal;
    for (const Scored* s : list) {
      if (s->c.cycles > near) break;
      frugal.push_back(s);
    }
    std::stable_sort(frugal.begin(), frugal.end(), [](const Scored* a, const Scored* b) {
      return a->c.dram_bytes < b->c.dram_bytes;
    });
    for (std::size_t i = 0; i < list.size() && i < kKeep; ++i) taken.insert(list[i]->order);
    for (std::size_t i = 0; i < frugal.size() && i < kKeep; ++i) taken.insert(frugal[i]->order);
  }
  // In the order of the estimates (ties: the default dataflow first).
  kept.erase(std::remove_if(kept.begin(), kept.end(),
                            [&](const Scored& s) { return taken.count(s.order) == 0; }),
             kept.end());
  // Stage 2: each of those with every split (or the one forced), dealt exactly, at the
  // bandwidth the memory achieves, on every core; then, if the best is bound by memory, on
  // fewer cores (fewer cores re-read fewer operands).
  costs.measure(true);
  std::vector<Split> splits{Split::tiles, Split::rows, Split::cols, Split::batch};
  if (split) splits = {*split};
  Tiling best;
  MappingCost best_cost;
  auto try_cores = [&](std::uint32_t n) {
    for (const Scored& s : kept) {
      for (const Split sp : splits) {
        Tiling cand = s.t;
        cand.split = sp;
        cand.cores = n;
        const MappingCost mc = cost(t, op, cand, ctx, costs, true);
        if (!mc.fits) continue;
        if (!best_cost.fits || clearly_better(mc, cand, best_cost, best)) {
          best = cand, best_cost = mc;
        }
      }
    }
  };
  try_cores(t.num_cores);
  if (best_cost.memory > best_cost.compute) {
    for (std::uint32_t n = 1; n < t.num_cores; n *= 2) try_cores(n);
  }
  best.estimate_cycles = best_cost.cycles;
  return best;
}

Tiling fixed_tiling(const Target& t, const MatmulOp& op, const MappingContext& ctx,
                    std::optional<Split> split) {
  const std::uint64_t e = isa::size_bytes(op.dtype), acc = isa::accumulator_bytes(op.dtype);
  const std::uint64_t slot = ctx.layout.slot_bytes;
  const std::uint64_t kt =
      std::min<std::uint64_t>(op.k, ctx.tiles ? (*ctx.tiles)[1] : t.array_rows);
  const std::uint64_t nt =
      std::min<std::uint64_t>(op.n, ctx.tiles ? (*ctx.tiles)[2] : t.array_cols);
  const std::uint64_t by_spad = slot / e >= kt * nt ? (slot / e - kt * nt) / kt : 0;
  std::uint64_t mt = std::min({op.m, by_spad, accumulator_slot_bytes(t) / (nt * acc)});
  if (ctx.tiles && mt > 0) {
    mt = std::min(op.m, (*ctx.tiles)[0]);
    if (!product_at_most(mt, nt, acc, accumulator_slot_bytes(t)) ||
        !product_at_most(kt, mt + nt, e, slot)) {
      mt = 0;
    }
  }
  if (mt == 0) no_fit(t, op, ctx);
  Tiling tl{mt,
            kt,
            nt,
            0,
            false,
            op.dataflow.value_or(t.dataflows.front()),
            split.value_or(Split::tiles),
            t.num_cores};
  // The estimate of the same cost model (for calibration; nothing is chosen by it).
  const MappingCost c = mapping_cost(t, op, tl, ctx);
  tl.estimate_cycles = c.fits ? c.cycles : 0;
  return tl;
}

}  // namespace llmsim::workloads
