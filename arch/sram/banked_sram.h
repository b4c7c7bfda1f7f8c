#pragma once
// A banked SRAM (scratchpad or accumulator). Consecutive `bank_width_bytes` lines go to
// consecutive banks (low-order interleaving). Each bank port moves one line per cycle and keeps
// a "busy until" cycle, so an access costs O(banks) and contention is exact for this model:
// an access reserves, on every bank it touches, as many cycles as it has lines in that bank,
// starting when that bank's port is free. With ports "1r1w" reads and writes have separate
// ports per bank; with "1rw" they share one.
//
// Modelling choice: an access reserves its bank cycles back to back from its start, as a burst.
// A long access (a whole GEMM operand) therefore holds its banks contiguously instead of
// interleaving cycle by cycle with a concurrent access to the same banks; the total port time is
// the same, only the order within the window differs.
//
// Energy (optional, sim/core/energy.h): `energy_pj_per_byte` {"read", "write"} per byte moved
// through the bank ports (a bank line's access energy over its width), and `leakage_mw` the
// static power of the whole SRAM.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/energy.h"
#include "sim/core/stats.h"
#include "sim/core/units.h"

namespace llmsim {
namespace config {
class Reader;
}
}  // namespace llmsim

namespace llmsim::sram {

struct BankedSramParams {
  std::uint64_t capacity_bytes = 0;
  std::uint64_t banks = 1;
  std::uint64_t bank_width_bytes = 1;
  bool shared_port = false;                            // "1rw" (true) or "1r1w" (false)
  double read_pj_per_byte = 0, write_pj_per_byte = 0;  // energy_pj_per_byte.{read, write}
  std::optional<double> leakage_mw;                    // set iff the SRAM has an energy model

  static BankedSramParams parse(config::Reader& r);
  std::uint64_t bytes_per_cycle() const { return banks * bank_width_bytes; }
};

class BankedSram {
 public:
  // `clock` (the owning core's) measures the time leakage runs for and must outlive the SRAM;
  // it may be null only when p.leakage_mw is unset (InternalError otherwise).
  BankedSram(const BankedSramParams& p, stats::Group& parent, const std::string& name,
             const ClockDomain* clock = nullptr);

  // Reserves the ports for `bytes` bytes from `addr`, no earlier than `now`; returns the cycle
  // after the last line moved. Throws InternalError if the range leaves the SRAM.
  Cycles access(std::uint64_t addr, std::uint64_t bytes, bool write, Cycles now);

  const BankedSramParams& params() const { return m_params; }

 private:
  BankedSramParams m_params;
  std::vector<Cycles> m_read_free;   // per bank: first cycle its read (or shared) port is free
  std::vector<Cycles> m_write_free;  // per bank, "1r1w" only

  stats::Group m_stats;
  stats::Counter m_read_bytes;
  stats::Counter m_written_bytes;
  stats::Counter m_accesses;
  stats::Counter m_conflict_cycles;
  std::unique_ptr<energy::UnitEnergy> m_energy;  // with an energy model only
};

}  // namespace llmsim::sram
