#include "arch/dma/dma_engine.h"

#include "arch/sram/banked_sram.h"
#include "sim/core/config.h"

namespace llmsim::dma {

DmaParams DmaParams::parse(config::Reader& r) {
  DmaParams p;
  p.bytes_per_cycle = r.count("bytes_per_cycle");
  p.max_outstanding_blocks = r.count("max_outstanding_blocks", 4);
  if (p.max_outstanding_blocks > 256) {
    r.fail("max_outstanding_blocks",
           "must be at most 256, got " + std::to_string(p.max_outstanding_blocks));
  }
  const bool per_byte = r.has("energy_pj_per_byte");
  if (per_byte) p.energy_pj_per_byte = r.non_negative("energy_pj_per_byte");
  p.leakage_mw = energy::read_leakage_mw(r, per_byte);
  return p;
}

DmaEngine::DmaEngine(const sc_core::sc_module_name& name, const DmaParams& p,
                     const ClockDomain& clock, memory::MemoryBackend& mem, std::uint32_t core_id,
                     stats::Group& parent)
    : sc_module(name),
      m_params(p),
      m_clock(clock),
      m_mem(mem),
      m_core_id(core_id),
      m_stats(parent, basename()),
      m_loaded_bytes(m_stats, "loaded_bytes", "byte", "DRAM bytes loaded into SRAM"),
      m_stored_bytes(m_stats, "stored_bytes", "byte", "DRAM bytes stored from SRAM"),
      m_busy_cycles(m_stats, "busy_cycles", "cycle", "cycles the datapath was occupied"),
      m_transfers(m_stats, "transfers", "count", "blocks moved"),
      m_outstanding(m_stats, "outstanding_blocks", "count", "blocks in flight", clock),
      m_latency(m_stats, "block_latency_cycles", "cycle", "issue to completion, per block", 64,
                256) {
  if (p.leakage_mw) {
    m_energy = std::make_unique<energy::UnitEnergy>(
        m_stats, "(loaded_bytes + stored_bytes) x energy_pj_per_byte",
        [this] {
          return double(m_loaded_bytes.value() + m_stored_bytes.value()) *
                 m_params.energy_pj_per_byte;
        },
        *p.leakage_mw, [this] { return m_clock.seconds(m_clock.now()); });
  }
  for (std::uint64_t i = 0; i < p.max_outstanding_blocks; ++i) {
    sc_core::sc_spawn([this] { worker(); }, sc_core::sc_gen_unique_name("worker"));
  }
}

void DmaEngine::trace_to(timeline::Timeline& tl, std::uint32_t pid) {
  m_timeline = &tl;
  m_track = tl.track(pid, "dma");
  m_load_span = tl.kind("load", {"bytes", "rows", "latency_cycles"});
  m_store_span = tl.kind("store", {"bytes", "rows", "latency_cycles"});
}

void DmaEngine::issue(memory::Transfer t, sram::BankedSram& s, std::uint64_t sram_addr,
                      std::uint64_t sram_bytes, Completion done, std::int32_t op) {
  while (m_in_flight == m_params.max_outstanding_blocks) sc_core::wait(m_slot_freed);
  const Cycles now = m_clock.now();
  const Cycles start = max(now, m_free);
  const Cycles occupied(ceil_div(t.bytes(), m_params.bytes_per_cycle));
  m_free = start + occupied;  // reserved at issue: first come first served
  m_busy_cycles += occupied.count();
  ++m_transfers;
  m_outstanding.set(now, ++m_in_flight);
  m_jobs.push_back(Job{t, &s, sram_addr, sram_bytes, now, start, occupied, std::move(done), op});
  m_job_added.notify(sc_core::SC_ZERO_TIME);
}

void DmaEngine::worker() {
  // As in Core::run: exceptions must not cross the kernel; keep the first and stop.
  try {
    serve();
  } catch (const sc_core::sc_unwind_exception&) {
    throw;
  } catch (...) {
    if (!m_error) m_error = std::current_exception();
    sc_core::sc_stop();
  }
}

void DmaEngine::serve() {
  for (;;) {
    while (m_jobs.empty()) sc_core::wait(m_job_added);
    Job j = std::move(m_jobs.front());
    m_jobs.pop_front();
    run(j);
    const Cycles end = m_clock.now();
    m_latency.sample((end - j.issued).count());
    if (m_timeline) {
      m_timeline->span(m_track, j.transfer.write ? m_store_span : m_load_span,
                       m_clock.to_time(j.start), m_clock.to_time(j.start + j.occupied), j.op,
                       {j.transfer.bytes(), j.transfer.rows, (end - j.issued).count()});
    }
    m_outstanding.set(end, --m_in_flight);
    m_slot_freed.notify(sc_core::SC_ZERO_TIME);
    j.done(end, j.transfer.bytes());
  }
}

void DmaEngine::run(Job& j) {
  m_clock.wait_until(j.start);
  const Cycles sram_end = j.sram->access(j.sram_addr, j.sram_bytes, !j.transfer.write, j.start);
  m_mem.transfer(j.transfer);
  // Complete at the first core edge at or after the memory's last cycle (now() rounds up).
  m_clock.wait_until(max(m_clock.now(), max(j.start + j.occupied, sram_end)));
}

void DmaEngine::issue_load(const isa::DmaLoad& i, sram::BankedSram& dst, Completion done,
                           std::int32_t op) {
  const isa::Block& b = i.block;
  memory::Transfer t{b.dram_addr,         b.rows, b.cols * i.elem_bytes,
                     b.dram_stride_bytes, false,  m_core_id};
  m_loaded_bytes += t.bytes();
  issue(t, dst, b.sram_addr, t.bytes(), std::move(done), op);
}

void DmaEngine::issue_store(const isa::DmaStore& i, sram::BankedSram& src, Completion done,
                            std::int32_t op) {
  const isa::Block& b = i.block;
  memory::Transfer t{b.dram_addr,         b.rows, b.cols * i.dram_elem_bytes,
                     b.dram_stride_bytes, true,   m_core_id};
  m_stored_bytes += t.bytes();
  issue(t, src, b.sram_addr, b.rows * b.cols * i.sram_elem_bytes, std::move(done), op);
}

std::uint64_t DmaEngine::issue_and_wait(const std::function<void(Completion)>& issue_fn) {
  sc_core::sc_event finished;
  bool done = false;
  std::uint64_t moved = 0;
  issue_fn([&](Cycles, std::uint64_t bytes) {
    done = true;
    moved = bytes;
    finished.notify(sc_core::SC_ZERO_TIME);
  });
  while (!done) sc_core::wait(finished);
  return moved;
}

std::uint64_t DmaEngine::load(const isa::DmaLoad& i, sram::BankedSram& dst) {
  return issue_and_wait([&](Completion c) { issue_load(i, dst, std::move(c)); });
}

std::uint64_t DmaEngine::store(const isa::DmaStore& i, sram::BankedSram& src) {
  return issue_and_wait([&](Completion c) { issue_store(i, src, std::move(c)); });
}

}  // namespace llmsim::dma
