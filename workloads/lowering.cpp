#include "workloads/lowering.h"

#include <algorithm>
#include <limits>

#include "sim/core/error.h"
#include "sim/core/units.h"
#include "workloads/dram_buffers.h"
#include "workloads/dram_view.h"

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

namespace {

// Fixed semaphores of every core; one more per op that waits for an earlier op follows.
// kAFree counts the free A regions (A-resident tiles, tiling.h).
enum Sem : std::uint32_t {
  kAbFree = 0,
  kAbFull = 1,
  kAccFree = 2,
  kAccFull = 3,
  kAFree = 4,
  kFirstDep = 5
};

isa::Instruction inst(isa::Body b, int op) {
  return isa::Instruction{std::move(b), op};
}

class Lowerer {
 public:
  Lowerer(const Workload& w, const Target& t, const MappingOptions& o)
      : m_w(w),
        m_t(t),
        m_o(o),
        m_layout(scratchpad_layout(t, o.automatic)),
        m_spad_slot(m_layout.slot_bytes),
        m_acc_slot(accumulator_slot_bytes(t)) {}

  Lowered run() {
    LLMSIM_CHECK(m_t.num_cores >= 1 && m_t.gemm_cycles, "incomplete lowering target");
    const std::size_t n = m_w.ops.size();
    m_out.program.cores.resize(m_t.num_cores);
    m_out.plans.resize(n);
    m_regions.resize(n);
    m_ab_slot.assign(m_t.num_cores, 0);
    m_acc_slot_index.assign(m_t.num_cores, 0);
    m_a_region.assign(m_t.num_cores, 0);

    // Op i waits for the last of its producers; that producer's stores release it.
    // And the last op that reads each op's output (-1: none, so it is kept: a result).
    m_dep_sem.assign(n, 0);
    m_last_producer.assign(n, -1);
    m_last_use.assign(n, -1);
    m_readers.assign(n, 0);
    m_fused_into.assign(n, -1);
    std::uint32_t next_sem = kFirstDep;
    for (std::size_t i = 0; i < n; ++i) {
      for (const Operand& x : m_w.ops[i].operands()) {
        if (!x.is_op()) continue;
        m_last_producer[i] = std::max(m_last_producer[i], x.op);
        if (m_last_use[std::size_t(x.op)] != int(i)) ++m_readers[std::size_t(x.op)];
        m_last_use[std::size_t(x.op)] = int(i);
      }
      if (m_last_producer[i] >= 0) m_dep_sem[i] = next_sem++;
    }
    for (auto& core : m_out.program.cores) {
      core.semaphore_init.assign(next_sem, 0);
      core.semaphore_init[kAbFree] = 2;
      core.semaphore_init[kAccFree] = 2;
      core.semaphore_init[kAFree] = 2;
    }

    for (std::size_t i = 0; i < n; ++i) {
      m_op = int(i);
      // An op fused into a matmul's epilogue ran there (its instructions carry its index);
      // its consumers wait for the matmul's stores, which precede the signals below.
      if (m_fused_into[i] < 0) {
        if (m_last_producer[i] >= 0) {
          const std::uint32_t barrier = m_next_barrier++;
          for (auto& core : m_out.program.cores) {
            core.queue(isa::QueueKind::load).push_back(inst(isa::SemWait{m_dep_sem[i]}, m_op));
            core.queue(isa::QueueKind::load).push_back(inst(isa::Barrier{barrier}, m_op));
          }
        }
        std::visit([this](const auto& body) { lower(body); }, m_w.ops[i].body());
      }
      retire_inputs(i);
      for (std::size_t j = i + 1; j < n; ++j) {
        if (m_last_producer[j] != int(i) || m_fused_into[j] >= 0) continue;
        for (auto& core : m_out.program.cores) {
          core.queue(isa::QueueKind::store).push_back(inst(isa::SemSignal{m_dep_sem[j]}, -1));
        }
      }
    }
    // The final outputs: the last op's output must reach DRAM.
    if (n > 0) {
      const Region& r = m_regions[n - 1];
      m_out.plans[n - 1].compulsory_bytes +=
          r.rows * r.cols * isa::size_bytes(m_w.ops[n - 1].dtype());
    }
    m_out.dram_footprint_bytes = m_dram.footprint();
    return std::move(m_out);
  }

 private:
  // An op's output in DRAM: rows x cols dense (a kv_write: the cache, batch*heads*L x d).
  struct Region {
    std::uint64_t addr = 0, rows = 0, cols = 0;
    std::uint64_t bytes = 0;  // of its reusable buffer (output()); 0 once released
  };

  // DRAM for weights, inputs and caches: never reused.
  std::uint64_t alloc(std::uint64_t bytes) { return m_dram.fixed(bytes); }
  // The current op's output, rows x cols of `elem` bytes: a buffer it may reuse (DramBuffers).
  // Its loads wait for its last producer on every core, and each core finishes its ops in
  // order, so every op up to that producer is done before it writes.
  // With an epilogue, the buffer holds the output of its last fused op instead (`owner`); the
  // matmul's own output and those of the ops before it in the chain never reach DRAM.
  std::uint64_t output(std::uint64_t rows, std::uint64_t cols, std::uint64_t elem,
                       const std::vector<int>& epilogue = {}) {
    const std::uint64_t bytes = rows * cols * elem;
    const std::uint64_t addr = m_dram.reusable(bytes, m_last_producer[std::size_t(m_op)]);
    const int owner = epilogue.empty() ? m_op : epilogue.back();
    m_regions[std::size_t(m_op)] = {addr, rows, cols, 0};
    for (const int f : epilogue) m_regions[std::size_t(f)] = {addr, rows, cols, 0};
    m_regions[std::size_t(owner)].bytes = bytes;
    return addr;
  }
  // After op i: the outputs it was the last to read go back to the plan (caches stay).
  void retire_inputs(std::size_t i) {
    for (const Operand& x : m_w.ops[i].operands()) {
      if (!x.is_op() || m_last_use[std::size_t(x.op)] != int(i)) continue;
      if (m_w.ops[std::size_t(x.op)].get_if<KvWriteOp>()) continue;
      Region& r = m_regions[std::size_t(x.op)];
      if (r.bytes == 0) continue;  // released already (read twice by op i)
      m_dram.release(r.addr, r.bytes, int(i));
      r.bytes = 0;
    }
  }
  [[noreturn]] void fail(const std::string& what) const {
    const Op& op = m_w.ops[std::size_t(m_op)];
    throw WorkloadError("ops[" + std::to_string(m_op) + "] '" + op.name() + "' (" + op.kind() +
                        "): " + what);
  }
  OpPlan& plan() { return m_out.plans[std::size_t(m_op)]; }
  isa::CoreProgram& core(std::uint64_t c) { return m_out.program.cores[c]; }
  isa::InstructionQueue& q(std::uint64_t c, isa::QueueKind k) { return core(c).queue(k); }
  void push(std::uint64_t c, isa::QueueKind k, isa::Body b) { q(c, k).push_back(inst(b, m_op)); }

  // The next double-buffer slot of core c (its scratchpad address).
  std::uint64_t next_ab_slot(std::uint64_t c) {
    const std::uint64_t s = m_ab_slot[c] * m_spad_slot;
    m_ab_slot[c] ^= 1;
    return s;
  }
  const Region& producer(const Operand& x) const { return m_regions[std::size_t(x.op)]; }
  const Op& producer_op(const Operand& x) const { return m_w.ops[std::size_t(x.op)]; }

  // ---------------------------------------------------------------- epilogue fusion
  // The ops that run in this matmul's epilogue (lowering.h), in order: each the only reader of
  // the output before it, of the matmul's shape and dtype, element-wise (softmax when a tile
  // holds whole rows, nt >= n), or one add of another op's output of the same shape (a
  // residual) that is complete when the matmul starts: an op at or before the matmul's last
  // producer, whose stores its loads wait for, and whose tile fits the scratchpad slot of the
  // tile's last k piece next to what the piece holds. Norms (parameters) stay separate.
  struct Epilogue {
    std::vector<int> ops;
    int residual = -1;  // the add's other operand (an op), or -1
    int add = -1;       // the add, or -1
  };
  Epilogue epilogue_chain(const MatmulOp& op, const Tiling& tl) const {
    Epilogue ep;
    if (!m_o.fuses()) return ep;
    const std::uint64_t e = isa::size_bytes(op.dtype), acc_e = isa::accumulator_bytes(op.dtype);
    // The slot of the last k piece: its A piece (unless A-resident), B, the bias row if tk = 1.
    const std::uint64_t piece_bytes = (tl.a_resident ? 0 : tl.mt * tl.kt * e) +
                                      tl.kt * tl.nt * e + (op.bias ? tl.nt * acc_e : 0);
    const bool residual_fits = piece_bytes + tl.mt * tl.nt * e <= m_spad_slot;
    for (int cur = m_op; m_readers[std::size_t(cur)] == 1;) {
      const int f = m_last_use[std::size_t(cur)];
      const auto* v = m_w.ops[std::size_t(f)].get_if<VectorOp>();
      if (v == nullptr || v->dtype != op.dtype || v->rows != op.batch * op.m || v->cols != op.n) {
        break;
      }
      const bool elementwise = v->kind == VectorKind::scale || v->kind == VectorKind::mask ||
                               v->kind == VectorKind::relu || v->kind == VectorKind::gelu ||
                               v->kind == VectorKind::silu || v->kind == VectorKind::tanh;
      if (v->inputs.size() == 1) {
        if (!v->inputs[0].is_op() || v->inputs[0].op != cur) break;
        if (!elementwise && !(v->kind == VectorKind::softmax && tl.nt >= op.n)) break;
      } else {
        if (v->kind != VectorKind::add || ep.add >= 0 || !residual_fits) break;
        const Operand& a = v->inputs[0];
        const Operand& b = v->inputs[1];
        if (!a.is_op() || !b.is_op() || (a.op == cur) == (b.op == cur)) break;
        const int r = a.op == cur ? b.op : a.op;
        const Region& rr = m_regions[std::size_t(r)];
        if (r > m_last_producer[std::size_t(m_op)] || rr.rows != v->rows || rr.cols != v->cols ||
            m_w.ops[std::size_t(r)].dtype() != op.dtype) {
          break;
        }
        ep.residual = r;
        ep.add = f;
      }
      ep.ops.push_back(f);
      cur = f;
    }
    return ep;
  }

  // ---------------------------------------------------------------- matmul
  void lower(const MatmulOp& op) {
    if (std::find(m_t.dtypes.begin(), m_t.dtypes.end(), op.dtype) == m_t.dtypes.end()) {
      fail(std::string("dtype ") + isa::to_string(op.dtype) +
           " is not supported by the systolic array (core.systolic.dtypes)");
    }
    const std::uint64_t e = isa::size_bytes(op.dtype), acc_e = isa::accumulator_bytes(op.dtype);
    OpPlan& p = plan();
    p.tiling = m_o.automatic ? choose_tiling(m_t, op) : fixed_tiling(m_t, op);
    const Tiling& tl = p.tiling;
    const std::uint64_t tm = ceil_div(op.m, tl.mt), tn = ceil_div(op.n, tl.nt),
                        tk = ceil_div(op.k, tl.kt);

    // Attention (B is an activation: K or V): its operands are viewed per (sequence, KV head)
    // when their producers' shapes are token-major. Its geometry: KV heads and sequences.
    const bool attention = op.b.is_op();
    std::uint64_t hkv = 1;
    if (attention) {
      const Op& bp = producer_op(op.b);
      if (const auto* kv = bp.get_if<KvWriteOp>()) {
        hkv = kv->heads;
      } else {
        const std::uint64_t d = op.transpose_b ? op.k : op.n;
        const std::uint64_t cols = producer(op.b).cols;
        if (cols % d == 0) hkv = cols / d;
      }
      if (hkv == 0 || op.batch % hkv != 0) hkv = 1;
    }
    const std::uint64_t bsz = op.batch / hkv;

    // Operand views per batch item.
    const std::uint64_t sr = op.transpose_b ? op.n : op.k, sc = op.transpose_b ? op.k : op.n;
    const std::uint64_t a_ext = op.a.is_op() ? 0 : alloc(op.batch * op.m * op.k * e);
    const std::uint64_t b_ext = op.b.is_op() ? 0 : alloc(op.batch * sr * sc * e);
    const std::uint64_t bias = op.bias ? alloc(op.n * acc_e) : 0;
    if (!op.a.is_op()) p.compulsory_bytes += op.batch * op.m * op.k * e;
    if (!op.b.is_op()) p.compulsory_bytes += op.batch * sr * sc * e;
    if (op.bias) p.compulsory_bytes += op.n * acc_e;
    if (op.b.is_op()) {
      if (const auto* kv = producer_op(op.b).get_if<KvWriteOp>()) {
        p.compulsory_bytes += kv->batch * kv->heads * kv->kv_len * kv->head_dim * e;
      }
    }
    auto view_a = [&](std::uint64_t bi) -> View {
      if (!op.a.is_op()) return dense(a_ext + bi * op.m * op.k * e, op.k, e);
      const Region& r = producer(op.a);
      if (r.rows == op.batch * op.m && r.cols == op.k) {
        return dense(r.addr + bi * op.m * op.k * e, op.k, e);
      }
      if (!attention) return dense(r.addr + bi * op.m * op.k * e, op.k, e);
      const std::uint64_t s = r.rows / bsz;  // tokens per sequence
      const std::uint64_t g = s ? op.m / s : 0;
      if (s == 0 || g == 0 || op.m % s != 0 || r.cols != hkv * g * op.k) {
        return dense(r.addr + bi * op.m * op.k * e, op.k, e);
      }
      const std::uint64_t b = bi / hkv, j = bi % hkv;
      return {r.addr + (b * s * r.cols + j * g * op.k) * e, r.cols * e, s, op.k * e};
    };
    auto view_b = [&](std::uint64_t bi) -> View {  // as stored: sr x sc
      if (!op.b.is_op()) return dense(b_ext + bi * sr * sc * e, sc, e);
      const Region& r = producer(op.b);
      if (producer_op(op.b).get_if<KvWriteOp>()) return dense(r.addr + bi * sr * sc * e, sc, e);
      if ((r.rows == op.batch * sr && r.cols == sc) || !attention) {
        return dense(r.addr + bi * sr * sc * e, sc, e);
      }
      const std::uint64_t b = bi / hkv, j = bi % hkv;
      return {r.addr + (b * sr * r.cols + j * sc) * e, r.cols * e, kOneGroup, 0};
    };
    const Epilogue ep = epilogue_chain(op, tl);
    for (const int f : ep.ops) {
      m_fused_into[std::size_t(f)] = m_op;
      m_out.plans[std::size_t(f)].fused_into = m_op;
    }
    const View residual =
        ep.residual >= 0 ? dense(m_regions[std::size_t(ep.residual)].addr, op.n, e) : View{};
    const std::uint64_t c_addr = output(op.batch * op.m, op.n, e, ep.ops);

    // Split of the output tiles over the cores.
    const std::uint64_t cores = m_t.num_cores;
    auto core_of = [&](Split s, std::uint64_t bi, std::uint64_t mi, std::uint64_t ni) {
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
      return std::uint64_t{0};
    };
    auto tile_cycles = [&](std::uint64_t mi, std::uint64_t ni) {
      const std::uint64_t ms = std::min(tl.mt, op.m - mi * tl.mt),
                          ns = std::min(tl.nt, op.n - ni * tl.nt);
      std::uint64_t c = 0;
      for (std::uint64_t ki = 0; ki < tk; ++ki) {
        c += m_t.gemm_cycles(ms, std::min(tl.kt, op.k - ki * tl.kt), ns);
      }
      return c;
    };
    p.split = Split::tiles;
    if (m_o.split) {
      p.split = *m_o.split;
    } else if (m_o.automatic && cores > 1) {
      std::uint64_t best = std::numeric_limits<std::uint64_t>::max();
      for (Split s : {Split::tiles, Split::rows, Split::cols, Split::batch}) {
        std::vector<std::uint64_t> load(cores, 0);
        for (std::uint64_t bi = 0; bi < op.batch; ++bi) {
          for (std::uint64_t mi = 0; mi < tm; ++mi) {
            for (std::uint64_t ni = 0; ni < tn; ++ni) {
              load[core_of(s, bi, mi, ni)] += tile_cycles(mi, ni);
            }
          }
        }
        const std::uint64_t busiest = *std::max_element(load.begin(), load.end());
        if (busiest < best) best = busiest, p.split = s;
      }
    }

    // A-resident tiles: the row block (bi, mi) each core holds, and where. A core that starts a
    // new block waits for a free region (kAFree), and frees the old one after its last GEMM.
    struct Held {
      bool valid = false;
      std::uint64_t bi = 0, mi = 0, region = 0;
    };
    std::vector<Held> held(cores);
    const auto release = [&](std::uint64_t c) {
      if (!held[c].valid) return;
      push(c, isa::QueueKind::compute, isa::SemSignal{kAFree});
      held[c].valid = false;
    };
    for (std::uint64_t bi = 0; bi < op.batch; ++bi) {
      const View va = view_a(bi), vb = view_b(bi),
                 vc = dense(c_addr + bi * op.m * op.n * e, op.n, e);
      for (std::uint64_t mi = 0; mi < tm; ++mi) {
        for (std::uint64_t ni = 0; ni < tn; ++ni) {
          const std::uint64_t ci = core_of(p.split, bi, mi, ni);
          const std::uint64_t m0 = mi * tl.mt, n0 = ni * tl.nt;
          const std::uint64_t ms = std::min(tl.mt, op.m - m0), ns = std::min(tl.nt, op.n - n0);
          const std::uint64_t c_sram = m_acc_slot_index[ci] * m_acc_slot;
          m_acc_slot_index[ci] ^= 1;
          // Whether this tile loads its A pieces (into the slot, or into a new region).
          bool load_a = true;
          if (tl.a_resident) {
            Held& h = held[ci];
            if (h.valid && h.bi == bi && h.mi == mi) {
              load_a = false;
            } else {
              release(ci);
              h = {true, bi, mi, 2 * m_spad_slot + m_a_region[ci] * m_layout.a_region_bytes};
              m_a_region[ci] ^= 1;
              push(ci, isa::QueueKind::load, isa::SemWait{kAFree});
            }
          }
          std::uint64_t r_sram = 0;  // the residual tile, in the last k piece's slot
          for (std::uint64_t ki = 0; ki < tk; ++ki) {
            const std::uint64_t k0 = ki * tl.kt, ks = std::min(tl.kt, op.k - k0);
            const std::uint64_t slot = next_ab_slot(ci);
            // A-resident: piece ki of the block at region + ms * k0 elements; B fills the slot.
            const std::uint64_t a_sram = tl.a_resident ? held[ci].region + ms * k0 * e : slot;
            const std::uint64_t b_sram = tl.a_resident ? slot : slot + ms * ks * e;
            push(ci, isa::QueueKind::load, isa::SemWait{kAbFree});
            if (load_a) {
              for_blocks(va, m0, ms, k0, ks, e, a_sram, [&](const isa::Block& b) {
                push(ci, isa::QueueKind::load,
                     isa::DmaLoad{b, isa::Sram::scratchpad, std::uint32_t(e)});
              });
            }
            auto load_b = [&](const isa::Block& b) {
              push(ci, isa::QueueKind::load,
                   isa::DmaLoad{b, isa::Sram::scratchpad, std::uint32_t(e)});
            };
            if (op.transpose_b) {
              for_blocks(vb, n0, ns, k0, ks, e, b_sram, load_b);
            } else {
              for_blocks(vb, k0, ks, n0, ns, e, b_sram, load_b);
            }
            if (op.bias && ki == 0) {  // the bias row rides with the first k tile
              push(ci, isa::QueueKind::load,
                   isa::DmaLoad{{1, ns, bias + n0 * acc_e, op.n * acc_e, b_sram + ks * ns * e},
                                isa::Sram::scratchpad,
                                std::uint32_t(acc_e)});
            }
            // A fused residual add's tile rides with the last k tile; its slot is then freed
            // by the store queue, after the epilogue has read it.
            const bool holds_residual = ep.add >= 0 && ki + 1 == tk;
            if (holds_residual) {
              r_sram = b_sram + ks * ns * e + (op.bias && ki == 0 ? ns * acc_e : 0);
              for_blocks(residual, bi * op.m + m0, ms, n0, ns, e, r_sram, [&](const isa::Block& b) {
                q(ci, isa::QueueKind::load)
                    .push_back(inst(isa::DmaLoad{b, isa::Sram::scratchpad, std::uint32_t(e)},
                                    ep.add));
              });
            }
            push(ci, isa::QueueKind::load, isa::SemSignal{kAbFull});
            push(ci, isa::QueueKind::compute, isa::SemWait{kAbFull});
            if (ki == 0) push(ci, isa::QueueKind::compute, isa::SemWait{kAccFree});
            push(ci, isa::QueueKind::compute,
                 isa::Gemm{a_sram, b_sram, c_sram, ms, ks, ns, op.dtype, ki > 0});
            if (!holds_residual) push(ci, isa::QueueKind::compute, isa::SemSignal{kAbFree});
            if (ki + 1 == tk) push(ci, isa::QueueKind::compute, isa::SemSignal{kAccFull});
            ++p.pieces;
          }
          push(ci, isa::QueueKind::store, isa::SemWait{kAccFull});
          // The epilogue, in place on the tile's accumulator slot (fp32 lanes on int32/fp32
          // accumulators), from the store queue: the array meanwhile computes the next tile
          // into the other slot.
          for (const int f : ep.ops) {
            const auto& v = *m_w.ops[std::size_t(f)].get_if<VectorOp>();
            const isa::VectorOperand acc{isa::Sram::accumulator, c_sram, std::uint32_t(acc_e)};
            isa::VectorOp vi =
                vector_instruction(v.kind, ms, ns, acc, acc, (bi * op.m + m0) % op.n);
            if (f == ep.add) {
              vi.src2 = {isa::Sram::scratchpad, r_sram, std::uint32_t(e)};
              vi.src2_rows = ms;
            }
            q(ci, isa::QueueKind::store).push_back(inst(vi, f));
            ++m_out.plans[std::size_t(f)].pieces;
          }
          if (ep.add >= 0) push(ci, isa::QueueKind::store, isa::SemSignal{kAbFree});
          for_blocks(vc, m0, ms, n0, ns, e, c_sram, [&](const isa::Block& b) {
            push(ci, isa::QueueKind::store,
                 isa::DmaStore{b, isa::Sram::accumulator, std::uint32_t(acc_e), std::uint32_t(e)});
          });
          push(ci, isa::QueueKind::store, isa::SemSignal{kAccFree});
        }
      }
    }
    for (std::uint64_t c = 0; c < cores; ++c) release(c);
  }

  // --------------------------------------------------- row pieces (vector, embedding, kv_write)
  // Rows per piece: as many as fit a scratchpad slot next to `fixed_bytes`, but at most a
  // quarter of a core's share, so that loads, compute and stores overlap.
  std::uint64_t chunk_rows(std::uint64_t rows, std::uint64_t row_bytes, std::uint64_t fixed_bytes) {
    const std::uint64_t fit =
        m_spad_slot > fixed_bytes ? (m_spad_slot - fixed_bytes) / row_bytes : 0;
    if (fit == 0) {
      fail("a row of " + std::to_string(row_bytes) + " B (plus " + std::to_string(fixed_bytes) +
           " B of parameters) does not fit a scratchpad slot of " + std::to_string(m_spad_slot) +
           " B");
    }
    const std::uint64_t share = ceil_div(rows, m_t.num_cores);
    return std::min(fit, std::max<std::uint64_t>(1, ceil_div(share, 4)));
  }

  // The three-queue pipeline of one row piece on core c: `load` fills the slot, `compute` (may
  // be empty) works on it, `store` empties it.
  template <class Load, class Compute, class Store>
  void piece(std::uint64_t c, Load load, Compute compute, Store store) {
    const std::uint64_t slot = next_ab_slot(c);
    push(c, isa::QueueKind::load, isa::SemWait{kAbFree});
    load(slot);
    push(c, isa::QueueKind::load, isa::SemSignal{kAbFull});
    push(c, isa::QueueKind::compute, isa::SemWait{kAbFull});
    compute(slot);
    push(c, isa::QueueKind::compute, isa::SemSignal{kAccFull});
    push(c, isa::QueueKind::store, isa::SemWait{kAccFull});
    store(slot);
    push(c, isa::QueueKind::store, isa::SemSignal{kAbFree});
    ++plan().pieces;
  }

  void load_rows(std::uint64_t c, const View& v, std::uint64_t r0, std::uint64_t nr,
                 std::uint64_t cols, std::uint64_t e, std::uint64_t sram) {
    for_blocks(v, r0, nr, 0, cols, e, sram, [&](const isa::Block& b) {
      push(c, isa::QueueKind::load, isa::DmaLoad{b, isa::Sram::scratchpad, std::uint32_t(e)});
    });
  }
  void store_rows(std::uint64_t c, const View& v, std::uint64_t r0, std::uint64_t nr,
                  std::uint64_t cols, std::uint64_t e, std::uint64_t sram) {
    for_blocks(v, r0, nr, 0, cols, e, sram, [&](const isa::Block& b) {
      push(c, isa::QueueKind::store,
           isa::DmaStore{b, isa::Sram::scratchpad, std::uint32_t(e), std::uint32_t(e)});
    });
  }

  // ---------------------------------------------------------------- vector
  // A vector instruction of `kind` on rows x cols from `src` to `dst`, without a second source;
  // `query_pos0`: a mask's first row is that query (row r of a block of cols query rows).
  static isa::VectorOp vector_instruction(VectorKind kind, std::uint64_t rows, std::uint64_t cols,
                                          isa::VectorOperand src, isa::VectorOperand dst,
                                          std::uint64_t query_pos0) {
    isa::VectorOp v;
    v.kind = kind;
    v.rows = rows;
    v.cols = cols;
    v.dtype = isa::DType::fp32;  // the unit computes in fp32 (core.vector.dtypes)
    v.src = src;
    v.dst = dst;
    if (kind == VectorKind::mask) v.mask.query_pos0 = query_pos0;
    if (kind == VectorKind::scale) v.scalar = 0.125;  // 1/sqrt(d): timing only
    return v;
  }

  void lower(const VectorOp& op) {
    const std::uint64_t e = isa::size_bytes(op.dtype);
    const std::uint64_t in_e = op.kind == VectorKind::dequantize ? 1 : e;
    OpPlan& p = plan();
    // Row sources (op outputs, inputs, caches) and the parameter (a weight) of the op.
    std::vector<View> sources;
    bool weight_input = false;
    for (const Operand& x : op.inputs) {
      if (x.source == Source::weight) {
        weight_input = true;
        continue;
      }
      View v;
      if (x.is_op()) {
        const std::uint64_t base = producer(x).addr;
        v = dense(base, op.cols, in_e);
        if (op.kind == VectorKind::copy) {
          v = {base + op.row_offset * op.cols * in_e, op.row_stride * op.cols * in_e, kOneGroup, 0};
        }
      } else {
        const std::uint64_t rows = op.kind == VectorKind::copy
                                       ? op.row_offset + (op.rows - 1) * op.row_stride + 1
                                       : op.rows;
        const std::uint64_t base = alloc(rows * op.cols * in_e);
        p.compulsory_bytes += op.rows * op.cols * in_e;
        v = op.kind == VectorKind::copy ? View{base + op.row_offset * op.cols * in_e,
                                               op.row_stride * op.cols * in_e, kOneGroup, 0}
                                        : dense(base, op.cols, in_e);
      }
      sources.push_back(v);
    }
    // Parameters: a broadcast row (add/mul with a weight), gamma (+ beta), or a rope table
    // row per token.
    std::uint64_t param_rows = 0;
    bool table = false;
    if (weight_input) param_rows = 1;
    if (op.kind == VectorKind::layernorm) param_rows = 2;
    if (op.kind == VectorKind::rmsnorm) param_rows = 1;
    if (op.kind == VectorKind::rope) table = true;
    const std::uint64_t param = param_rows ? alloc(param_rows * op.cols * e) : 0;
    const std::uint64_t rope_table = table ? alloc(op.rows * op.cols * e) : 0;
    p.compulsory_bytes += param_rows * op.cols * e + (table ? op.rows * op.cols * e : 0);

    const std::uint64_t row_bytes = op.cols * (sources.size() * in_e + (table ? e : 0));
    const std::uint64_t rows_per = chunk_rows(op.rows, row_bytes, param_rows * op.cols * e);
    p.chunk_rows = rows_per;
    const std::uint64_t out = output(op.rows, op.cols, e);
    const View vout = dense(out, op.cols, e);

    const std::uint64_t chunks = ceil_div(op.rows, rows_per);
    for (std::uint64_t ch = 0; ch < chunks; ++ch) {
      const std::uint64_t c = ch % m_t.num_cores;
      const std::uint64_t r0 = ch * rows_per, nr = std::min(rows_per, op.rows - r0);
      // Slot layout: the sources one after the other, then the table rows, then parameters.
      const std::uint64_t src_bytes = nr * op.cols * in_e;
      const std::uint64_t table_off = sources.size() * src_bytes;
      const std::uint64_t param_off = table_off + (table ? nr * op.cols * e : 0);
      piece(
          c,
          [&](std::uint64_t slot) {
            for (std::size_t s = 0; s < sources.size(); ++s) {
              load_rows(c, sources[s], r0, nr, op.cols, in_e, slot + s * src_bytes);
            }
            if (table)
              load_rows(c, dense(rope_table, op.cols, e), r0, nr, op.cols, e, slot + table_off);
            if (param_rows) {
              push(c, isa::QueueKind::load,
                   isa::DmaLoad{{param_rows, op.cols, param, op.cols * e, slot + param_off},
                                isa::Sram::scratchpad,
                                std::uint32_t(e)});
            }
          },
          [&](std::uint64_t slot) {
            isa::VectorOp v = vector_instruction(
                op.kind, nr, op.cols, {isa::Sram::scratchpad, slot, std::uint32_t(in_e)},
                {isa::Sram::scratchpad, slot, std::uint32_t(e)}, r0 % op.cols);
            if (sources.size() == 2) {
              v.src2 = {isa::Sram::scratchpad, slot + src_bytes, std::uint32_t(in_e)};
              v.src2_rows = nr;
            } else if (table) {
              v.src2 = {isa::Sram::scratchpad, slot + table_off, std::uint32_t(e)};
              v.src2_rows = nr;
            } else if (param_rows) {
              v.src2 = {isa::Sram::scratchpad, slot + param_off, std::uint32_t(e)};
              v.src2_rows = param_rows;
            }
            push(c, isa::QueueKind::compute, v);
          },
          [&](std::uint64_t slot) { store_rows(c, vout, r0, nr, op.cols, e, slot); });
    }
  }

  // ---------------------------------------------------------------- embedding
  void lower(const EmbeddingOp& op) {
    const std::uint64_t e = isa::size_bytes(op.dtype);
    OpPlan& p = plan();
    const std::uint64_t table = alloc(op.vocab * op.hidden * e);
    p.compulsory_bytes += op.tokens * op.hidden * e;
    const std::uint64_t out = output(op.tokens, op.hidden, e);
    const std::uint64_t rows_per = chunk_rows(op.tokens, op.hidden * e, 0);
    p.chunk_rows = rows_per;
    const std::uint64_t chunks = ceil_div(op.tokens, rows_per);
    for (std::uint64_t ch = 0; ch < chunks; ++ch) {
      const std::uint64_t c = ch % m_t.num_cores;
      const std::uint64_t r0 = ch * rows_per, nr = std::min(rows_per, op.tokens - r0);
      piece(
          c,
          [&](std::uint64_t slot) {
            for (std::uint64_t r = 0; r < nr; ++r) {
              // Token ids: a fixed multiplicative hash of the position (no randomness).
              const std::uint64_t id = ((r0 + r) * 2654435761ull + 12345) % op.vocab;
              push(c, isa::QueueKind::load,
                   isa::DmaLoad{{1, op.hidden, table + id * op.hidden * e, op.hidden * e,
                                 slot + r * op.hidden * e},
                                isa::Sram::scratchpad,
                                std::uint32_t(e)});
            }
          },
          [](std::uint64_t) {},
          [&](std::uint64_t slot) {
            store_rows(c, dense(out, op.hidden, e), r0, nr, op.hidden, e, slot);
          });
    }
  }

  // ---------------------------------------------------------------- kv_write
  void lower(const KvWriteOp& op) {
    const std::uint64_t e = isa::size_bytes(op.dtype);
    OpPlan& p = plan();
    const std::uint64_t d = op.head_dim, cols = op.heads * d, L = op.kv_len + op.tokens;
    const std::uint64_t cache = alloc(op.batch * op.heads * L * d * e);
    m_regions[std::size_t(m_op)] = {cache, op.batch * op.heads * L, d};
    p.compulsory_bytes += op.written_elements() * e;
    View in;
    if (op.input.is_op()) {
      in = dense(producer(op.input).addr, cols, e);
    } else {
      in = dense(alloc(op.batch * op.tokens * cols * e), cols, e);
      p.compulsory_bytes += op.batch * op.tokens * cols * e;
    }
    const std::uint64_t rows_per =
        std::min(op.tokens, chunk_rows(op.batch * op.tokens, cols * e, 0));
    p.chunk_rows = rows_per;
    std::uint64_t ch = 0;
    for (std::uint64_t b = 0; b < op.batch; ++b) {
      for (std::uint64_t t0 = 0; t0 < op.tokens; t0 += rows_per, ++ch) {
        const std::uint64_t c = ch % m_t.num_cores, nr = std::min(rows_per, op.tokens - t0);
        piece(
            c, [&](std::uint64_t slot) { load_rows(c, in, b * op.tokens + t0, nr, cols, e, slot); },
            [](std::uint64_t) {},
            [&](std::uint64_t slot) {
              for (std::uint64_t h = 0; h < op.heads; ++h) {
                const std::uint64_t row = (b * op.heads + h) * L + op.kv_len + t0;
                push(c, isa::QueueKind::store,
                     isa::DmaStore{{nr, d, cache + row * d * e, d * e, slot + h * nr * d * e},
                                   isa::Sram::scratchpad,
                                   std::uint32_t(e),
                                   std::uint32_t(e)});
              }
            });
      }
    }
  }

  const Workload& m_w;
  const Target& m_t;
  const MappingOptions& m_o;
  const ScratchpadLayout m_layout;
  const std::uint64_t m_spad_slot, m_acc_slot;
  Lowered m_out;
  std::vector<Region> m_regions;
  std::vector<std::uint32_t> m_dep_sem;
  std::vector<int> m_last_producer;
  std::vector<int> m_last_use;  // per op: the last op reading its output, or -1
  std::vector<int> m_readers;   // per op: how many ops read its output
  std::vector<int> m_fused_into;  // per op: the matmul whose epilogue runs it, or -1
  DramBuffers m_dram;
  std::vector<std::uint32_t> m_ab_slot, m_acc_slot_index;
  std::vector<std::uint32_t> m_a_region;  // per core: the A region its next row block takes
  std::uint32_t m_next_barrier = 0;
  int m_op = 0;
};

}  // namespace

Lowered lower(const Workload& w, const Target& t, const MappingOptions& options) {
  return Lowerer(w, t, options).run();
}

}  // namespace llmsim::workloads
