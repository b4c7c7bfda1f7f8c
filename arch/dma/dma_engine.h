#pragma once
// A core's DMA engine: moves 2-D blocks between the memory backend and a banked SRAM. One engine
// serves the load and the store queues first come first served; a block occupies it for
// ceil(DRAM-side bytes / bytes_per_cycle) core cycles (the SRAM side, which may be wider when
// accumulators are narrowed on the way out, is paid on the SRAM bank ports). A block is done when the engine, the memory and
// the SRAM ports have all finished with it.
#include <cstdint>

#include "arch/isa/isa.h"
#include "arch/memory/memory_backend.h"
#include "sim/core/stats.h"

namespace llmsim { namespace config { class Reader; } }
namespace llmsim::sram { class BankedSram; }

namespace llmsim::dma {

struct DmaParams {
  std::uint64_t bytes_per_cycle = 64;

  static DmaParams parse(config::Reader& r);
};

class DmaEngine {
 public:
  DmaEngine(const DmaParams& p, const ClockDomain& clock, memory::MemoryBackend& mem,
            std::uint32_t core_id, stats::Group& parent);

  // Both block the calling SC_THREAD until the transfer is done; they return the DRAM bytes moved.
  std::uint64_t load(const isa::DmaLoad& i, sram::BankedSram& dst);
  std::uint64_t store(const isa::DmaStore& i, sram::BankedSram& src);

 private:
  // Waits for the engine, then moves the DRAM side and the SRAM side together.
  void move(const memory::Transfer& t, std::uint64_t sram_addr, std::uint64_t sram_bytes,
            sram::BankedSram& s);

  DmaParams m_params;
  const ClockDomain& m_clock;
  memory::MemoryBackend& m_mem;
  std::uint32_t m_core_id;
  Cycles m_free;  // first cycle the engine is free

  stats::Group m_stats;
  stats::Counter m_loaded_bytes;
  stats::Counter m_stored_bytes;
  stats::Counter m_busy_cycles;
  stats::Counter m_transfers;
};

}  // namespace llmsim::dma
