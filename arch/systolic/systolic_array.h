#pragma once
// The systolic array as a core-level unit: runs one ISA Gemm at a time, at the closed-form
// latency of timing.h, while its operands stream through the scratchpad and accumulator bank
// ports. The GEMM ends when both the array and its SRAM traffic are done.
//
// Energy (optional, sim/core/energy.h): `energy_pj_per_mac` gives the energy of one MAC per
// dtype, one key per entry of `dtypes` (multiply plus the accumulator add, in the PE; operand
// reads from the SRAMs are the SRAMs' energy), and `leakage_mw` the array's static power.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "arch/isa/isa.h"
#include "arch/systolic/timing.h"
#include "sim/core/energy.h"
#include "sim/core/stats.h"
#include "sim/core/timeline.h"

namespace llmsim {
namespace config {
class Reader;
}
}  // namespace llmsim
namespace llmsim::sram {
class BankedSram;
}

namespace llmsim::systolic {

// Entries of isa::DType (fp32 is the last; checked in systolic_array.cpp).
inline constexpr std::size_t kNumDTypes = 4;

// Dataflows: `dataflow: X` gives an array with one, `dataflows: [X, Y, ...]` a reconfigurable
// array (exactly one of the two keys) that switches between them per GEMM (timing.h), the
// first being its default (a Gemm that names none runs in it), at a cost of
// `dataflow_switch_cycles` (required with two or more, an error with one; at most
// config::kMaxLatencyCycles).
struct SystolicParams {
  ArrayShape shape;
  std::vector<Dataflow> dataflows{Dataflow::ws};  // distinct, non-empty; front() the default
  Cycles dataflow_switch_cycles{0};               // 0 with one dataflow
  Pipelining pipelining = Pipelining::none;       // timing.h
  std::vector<isa::DType> dtypes;  // element types the PEs support, one MAC per PE per cycle
  // pJ per MAC, indexed by isa::DType; given for every supported dtype when the array has an
  // energy model (leakage_mw set), else all 0.
  std::array<double, kNumDTypes> energy_pj_per_mac{};
  std::optional<double> leakage_mw;  // set iff the array has an energy model

  static SystolicParams parse(config::Reader& r);
  bool supports(isa::DType t) const;
  bool offers(Dataflow d) const;
  Dataflow default_dataflow() const { return dataflows.front(); }
  // The dataflow GEMM g runs in: its own, or the default. WorkloadError for one not offered.
  Dataflow dataflow_of(const isa::Gemm& g) const;
  std::uint64_t pes() const { return std::uint64_t(shape.rows) * shape.cols; }
};

// Bytes a GEMM moves through the SRAM ports, given how the dataflow folds it: the streamed
// operand is re-read once per fold of the other spatial dimension, and partial sums are
// read-modified-written once per fold of K.
struct GemmTraffic {
  std::uint64_t a_read_bytes = 0;
  std::uint64_t b_read_bytes = 0;
  std::uint64_t acc_read_bytes = 0;
  std::uint64_t acc_written_bytes = 0;
};
GemmTraffic gemm_traffic(Dataflow d, ArrayShape a, const isa::Gemm& g);

// One GEMM instruction as the array ran it.
struct GemmRun {
  Cycles accept;     // the array takes the next GEMM (the compute queue moves on)
  Cycles done;       // its results are in the accumulator: its last output left the array and
                     // its SRAM traffic is over
  Cycles busy_from;  // done - busy_from: the cycles it added to the array's busy time
};

class SystolicArray {
 public:
  SystolicArray(const SystolicParams& p, const ClockDomain& clock, stats::Group& parent);

  // Issues `g` at cycle `now`, after every GEMM issued before (with pipelining they overlap:
  // timing.h), in its dataflow (switching the array first if needed). Throws WorkloadError for
  // a dtype or a dataflow the array does not support. `op` (the
  // instruction's op index, or -1) names it on a timeline.
  GemmRun execute(const isa::Gemm& g, Cycles now, sram::BankedSram& spad, sram::BankedSram& acc,
                  std::int32_t op = -1);

  // Records every GEMM from now on as a span on a track "systolic" of process `pid`: "gemm"
  // over its compute cycles (busy_cycles), then "sram stall" over its stall cycles, if any;
  // before it "dataflow switch" over the cycles the array reconfigured for it, if it did.
  void trace_to(timeline::Timeline& tl, std::uint32_t pid);

  const SystolicParams& params() const { return m_params; }
  // When every GEMM issued so far is done (GemmRun::done), and has read its operands from the
  // scratchpad (what frees their buffers: sem.signal after_reads).
  Cycles done() const { return m_done; }
  Cycles reads_done() const { return m_reads_done; }

 private:
  SystolicParams m_params;
  const ClockDomain& m_clock;
  timeline::Timeline* m_timeline = nullptr;
  timeline::TrackId m_track = 0;
  timeline::KindId m_gemm_span = 0, m_stall_span = 0;
  timeline::KindId m_switch_span = 0;  // registered with two or more dataflows only
  ArrayPipeline m_pipeline;
  Cycles m_done, m_reads_done;  // of every GEMM issued so far

  stats::Group m_stats;
  stats::Counter m_busy_cycles;
  stats::Counter m_stream_cycles;
  stats::Counter m_stall_cycles;
  stats::Counter m_macs;
  // "<dtype>_macs" per supported dtype, indexed by isa::DType (null for the others)
  std::array<std::unique_ptr<stats::Counter>, kNumDTypes> m_dtype_macs;
  stats::Counter m_folds;
  stats::Counter m_gemms;
  stats::Counter m_switches;
  stats::Counter m_switch_cycles;
  stats::Formula m_utilisation;
  stats::Formula m_fill_drain_cycles;
  std::unique_ptr<energy::UnitEnergy> m_energy;  // with an energy model only
};

}  // namespace llmsim::systolic
