#pragma once
// A core's DMA engine: moves 2-D blocks between the memory backend and a banked SRAM.
//
// Issue and completion are split, as in a real decoupled DMA: a queue hands the engine a block
// and goes on with its next instruction; up to `max_outstanding_blocks` blocks are in flight at
// once, so the memory latency of one block overlaps the transfer of the next. The engine's
// datapath is shared by the load and store queues first come first served: a block occupies it
// for ceil(DRAM-side bytes / bytes_per_cycle) core cycles, reserved when the block is issued.
// A block is complete when the datapath, the memory and the SRAM bank ports have all finished
// with it; completion is reported through a callback at the first core edge after that.
//
// Energy (optional, sim/core/energy.h): `energy_pj_per_byte` per DRAM-side byte moved (loaded
// or stored) through the engine's datapath and staging buffers, and `leakage_mw`.
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <optional>

#include <systemc>

#include "arch/isa/isa.h"
#include "arch/memory/memory_backend.h"
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

namespace llmsim::dma {

struct DmaParams {
  std::uint64_t bytes_per_cycle = 64;
  std::uint64_t max_outstanding_blocks = 4;
  double energy_pj_per_byte = 0;
  std::optional<double> leakage_mw;  // set iff the engine has an energy model

  static DmaParams parse(config::Reader& r);
};

class DmaEngine : public sc_core::sc_module {
 public:
  // Called at completion, from the engine's worker thread, with the cycle the block completed
  // and the DRAM bytes it moved.
  using Completion = std::function<void(Cycles end, std::uint64_t dram_bytes)>;

  DmaEngine(const sc_core::sc_module_name& name, const DmaParams& p, const ClockDomain& clock,
            memory::MemoryBackend& mem, std::uint32_t core_id, stats::Group& parent);

  // Hands a block to the engine. Blocks the calling SC_THREAD only while all
  // max_outstanding_blocks slots are busy; returns as soon as the block is accepted. `op` (the
  // instruction's op index, or -1) names the block on a timeline.
  void issue_load(const isa::DmaLoad& i, sram::BankedSram& dst, Completion done,
                  std::int32_t op = -1);
  void issue_store(const isa::DmaStore& i, sram::BankedSram& src, Completion done,
                   std::int32_t op = -1);

  // Records every block from now on, at its completion, as a span on a track "dma" of process
  // `pid`: "load" or "store" over the cycles it occupied the datapath (busy_cycles; these never
  // overlap), with its DRAM bytes, rows and latency (issue to completion) as args.
  void trace_to(timeline::Timeline& tl, std::uint32_t pid);

  // An exception raised while moving a block (the simulation is then stopped); null if none.
  std::exception_ptr error() const { return m_error; }

  // Issue and wait for completion; return the DRAM bytes moved.
  std::uint64_t load(const isa::DmaLoad& i, sram::BankedSram& dst);
  std::uint64_t store(const isa::DmaStore& i, sram::BankedSram& src);

 private:
  struct Job {
    memory::Transfer transfer;
    sram::BankedSram* sram = nullptr;
    std::uint64_t sram_addr = 0, sram_bytes = 0;
    Cycles issued, start, occupied;
    Completion done;
    std::int32_t op = -1;
  };

  void issue(memory::Transfer t, sram::BankedSram& s, std::uint64_t sram_addr,
             std::uint64_t sram_bytes, Completion done, std::int32_t op);
  std::uint64_t issue_and_wait(const std::function<void(Completion)>& issue_fn);
  void worker();
  void serve();
  void run(Job& j);

  DmaParams m_params;
  const ClockDomain& m_clock;
  memory::MemoryBackend& m_mem;
  std::uint32_t m_core_id;
  timeline::Timeline* m_timeline = nullptr;
  timeline::TrackId m_track = 0;
  timeline::KindId m_load_span = 0, m_store_span = 0;
  Cycles m_free;  // first cycle the datapath is free
  std::exception_ptr m_error;
  std::uint64_t m_in_flight = 0;
  std::deque<Job> m_jobs;  // accepted, not yet picked up by a worker
  sc_core::sc_event m_job_added;
  sc_core::sc_event m_slot_freed;

  stats::Group m_stats;
  stats::Counter m_loaded_bytes;
  stats::Counter m_stored_bytes;
  stats::Counter m_busy_cycles;
  stats::Counter m_transfers;
  stats::Occupancy m_outstanding;
  stats::Histogram m_latency;
  std::unique_ptr<energy::UnitEnergy> m_energy;  // with an energy model only
};

}  // namespace llmsim::dma
