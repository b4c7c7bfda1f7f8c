#include "arch/dma/dma_engine.h"

#include "arch/sram/banked_sram.h"
#include "sim/core/config.h"

namespace llmsim::dma {

DmaParams DmaParams::parse(config::Reader& r) {
  DmaParams p;
  p.bytes_per_cycle = r.count("bytes_per_cycle");
  return p;
}

DmaEngine::DmaEngine(const DmaParams& p, const ClockDomain& clock, memory::MemoryBackend& mem,
                     std::uint32_t core_id, stats::Group& parent)
    : m_params(p),
      m_clock(clock),
      m_mem(mem),
      m_core_id(core_id),
      m_stats(parent, "dma"),
      m_loaded_bytes(m_stats, "loaded_bytes", "byte", "DRAM bytes loaded into SRAM"),
      m_stored_bytes(m_stats, "stored_bytes", "byte", "DRAM bytes stored from SRAM"),
      m_busy_cycles(m_stats, "busy_cycles", "cycle", "cycles the engine was occupied"),
      m_transfers(m_stats, "transfers", "count", "blocks moved") {}

void DmaEngine::move(const memory::Transfer& t, std::uint64_t sram_addr,
                     std::uint64_t sram_bytes, sram::BankedSram& s) {
  const Cycles now = m_clock.now();
  const Cycles start = max(now, m_free);
  const Cycles occupied(ceil_div(t.bytes(), m_params.bytes_per_cycle));
  m_free = start + occupied;  // reserved before waiting: FCFS by arrival
  m_busy_cycles += occupied.count();
  ++m_transfers;
  m_clock.wait_until(start);
  const Cycles sram_end = s.access(sram_addr, sram_bytes, !t.write, start);
  m_mem.transfer(t);
  // Done at the first core edge at or after the memory's last cycle (now() rounds up).
  m_clock.wait_until(max(m_clock.now(), max(start + occupied, sram_end)));
}

std::uint64_t DmaEngine::load(const isa::DmaLoad& i, sram::BankedSram& dst) {
  const isa::Block& b = i.block;
  memory::Transfer t{b.dram_addr, b.rows, b.cols * i.elem_bytes, b.dram_stride_bytes, false,
                     m_core_id};
  move(t, b.sram_addr, t.bytes(), dst);
  m_loaded_bytes += t.bytes();
  return t.bytes();
}

std::uint64_t DmaEngine::store(const isa::DmaStore& i, sram::BankedSram& src) {
  const isa::Block& b = i.block;
  memory::Transfer t{b.dram_addr, b.rows, b.cols * i.dram_elem_bytes, b.dram_stride_bytes, true,
                     m_core_id};
  move(t, b.sram_addr, b.rows * b.cols * i.sram_elem_bytes, src);
  m_stored_bytes += t.bytes();
  return t.bytes();
}

}  // namespace llmsim::dma
