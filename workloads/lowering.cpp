#include "workloads/lowering.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "sim/core/error.h"
#include "sim/core/units.h"
#include "workloads/limits.h"
#include "workloads/lowerer.h"
#include "workloads/quant.h"

namespace llmsim::workloads {

namespace detail {

void name_tensor(DramTensor& t, const Op& op) {
  const auto add = [&](const std::string& key, std::uint64_t row,
                       std::vector<std::uint64_t> shape) {
    for (const ParamRef& p : op.params()) {
      if (p.key == key) t.params.push_back({p, row, std::move(shape)});
    }
  };
  if (const auto* mm = op.get_if<MatmulOp>()) {
    if (t.role == "b") {
      std::uint64_t r = mm->transpose_b ? mm->n : mm->k, c = mm->transpose_b ? mm->k : mm->n;
      for (const ParamRef& p : op.params()) {
        if (p.key == "b" && p.transpose) std::swap(r, c);
      }
      add("b", 0,
          mm->batch > 1 ? std::vector<std::uint64_t>{mm->batch, r, c}
                        : std::vector<std::uint64_t>{r, c});
    }
    if (t.role == "bias") add("bias", 0, {mm->n});
  } else if (const auto* e = op.get_if<EmbeddingOp>()) {
    if (t.role == "table") add("table", 0, {e->vocab, e->hidden});
  } else if (const auto* kv = op.get_if<KvWriteOp>()) {
    // The kv_len cached rows of each (sequence, head): rows [0, kv_len) of its block of
    // kv_len + tokens rows; the array is [batch * heads * kv_len, head_dim].
    if (t.role != "cache" || kv->kv_len == 0) return;
    add("cache", 0, {kv->batch * kv->heads * kv->kv_len, kv->head_dim});
    for (TensorParam& tp : t.params) {
      tp.block_rows = kv->kv_len;
      tp.block_stride = kv->kv_len + kv->tokens;
    }
  } else if (const auto* v = op.get_if<VectorOp>()) {
    if (t.role != "param") return;
    if (v->kind == VectorKind::layernorm) {
      add("gamma", 0, {v->cols});
      add("beta", 1, {v->cols});
    } else if (v->kind == VectorKind::rmsnorm) {
      add("gamma", 0, {v->cols});
    } else {
      add("weight", 0, {v->cols});
    }
  }
}

namespace {

std::string dataflow_names(const Target& t) {
  std::string out;
  for (isa::Dataflow d : t.dataflows)
    out += (out.empty() ? "" : ", ") + std::string(isa::to_string(d));
  return out;
}

}  // namespace

Lowered Lowerer::run() {
  LLMSIM_CHECK(m_t.num_cores >= 1 && m_t.gemm_cost && !m_t.dataflows.empty(),
               "incomplete lowering target");
  const std::size_t n = m_w.ops.size();
  m_max_instructions = m_o.max_instructions.value_or(max_instructions_from_env());
  m_out.plans.resize(n);
  m_out.outputs.resize(n);
  for (const Op& o : m_w.ops) {
    if (const auto* mm = o.get_if<MatmulOp>()) {
      m_matmul_macs += double(mm->batch * mm->m) * double(mm->k) * double(mm->n);
    }
  }
  m_out.program.cores.resize(m_t.num_cores);
  m_regions.resize(n);
  m_ab_slot.assign(m_t.num_cores, 0);
  m_acc_slot_index.assign(m_t.num_cores, 0);
  m_a_region.assign(m_t.num_cores, 0);
  m_continued_by.assign(n, -1);
  for (std::size_t i = 0; i < n; ++i) {
    if (const auto* mm = m_w.ops[i].get_if<MatmulOp>()) {
      if (mm->append_to >= 0) m_continued_by[std::size_t(mm->append_to)] = int(i);
    }
  }

  // Op i waits for the last of its producers; that producer's stores release it.
  // And the last op that reads each op's output (-1: none, so it is kept: a result).
  m_dep_sem.assign(n, 0);
  m_last_producer.assign(n, -1);
  m_last_use.assign(n, -1);
  m_readers.assign(n, 0);
  std::uint32_t next_sem = kFirstSlot + m_layout.slots - 1;
  std::vector<std::vector<std::size_t>> released(n);  // per op: the ops it is last producer of
  for (std::size_t i = 0; i < n; ++i) {
    for (const Operand& x : m_w.ops[i].operands()) {
      if (!x.is_op()) continue;
      m_last_producer[i] = std::max(m_last_producer[i], x.op);
      if (m_last_use[std::size_t(x.op)] != int(i)) ++m_readers[std::size_t(x.op)];
      m_last_use[std::size_t(x.op)] = int(i);
    }
    if (m_last_producer[i] >= 0) {
      m_dep_sem[i] = next_sem++;
      released[std::size_t(m_last_producer[i])].push_back(i);
    }
  }
  // After the readers are known: the search prices each matmul's epilogue (tiling()).
  plan_sizes();
  for (auto& core : m_out.program.cores) {
    core.semaphore_init.assign(next_sem, 0);
    core.semaphore_init[kAbFree] = 1;
    for (std::uint32_t i = 1; i < m_layout.slots; ++i) core.semaphore_init[kFirstSlot + i - 1] = 1;
    core.semaphore_init[kAccFree] = 2;
    core.semaphore_init[kAFree] = 2;
  }

  for (std::size_t i = 0; i < n; ++i) {
    m_op = int(i);
    // An op fused into a matmul's epilogue ran there (its instructions carry its index);
    // its consumers wait for the matmul's stores, which precede the signals below.
    if (m_out.plans[i].fused_into < 0) {
      if (m_last_producer[i] >= 0) {
        const std::uint32_t barrier = m_next_barrier++;
        for (std::uint64_t c = 0; c < m_t.num_cores; ++c) {
          push(c, isa::QueueKind::load, isa::SemWait{m_dep_sem[i]});
          push(c, isa::QueueKind::load, isa::Barrier{barrier});
        }
      }
      m_cost = OpCost{std::vector<double>(m_t.num_cores, 0.0), 0};
      std::visit([this](const auto& body) { lower(body); }, m_w.ops[i].body());
      OpPlan& p = m_out.plans[i];
      p.predicted_cycles =
          m_w.ops[i].get_if<MatmulOp>() ? p.tiling.estimate_cycles : predict_rows();
    }
    retire_inputs(i);
    for (const std::size_t j : released[i]) {
      if (m_out.plans[j].fused_into >= 0) continue;
      for (std::uint64_t c = 0; c < m_t.num_cores; ++c) {
        add(c, isa::QueueKind::store, inst(isa::SemSignal{m_dep_sem[j]}, -1));
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
  const std::uint64_t capacity = m_t.dram_capacity_bytes.value_or(kMaxDramBytes);
  if (m_out.dram_footprint_bytes > capacity) {
    throw WorkloadError("workload '" + m_w.name + "' needs " +
                        std::to_string(m_out.dram_footprint_bytes) +
                        " bytes of DRAM (weights, inputs and the live activations), more than "
                        "the memory's " +
                        std::to_string(capacity));
  }
  return std::move(m_out);
}

Tiling Lowerer::tiling(const MatmulOp& op) {
  // The epilogue it would fuse with tiles of whole rows (softmax needs them; element-wise ops
  // and a residual add do not), priced per output tile.
  Tiling whole_rows;
  whole_rows.mt = 1, whole_rows.kt = op.k, whole_rows.nt = op.n;
  std::vector<VectorKind> epilogue;
  if (m_o.fuses() && m_t.vector_cycles) {
    for (const int f : epilogue_chain(op, whole_rows).ops) {
      epilogue.push_back(m_w.ops[std::size_t(f)].get_if<VectorOp>()->kind);
    }
  }
  // A transformer repeats its shapes layer after layer: search each shape and epilogue once
  // (Llama's gate_proj, fused with SiLU, and up_proj, fused with nothing, are two searches).
  TilingKey key{op.m,     op.k,          op.n,
                op.batch, int(op.dtype), op.transpose_b,
                op.bias,  op.b.is_op(),  op.dataflow ? int(*op.dataflow) : -1,
                {}};
  for (const VectorKind k : epilogue) key.epilogue.push_back(int(k));
  if (m_o.automatic) {
    const auto it = m_tilings.find(key);
    if (it != m_tilings.end()) return it->second;
  }
  MappingContext ctx{m_layout, m_o.tiles_weights(), m_o.tiles, 0, {}};
  if (!epilogue.empty()) {
    ctx.epilogue_cycles = [this, epilogue](std::uint64_t rows, std::uint64_t cols) {
      const isa::VectorOperand acc{isa::Sram::accumulator, 0, 4};
      double c = 0;
      for (const VectorKind k : epilogue) {
        c += double(m_t.vector_cycles(vector_instruction(k, rows, cols, acc, acc)));
      }
      return c;
    };
  }
  // Half the instruction limit, shared by the matmuls in proportion to their MACs: the search
  // then never takes tiles so small that the program passes the limit.
  ctx.instruction_budget = m_matmul_macs > 0
                               ? 0.5 * double(m_max_instructions) * double(op.batch * op.m) *
                                     double(op.k) * double(op.n) / m_matmul_macs
                               : 0;
  if (!m_o.automatic) return fixed_tiling(m_t, op, ctx, m_o.split);
  return m_tilings[key] = choose_tiling(m_t, op, ctx, m_o.split);
}

void Lowerer::plan_sizes() {
  const double slot = double(std::max<std::uint64_t>(m_spad_slot, 1));
  // Rows of `row_bytes` a slot holds (at least 1: a row too wide fails in the lowering).
  const auto fit = [&](double row_bytes) { return std::max(1.0, std::floor(slot / row_bytes)); };
  double total = 0, fixed_bytes = 0, most = 0;
  int most_op = 0;
  std::set<std::string> pools;
  for (std::size_t i = 0; i < m_w.ops.size(); ++i) {
    m_op = int(i);
    const Op& o = m_w.ops[i];
    const double e = double(isa::size_bytes(o.dtype()));
    double n = 0;  // instructions, a slight underestimate (one DMA block per load)
    if (const auto* mm = o.get_if<MatmulOp>()) {
      if (std::find(m_t.dtypes.begin(), m_t.dtypes.end(), mm->dtype) == m_t.dtypes.end()) {
        fail(std::string("dtype ") + isa::to_string(mm->dtype) +
             " is not supported by the systolic array (core.systolic.dtypes)");
      }
      if (mm->dataflow && std::find(m_t.dataflows.begin(), m_t.dataflows.end(), *mm->dataflow) ==
                              m_t.dataflows.end()) {
        fail(std::string("dataflow ") + isa::to_string(*mm->dataflow) +
             " is not offered by the systolic array, which offers " + dataflow_names(m_t) +
             " (core.systolic.dataflows)");
      }
      const Tiling tl = tiling(*mm);  // in the trace's dataflow, if it names one
      m_out.plans[i].tiling = tl;
      const double out_tiles = double(mm->batch) * std::ceil(double(mm->m) / double(tl.mt)) *
                               std::ceil(double(mm->n) / double(tl.nt));
      // Per k piece: wait, A, B, signal | wait, GEMM, signal; per output tile: wait, store,
      // signal and the accumulator's wait and signal.
      n = 6 * out_tiles * std::ceil(double(mm->k) / double(tl.kt)) + 5 * out_tiles;
      const double b_rows = mm->transpose_b ? double(mm->n) : double(mm->k);
      const double b_cols = mm->transpose_b ? double(mm->k) : double(mm->n);
      if (!mm->a.is_op()) fixed_bytes += double(mm->batch) * double(mm->m) * double(mm->k) * e;
      if (!mm->b.is_op()) fixed_bytes += double(mm->batch) * b_rows * b_cols * e;
    } else if (const auto* v = o.get_if<VectorOp>()) {
      const double rows = double(v->rows), cols = double(v->cols);
      n = 8 * std::ceil(rows / fit(cols * e));
      for (const Operand& x : v->inputs) fixed_bytes += x.is_op() ? 0 : rows * cols * e;
      if (v->kind == VectorKind::rope) {
        fixed_bytes +=
            (double(v->kv_len) + double(v->rope_tokens())) * double(v->rope_head_dim()) * e;
      }
    } else if (const auto* em = o.get_if<EmbeddingOp>()) {
      const double tokens = double(em->tokens), hidden = double(em->hidden);
      n = tokens + 6 * std::ceil(tokens / fit(hidden * e));
      fixed_bytes += double(em->vocab) * hidden * e;
    } else if (const auto* kv = o.get_if<KvWriteOp>()) {
      const double row = double(kv->heads) * double(kv->head_dim) * e;
      const double pieces = double(kv->batch) * std::ceil(double(kv->tokens) / fit(row));
      n = pieces * (6 + double(kv->heads));
      if (!kv->paged()) {
        fixed_bytes += double(kv->batch) * (double(kv->kv_len) + double(kv->tokens)) * row;
      } else if (pools.insert(kv->pool).second) {
        fixed_bytes += double(kv->pool_blocks) * double(kv->block_size) * row;
      }
      if (!kv->input.is_op()) fixed_bytes += double(kv->batch) * double(kv->tokens) * row;
    }
    total += n;
    if (n > most) most = n, most_op = int(i);
  }
  m_op = most_op;
  if (total > double(m_max_instructions)) {
    fail("the workload would lower to about " +
         std::to_string(std::uint64_t(std::min(total, 1e19))) + " ISA instructions (" +
         std::to_string(std::uint64_t(std::min(most, 1e19))) +
         " of them for this op), more than the limit of " + std::to_string(m_max_instructions) +
         kRaiseLimit);
  }
  const std::uint64_t capacity = m_t.dram_capacity_bytes.value_or(kMaxDramBytes);
  if (fixed_bytes > double(capacity)) {
    throw WorkloadError("workload '" + m_w.name + "' needs at least " +
                        std::to_string(std::uint64_t(std::min(fixed_bytes, 1e19))) +
                        " bytes of DRAM for its weights, inputs and KV caches, more than the "
                        "memory's " +
                        std::to_string(capacity));
  }
}

void Lowerer::account(std::uint64_t c, isa::QueueKind k, const isa::Body& b) {
  if (const auto* v = std::get_if<isa::VectorOp>(&b)) {
    if (k == isa::QueueKind::compute && m_t.vector_cycles) {
      m_cost.core_compute[c] += double(m_t.vector_cycles(*v));
    }
  } else if (const auto* l = std::get_if<isa::DmaLoad>(&b)) {
    m_cost.dram_bytes += double(l->block.rows * l->block.cols * l->elem_bytes);
  } else if (const auto* s = std::get_if<isa::DmaStore>(&b)) {
    m_cost.dram_bytes += double(s->block.rows * s->block.cols * s->dram_elem_bytes);
  }
}

double Lowerer::predict_rows() const {
  const OpPlan& p = m_out.plans[std::size_t(m_op)];
  if (p.pieces == 0) return 0;
  const double cores = double(std::min<std::uint64_t>(m_t.num_cores, p.pieces));
  const double bw = std::min(m_t.dram_bytes_per_cycle, m_t.dma_bytes_per_cycle * cores);
  const double busiest = *std::max_element(m_cost.core_compute.begin(), m_cost.core_compute.end());
  const double piece_bytes = m_cost.dram_bytes / double(p.pieces);
  return std::max(busiest, m_cost.dram_bytes / bw) + piece_bytes / m_t.dma_bytes_per_cycle;
}

// --------------------------------------------------- row pieces (vector, embedding, kv_write)
// Rows per piece: as many as fit a scratchpad slot next to `fixed_bytes`, but at most a
// quarter of a core's share, so that loads, compute and stores overlap.
std::uint64_t Lowerer::chunk_rows(std::uint64_t rows, std::uint64_t row_bytes,
                                  std::uint64_t fixed_bytes) {
  const std::uint64_t fit = m_spad_slot > fixed_bytes ? (m_spad_slot - fixed_bytes) / row_bytes : 0;
  if (fit == 0) {
    fail("a row of " + std::to_string(row_bytes) + " B (plus " + std::to_string(fixed_bytes) +
         " B of parameters) does not fit a scratchpad slot of " + std::to_string(m_spad_slot) +
         " B");
  }
  const std::uint64_t share = ceil_div(rows, m_t.num_cores);
  return std::min(fit, std::max<std::uint64_t>(1, ceil_div(share, 4)));
}

void Lowerer::load_rows(std::uint64_t c, const View& v, std::uint64_t r0, std::uint64_t nr,
                        std::uint64_t cols, std::uint64_t e, std::uint64_t sram) {
  for_blocks(v, r0, nr, 0, cols, e, sram, [&](const isa::Block& b) {
    push(c, isa::QueueKind::load, isa::DmaLoad{b, isa::Sram::scratchpad, std::uint32_t(e)});
  });
}

void Lowerer::store_rows(std::uint64_t c, const View& v, std::uint64_t r0, std::uint64_t nr,
                         std::uint64_t cols, std::uint64_t e, std::uint64_t sram) {
  for_blocks(v, r0, nr, 0, cols, e, sram, [&](const isa::Block& b) {
    push(c, isa::QueueKind::store,
         isa::DmaStore{b, isa::Sram::scratchpad, std::uint32_t(e), std::uint32_t(e)});
  });
}

// ---------------------------------------------------------------- vector
isa::VectorOp Lowerer::vector_instruction(VectorKind kind, std::uint64_t rows, std::uint64_t cols,
                                          isa::VectorOperand src, isa::VectorOperand dst) {
  isa::VectorOp v;
  v.kind = kind;
  v.rows = rows;
  v.cols = cols;
  v.dtype = isa::DType::fp32;  // the unit computes in fp32 (core.vector.dtypes)
  v.src = src;
  v.dst = dst;
  return v;
}

std::vector<isa::VectorOp> Lowerer::op_instructions(const VectorOp& op, isa::VectorOp v,
                                                    std::uint64_t r0, std::uint64_t c0) {
  if (op.kind == VectorKind::scale) v.scalar = op.scalar;
  if (op.kind != VectorKind::mask) return {v};
  LLMSIM_CHECK(v.src2_rows == 0, "a mask instruction has no second source");
  // Row R of the op is the query at position kv_len + R mod tokens (default: R mod op.cols),
  // column C the key at C (ops.h). The ISA's positions grow with the row (isa.h), so a block
  // that runs from one block of `tokens` query rows into the next is cut there: piece rows R ..
  // R + n - 1 are queries q .. q + n - 1.
  std::vector<isa::VectorOp> out;
  const std::uint64_t end = r0 + v.rows, tokens = op.mask_tokens();
  for (std::uint64_t r = r0; r < end;) {
    const std::uint64_t i = r % tokens, n = std::min(end - r, tokens - i), q = op.kv_len + i;
    const std::uint64_t skip = (r - r0) * v.cols;
    isa::VectorOp piece = v;
    piece.rows = n;
    piece.src.addr += skip * v.src.elem_bytes;
    piece.dst.addr += skip * v.dst.elem_bytes;
    piece.mask = {q, c0, 1};
    out.push_back(piece);
    r += n;
  }
  return out;
}

void Lowerer::lower(const VectorOp& op) {
  const std::uint64_t e = isa::size_bytes(op.dtype);
  const std::uint64_t in_e = op.kind == VectorKind::dequantize ? 1 : e;
  OpPlan& p = plan();
  // Row sources (op outputs, inputs, caches) and the parameter (a weight) of the op, with
  // their quantisation steps (quant.h; 1 unless int8).
  std::vector<View> sources;
  std::vector<float> steps;
  bool weight_input = false;
  for (const Operand& x : op.inputs) {
    if (x.source == Source::weight) {
      weight_input = true;
      continue;
    }
    steps.push_back(float(operand_scale(m_w, m_op, x)));
    // copy, and rope with a row_offset, select input rows (ops.h); row_indices as one group
    // per row.
    const bool selects = op.kind == VectorKind::copy || op.row_offset > 0;
    const bool listed = !op.row_indices.empty();
    std::uint64_t base = 0;
    if (x.is_op()) {
      base = producer(x).addr;
    } else {
      const std::uint64_t rows =
          listed    ? *std::max_element(op.row_indices.begin(), op.row_indices.end()) + 1
          : selects ? op.row_offset + (op.rows - 1) * op.row_stride + 1
                    : op.rows;
      base = alloc_tensor("input", rows, op.cols, in_e).addr;
      p.compulsory_bytes += op.rows * op.cols * in_e;
    }
    View v = dense(base, op.cols, in_e);
    if (listed) {
      std::vector<std::uint64_t>& rows = m_group_bases[m_op];
      rows.clear();
      for (const std::uint64_t r : op.row_indices) rows.push_back(r * op.cols * in_e);
      v = {base, op.cols * in_e, 1, 0, &rows};
    } else if (selects) {
      v = {base + op.row_offset * op.cols * in_e, op.row_stride * op.cols * in_e, kOneGroup, 0};
    }
    sources.push_back(v);
  }
  // Parameters: a broadcast row (add/mul with a weight), gamma (+ beta), or a rope table.
  std::uint64_t param_rows = 0;
  if (weight_input) param_rows = 1;
  if (op.kind == VectorKind::layernorm) param_rows = 2;
  if (op.kind == VectorKind::rmsnorm) param_rows = 1;
  const std::uint64_t param = param_rows ? alloc_tensor("param", param_rows, op.cols, e).addr : 0;
  p.compulsory_bytes += param_rows * op.cols * e;
  // Rope (ops.h): the table holds positions 0 .. kv_len + tokens - 1, d = head_dim wide; row r
  // of the op reads table row kv_len + r mod tokens, so a chunk loads its rows' table rows (one
  // block per sequence it touches: a view of one group per sequence, each at kv_len), or one
  // row for all when every sequence has one token (decode: all at position kv_len). Its
  // instruction views the chunk's nr rows of heads x d as nr x heads rows of d (the same
  // memory), and src2_rows = nr gives the heads of row r table row r (isa.h).
  const bool rope = op.kind == VectorKind::rope;
  const std::uint64_t d = op.rope_head_dim(), tokens = op.rope_tokens();
  const bool one_position = rope && tokens == 1;
  View table;
  if (rope) {
    const std::uint64_t base = alloc_tensor("rope_table", op.kv_len + tokens, d, e).addr;
    table = {base + op.kv_len * d * e, d * e, tokens, 0};
    p.compulsory_bytes += tokens * d * e;
  }

  const std::uint64_t row_bytes =
      op.cols * sources.size() * in_e + (rope && !one_position ? d * e : 0);
  const std::uint64_t fixed = param_rows * op.cols * e + (one_position ? d * e : 0);
  const std::uint64_t rows_per = chunk_rows(op.rows, row_bytes, fixed);
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
    const std::uint64_t table_rows = rope ? (one_position ? 1 : nr) : 0;
    const std::uint64_t param_off = table_off + table_rows * d * e;
    piece(
        c,
        [&](std::uint64_t slot) {
          for (std::size_t s = 0; s < sources.size(); ++s) {
            load_rows(c, sources[s], r0, nr, op.cols, in_e, slot + s * src_bytes);
          }
          if (rope) load_rows(c, table, one_position ? 0 : r0, table_rows, d, e, slot + table_off);
          if (param_rows) {
            push(c, isa::QueueKind::load,
                 isa::DmaLoad{{param_rows, op.cols, param, op.cols * e, slot + param_off},
                              isa::Sram::scratchpad,
                              std::uint32_t(e)});
          }
        },
        [&](std::uint64_t slot) {
          isa::VectorOp v = vector_instruction(op.kind, nr, op.cols,
                                               {isa::Sram::scratchpad, slot, std::uint32_t(in_e)},
                                               {isa::Sram::scratchpad, slot, std::uint32_t(e)});
          if (!steps.empty()) v.src_scale = steps[0];
          v.src2_scale = float(op.weight_scale.value_or(1.0));  // a parameter row or table
          v.dst_scale = float(output_scale(m_w.ops[std::size_t(m_op)]));
          if (sources.size() == 2) {
            v.src2 = {isa::Sram::scratchpad, slot + src_bytes, std::uint32_t(in_e)};
            v.src2_rows = nr;
            v.src2_scale = steps[1];
          } else if (rope) {
            v.rows = nr * (op.cols / d);
            v.cols = d;
            v.src2 = {isa::Sram::scratchpad, slot + table_off, std::uint32_t(e)};
            v.src2_rows = table_rows;
          } else if (param_rows) {
            v.src2 = {isa::Sram::scratchpad, slot + param_off, std::uint32_t(e)};
            v.src2_rows = param_rows;
          }
          for (const isa::VectorOp& x : op_instructions(op, v, r0, 0)) {
            push(c, isa::QueueKind::compute, x);
          }
        },
        [&](std::uint64_t slot) { store_rows(c, vout, r0, nr, op.cols, e, slot); });
  }
}

// ---------------------------------------------------------------- embedding
void Lowerer::lower(const EmbeddingOp& op) {
  const std::uint64_t e = isa::size_bytes(op.dtype);
  OpPlan& p = plan();
  const std::uint64_t table = alloc_tensor("table", op.vocab, op.hidden, e).addr;
  const std::vector<std::uint64_t>* ids =
      !m_o.token_ids.empty() && m_op == token_embedding(m_w) ? &m_o.token_ids : nullptr;
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
            // Token ids: the given ones (MappingOptions::token_ids), else a fixed
            // multiplicative hash of the position (no randomness).
            const std::uint64_t id =
                ids ? (*ids)[r0 + r] : ((r0 + r) * 2654435761ull + 12345) % op.vocab;
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
void Lowerer::lower(const KvWriteOp& op) {
  const std::uint64_t e = isa::size_bytes(op.dtype);
  OpPlan& p = plan();
  const std::uint64_t d = op.head_dim, cols = op.heads * d, L = op.kv_len + op.tokens;
  std::uint64_t cache = 0;
  if (op.paged()) {
    // The pool [pool_blocks][heads][block_size][d] (ops.h), placed at its first kv_write; the
    // output, read through the block table, is not a dense matrix (`stored` false).
    auto it = m_pools.find(op.pool);
    if (it == m_pools.end()) {
      const std::uint64_t rows = op.pool_blocks * op.heads * op.block_size;
      it = m_pools.emplace(op.pool, alloc_tensor("cache", rows, d, e).addr).first;
    }
    cache = it->second;
    std::vector<std::uint64_t>& bases = m_group_bases[m_op];
    bases.clear();
    for (const std::uint64_t b : op.blocks) {
      bases.push_back(cache + b * op.heads * op.block_size * d * e);
    }
    m_regions[std::size_t(m_op)] = {cache, op.heads * L, d};
    m_out.outputs[std::size_t(m_op)] = {cache, op.heads * L, d, e, m_op, false};
  } else {
    cache = alloc_tensor("cache", op.batch * op.heads * L, d, e).addr;
    m_regions[std::size_t(m_op)] = {cache, op.batch * op.heads * L, d};
    m_out.outputs[std::size_t(m_op)] = {cache, op.batch * op.heads * L, d, e, m_op, true};
  }
  p.compulsory_bytes += op.written_elements() * e;
  View in;
  if (op.input.is_op()) {
    in = dense(producer(op.input).addr + op.row_offset * cols * e, cols, e);
  } else {
    in = dense(alloc_tensor("input", op.batch * op.tokens, cols, e).addr, cols, e);
    p.compulsory_bytes += op.batch * op.tokens * cols * e;
  }
  const std::uint64_t rows_per = std::min(op.tokens, chunk_rows(op.batch * op.tokens, cols * e, 0));
  p.chunk_rows = rows_per;
  std::uint64_t ch = 0;
  for (std::uint64_t b = 0; b < op.batch; ++b) {
    for (std::uint64_t t0 = 0; t0 < op.tokens; t0 += rows_per, ++ch) {
      const std::uint64_t c = ch % m_t.num_cores, nr = std::min(rows_per, op.tokens - t0);
      // The chunk lands in the slot head-major, [heads][nr][d], so that each head's rows are
      // one dense block for its store: a load per head of nr rows of d, cols apart in DRAM.
      piece(
          c,
          [&](std::uint64_t slot) {
            for (std::uint64_t h = 0; h < op.heads; ++h) {
              for_blocks(in, b * op.tokens + t0, nr, h * d, d, e, slot + h * nr * d * e,
                         [&](const isa::Block& blk) {
                           push(c, isa::QueueKind::load,
                                isa::DmaLoad{blk, isa::Sram::scratchpad, std::uint32_t(e)});
                         });
            }
          },
          [](std::uint64_t) {},
          [&](std::uint64_t slot) {
            for (std::uint64_t h = 0; h < op.heads; ++h) {
              if (op.paged()) {  // cut at the block boundaries, each block where it lies
                for_blocks(paged_view(m_op, h), op.kv_len + t0, nr, 0, d, e,
                           slot + h * nr * d * e, [&](const isa::Block& blk) {
                             push(c, isa::QueueKind::store,
                                  isa::DmaStore{blk, isa::Sram::scratchpad, std::uint32_t(e),
                                                std::uint32_t(e)});
                           });
                continue;
              }
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

View Lowerer::paged_view(int kv_op, std::uint64_t h) const {
  const auto& kv = std::get<KvWriteOp>(m_w.ops[std::size_t(kv_op)].body());
  const std::uint64_t e = isa::size_bytes(kv.dtype), row = kv.head_dim * e;
  return {h * kv.block_size * row, row, kv.block_size, 0, &m_group_bases.at(kv_op)};
}

}  // namespace detail

int token_embedding(const Workload& w) {
  for (std::size_t i = 0; i < w.ops.size(); ++i) {
    if (w.ops[i].get_if<EmbeddingOp>()) return int(i);
  }
  return -1;
}

void check_token_ids(const Workload& w, const std::vector<std::uint64_t>& ids) {
  if (ids.empty()) return;
  const int i = token_embedding(w);
  if (i < 0) {
    throw WorkloadError("tokens: " + std::to_string(ids.size()) + " ids given, but workload '" +
                        w.name + "' has no embedding op to read them");
  }
  const auto& e = *w.ops[std::size_t(i)].get_if<EmbeddingOp>();
  const std::string op =
      "embedding op '" + w.ops[std::size_t(i)].name() + "' (ops[" + std::to_string(i) + "])";
  if (ids.size() != e.tokens) {
    throw WorkloadError("tokens: " + std::to_string(ids.size()) + " ids given, but " + op +
                        " reads " + std::to_string(e.tokens) + " (its tokens, batch x seq)");
  }
  for (std::size_t r = 0; r < ids.size(); ++r) {
    if (ids[r] >= e.vocab) {
      throw WorkloadError("tokens: id " + std::to_string(ids[r]) + " (position " +
                          std::to_string(r) + ") is not below the vocab " +
                          std::to_string(e.vocab) + " of " + op);
    }
  }
}

Lowered lower(const Workload& w, const Target& t, const MappingOptions& options) {
  check_token_ids(w, options.token_ids);
  return detail::Lowerer(w, t, options).run();
}

}  // namespace llmsim::workloads

namespace llmsim::workloads {

std::uint64_t DramTensor::address(std::uint64_t r, std::uint64_t c) const {
  if (tile_rows == 0) return addr + (r * cols + c) * elem_bytes;
  // Item i's rows are tiled on their own; row block r0 (rs rows) is contiguous, its tile at
  // column c0 (cs columns) starts rs x c0 elements into it, dense (lowering_matmul.cpp).
  const std::uint64_t item = r / item_rows, ri = r % item_rows;
  const std::uint64_t r0 = ri / tile_rows * tile_rows, rs = std::min(tile_rows, item_rows - r0);
  const std::uint64_t c0 = c / tile_cols * tile_cols, cs = std::min(tile_cols, cols - c0);
  return addr +
         (item * item_rows * cols + r0 * cols + rs * c0 + (ri - r0) * cs + (c - c0)) * elem_bytes;
}

}  // namespace llmsim::workloads
