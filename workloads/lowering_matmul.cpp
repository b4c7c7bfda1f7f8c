// Matmul lowering: tiles, their split over the cores, A-resident row blocks, and the ops fused
// into a matmul's epilogue (lowerer.h, lowering.h).
#include <algorithm>
#include <limits>

#include "sim/core/error.h"
#include "sim/core/units.h"
#include "workloads/lowerer.h"
#include "workloads/quant.h"

namespace llmsim::workloads::detail {

Lowerer::Epilogue Lowerer::epilogue_chain(const MatmulOp& op, const Tiling& tl) const {
  Epilogue ep;
  // A chain's (append_to) stores write its buffer, not an epilogue's output.
  if (!m_o.fuses() || op.append_to >= 0 || m_continued_by[std::size_t(m_op)] >= 0) return ep;
  const std::uint64_t e = isa::size_bytes(op.dtype), acc_e = isa::accumulator_bytes(op.dtype);
  // The slot of the last k piece: its A piece (unless A-resident), B, the bias row if tk = 1.
  const std::uint64_t piece_bytes =
      (tl.a_resident ? 0 : tl.mt * tl.kt * e) + tl.kt * tl.nt * e + (op.bias ? tl.nt * acc_e : 0);
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

std::uint64_t Lowerer::context_tokens(const MatmulOp& op, std::uint64_t hkv) const {
  const std::uint64_t bsz = op.batch / hkv;
  std::uint64_t s = 0;
  for (std::size_t f = std::size_t(m_op) + 1; f < m_w.ops.size(); ++f) {
    for (const Operand& x : m_w.ops[f].operands()) {
      if (!x.is_op() || x.op != m_op) continue;
      const auto* r = m_w.ops[f].get_if<MatmulOp>();
      if (r == nullptr || !(r->a == x) || r->batch != 1 || r->m % bsz != 0) return 0;
      const std::uint64_t rs = r->m / bsz;  // tokens per sequence, as this reader sees them
      if (rs == 0 || op.m % rs != 0 || r->k != hkv * (op.m / rs) * op.n || (s && rs != s)) {
        return 0;
      }
      s = rs;
    }
  }
  // One token or one head: token-major is the dense layout itself.
  return s > 1 && op.batch * op.m / s / bsz > 1 ? s : 0;
}

std::uint64_t Lowerer::chain_group(const MatmulOp& op, std::uint64_t hkv) const {
  const int last = chain_last(m_op);
  std::uint64_t g = 0;
  for (std::size_t f = std::size_t(last) + 1; f < m_w.ops.size(); ++f) {
    for (const Operand& x : m_w.ops[f].operands()) {
      if (!x.is_op() || x.op != last) continue;
      const auto* r = m_w.ops[f].get_if<MatmulOp>();
      if (r == nullptr || !(r->a == x) || r->batch != 1 || r->a_offset != 0 ||
          r->k % (hkv * op.n) != 0 || (g && r->k / (hkv * op.n) != g)) {
        return 0;
      }
      g = r->k / (hkv * op.n);
    }
  }
  return g && op.batch == hkv && op.m % g == 0 ? g : 0;
}

// ---------------------------------------------------------------- matmul
void Lowerer::lower(const MatmulOp& op) {
  const std::uint64_t e = isa::size_bytes(op.dtype), acc_e = isa::accumulator_bytes(op.dtype);
  OpPlan& p = plan();
  const Tiling& tl = p.tiling;  // chosen by plan_sizes
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
  // A chain of outputs (append_to): one buffer, each op's rows after the previous op's. As
  // token-major rows of H x d = hkv x g x n when the chain's readers say so (chain_group), each
  // op then holds s = m / g tokens (one sequence's context); else dense.
  const bool chained = op.append_to >= 0 || m_continued_by[std::size_t(m_op)] >= 0;
  const std::uint64_t chain_g = chained && attention ? chain_group(op, hkv) : 0;
  // The context: stored token-major when its readers take it so (context_tokens).
  std::uint64_t ctx_s = attention && !chained ? context_tokens(op, hkv) : 0;
  if (chain_g && op.m / chain_g > 1 && hkv * chain_g > 1) ctx_s = op.m / chain_g;

  // Operand views per batch item.
  const std::uint64_t sr = op.transpose_b ? op.n : op.k, sc = op.transpose_b ? op.k : op.n;
  const std::uint64_t a_ext = op.a.is_op() ? 0 : alloc_tensor("a", op.batch * op.m, op.k, e).addr;
  std::uint64_t b_ext = 0;
  if (!op.b.is_op()) {
    DramTensor& b = alloc_tensor("b", op.batch * sr, sc, e);
    b_ext = b.addr;
    if (m_o.tiles_weights()) {  // as the loads below read it
      b.item_rows = sr;
      b.tile_rows = op.transpose_b ? tl.nt : tl.kt;
      b.tile_cols = op.transpose_b ? tl.kt : tl.nt;
    }
  }
  const std::uint64_t bias = op.bias ? alloc_tensor("bias", 1, op.n, acc_e).addr : 0;
  if (!op.a.is_op()) p.compulsory_bytes += op.batch * op.m * op.k * e;
  if (!op.b.is_op()) p.compulsory_bytes += op.batch * sr * sc * e;
  if (op.bias) p.compulsory_bytes += op.n * acc_e;
  if (op.b.is_op()) {
    if (const auto* kv = producer_op(op.b).get_if<KvWriteOp>()) {
      p.compulsory_bytes += kv->batch * kv->heads * kv->kv_len * kv->head_dim * e;
    }
  }
  // An op-produced A from element a_offset on: its producer's region from there, in whole
  // rows when the offset and the size are whole rows.
  Region ra = op.a.is_op() ? producer(op.a) : Region{};
  if (op.a.is_op() && op.a_offset) {
    const std::uint64_t need = op.batch * op.m * op.k;
    ra.addr += op.a_offset * e;
    if (ra.cols && op.a_offset % ra.cols == 0 && need % ra.cols == 0) {
      ra.rows = need / ra.cols;
    } else {
      ra.rows = op.batch * op.m, ra.cols = op.k;
    }
  }
  auto view_a = [&](std::uint64_t bi) -> View {
    if (!op.a.is_op()) return dense(a_ext + bi * op.m * op.k * e, op.k, e);
    const Region& r = ra;
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
    const std::uint64_t base = r.addr + (b * s * r.cols + j * g * op.k) * e;
    if (s == 1) return dense(base, op.k, e);  // one token: the g heads lie side by side
    return {base, r.cols * e, s, op.k * e};
  };
  auto view_b = [&](std::uint64_t bi) -> View {  // as stored: sr x sc
    if (!op.b.is_op()) return dense(b_ext + bi * sr * sc * e, sc, e);
    const Region& r = producer(op.b);
    if (const auto* kv = producer_op(op.b).get_if<KvWriteOp>()) {
      // A paged cache through its block table, one KV head per item (the attention shape);
      // any other view of it as the dense run of the pool it covers.
      if (kv->paged() && op.batch == kv->heads && sr == kv->kv_len + kv->tokens &&
          sc == kv->head_dim) {
        return paged_view(op.b.op, bi);
      }
      return dense(r.addr + bi * sr * sc * e, sc, e);
    }
    if ((r.rows == op.batch * sr && r.cols == sc) || !attention) {
      return dense(r.addr + bi * sr * sc * e, sc, e);
    }
    const std::uint64_t b = bi / hkv, j = bi % hkv;
    return {r.addr + (b * sr * r.cols + j * sc) * e, r.cols * e, kOneGroup, 0};
  };
  const Epilogue ep = epilogue_chain(op, tl);
  for (const int f : ep.ops) m_out.plans[std::size_t(f)].fused_into = m_op;
  const View residual =
      ep.residual >= 0 ? dense(m_regions[std::size_t(ep.residual)].addr, op.n, e) : View{};
  const std::uint64_t ctx_cols = ctx_s ? hkv * (op.m / ctx_s) * op.n : 0;  // H x d
  std::uint64_t c_addr = 0;
  if (chained) {
    // The chain's first op places the buffer for all of it; the last one's readers free it.
    const int last = chain_last(m_op);
    const std::uint64_t total = m_w.ops[std::size_t(last)].output_elements();
    const std::uint64_t cols = chain_g ? hkv * chain_g * op.n : op.n;
    if (op.append_to < 0) {
      m_chain_buffer[m_op] = output(ceil_div(total, cols), cols, e);  // whole, even if odd
      m_regions[std::size_t(m_op)].bytes = 0;
    } else {
      m_chain_buffer[m_op] = m_chain_buffer.at(op.append_to);
    }
    const std::uint64_t base = m_chain_buffer[m_op];
    const std::uint64_t rows = op.output_elements() / cols;
    m_regions[std::size_t(m_op)] = {base, rows, cols, m_op == last ? total * e : 0};
    m_out.outputs[std::size_t(m_op)] = {base, rows, cols, e, m_op, true};
    c_addr = base + op.prefix_elements * e;
  } else {
    c_addr = ctx_s ? output(bsz * ctx_s, ctx_cols, e) : output(op.batch * op.m, op.n, e, ep.ops);
  }
  auto view_c = [&](std::uint64_t bi) -> View {
    if (ctx_s == 0) return dense(c_addr + bi * op.m * op.n * e, op.n, e);
    // Item (b, j), row i: query head j*g + i / s, token i % s of sequence b (as view_a's Q).
    const std::uint64_t b = bi / hkv, j = bi % hkv;
    return {c_addr + (b * ctx_s * ctx_cols + j * op.m / ctx_s * op.n) * e, ctx_cols * e, ctx_s,
            op.n * e};
  };

  // The output tiles' cores (tiling.h).
  const std::uint64_t cores = m_t.num_cores;
  const auto core_of_tile = [&](std::uint64_t bi, std::uint64_t mi, std::uint64_t ni) {
    return core_of(tl.split, tl.cores, tm, tn, bi, mi, ni);
  };

  // A-resident tiles: the row block (bi, mi) each core holds, and where. A core that starts a
  // new block waits for a free region (kAFree), and frees the old one after its last GEMM.
  struct Held {
    bool valid = false;
    std::uint64_t bi = 0, mi = 0, region = 0;
  };
  std::vector<Held> held(cores);
  const auto release = [&](std::uint64_t c) {
    if (!held[c].valid) return;
    push(c, isa::QueueKind::compute, isa::SemSignal{kAFree, /*after_reads=*/true});
    held[c].valid = false;
  };
  for (std::uint64_t bi = 0; bi < op.batch; ++bi) {
    const View va = view_a(bi), vb = view_b(bi), vc = view_c(bi);
    for (std::uint64_t mi = 0; mi < tm; ++mi) {
      for (std::uint64_t ni = 0; ni < tn; ++ni) {
        const std::uint64_t ci = core_of_tile(bi, mi, ni);
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
            h = {true, bi, mi,
                 m_layout.slots * m_spad_slot + m_a_region[ci] * m_layout.a_region_bytes};
            m_a_region[ci] ^= 1;
            push(ci, isa::QueueKind::load, isa::SemWait{kAFree});
          }
        }
        std::uint64_t r_sram = 0;  // the residual tile, in the last k piece's slot
        std::uint32_t r_free = kAbFree;  // and that slot's "free" semaphore
        for (std::uint64_t ki = 0; ki < tk; ++ki) {
          const std::uint64_t k0 = ki * tl.kt, ks = std::min(tl.kt, op.k - k0);
          const AbSlot slot = next_ab_slot(ci);
          // A-resident: piece ki of the block at region + ms * k0 elements; B fills the slot.
          const std::uint64_t a_sram = tl.a_resident ? held[ci].region + ms * k0 * e : slot.addr;
          const std::uint64_t b_sram = tl.a_resident ? slot.addr : slot.addr + ms * ks * e;
          push(ci, isa::QueueKind::load, isa::SemWait{slot.free});
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
          if (!op.b.is_op() && m_o.tiles_weights()) {
            // Tiled weights (MappingOptions): row block r0 (rs rows of the stored sr x sc
            // matrix) is contiguous, and its tile at column c0 starts rs x c0 elements into it.
            const std::uint64_t r0 = op.transpose_b ? n0 : k0, rs = op.transpose_b ? ns : ks;
            const std::uint64_t c0 = op.transpose_b ? k0 : n0, cs = op.transpose_b ? ks : ns;
            load_b(isa::Block{rs, cs, vb.base + (r0 * sc + rs * c0) * e, cs * e, b_sram});
          } else if (op.transpose_b) {
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
            r_free = slot.free;
            for_blocks(residual, bi * op.m + m0, ms, n0, ns, e, r_sram, [&](const isa::Block& b) {
              add(ci, isa::QueueKind::load,
                  inst(isa::DmaLoad{b, isa::Sram::scratchpad, std::uint32_t(e)}, ep.add));
            });
          }
          push(ci, isa::QueueKind::load, isa::SemSignal{kAbFull});
          push(ci, isa::QueueKind::compute, isa::SemWait{kAbFull});
          if (ki == 0) push(ci, isa::QueueKind::compute, isa::SemWait{kAccFree});
          // The tiling's dataflow; none when it is the arrays' default (the printed program
          // then names only the others).
          isa::Gemm g{a_sram, b_sram, c_sram, ms, ks, ns, op.dtype, ki > 0, {}, {}, op.transpose_b};
          if (op.bias && ki == 0) g.bias_addr = b_sram + ks * ns * e;  // loaded above
          if (tl.dataflow != m_t.dataflows.front()) g.dataflow = tl.dataflow;
          push(ci, isa::QueueKind::compute, g);
          if (!holds_residual) {
            push(ci, isa::QueueKind::compute, isa::SemSignal{slot.free, /*after_reads=*/true});
          }
          if (ki + 1 == tk) push(ci, isa::QueueKind::compute, isa::SemSignal{kAccFull});
          ++p.pieces;
        }
        push(ci, isa::QueueKind::store, isa::SemWait{kAccFull});
        // The epilogue, in place on the tile's accumulator slot (fp32 lanes on int32/fp32
        // accumulators), from the store queue: the array meanwhile computes the next tile
        // into the other slot.
        // int8 (quant.h): the first op dequantises the accumulator (step s_a x s_b), each
        // quantises its result at its own step into the slot, the next reads it at that step.
        double step = accumulator_scale(m_w, m_op);
        for (const int f : ep.ops) {
          const auto& v = *m_w.ops[std::size_t(f)].get_if<VectorOp>();
          const isa::VectorOperand acc{isa::Sram::accumulator, c_sram, std::uint32_t(acc_e)};
          isa::VectorOp vi = vector_instruction(v.kind, ms, ns, acc, acc);
          vi.src_scale = float(step);
          step = output_scale(m_w.ops[std::size_t(f)]);
          vi.dst_scale = float(step);
          if (f == ep.add) {
            vi.src2 = {isa::Sram::scratchpad, r_sram, std::uint32_t(e)};
            vi.src2_rows = ms;
            vi.src2_scale = float(output_scale(m_w.ops[std::size_t(ep.residual)]));
          }
          for (const isa::VectorOp& x : op_instructions(v, vi, bi * op.m + m0, n0)) {
            add(ci, isa::QueueKind::store, inst(x, f));
          }
          ++m_out.plans[std::size_t(f)].pieces;
        }
        if (ep.add >= 0) push(ci, isa::QueueKind::store, isa::SemSignal{r_free});
        // The requantisation s_a x s_b / s_out (after an epilogue the slot holds its result).
        const float requant =
            ep.ops.empty() ? float(step / output_scale(m_w.ops[std::size_t(m_op)])) : 1.0f;
        for_blocks(
            vc, m0, ms, n0, ns, e, c_sram,
            [&](const isa::Block& b) {
              push(ci, isa::QueueKind::store,
                   isa::DmaStore{b, isa::Sram::accumulator, std::uint32_t(acc_e),
                                 std::uint32_t(e), requant});
            },
            acc_e);
        push(ci, isa::QueueKind::store, isa::SemSignal{kAccFree});
      }
    }
  }
  for (std::uint64_t c = 0; c < cores; ++c) release(c);
}

}  // namespace llmsim::workloads::detail
