#pragma once
// The lowering's machinery, shared by its translation units (not part of the API: include
// workloads/lowering.h). Lowerer walks the ops in order and appends each one's instructions to
// the cores' queues: lowering.cpp has the walk, the row-piece ops (vector, embedding,
// kv_write) and the helpers; lowering_matmul.cpp has the matmuls, their tiling, multi-core
// split and epilogue fusion.
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "sim/core/error.h"
#include "workloads/dram_buffers.h"
#include "workloads/dram_view.h"
#include "workloads/lowering.h"

namespace llmsim::workloads::detail {

// Fixed semaphores of every core; then one per operand slot past the first (its "free"), then
// one per op that waits for an earlier op. kAFree counts the free A regions (A-resident tiles,
// tiling.h). Each operand slot has its own "free" semaphore (Lowerer::AbSlot), not one count of
// free slots: slots are taken round robin, but freed from the compute queue by a matmul and
// from the store queue by a row piece or a matmul's residual tile, so they can be freed out of
// order, and a count would let a load into a slot whose store has not read it yet.
enum Sem : std::uint32_t {
  kAbFree = 0,  // slot 0's; slot i > 0 has kFirstSlot + i - 1
  kAbFull = 1,
  kAccFree = 2,
  kAccFull = 3,
  kAFree = 4,
  kFirstSlot = 5
};

inline isa::Instruction inst(isa::Body b, int op) {
  return isa::Instruction{std::move(b), op};
}

// Records in `t` (an external operand of `op`, by its role) the op's ParamRefs that fill it.
void name_tensor(DramTensor& t, const Op& op);

class Lowerer {
 public:
  Lowerer(const Workload& w, const Target& t, const MappingOptions& o)
      : m_w(w),
        m_t(t),
        m_o(o),
        m_layout(scratchpad_layout(t, o.automatic)),
        m_spad_slot(m_layout.slot_bytes),
        m_acc_slot(accumulator_slot_bytes(t)),
        m_dram(t.dram_period_bytes) {}

  Lowered run();

 private:
  // Before any instruction: each matmul's dtype and tiling, and an estimate of the
  // instructions and of the DRAM the weights, inputs and caches take, against the limits.
  void plan_sizes();
  // A matmul's mapping (tiling.h): the search's (memoised per shape) or the fixed one.
  Tiling tiling(const MatmulOp& op);
  struct TilingKey {
    std::uint64_t m, k, n, batch;
    int dtype;
    bool transpose_b, bias, b_is_op;
    int dataflow;               // -1: the search picks
    std::vector<int> epilogue;  // the fused vector ops' kinds
    bool operator<(const TilingKey& o) const {
      return std::tie(m, k, n, batch, dtype, transpose_b, bias, b_is_op, dataflow, epilogue) <
             std::tie(o.m, o.k, o.n, o.batch, o.dtype, o.transpose_b, o.bias, o.b_is_op, o.dataflow,
                      o.epilogue);
    }
  };
  std::map<TilingKey, Tiling> m_tilings;

  // An op's output in DRAM: rows x cols dense (a kv_write: the cache, batch*heads*L x d).
  struct Region {
    std::uint64_t addr = 0, rows = 0, cols = 0;
    std::uint64_t bytes = 0;  // of its reusable buffer (output()); 0 once released
  };

  // DRAM for weights, inputs and caches: never reused.
  std::uint64_t alloc(std::uint64_t bytes) { return m_dram.fixed(bytes); }
  // The same for an external operand of the current op, recorded in Lowered::tensors.
  DramTensor& alloc_tensor(const char* role, std::uint64_t rows, std::uint64_t cols,
                           std::uint64_t elem_bytes) {
    const std::uint64_t addr = alloc(rows * cols * elem_bytes);
    m_out.tensors.push_back({m_op, role, addr, rows, cols, elem_bytes});
    name_tensor(m_out.tensors.back(), m_w.ops[std::size_t(m_op)]);
    return m_out.tensors.back();
  }
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
    m_out.outputs[std::size_t(m_op)] = {addr, rows, cols, elem, m_op, owner == m_op};
    for (const int f : epilogue)
      m_out.outputs[std::size_t(f)] = {addr, rows, cols, elem, m_op, f == owner};
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
  void push(std::uint64_t c, isa::QueueKind k, isa::Body b) { add(c, k, inst(std::move(b), m_op)); }
  // Every instruction goes through here: counted against the instruction limit.
  void add(std::uint64_t c, isa::QueueKind k, isa::Instruction i) {
    if (++m_instructions > m_max_instructions) {
      fail("the lowering passes the limit of " + std::to_string(m_max_instructions) +
           " ISA instructions" + kRaiseLimit);
    }
    account(c, k, i.body);
    q(c, k).push_back(std::move(i));
  }
  // What the current op's instructions cost, for its predicted cycles (OpPlan).
  struct OpCost {
    std::vector<double> core_compute;  // vector cycles per core
    double dram_bytes = 0;
  };
  void account(std::uint64_t c, isa::QueueKind k, const isa::Body& b);
  // The current op's predicted cycles from its OpCost (a row-piece op).
  double predict_rows() const;
  static constexpr const char* kRaiseLimit =
      " (about 190 bytes of memory each; LLMSIM_MAX_INSTRUCTIONS=N raises it)";

  // The next operand slot of core c (its scratchpad address), round robin.
  // An operand slot of the scratchpad: its address and its "free" semaphore (Sem).
  struct AbSlot {
    std::uint64_t addr = 0;
    std::uint32_t free = kAbFree;
  };
  AbSlot next_ab_slot(std::uint64_t c) {
    const std::uint32_t i = m_ab_slot[c];
    m_ab_slot[c] = (i + 1) % m_layout.slots;
    return {i * m_spad_slot, i == 0 ? std::uint32_t(kAbFree) : kFirstSlot + i - 1};
  }
  const Region& producer(const Operand& x) const { return m_regions[std::size_t(x.op)]; }
  const Op& producer_op(const Operand& x) const { return m_w.ops[std::size_t(x.op)]; }
  // The last op of the append_to chain op i starts or belongs to (i itself when none continues it).
  int chain_last(int i) const {
    while (m_continued_by[std::size_t(i)] >= 0) i = m_continued_by[std::size_t(i)];
    return i;
  }

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
  Epilogue epilogue_chain(const MatmulOp& op, const Tiling& tl) const;
  // The attention context's layout (docs/workloads.md): s, the tokens per sequence, when every
  // reader of batched attention matmul `op` (batch = sequences x hkv KV heads) is a plain
  // matmul taking it as its A token-major, (sequences x s) x (H x d) with H x d = hkv x
  // (m / s) x n, and that layout differs from the dense [batch][m][n]; else 0 (stored dense).
  std::uint64_t context_tokens(const MatmulOp& op, std::uint64_t hkv) const;
  // For a matmul in a chain of append_to (lowering_matmul.cpp): the query heads per KV head g
  // that the readers of the chain's last op imply (each a matmul taking it as a token-major A
  // of k = hkv x g x n), or 0 when they imply none (the chain is stored dense).
  std::uint64_t chain_group(const MatmulOp& op, std::uint64_t hkv) const;

  // ---------------------------------------------------------------- matmul
  void lower(const MatmulOp& op);

  // --------------------------------------------------- row pieces (vector, embedding, kv_write)
  // Rows per piece: as many as fit a scratchpad slot next to `fixed_bytes`, but at most a
  // quarter of a core's share, so that loads, compute and stores overlap.
  std::uint64_t chunk_rows(std::uint64_t rows, std::uint64_t row_bytes, std::uint64_t fixed_bytes);

  // The three-queue pipeline of one row piece on core c: `load` fills the slot, `compute` (may
  // be empty) works on it, `store` empties it.
  template <class Load, class Compute, class Store>
  void piece(std::uint64_t c, Load load, Compute compute, Store store) {
    const AbSlot slot = next_ab_slot(c);
    push(c, isa::QueueKind::load, isa::SemWait{slot.free});
    load(slot.addr);
    push(c, isa::QueueKind::load, isa::SemSignal{kAbFull});
    push(c, isa::QueueKind::compute, isa::SemWait{kAbFull});
    compute(slot.addr);
    push(c, isa::QueueKind::compute, isa::SemSignal{kAccFull});
    push(c, isa::QueueKind::store, isa::SemWait{kAccFull});
    store(slot.addr);
    push(c, isa::QueueKind::store, isa::SemSignal{slot.free});
    ++plan().pieces;
  }

  void load_rows(std::uint64_t c, const View& v, std::uint64_t r0, std::uint64_t nr,
                 std::uint64_t cols, std::uint64_t e, std::uint64_t sram);
  void store_rows(std::uint64_t c, const View& v, std::uint64_t r0, std::uint64_t nr,
                  std::uint64_t cols, std::uint64_t e, std::uint64_t sram);

  // ---------------------------------------------------------------- vector
  // A vector instruction of `kind` on rows x cols from `src` to `dst`, without a second source
  // and without the fields of one op (op_instructions): what its timing needs.
  static isa::VectorOp vector_instruction(VectorKind kind, std::uint64_t rows, std::uint64_t cols,
                                          isa::VectorOperand src, isa::VectorOperand dst);
  // The instructions that compute trace op `op` on `v`: v covers the op's output rows r0 ..
  // r0 + v.rows - 1 from column c0 (0, or an epilogue tile's first column), dense at v.src and
  // v.dst. A scale gets the op's scalar; a mask is cut where its rows pass from one block of
  // op.cols query rows into the next, each piece with its query and key positions (isa.h:
  // CausalMask). Any other kind: v itself.
  static std::vector<isa::VectorOp> op_instructions(const VectorOp& op, isa::VectorOp v,
                                                    std::uint64_t r0, std::uint64_t c0);

  void lower(const VectorOp& op);

  // ---------------------------------------------------------------- embedding
  void lower(const EmbeddingOp& op);

  // ---------------------------------------------------------------- kv_write
  void lower(const KvWriteOp& op);
  // A paged kv_write's (ops.h) cache as head `h`'s [kv_len + tokens][head_dim] through its
  // block table: one group per block, at the block's address in the pool.
  View paged_view(int kv_op, std::uint64_t h) const;

  // Paged KV pools (KvWriteOp::pool): each allocated once, at its first kv_write, role "cache".
  std::map<std::string, std::uint64_t> m_pools;
  // Irregular views' group addresses (View::group_bases), by op: a paged kv_write's blocks
  // (each block's address in the pool), a copy's row_indices (each row's offset).
  std::map<int, std::vector<std::uint64_t>> m_group_bases;
  // Matmul outputs continued by another (MatmulOp::append_to): per op, the op continuing it,
  // or -1; and the buffer of each chain, by its first op.
  std::vector<int> m_continued_by;
  std::map<int, std::uint64_t> m_chain_buffer;

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
  DramBuffers m_dram;
  std::vector<std::uint32_t> m_ab_slot, m_acc_slot_index;
  std::vector<std::uint32_t> m_a_region;  // per core: the A region its next row block takes
  std::uint32_t m_next_barrier = 0;
  int m_op = 0;
  std::uint64_t m_instructions = 0, m_max_instructions = 0;
  double m_matmul_macs = 0;  // of all matmuls, for their instruction budgets (tiling())
  OpCost m_cost;
};

}  // namespace llmsim::workloads::detail
