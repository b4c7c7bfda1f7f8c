#include "workloads/lowering.h"

#include <algorithm>

#include "sim/core/error.h"
#include "sim/core/units.h"

namespace llmsim::workloads {

namespace {

// Fixed semaphores of every core; one more per chained op follows.
enum Sem : std::uint32_t { kAbFree = 0, kAbFull = 1, kAccFree = 2, kAccFull = 3, kFirstDep = 4 };

struct Tensor {
  std::uint64_t addr = 0;
  std::uint64_t cols = 0;  // row length in elements; rows are dense
};

class Allocator {
 public:
  Tensor alloc(std::uint64_t rows, std::uint64_t cols, std::uint64_t elem_bytes) {
    Tensor t{m_next, cols};
    m_next += ceil_div(rows * cols * elem_bytes, 4096) * 4096;
    return t;
  }

 private:
  std::uint64_t m_next = 0;
};

isa::Instruction inst(isa::Body b, int op) {
  return isa::Instruction{std::move(b), op};
}

// The matmuls of `w`, one per op; throws WorkloadError naming the first op (or matmul feature)
// this lowering does not handle yet. It lowers dense matmuls A (m x k) x weight B (k x n), A an
// input or the m x k output of an earlier matmul.
std::vector<const MatmulOp*> lowerable_matmuls(const Workload& w) {
  std::vector<const MatmulOp*> out;
  for (std::size_t i = 0; i < w.ops.size(); ++i) {
    const Op& op = w.ops[i];
    auto not_yet = [&](const std::string& what) {
      throw WorkloadError("ops[" + std::to_string(i) + "] '" + op.name() + "' (" + op.kind() +
                          "): " + what + "not lowered yet");
    };
    const auto* mm = op.get_if<MatmulOp>();
    if (!mm) not_yet("");
    if (mm->batch > 1) not_yet("batch > 1: ");
    if (mm->transpose_b) not_yet("transpose_b: ");
    if (mm->bias) not_yet("bias: ");
    if (mm->b.source != Source::weight)
      not_yet(std::string("B from ") + to_string(mm->b.source) + ": ");
    if (mm->a.source == Source::weight || mm->a.source == Source::kv_cache) {
      not_yet(std::string("A from ") + to_string(mm->a.source) + ": ");
    }
    if (mm->a.is_op()) {
      const MatmulOp& p = *out[std::size_t(mm->a.op)];
      if (p.m != mm->m || p.n != mm->k) not_yet("A viewed in another shape than its producer's: ");
    }
    out.push_back(mm);
  }
  return out;
}

}  // namespace

Lowered lower(const Workload& w, const Target& t) {
  LLMSIM_CHECK(t.num_cores >= 1 && t.gemm_cycles, "incomplete lowering target");
  Lowered out;
  out.program.cores.resize(t.num_cores);
  std::uint32_t next_sem = kFirstDep, next_barrier = 0;
  // dep_sem[i]: the semaphore op i waits on, if its A comes from an earlier op.
  const std::vector<const MatmulOp*> mms = lowerable_matmuls(w);
  auto a_from = [&](std::size_t i) { return mms[i]->a.is_op() ? mms[i]->a.op : -1; };
  std::vector<std::uint32_t> dep_sem(w.ops.size(), 0);
  for (std::size_t i = 0; i < w.ops.size(); ++i) {
    if (a_from(i) >= 0) dep_sem[i] = next_sem++;
  }
  for (auto& core : out.program.cores) {
    core.semaphore_init.assign(next_sem, 0);
    core.semaphore_init[kAbFree] = 2;
    core.semaphore_init[kAccFree] = 2;
  }

  Allocator dram;
  std::vector<Tensor> outputs;
  std::vector<std::uint32_t> ab_slot(t.num_cores, 0), acc_slot(t.num_cores, 0);
  const std::uint64_t spad_slot = scratchpad_slot_bytes(t),
                      acc_slot_bytes = accumulator_slot_bytes(t);

  for (std::size_t oi = 0; oi < w.ops.size(); ++oi) {
    const MatmulOp& op = *mms[oi];
    const int o = int(oi);
    if (std::find(t.dtypes.begin(), t.dtypes.end(), op.dtype) == t.dtypes.end()) {
      throw WorkloadError("op \"" + op.name + "\": dtype " + isa::to_string(op.dtype) +
                          " is not supported by the systolic array (core.systolic.dtypes)");
    }
    const std::uint64_t e = isa::size_bytes(op.dtype), acc_e = isa::accumulator_bytes(op.dtype);
    const Tensor a = a_from(oi) >= 0 ? outputs[std::size_t(a_from(oi))] : dram.alloc(op.m, op.k, e);
    const Tensor b = dram.alloc(op.k, op.n, e);
    const Tensor c = dram.alloc(op.m, op.n, e);
    outputs.push_back(c);
    const Tiling tl = choose_tiling(t, op);
    out.tilings.push_back(tl);

    if (a_from(oi) >= 0) {
      const std::uint32_t barrier = next_barrier++;
      for (auto& core : out.program.cores) {
        core.queue(isa::QueueKind::load).push_back(inst(isa::SemWait{dep_sem[oi]}, o));
        core.queue(isa::QueueKind::load).push_back(inst(isa::Barrier{barrier}, o));
      }
    }

    const std::uint64_t tm = ceil_div(op.m, tl.mt), tn = ceil_div(op.n, tl.nt),
                        tk = ceil_div(op.k, tl.kt);
    for (std::uint64_t tile = 0; tile < tm * tn; ++tile) {
      const std::uint32_t ci = std::uint32_t(tile % t.num_cores);
      isa::CoreProgram& core = out.program.cores[ci];
      auto& ld = core.queue(isa::QueueKind::load);
      auto& ex = core.queue(isa::QueueKind::compute);
      auto& st = core.queue(isa::QueueKind::store);
      const std::uint64_t m0 = (tile / tn) * tl.mt, n0 = (tile % tn) * tl.nt;
      const std::uint64_t ms = std::min(tl.mt, op.m - m0), ns = std::min(tl.nt, op.n - n0);
      const std::uint64_t c_sram = acc_slot[ci] * acc_slot_bytes;
      acc_slot[ci] ^= 1;
      for (std::uint64_t ki = 0; ki < tk; ++ki) {
        const std::uint64_t k0 = ki * tl.kt, ks = std::min(tl.kt, op.k - k0);
        const std::uint64_t a_sram = ab_slot[ci] * spad_slot, b_sram = a_sram + ms * ks * e;
        ab_slot[ci] ^= 1;
        ld.push_back(inst(isa::SemWait{kAbFree}, o));
        ld.push_back(
            inst(isa::DmaLoad{{ms, ks, a.addr + (m0 * a.cols + k0) * e, a.cols * e, a_sram},
                              isa::Sram::scratchpad,
                              std::uint32_t(e)},
                 o));
        ld.push_back(
            inst(isa::DmaLoad{{ks, ns, b.addr + (k0 * b.cols + n0) * e, b.cols * e, b_sram},
                              isa::Sram::scratchpad,
                              std::uint32_t(e)},
                 o));
        ld.push_back(inst(isa::SemSignal{kAbFull}, o));
        ex.push_back(inst(isa::SemWait{kAbFull}, o));
        if (ki == 0) ex.push_back(inst(isa::SemWait{kAccFree}, o));
        ex.push_back(inst(isa::Gemm{a_sram, b_sram, c_sram, ms, ks, ns, op.dtype, ki > 0}, o));
        ex.push_back(inst(isa::SemSignal{kAbFree}, o));
        if (ki + 1 == tk) ex.push_back(inst(isa::SemSignal{kAccFull}, o));
      }
      st.push_back(inst(isa::SemWait{kAccFull}, o));
      st.push_back(inst(isa::DmaStore{{ms, ns, c.addr + (m0 * c.cols + n0) * e, c.cols * e, c_sram},
                                      isa::Sram::accumulator,
                                      std::uint32_t(acc_e),
                                      std::uint32_t(e)},
                        o));
      st.push_back(inst(isa::SemSignal{kAccFree}, o));
    }
    // Release the ops that read this op's output, once its stores are done on each core.
    for (std::size_t j = oi + 1; j < w.ops.size(); ++j) {
      if (a_from(j) != o) continue;
      for (auto& core : out.program.cores) {
        core.queue(isa::QueueKind::store).push_back(inst(isa::SemSignal{dep_sem[j]}, -1));
      }
    }
  }
  return out;
}

}  // namespace llmsim::workloads
