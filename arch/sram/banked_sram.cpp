#include "arch/sram/banked_sram.h"

#include "sim/core/config.h"
#include "sim/core/error.h"

namespace llmsim::sram {

BankedSramParams BankedSramParams::parse(config::Reader& r) {
  BankedSramParams p;
  p.capacity_bytes = r.count("capacity_bytes");
  // Per-bank state is allocated: at most 2^16 banks of at most 2^16 bytes (their product, a
  // row of all banks, then fits the 2^32 of capacity_bytes).
  p.banks = r.power_of_two("banks", std::nullopt, 65536);
  p.bank_width_bytes = r.power_of_two("bank_width_bytes", std::nullopt, 65536);
  p.shared_port = r.choice("ports", {"1r1w", "1rw"}, std::string("1r1w")) == "1rw";
  if (p.capacity_bytes % (p.banks * p.bank_width_bytes) != 0) {
    r.fail("capacity_bytes", "must be a multiple of banks x bank_width_bytes (" +
                                 std::to_string(p.banks * p.bank_width_bytes) + "), got " +
                                 std::to_string(p.capacity_bytes));
  }
  const bool per_byte = r.has("energy_pj_per_byte");
  if (per_byte) {
    config::Reader e = r.child("energy_pj_per_byte");
    p.read_pj_per_byte = e.non_negative("read");
    p.write_pj_per_byte = e.non_negative("write");
    e.finish();
  }
  p.leakage_mw = energy::read_leakage_mw(r, per_byte);
  return p;
}

BankedSram::BankedSram(const BankedSramParams& p, stats::Group& parent, const std::string& name,
                       const ClockDomain* clock)
    : m_params(p),
      m_read_free(p.banks),
      m_write_free(p.banks),
      m_stats(parent, name),
      m_read_bytes(m_stats, "read_bytes", "byte", "bytes read through the bank ports"),
      m_written_bytes(m_stats, "written_bytes", "byte", "bytes written through the bank ports"),
      m_accesses(m_stats, "accesses", "count", "block accesses"),
      m_conflict_cycles(m_stats, "bank_conflict_cycles", "cycle",
                        "cycles accesses finished later than on idle banks, summed") {
  if (p.leakage_mw) {
    LLMSIM_CHECK(clock, "an SRAM with an energy model needs a clock domain");
    m_energy = std::make_unique<energy::UnitEnergy>(
        m_stats, "read_bytes x energy_pj_per_byte.read + written_bytes x energy_pj_per_byte.write",
        [this] {
          return double(m_read_bytes.value()) * m_params.read_pj_per_byte +
                 double(m_written_bytes.value()) * m_params.write_pj_per_byte;
        },
        *p.leakage_mw, [clock] { return clock->seconds(clock->now()); });
  }
}

Cycles BankedSram::access(std::uint64_t addr, std::uint64_t bytes, bool write, Cycles now) {
  LLMSIM_CHECK(
      bytes > 0 && bytes <= m_params.capacity_bytes && addr <= m_params.capacity_bytes - bytes,
      "SRAM access out of range: addr " + std::to_string(addr) + " + " + std::to_string(bytes) +
          " bytes > capacity " + std::to_string(m_params.capacity_bytes));
  const std::uint64_t w = m_params.bank_width_bytes, nb = m_params.banks;
  const std::uint64_t first = addr / w, lines = (addr + bytes - 1) / w - first + 1;
  std::vector<Cycles>& port = (write && !m_params.shared_port) ? m_write_free : m_read_free;
  Cycles finish = now;
  const std::uint64_t touched = lines < nb ? lines : nb;
  for (std::uint64_t i = 0; i < touched; ++i) {
    // Lines first, first+1, ... map to banks (first+i) % nb; bank i of this walk gets
    // lines / nb lines, plus one if i < lines % nb.
    const std::uint64_t bank = (first + i) % nb;
    const Cycles n(lines / nb + (i < lines % nb ? 1 : 0));
    port[bank] = max(port[bank], now) + n;
    finish = max(finish, port[bank]);
  }
  const Cycles ideal = now + Cycles(ceil_div(lines, nb));
  if (finish > ideal) m_conflict_cycles += (finish - ideal).count();
  ++m_accesses;
  (write ? m_written_bytes : m_read_bytes) += bytes;
  return finish;
}

}  // namespace llmsim::sram
