#include "arch/vector/vector_unit.h"

#include <algorithm>
#include <string>

#include "arch/isa/dump.h"
#include "arch/sram/banked_sram.h"
#include "arch/vector/vector_op.h"
#include "sim/core/config.h"
#include "sim/core/error.h"

namespace llmsim::vector {

static_assert(static_cast<std::size_t>(isa::VectorKind::copy) + 1 == kNumVectorKinds,
              "kNumVectorKinds must count every isa::VectorKind (copy is the last)");

namespace {

std::uint64_t ceil_log2(std::uint64_t x) {
  std::uint64_t n = 0;
  while ((std::uint64_t(1) << n) < x) ++n;
  return n;
}

std::string dtype_list(const std::vector<isa::DType>& ts) {
  std::string out;
  for (isa::DType t : ts) out += (out.empty() ? "" : ", ") + std::string(isa::to_string(t));
  return out;
}

}  // namespace

VectorEnergy VectorEnergy::parse(config::Reader& r) {
  VectorEnergy e;
  e.add_mul_pj = r.non_negative("add_mul");
  e.exp_pj = r.non_negative("exp");
  e.reciprocal_pj = r.non_negative("reciprocal");
  return e;
}

VectorParams VectorParams::parse(config::Reader& r) {
  VectorParams p;
  VectorTimingParams& t = p.timing;
  t.lanes = r.count("lanes");
  if (t.lanes > 65536) r.fail("lanes", "must be at most 65536, got " + std::to_string(t.lanes));
  constexpr std::uint64_t kCycles = config::kMaxLatencyCycles;
  t.pipeline_depth_cycles = r.uint("pipeline_depth_cycles", std::nullopt, kCycles);
  t.add_mul_cycles_per_vector = r.count("add_mul_cycles_per_vector", 1, kCycles);
  t.exp_cycles_per_vector = r.count("exp_cycles_per_vector", 4, kCycles);
  t.reciprocal_cycles_per_vector = r.count("reciprocal_cycles_per_vector", 4, kCycles);
  t.reduction_latency_cycles = r.uint("reduction_latency_cycles", ceil_log2(t.lanes), kCycles);
  t.scalar_latency_cycles = r.uint("scalar_latency_cycles", t.pipeline_depth_cycles, kCycles);
  t.rows_in_flight = r.count("rows_in_flight", 1, 65536);  // rows in the pipeline at once
  for (const auto& s : r.string_list("dtypes", {"int8", "fp16", "bf16", "fp32"},
                                     std::vector<std::string>{"fp32"})) {
    p.dtypes.push_back(*isa::parse_dtype(s));
  }
  if (r.has("energy_pj_per_element_op")) {
    p.energy = r.parse_child<VectorEnergy>("energy_pj_per_element_op");
  }
  p.leakage_mw = energy::read_leakage_mw(r, p.energy.has_value());
  return p;
}

bool VectorParams::supports(isa::DType t) const {
  return std::find(dtypes.begin(), dtypes.end(), t) != dtypes.end();
}

VectorUnit::VectorUnit(const VectorParams& p, const ClockDomain& clock, stats::Group& parent)
    : m_params(p),
      m_clock(clock),
      m_stats(parent, "vector"),
      m_busy_cycles(m_stats, "busy_cycles", "cycle", "cycles the unit computed (timing.h)"),
      m_stall_cycles(m_stats, "stall_cycles", "cycle",
                     "cycles ops waited for scratchpad/accumulator ports after computing"),
      m_ops(m_stats, "ops", "count", "vector instructions run"),
      m_elements(m_stats, "elements", "element", "elements of the ops' blocks (rows x cols)"),
      m_vectors(m_stats, "vectors", "count", "vectors issued, over all passes"),
      m_add_mul_element_ops(m_stats, "add_mul_element_ops", "count",
                            "element operations of the add/mul class"),
      m_exp_element_ops(m_stats, "exp_element_ops", "count", "element exponentials"),
      m_reciprocal_element_ops(m_stats, "reciprocal_element_ops", "count",
                               "element reciprocals and rsqrts, per-row scalar ones included"),
      m_busy_ratio(m_stats, "busy_ratio", "ratio", "busy_cycles / elapsed cycles", [this] {
        const auto now = m_clock.now().count();
        return now ? double(m_busy_cycles.value()) / double(now) : 0.0;
      }) {
  for (std::size_t k = 0; k < kNumVectorKinds; ++k) {
    const std::string kind = isa::to_string(isa::VectorKind(k));
    m_kind_ops[k] = std::make_unique<stats::Counter>(m_stats, kind + "_ops", "count",
                                                     "vec." + kind + " instructions run");
  }
  if (m_params.energy || m_params.leakage_mw) {
    const VectorEnergy e = m_params.energy.value_or(VectorEnergy{});
    m_energy = std::make_unique<energy::UnitEnergy>(
        m_stats, "element operations x energy_pj_per_element_op",
        [this, e] {
          return double(m_add_mul_element_ops.value()) * e.add_mul_pj +
                 double(m_exp_element_ops.value()) * e.exp_pj +
                 double(m_reciprocal_element_ops.value()) * e.reciprocal_pj;
        },
        m_params.leakage_mw.value_or(0.0), [this] { return m_clock.seconds(m_clock.now()); });
  }
}

void VectorUnit::check(const isa::VectorOp& op, const sram::BankedSram& spad,
                       const sram::BankedSram& acc) const {
  check_vector_op(op);
  const std::string inst = isa::to_string(isa::Instruction{op, -1});
  if (!m_params.supports(op.dtype)) {
    throw WorkloadError(inst + ": dtype " + isa::to_string(op.dtype) +
                        " is not supported by the vector unit (core.vector.dtypes: " +
                        dtype_list(m_params.dtypes) + ")");
  }
  auto in_range = [&](const char* what, const isa::VectorOperand& o, std::uint64_t rows) {
    const sram::BankedSram& s = o.sram == isa::Sram::scratchpad ? spad : acc;
    const std::uint64_t cap = s.params().capacity_bytes;
    // rows * cols <= cap first, so that the byte count cannot overflow.
    const bool fits = rows <= cap / op.cols && rows * op.cols * o.elem_bytes <= cap &&
                      o.addr <= cap - rows * op.cols * o.elem_bytes;
    if (!fits) {
      throw WorkloadError(inst + ": " + what + " (" + std::to_string(rows) + "x" +
                          std::to_string(op.cols) + " x " + std::to_string(o.elem_bytes) +
                          " B from " + std::to_string(o.addr) + ") does not fit the " +
                          (o.sram == isa::Sram::scratchpad ? "scratchpad" : "accumulator") + " (" +
                          std::to_string(cap) + " B)");
    }
  };
  in_range("src", op.src, op.rows);
  in_range("dst", op.dst, op.rows);
  if (op.src2_rows > 0) in_range("src2", op.src2, op.src2_rows);
}

void VectorUnit::trace_to(timeline::Timeline& tl, std::uint32_t pid) {
  m_timeline = &tl;
  m_track = tl.track(pid, "vector");
  for (std::size_t k = 0; k < kNumVectorKinds; ++k) {
    m_kind_span[k] = tl.kind(isa::to_string(isa::VectorKind(k)), {"rows", "cols", "cycles"});
  }
  m_stall_span = tl.kind("sram stall", {"cycles"});
}

Cycles VectorUnit::execute(const isa::VectorOp& op, Cycles now, sram::BankedSram& spad,
                           sram::BankedSram& acc, std::int32_t op_index) {
  check(op, spad, acc);
  now = max(now, m_free);
  const VectorPlan plan = vector_plan(op);
  const VectorTiming t = vector_timing(m_params.timing, op);
  auto sram = [&](const isa::VectorOperand& o) -> sram::BankedSram& {
    return o.sram == isa::Sram::scratchpad ? spad : acc;
  };
  auto bytes = [&](const isa::VectorOperand& o, std::uint64_t rows) {
    return rows * op.cols * o.elem_bytes;
  };
  // Every access reserves its ports from `now`, as the systolic array's operands do
  // (banked_sram.h: a burst per access); the passes' traffic therefore queues on the ports.
  Cycles sram_end = now;
  if (plan.reads_src2) {
    sram_end =
        max(sram_end, sram(op.src2).access(op.src2.addr, bytes(op.src2, op.src2_rows), false, now));
  }
  for (std::size_t k = 0; k < plan.num_passes; ++k) {
    const VectorPass& pass = plan.passes[k];
    if (pass.reads_src) {
      sram_end =
          max(sram_end, sram(op.src).access(op.src.addr, bytes(op.src, op.rows), false, now));
    }
    if (pass.reads_dst) {
      sram_end =
          max(sram_end, sram(op.dst).access(op.dst.addr, bytes(op.dst, op.rows), false, now));
    }
    if (pass.writes_dst) {
      sram_end = max(sram_end, sram(op.dst).access(op.dst.addr, bytes(op.dst, op.rows), true, now));
    }
  }
  const Cycles compute_end = now + t.cycles;
  const Cycles end = max(compute_end, sram_end);
  m_free = end;
  m_busy_cycles += t.cycles.count();
  m_stall_cycles += (end - compute_end).count();
  ++m_ops;
  ++*m_kind_ops[static_cast<std::size_t>(op.kind)];
  m_elements += op.rows * op.cols;
  m_vectors += t.vectors;
  m_add_mul_element_ops += t.add_mul_element_ops;
  m_exp_element_ops += t.exp_element_ops;
  m_reciprocal_element_ops += t.reciprocal_element_ops;
  if (m_timeline) {
    m_timeline->span(m_track, m_kind_span[static_cast<std::size_t>(op.kind)], m_clock.to_time(now),
                     m_clock.to_time(compute_end), op_index, {op.rows, op.cols, t.cycles.count()});
    if (end > compute_end) {
      m_timeline->span(m_track, m_stall_span, m_clock.to_time(compute_end), m_clock.to_time(end),
                       op_index, {(end - compute_end).count()});
    }
  }
  return end;
}

}  // namespace llmsim::vector
