#pragma once
// The vector / special-function unit of a core: runs one ISA VectorOp at a time, at the
// closed-form latency of timing.h, while every pass streams its operands through the
// scratchpad and accumulator bank ports (vector_op.h lists which). An op ends when both its
// compute and its SRAM traffic are done.
//
// Config (`core.vector`):
//   lanes                          elements per vector (required)
//   pipeline_depth_cycles          D, read -> lanes -> write latency of a vector (required)
//   add_mul_cycles_per_vector      a, default 1
//   exp_cycles_per_vector          e, default 4
//   reciprocal_cycles_per_vector   r, default 4 (reciprocal, rsqrt, divide)
//   reduction_latency_cycles       R, default ceil(log2(lanes)): one tree level per stage
//   scalar_latency_cycles          S, default pipeline_depth_cycles
//   rows_in_flight                 K, default 1 (rows one by one)
//   dtypes                         compute types the lanes support, default ["fp32"]
//   energy_pj_per_element_op       optional {"add_mul", "exp", "reciprocal"}: energy of one
//                                  element operation of each class
//   leakage_mw                     optional static power; either key adds the energy stats
//                                  of sim/core/energy.h
// The defaults of e and r follow the 1:4 throughput of special functions to fp32 add/mul in
// NVIDIA's SMs (CUDA C++ Programming Guide, "Arithmetic Instructions": 16 vs 64 results per
// clock per SM for reciprocal, rsqrt and exp2 on compute capability 7.x and 8.x).
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "arch/isa/isa.h"
#include "arch/vector/timing.h"
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

namespace llmsim::vector {

struct VectorEnergy {
  double add_mul_pj = 0;  // per element operation of each cost class
  double exp_pj = 0;
  double reciprocal_pj = 0;

  static VectorEnergy parse(config::Reader& r);
};

struct VectorParams {
  VectorTimingParams timing;
  std::vector<isa::DType> dtypes;  // compute types of the lanes
  std::optional<VectorEnergy> energy;
  std::optional<double> leakage_mw;  // set when the unit has an energy model (energy or this)

  static VectorParams parse(config::Reader& r);
  bool supports(isa::DType t) const;
};

inline constexpr std::size_t kNumVectorKinds = 15;

class VectorUnit {
 public:
  VectorUnit(const VectorParams& p, const ClockDomain& clock, stats::Group& parent);

  // Starts `op` at cycle `now`, or when the op before it completes if that is later (one op at
  // a time: the compute queue's vector ops and the matmul epilogues that the store queue runs
  // share the unit); returns the cycle it completes. Throws WorkloadError, naming
  // the instruction, for an op the unit cannot run: one that breaks the ISA's rules
  // (check_vector_op), a dtype not in core.vector.dtypes, or an operand outside its SRAM.
  // `op_index` (the instruction's op, or -1) names it on a timeline.
  Cycles execute(const isa::VectorOp& op, Cycles now, sram::BankedSram& spad, sram::BankedSram& acc,
                 std::int32_t op_index = -1);

  // Records every op from now on as a span on a track "vector" of process `pid`, named by its
  // kind ("softmax") over its compute cycles (busy_cycles), then "sram stall" over its stall
  // cycles, if any.
  void trace_to(timeline::Timeline& tl, std::uint32_t pid);

  const VectorParams& params() const { return m_params; }

 private:
  void check(const isa::VectorOp& op, const sram::BankedSram& spad,
             const sram::BankedSram& acc) const;

  VectorParams m_params;
  const ClockDomain& m_clock;
  timeline::Timeline* m_timeline = nullptr;
  timeline::TrackId m_track = 0;
  std::array<timeline::KindId, kNumVectorKinds> m_kind_span{};
  timeline::KindId m_stall_span = 0;
  Cycles m_free;  // completion of the last op

  stats::Group m_stats;
  stats::Counter m_busy_cycles;
  stats::Counter m_stall_cycles;
  stats::Counter m_ops;
  stats::Counter m_elements;
  stats::Counter m_vectors;
  stats::Counter m_add_mul_element_ops;
  stats::Counter m_exp_element_ops;
  stats::Counter m_reciprocal_element_ops;
  std::array<std::unique_ptr<stats::Counter>, kNumVectorKinds> m_kind_ops;  // "<kind>_ops"
  stats::Formula m_busy_ratio;
  std::unique_ptr<energy::UnitEnergy> m_energy;  // with an energy model only
};

}  // namespace llmsim::vector
