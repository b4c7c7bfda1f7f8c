#pragma once
// The chip: cores sharing a memory backend, directly or through the on-chip network (when the
// arch config has a "noc" object: cores and memory ports on its nodes, noc_memory.h). Built
// from typed params and one ISA program per core; owns the root of the stats tree ("chip").
#include <memory>
#include <optional>
#include <vector>

#include <systemc>

#include "arch/chip/noc_memory.h"
#include "arch/core/core.h"
#include "arch/memory/memory_backend.h"
#include "arch/noc/noc_params.h"
#include "arch/noc/placement.h"

namespace llmsim::chip {

struct ChipParams {
  std::uint32_t num_cores = 1;
  core::CoreParams core;  // every core alike (heterogeneous cores come with per-core overrides)
  std::optional<noc::NocParams> noc;  // absent: every core talks to the memory directly

  static ChipParams parse(config::Reader& r);
};

class Chip : public sc_core::sc_module {
 public:
  // `memory_config` is the `memory` object of the arch config.
  Chip(const sc_core::sc_module_name& name, const ChipParams& p, config::Reader& memory_config);

  // Before sc_start: one program per core (at most num_cores; missing ones are empty), whose
  // instructions name ops 0 .. num_ops-1.
  void load(isa::Program program, std::size_t num_ops);
  // Before sc_start: records the run on `tl` (which must outlive the simulation): a process
  // per core (tracks dma, systolic, vector), then one for the memory (its own tracks).
  void trace_to(timeline::Timeline& tl);
  // Before sc_start: value mode on every core (arch/values/machine.h); `v` must outlive the
  // simulation.
  void set_values(values::Machine* v);

  stats::Group& stats() { return m_stats; }
  const ChipParams& params() const { return m_params; }
  const core::Core& core(std::size_t i) const { return *m_cores.at(i); }
  const memory::MemoryBackend& memory() const { return *m_memory; }
  const core::OpRecords& ops() const { return m_ops; }
  // The network and where cores and memory ports sit on it; null / empty without a NoC.
  const NocFabric* noc() const { return m_noc.get(); }
  const noc::Placement& placement() const { return m_placement; }

  // After sc_start: rethrows an error a core raised; throws InternalError if a queue never
  // finished (a deadlocked program); brings the memory's lazily updated state to the end.
  void finish();

 private:
  ChipParams m_params;
  stats::Group m_stats;
  isa::Program m_program;  // one program per core, empty for idle cores
  core::OpRecords m_ops;
  core::BarrierHub m_barriers;
  std::unique_ptr<memory::MemoryBackend> m_memory;
  std::unique_ptr<NocFabric> m_noc;
  noc::Placement m_placement;
  std::vector<std::unique_ptr<NocMemoryPort>> m_ports;  // per core, with a NoC
  std::vector<std::unique_ptr<core::Core>> m_cores;
};

}  // namespace llmsim::chip
