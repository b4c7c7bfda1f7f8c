#include "sim/driver/iteration_cost.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <mutex>
#include <set>

#include "sim/core/error.h"
#include "sim/driver/fork_pool.h"
#include "sim/driver/run.h"


namespace llmsim::driver {

using workloads::IterationSeq;
using workloads::IterationShape;

ChipRunner::ChipRunner(std::string arch_name, config::Json arch, std::vector<std::string> overrides,
                       workloads::ModelConfig model, workloads::MappingOptions mapping)
    : m_arch_name(std::move(arch_name)),
      m_arch(std::move(arch)),
      m_overrides(std::move(overrides)),
      m_model(std::move(model)),
      m_mapping(std::move(mapping)) {}

RunResult ChipRunner::run(const IterationShape& shape, const std::string& why) {
  const auto start = std::chrono::steady_clock::now();
  RunSpec spec{m_arch_name, m_arch, m_overrides, workloads::build_iteration(m_model, shape),
               m_mapping};
  RunResult r = driver::run(spec);
  ++m_simulations;
  m_cycles += r.total_cycles;
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  m_wall += wall;
  if (log) {
    std::uint64_t tokens = 0;
    for (const IterationSeq& q : shape.seqs) tokens += q.tokens;
    log("serve: simulated " + why + " (" + std::to_string(shape.seqs.size()) + " sequences, " +
        std::to_string(tokens) + " tokens, " +
        std::to_string(shape.layers.value_or(m_model.num_hidden_layers)) + " layers): " +
        std::to_string(r.total_cycles) + " cycles in " + std::to_string(wall) + " s");
  }
  return r;
}

namespace {

// The identity of an iteration for the chip: every field build_iteration reads.
std::string key_of(const IterationShape& s) {
  std::string k = std::to_string(int(s.dtype)) + "/" + std::to_string(s.layers.value_or(0)) + "/" +
                  std::to_string(s.block_size) + "/" + std::to_string(s.num_blocks);
  for (const IterationSeq& q : s.seqs) {
    k += "|" + std::to_string(q.tokens) + "," + std::to_string(q.kv_len) + "," +
         (q.emits_token ? "e" : "n");
    for (const std::uint64_t b : q.blocks) k += "," + std::to_string(b);
  }
  return k;
}

// The ops of one sequence's attention in an iteration (transformer.cpp, attention_paged).
const std::set<std::string> kSeqOps = {"q_rope",  "k_rope", "k_cache_write", "v_cache_write",
                                       "scores",  "scale",  "mask",          "softmax",
                                       "context"};

// A run's energy as rates of the work that spends it, to split it between ops: the arrays and
// their SRAMs per MAC, the DRAM, the NoC and the DMA engines per DRAM byte, leakage and the
// vector units per cycle (the span's increments). The MACs and bytes of the ops add up to the
// run's, and the increments to its cycles, so the ops' shares add up to its energy.
struct EnergyRates {
  double per_cycle = 0, per_mac = 0, per_byte = 0;

  explicit EnergyRates(const RunResult& r) {
    double macs_pj = 0, bytes_pj = 0;
    for (const auto& [unit, pj] : r.energy.by_unit) {
      double leak = 0;
      for (const auto& [u, l] : r.energy.leakage_by_unit) leak += u == unit ? l : 0;
      const double dynamic = pj - leak;
      if (unit == "systolic" || unit == "accumulator" || unit == "scratchpad") {
        macs_pj += dynamic;
      } else if (unit == "memory" || unit == "noc" || unit == "dma") {
        bytes_pj += dynamic;
      }
    }
    std::uint64_t macs = 0, bytes = 0;
    for (const OpResult& o : r.ops) macs += o.macs, bytes += o.dram_read_bytes + o.dram_written_bytes;
    // Work with no op to carry it (none expected) stays with time, as does everything else.
    if (macs == 0) macs_pj = 0;
    if (bytes == 0) bytes_pj = 0;
    per_mac = macs ? macs_pj / double(macs) : 0;
    per_byte = bytes ? bytes_pj / double(bytes) : 0;
    per_cycle =
        r.total_cycles ? (r.energy.total_pj - macs_pj - bytes_pj) / double(r.total_cycles) : 0;
  }
  double of(const OpResult& o, std::uint64_t inc) const {
    return double(inc) * per_cycle + double(o.macs) * per_mac +
           double(o.dram_read_bytes + o.dram_written_bytes) * per_byte;
  }
};

}  // namespace

IterationCost ExactCost::cost(const IterationShape& shape) {
  const std::string key = key_of(shape);
  if (const auto it = m_memo.find(key); it != m_memo.end()) {
    ++m_reused;
    return it->second;
  }
  const RunResult r = m_runner.run(shape, "an iteration");
  const IterationCost c{r.total_cycles, r.energy.total_pj};
  m_memo.emplace(key, c);
  return c;
}

std::vector<std::uint64_t> TableCost::grid(std::uint64_t hi) {
  std::vector<std::uint64_t> g;
  for (std::uint64_t p = 1; p < hi; p *= 2) {
    g.push_back(p);
    if (p >= 64 && p + p / 2 < hi) g.push_back(p + p / 2);
    if (p > (std::uint64_t(1) << 40)) break;
  }
  std::sort(g.begin(), g.end());
  g.push_back(std::max<std::uint64_t>(hi, 1));
  g.erase(std::unique(g.begin(), g.end()), g.end());
  return g;
}

TableCost::TableCost(ChipRunner& runner, const TableOptions& o, const std::string& key)
    : m_runner(runner), m_o(o) {
  static std::mutex registry_mutex;
  static std::map<std::string, std::shared_ptr<Tables>> registry;
  const std::string full = key + "|" + std::to_string(int(o.dtype)) + "/" +
                           std::to_string(o.calibration_layers) + "/" +
                           std::to_string(o.block_size) + "/" + std::to_string(o.num_blocks) +
                           "/" + std::to_string(o.max_kv);
  {
    const std::lock_guard<std::mutex> lock(registry_mutex);
    std::shared_ptr<Tables>& t = registry[full];
    if (!t) t = std::make_shared<Tables>();
    m_t = t;
  }
  LLMSIM_CHECK(o.calibration_layers >= 1 && o.max_tokens >= 1 && o.max_kv >= 1,
               "table cost options out of range");
  m_layers = runner.model().num_hidden_layers;
  m_o.calibration_layers = std::min(o.calibration_layers, m_layers);
  m_token_grid = grid(o.max_tokens);
  m_chunk_grid = grid(std::min(o.max_tokens, o.max_kv));
  m_emit_grid = grid(std::max<std::uint64_t>(o.max_emits, 1));
  m_kv_grid = grid(std::max<std::uint64_t>(o.max_kv, 2) - 1);
  m_kv_grid.insert(m_kv_grid.begin(), 0);
}

TableCost::Parts TableCost::measure(const std::vector<IterationSeq>& seqs,
                                    const std::string& why, std::uint64_t layers) {
  IterationShape shape;
  shape.dtype = m_o.dtype;
  shape.layers = layers;
  shape.block_size = m_o.block_size;
  std::uint64_t next = 0;
  shape.seqs = seqs;
  for (IterationSeq& q : shape.seqs) {
    const std::uint64_t n = (q.kv_len + q.tokens + m_o.block_size - 1) / m_o.block_size;
    q.blocks.resize(n);
    for (std::uint64_t& b : q.blocks) b = next++;
  }
  shape.num_blocks = std::max<std::uint64_t>(next, m_o.num_blocks);
  const RunResult r = m_runner.run(shape, "calibration " + why);
  ++m_runs;

  // Layer 0 apart: the first layer also fills the pipeline (its first loads wait on nothing
  // before them). The layers' parts are the mean over layers 1 .. k-1 (the steady state), and
  // layer 0's excess over them joins emb, the iteration's fixed start. With one layer, layer 0
  // is the steady state.
  Parts p, first;
  p.seqs.resize(seqs.size());
  first.seqs.resize(seqs.size());
  const EnergyRates energy(r);
  const double steady = layers > 1 ? 1.0 / double(layers - 1) : 1.0;
  std::uint64_t reached = 0;
  for (const OpResult& o : r.ops) {
    const std::uint64_t inc = o.end_cycle > reached ? o.end_cycle - reached : 0;
    reached = std::max(reached, o.end_cycle);
    const Point add{double(inc), energy.of(o, inc)};
    Point* to = nullptr;
    double share = 1;
    if (o.layer == "embeddings") {
      to = &p.emb;
    } else if (o.layer == "head") {
      to = o.name == "head.lm_head" ? &p.lm_head : &p.norm;
    } else {
      Parts& into = layers > 1 && o.layer == "layer0" ? first : p;
      share = &into == &p ? steady : 1.0;
      // "layerN.NAME" or, with several sequences, "layerN.seqI.NAME".
      const std::string rest = o.name.substr(o.name.find('.') + 1);
      std::size_t seq = 0;
      std::string base = rest;
      if (rest.rfind("seq", 0) == 0 && rest.find('.') != std::string::npos) {
        seq = std::stoull(rest.substr(3, rest.find('.') - 3));
        base = rest.substr(rest.find('.') + 1);
      }
      to = kSeqOps.count(base) ? &into.seqs.at(seq) : &into.dense;
    }
    to->cycles += add.cycles * share;
    to->pj += add.pj * share;
  }
  if (layers > 1) {
    Point excess{first.dense.cycles - p.dense.cycles, first.dense.pj - p.dense.pj};
    for (std::size_t i = 0; i < seqs.size(); ++i) {
      excess.cycles += first.seqs[i].cycles - p.seqs[i].cycles;
      excess.pj += first.seqs[i].pj - p.seqs[i].pj;
    }
    p.emb.cycles += excess.cycles, p.emb.pj += excess.pj;
  }
  return p;
}

std::vector<IterationSeq> TableCost::prefill_seqs(std::uint64_t t) const {
  // Prompts of at most max_kv tokens (no request is longer), emitting nothing (the LM head
  // has its own table).
  std::vector<IterationSeq> seqs;
  for (std::uint64_t left = t; left > 0;) {
    IterationSeq q;
    q.tokens = std::min(left, m_o.max_kv);
    q.emits_token = false;
    seqs.push_back(q);
    left -= q.tokens;
  }
  return seqs;
}

std::uint64_t TableCost::slope_kv(std::uint64_t s) const {
  return std::min<std::uint64_t>(1024, m_o.max_kv > s ? m_o.max_kv - s : 0);
}

std::vector<IterationSeq> TableCost::chunk_seqs(std::uint64_t s) const {
  IterationSeq q;
  q.tokens = s, q.kv_len = slope_kv(s), q.emits_token = false;
  return {q};
}

std::vector<std::vector<IterationSeq>> TableCost::decode_batches() const {
  // A decode at every kv grid point, in runs of at most num_blocks blocks each.
  std::vector<std::vector<IterationSeq>> batches(1);
  std::uint64_t blocks = 0;
  for (const std::uint64_t l : m_kv_grid) {
    const std::uint64_t need = (l + 1 + m_o.block_size - 1) / m_o.block_size;
    if (blocks + need > m_o.num_blocks && !batches.back().empty()) {
      batches.emplace_back();
      blocks = 0;
    }
    IterationSeq q;
    q.tokens = 1, q.kv_len = l, q.emits_token = false;
    batches.back().push_back(q);
    blocks += need;
  }
  return batches;
}

const TableCost::Parts& TableCost::prefill(std::uint64_t t) const {
  const auto it = m_t->prefill.find(t);
  LLMSIM_CHECK(it != m_t->prefill.end(), "a table point not calibrated");
  return it->second;
}

TableCost::Point TableCost::slope(std::uint64_t s) const {
  const auto it = m_t->slope.find(s);
  LLMSIM_CHECK(it != m_t->slope.end(), "a table point not calibrated");
  return it->second;
}

TableCost::Point TableCost::decode(std::uint64_t kv) const {
  return interpolate(m_kv_grid, kv, [&](std::uint64_t l) {
    const auto it = m_t->decode.find(l);
    LLMSIM_CHECK(it != m_t->decode.end(), "a table point not calibrated");
    return it->second;
  });
}

TableCost::Point TableCost::lm_head(std::uint64_t e) const {
  return interpolate(m_emit_grid, e, [&](std::uint64_t g) {
    const auto it = m_t->lm_head.find(g);
    LLMSIM_CHECK(it != m_t->lm_head.end(), "a table point not calibrated");
    return it->second;
  });
}

namespace {

std::string encode(const std::vector<double>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(double));
}

std::vector<double> decode_doubles(const std::string& b) {
  LLMSIM_CHECK(b.size() % sizeof(double) == 0, "a malformed result from a child process");
  std::vector<double> v(b.size() / sizeof(double));
  std::memcpy(v.data(), b.data(), b.size());
  return v;
}

}  // namespace

void TableCost::calibrate(unsigned width) {
  struct Job {
    std::vector<IterationSeq> seqs;
    std::string why;
    std::uint64_t layers;
    std::function<void(const Parts&)> store;
  };
  std::vector<Job> jobs;
  std::set<std::uint64_t> prefills(m_token_grid.begin(), m_token_grid.end());
  prefills.insert(m_chunk_grid.begin(), m_chunk_grid.end());
  for (const std::uint64_t t : prefills) {
    if (m_t->prefill.count(t)) continue;
    jobs.push_back({prefill_seqs(t), "prefill of " + std::to_string(t), m_o.calibration_layers,
                    [this, t](const Parts& p) { m_t->prefill.emplace(t, p); }});
  }
  std::map<std::uint64_t, Point> with;  // a chunk's attention after slope_kv(s) cached
  for (const std::uint64_t s : m_chunk_grid) {
    if (m_t->slope.count(s)) continue;
    if (s < 2 || slope_kv(s) == 0) {  // never asked for (a decode), or no room for a cache
      m_t->slope.emplace(s, Point{});
      continue;
    }
    jobs.push_back({chunk_seqs(s),
                    "chunk of " + std::to_string(s) + " after " + std::to_string(slope_kv(s)) +
                        " cached",
                    m_o.calibration_layers,
                    [&with, s](const Parts& p) { with[s] = p.seqs.at(0); }});
  }
  if (m_t->decode.empty()) {
    for (const auto& batch : decode_batches()) {
      jobs.push_back({batch, "decodes", m_o.calibration_layers, [this, batch](const Parts& p) {
                        for (std::size_t i = 0; i < batch.size(); ++i) {
                          m_t->decode[batch[i].kv_len] = p.seqs[i];
                        }
                      }});
    }
  }
  for (const std::uint64_t e : m_emit_grid) {
    if (m_t->lm_head.count(e)) continue;
    jobs.push_back({std::vector<IterationSeq>(e), std::to_string(e) + " emitting", 1,
                    [this, e](const Parts& p) { m_t->lm_head.emplace(e, p.lm_head); }});
  }
  std::vector<bool> forked;
  const std::vector<std::string> out = run_in_children(
      jobs.size(),
      [&](std::size_t i) {
        const std::uint64_t before = m_runner.simulated_cycles();
        const Parts p = measure(jobs[i].seqs, jobs[i].why, jobs[i].layers);
        // First the run's cycles, for the parent's count of a child's simulation.
        std::vector<double> v = {double(m_runner.simulated_cycles() - before), p.emb.cycles,
                                 p.emb.pj, p.dense.cycles, p.dense.pj, p.norm.cycles, p.norm.pj,
                                 p.lm_head.cycles, p.lm_head.pj};
        for (const Point& q : p.seqs) v.push_back(q.cycles), v.push_back(q.pj);
        return encode(v);
      },
      width, &forked);
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const std::vector<double> v = decode_doubles(out[i]);
    LLMSIM_CHECK(v.size() == 9 + 2 * jobs[i].seqs.size(), "a malformed calibration result");
    Parts p;
    p.emb = {v[1], v[2]}, p.dense = {v[3], v[4]}, p.norm = {v[5], v[6]}, p.lm_head = {v[7], v[8]};
    for (std::size_t k = 0; k < jobs[i].seqs.size(); ++k) {
      p.seqs.push_back({v[9 + 2 * k], v[10 + 2 * k]});
    }
    if (forked[i]) {  // run in a child: count it here
      m_runner.count(std::uint64_t(v[0]));
      ++m_runs;
    }
    jobs[i].store(p);
  }
  for (const auto& [s, w] : with) {
    const Point& without = m_t->prefill.at(s).seqs.at(0);
    const double l1 = double(slope_kv(s));
    m_t->slope.emplace(s, Point{(w.cycles - without.cycles) / l1, (w.pj - without.pj) / l1});
  }
  m_calibrated = true;
}

template <class F>
TableCost::Point TableCost::interpolate(const std::vector<std::uint64_t>& grid, std::uint64_t x,
                                        F&& at) {
  LLMSIM_CHECK(!grid.empty() && x <= grid.back(), "a table is asked past its grid");
  const auto hi = std::lower_bound(grid.begin(), grid.end(), x);
  if (*hi == x || hi == grid.begin()) return at(*hi);
  const std::uint64_t x0 = *(hi - 1), x1 = *hi;
  const Point a = at(x0), b = at(x1);
  const double f = double(x - x0) / double(x1 - x0);
  return {a.cycles + f * (b.cycles - a.cycles), a.pj + f * (b.pj - a.pj)};
}

IterationCost TableCost::cost(const IterationShape& shape) {
  LLMSIM_CHECK(m_calibrated, "a table asked for a cost before calibrate()");
  std::uint64_t t = 0, emits = 0;
  for (const IterationSeq& q : shape.seqs) {
    t += q.tokens;
    emits += q.emits_token ? 1 : 0;
    LLMSIM_CHECK(q.kv_len + q.tokens <= m_o.max_kv, "a sequence longer than the table's grid");
  }
  LLMSIM_CHECK(t <= m_o.max_tokens && shape.seqs.size() <= m_o.max_emits,
               "an iteration larger than the table's grid");
  const auto part = [&](Point Parts::*which) {
    return interpolate(m_token_grid, t, [&](std::uint64_t g) { return prefill(g).*which; });
  };
  Point layer = part(&Parts::dense);
  for (const IterationSeq& q : shape.seqs) {
    Point a;
    if (q.tokens == 1) {
      a = decode(q.kv_len);
    } else {
      a = interpolate(m_chunk_grid, q.tokens,
                      [&](std::uint64_t g) { return prefill(g).seqs.at(0); });
      if (q.kv_len > 0) {
        const Point sl = interpolate(m_chunk_grid, q.tokens, [&](std::uint64_t g) {
          return slope(g);
        });
        a.cycles += sl.cycles * double(q.kv_len), a.pj += sl.pj * double(q.kv_len);
      }
    }
    layer.cycles += a.cycles, layer.pj += a.pj;
  }
  const Point emb = part(&Parts::emb), norm = part(&Parts::norm);
  const Point head = emits ? lm_head(emits) : Point{};
  const double n = double(m_layers);
  const double cycles = emb.cycles + n * layer.cycles + norm.cycles + head.cycles;
  const double pj = emb.pj + n * layer.pj + norm.pj + head.pj;
  return {std::uint64_t(std::max(1.0, cycles + 0.5)), pj};
}

}  // namespace llmsim::driver
