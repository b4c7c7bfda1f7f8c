#include "arch/systolic/systolic_array.h"

#include <algorithm>

#include "arch/sram/banked_sram.h"
#include "sim/core/config.h"
#include "sim/core/error.h"

namespace llmsim::systolic {

static_assert(static_cast<std::size_t>(isa::DType::fp32) + 1 == kNumDTypes,
              "kNumDTypes must count every isa::DType (fp32 is the last)");

namespace {

Dataflow parse_dataflow(const std::string& s) {
  return s == "ws" ? Dataflow::ws : s == "os" ? Dataflow::os : Dataflow::is;
}

// `dataflow` or `dataflows` (exactly one; null stands for absent, so that `--set
// core.systolic.dataflow=null --set core.systolic.dataflows=[...]` turns a preset's array
// into a reconfigurable one), and `dataflow_switch_cycles` with two or more.
void read_dataflows(config::Reader& r, SystolicParams& p) {
  const std::vector<std::string> names = {"ws", "os", "is"};
  const std::string single = "dataflow", list = "dataflows", sw = "dataflow_switch_cycles";
  for (const std::string& key : {single, list, sw}) {
    if (r.is_null(key)) r.ignore(key);
  }
  const bool has_single = r.has(single) && !r.is_null(single);
  const bool has_list = r.has(list) && !r.is_null(list);
  if (has_single && has_list) {
    r.fail(list, "give either dataflow (one) or dataflows (a list), not both; remove one (--set " +
                     r.key_path(single) + "=null)");
  }
  p.dataflows.clear();
  if (has_list) {
    for (const auto& s : r.string_list(list, names)) p.dataflows.push_back(parse_dataflow(s));
  } else if (r.is_null(single)) {
    r.fail(single, "is required: one of ws, os, is, or give dataflows (a list of them), got null");
  } else {
    // Absent both: the error of a missing `dataflow`, which names the allowed values.
    p.dataflows.push_back(parse_dataflow(r.choice(single, names)));
  }
  const bool has_switch = r.has(sw) && !r.is_null(sw);
  if (p.dataflows.size() == 1) {
    if (has_switch) {
      r.fail(sw,
             "only an array that lists two or more dataflows (dataflows) switches; it offers "
             "one, " +
                 std::string(to_string(p.dataflows.front())) + ": remove the key");
    }
    p.dataflow_switch_cycles = Cycles(0);
  } else {
    if (!has_switch) {
      r.fail(sw, "is required with two or more dataflows (an integer in [0, " +
                     std::to_string(config::kMaxLatencyCycles) +
                     "]: the cycles the array takes to reconfigure after draining)");
    }
    p.dataflow_switch_cycles = Cycles(r.uint(sw, std::nullopt, config::kMaxLatencyCycles));
  }
}

}  // namespace

SystolicParams SystolicParams::parse(config::Reader& r) {
  SystolicParams p;
  const auto rows = r.count("rows"), cols = r.count("cols");
  if (rows > 4096) r.fail("rows", "must be at most 4096, got " + std::to_string(rows));
  if (cols > 4096) r.fail("cols", "must be at most 4096, got " + std::to_string(cols));
  p.shape = {std::uint32_t(rows), std::uint32_t(cols)};
  read_dataflows(r, p);
  p.pipelining = r.choice("pipelining", {"none", "double_buffered"}, std::string("none")) == "none"
                     ? Pipelining::none
                     : Pipelining::double_buffered;
  for (const auto& s : r.string_list("dtypes", {"int8", "fp16", "bf16", "fp32"},
                                     std::vector<std::string>{"int8"})) {
    p.dtypes.push_back(*isa::parse_dtype(s));
  }
  // One energy per supported dtype; a dtype the array does not support is an unknown key.
  const bool per_mac = r.has("energy_pj_per_mac");
  if (per_mac) {
    config::Reader e = r.child("energy_pj_per_mac");
    for (isa::DType t : p.dtypes) {
      p.energy_pj_per_mac[std::size_t(t)] = e.non_negative(isa::to_string(t));
    }
    e.finish();
  }
  p.leakage_mw = energy::read_leakage_mw(r, per_mac);
  return p;
}

bool SystolicParams::supports(isa::DType t) const {
  return std::find(dtypes.begin(), dtypes.end(), t) != dtypes.end();
}

bool SystolicParams::offers(Dataflow d) const {
  return std::find(dataflows.begin(), dataflows.end(), d) != dataflows.end();
}

Dataflow SystolicParams::dataflow_of(const isa::Gemm& g) const {
  if (!g.dataflow) return default_dataflow();
  if (!offers(*g.dataflow)) {
    std::string offered;
    for (Dataflow d : dataflows) offered += std::string(offered.empty() ? "" : ", ") + to_string(d);
    throw WorkloadError(std::string("gemm in dataflow ") + to_string(*g.dataflow) +
                        ": not offered by the systolic array, which offers " + offered +
                        " (core.systolic.dataflows)");
  }
  return *g.dataflow;
}

GemmTraffic gemm_traffic(Dataflow d, ArrayShape a, const isa::Gemm& g) {
  const std::uint64_t e = isa::size_bytes(g.dtype), acc = isa::accumulator_bytes(g.dtype);
  const std::uint64_t a_bytes = g.m * g.k * e, b_bytes = g.k * g.n * e, c = g.m * g.n * acc;
  GemmTraffic t;
  std::uint64_t k_folds = 1;
  switch (d) {
    case Dataflow::ws:  // B held once; A streamed once per column fold of N
      t.a_read_bytes = a_bytes * ceil_div(g.n, a.cols);
      t.b_read_bytes = b_bytes;
      k_folds = ceil_div(g.k, a.rows);
      break;
    case Dataflow::is:  // A held once; B streamed once per column fold of M
      t.a_read_bytes = a_bytes;
      t.b_read_bytes = b_bytes * ceil_div(g.m, a.cols);
      k_folds = ceil_div(g.k, a.rows);
      break;
    case Dataflow::os:  // A once per column fold of N, B once per row fold of M; K not folded
      t.a_read_bytes = a_bytes * ceil_div(g.n, a.cols);
      t.b_read_bytes = b_bytes * ceil_div(g.m, a.rows);
      break;
  }
  t.acc_written_bytes = c * k_folds;
  t.acc_read_bytes = c * (k_folds - 1 + (g.accumulate ? 1 : 0));
  return t;
}

SystolicArray::SystolicArray(const SystolicParams& p, const ClockDomain& clock,
                             stats::Group& parent)
    : m_params(p),
      m_clock(clock),
      m_pipeline(p.default_dataflow(), p.shape, p.pipelining, p.dataflow_switch_cycles),
      m_stats(parent, "systolic"),
      m_busy_cycles(m_stats, "busy_cycles", "cycle",
                    "cycles a GEMM was in the array (fill, stream or drain of some fold)"),
      m_stream_cycles(m_stats, "stream_cycles", "cycle",
                      "cycles operands streamed into the array (M per WS fold, N per IS fold, "
                      "K per OS fold)"),
      m_stall_cycles(m_stats, "stall_cycles", "cycle",
                     "cycles GEMMs waited for scratchpad/accumulator ports after computing"),
      m_macs(m_stats, "macs", "mac", "useful multiply-accumulates"),
      m_folds(m_stats, "folds", "count", "array folds run"),
      m_gemms(m_stats, "gemms", "count", "GEMM instructions run"),
      m_switches(m_stats, "dataflow_switches", "count",
                 "times the array switched dataflow for a GEMM (core.systolic.dataflows)"),
      m_switch_cycles(m_stats, "switch_cycles", "cycle",
                      "cycles the array spent reconfiguring between dataflows (after draining)"),
      m_utilisation(m_stats, "utilisation", "ratio", "macs / (PEs x elapsed cycles)",
                    [this] {
                      const auto now = m_clock.now().count();
                      return now ? double(m_macs.value()) / (double(m_params.pes()) * double(now))
                                 : 0.0;
                    }),
      m_fill_drain_cycles(
          m_stats, "fill_drain_cycles", "cycle",
          "busy cycles without a stream: fill, weight preload and drain not "
          "hidden behind another fold's stream",
          [this] { return double(m_busy_cycles.value()) - double(m_stream_cycles.value()); }) {
  for (isa::DType t : p.dtypes) {
    const std::string name = isa::to_string(t);
    m_dtype_macs[std::size_t(t)] = std::make_unique<stats::Counter>(
        m_stats, name + "_macs", "mac", "useful multiply-accumulates of " + name + " GEMMs");
  }
  if (p.leakage_mw) {
    m_energy = std::make_unique<energy::UnitEnergy>(
        m_stats, "MACs of each dtype x energy_pj_per_mac",
        [this] {
          double pj = 0;
          for (std::size_t t = 0; t < kNumDTypes; ++t) {
            if (m_dtype_macs[t])
              pj += double(m_dtype_macs[t]->value()) * m_params.energy_pj_per_mac[t];
          }
          return pj;
        },
        *p.leakage_mw, [this] { return m_clock.seconds(m_clock.now()); });
  }
}

void SystolicArray::trace_to(timeline::Timeline& tl, std::uint32_t pid) {
  m_timeline = &tl;
  m_track = tl.track(pid, "systolic");
  m_gemm_span = tl.kind("gemm", {"m", "k", "n", "cycles"});
  m_stall_span = tl.kind("sram stall", {"cycles"});
  if (m_params.dataflows.size() > 1) m_switch_span = tl.kind("dataflow switch", {"cycles"});
}

GemmRun SystolicArray::execute(const isa::Gemm& g, Cycles now, sram::BankedSram& spad,
                               sram::BankedSram& acc, std::int32_t op) {
  if (!m_params.supports(g.dtype)) {
    throw WorkloadError(std::string("gemm of dtype ") + isa::to_string(g.dtype) +
                        ": not supported by the systolic array (core.systolic.dtypes)");
  }
  const Dataflow d = m_params.dataflow_of(g);
  const GemmSchedule t = m_pipeline.run(d, {g.m, g.k, g.n}, now);
  const GemmTraffic tr = gemm_traffic(d, m_params.shape, g);
  const std::uint64_t e = isa::size_bytes(g.dtype);
  const std::uint64_t a_size = g.m * g.k * e, b_size = g.k * g.n * e;
  const std::uint64_t c_size = g.m * g.n * isa::accumulator_bytes(g.dtype);
  // Repeated reads of an operand reserve its address range once per pass, from the GEMM's
  // first cycle in the array.
  Cycles sram_end = t.start;
  for (std::uint64_t i = 0; i < tr.a_read_bytes / a_size; ++i) {
    sram_end = max(sram_end, spad.access(g.a_addr, a_size, false, t.start));
  }
  for (std::uint64_t i = 0; i < tr.b_read_bytes / b_size; ++i) {
    sram_end = max(sram_end, spad.access(g.b_addr, b_size, false, t.start));
  }
  for (std::uint64_t i = 0; i < tr.acc_read_bytes / c_size; ++i) {
    sram_end = max(sram_end, acc.access(g.c_addr, c_size, false, t.start));
  }
  for (std::uint64_t i = 0; i < tr.acc_written_bytes / c_size; ++i) {
    sram_end = max(sram_end, acc.access(g.c_addr, c_size, true, t.start));
  }
  // A GEMM whose SRAM traffic outlasts its compute holds the array until the traffic is over.
  const Cycles done = max(t.end, sram_end);
  const Cycles stall = done - t.end;
  if (stall > Cycles(0)) m_pipeline.hold_until(done);
  const Cycles accept = stall > Cycles(0) ? done : t.accept;
  const Cycles busy_from = max(t.start, m_done);
  const Cycles compute_end = max(t.end, busy_from);
  m_busy_cycles += (compute_end - busy_from).count();
  m_stream_cycles += t.stream_cycles;
  m_stall_cycles += stall.count();
  m_macs += t.macs;
  *m_dtype_macs[std::size_t(g.dtype)] += t.macs;  // supported, checked above
  m_folds += t.folds;
  ++m_gemms;
  if (t.switched) {
    ++m_switches;
    m_switch_cycles += m_params.dataflow_switch_cycles.count();
  }
  if (m_timeline && t.switched) {
    // Before the GEMM's start, after every earlier GEMM's span and stall (the switch rule).
    const Cycles x = m_params.dataflow_switch_cycles;
    m_timeline->span(m_track, m_switch_span, m_clock.to_time(t.start - x), m_clock.to_time(t.start),
                     op, {x.count()});
  }
  if (m_timeline) {
    // Spans do not overlap: a pipelined GEMM's span starts where the previous one's ended, and
    // its cycles are what it added to busy_cycles.
    m_timeline->span(m_track, m_gemm_span, m_clock.to_time(busy_from), m_clock.to_time(compute_end),
                     op, {g.m, g.k, g.n, (compute_end - busy_from).count()});
    if (stall > Cycles(0)) {
      m_timeline->span(m_track, m_stall_span, m_clock.to_time(t.end), m_clock.to_time(done), op,
                       {stall.count()});
    }
  }
  m_done = max(m_done, done);
  m_reads_done = max(m_reads_done, stall > Cycles(0) ? done : t.reads_done);
  return GemmRun{accept, done, busy_from};
}

}  // namespace llmsim::systolic
