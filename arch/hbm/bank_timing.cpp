#include "arch/hbm/bank_timing.h"

#include <algorithm>
#include <string>

#include "sim/core/error.h"

namespace llmsim::hbm {

const char* to_string(Command c) {
  switch (c) {
    case Command::act:
      return "ACT";
    case Command::pre:
      return "PRE";
    case Command::rd:
      return "RD";
    case Command::wr:
      return "WR";
    case Command::refab:
      return "REFab";
    case Command::refpb:
      return "REFpb";
  }
  return "?";
}

namespace {

std::size_t idx(Command c) {
  return static_cast<std::size_t>(c);
}

}  // namespace

// By previous command, then by level.
struct BankTiming::Table {
  std::array<std::array<Constraints, kLevels>, kCommandCount> by_command{};
};

BankTiming::BankTiming(const DramSpec& spec, std::shared_ptr<const Table> table)
    : m_banks_per_group(spec.org.banks_per_group),
      m_faw(spec.timing.tFAW),
      m_constraints(table ? std::move(table) : table_for(spec)),
      m_banks(spec.org.banks()),
      m_group(spec.org.bank_groups, Earliest{}),
      m_cl(spec.timing.tCL),
      m_cwl(spec.timing.tCWL),
      m_bl(spec.timing.tBL) {
  check(spec);
  for (std::uint32_t b = 0; b < m_banks.size(); ++b) m_banks[b].group = b / m_banks_per_group;
}

void BankTiming::check(const DramSpec& spec) {
  const Timing& t = spec.timing;
  if (spec.org.banks() == 0 || spec.org.banks() > kMaxBanks) {
    throw ConfigError("memory.device: the controller handles 1 to " + std::to_string(kMaxBanks) +
                      " banks per pseudo channel, got " + std::to_string(spec.org.banks()));
  }
  if (t.tCCD_S < t.tBL) {
    throw ConfigError("memory.device: tCCD_S (" + std::to_string(t.tCCD_S) +
                      ") must be at least tBL (" + std::to_string(t.tBL) +
                      ") or read bursts would overlap on the data bus");
  }
}

std::shared_ptr<const BankTiming::Table> BankTiming::table_for(const DramSpec& spec) {
  check(spec);
  const Timing& t = spec.timing;
  using C = Command;
  using L = Level;
  auto made = std::make_shared<Table>();
  Table& table = *made;
  const std::uint64_t wr_to_pre = std::uint64_t{t.tCWL} + t.tBL + t.tWR;
  // Signed: a long write latency makes the bus turnaround term negative.
  const std::int64_t turnaround =
      std::int64_t{t.tCL} + t.tBL + t.tRTW - static_cast<std::int64_t>(t.tCWL);
  const std::uint64_t rd_to_wr =
      static_cast<std::uint64_t>(std::max<std::int64_t>(turnaround, t.tCCD_S));
  const std::uint64_t wr_to_rd_s =
      std::max<std::uint64_t>(std::uint64_t{t.tCWL} + t.tBL + t.tWTR_S, t.tCCD_S);
  const std::uint64_t wr_to_rd_l = std::uint64_t{t.tCWL} + t.tBL + t.tWTR_L;

  add(table, C::act, L::bank, C::rd, t.tRCDRD);
  add(table, C::act, L::bank, C::wr, t.tRCDWR);
  add(table, C::act, L::bank, C::pre, t.tRAS);
  add(table, C::act, L::bank, C::act, t.tRC);
  add(table, C::act, L::bank, C::refpb, t.tRC);
  add(table, C::act, L::bank_group, C::act, t.tRRD_L);
  add(table, C::act, L::channel, C::act, t.tRRD_S);
  add(table, C::act, L::channel, C::refab, t.tRC);

  add(table, C::pre, L::bank, C::act, t.tRP);
  add(table, C::pre, L::bank, C::refpb, t.tRP);
  add(table, C::pre, L::channel, C::refab, t.tRP);

  add(table, C::rd, L::bank, C::pre, t.tRTP);
  add(table, C::rd, L::bank_group, C::rd, t.tCCD_L);
  add(table, C::rd, L::channel, C::rd, t.tCCD_S);
  add(table, C::rd, L::channel, C::wr, rd_to_wr);

  add(table, C::wr, L::bank, C::pre, wr_to_pre);
  add(table, C::wr, L::bank_group, C::wr, t.tCCD_L);
  add(table, C::wr, L::bank_group, C::rd, wr_to_rd_l);
  add(table, C::wr, L::channel, C::wr, t.tCCD_S);
  add(table, C::wr, L::channel, C::rd, wr_to_rd_s);

  add(table, C::refab, L::channel, C::act, t.tRFC);
  add(table, C::refab, L::channel, C::refab, t.tRFC);
  add(table, C::refab, L::channel, C::refpb, t.tRFC);

  add(table, C::refpb, L::bank, C::act, t.tRFCpb);
  add(table, C::refpb, L::bank, C::refpb, t.tRFCpb);
  add(table, C::refpb, L::channel, C::act, t.tRREFD);
  add(table, C::refpb, L::channel, C::refpb, t.tRREFD);
  add(table, C::refpb, L::channel, C::refab, t.tRFCpb);
  return made;
}

void BankTiming::add(Table& t, Command prev, Level level, Command next, std::uint64_t latency) {
  if (latency == 0) return;  // no constraint (e.g. tRREFD on a device without it)
  LLMSIM_CHECK(latency <= 0xffffffffu, "HBM timing table: a latency beyond 32 bits");
  Constraints& cs = t.by_command[idx(prev)][static_cast<std::size_t>(level)];
  const auto n = static_cast<std::uint32_t>(idx(next));
  for (std::uint32_t i = 0; i < cs.size; ++i) {
    LLMSIM_CHECK(cs.items[i].next != n, "HBM timing table: a constraint added twice");
  }
  cs.items[cs.size++] = {n, static_cast<std::uint32_t>(latency)};
}

bool BankTiming::state_allows(Command cmd, std::uint32_t bank, std::uint32_t row) const {
  switch (cmd) {
    case Command::act:
    case Command::refpb:
      return !is_open(bank);
    case Command::pre:
      return is_open(bank);
    case Command::rd:
    case Command::wr:
      return m_banks[bank].open_row == row;
    case Command::refab:
      return m_open_mask == 0;
  }
  return false;
}

void BankTiming::illegal(Command cmd, std::uint32_t bank, std::uint32_t row,
                         std::uint64_t cycle) const {
  throw_internal_error("can_issue(cmd, bank, row, cycle)",
                       std::string("illegal HBM command ") + to_string(cmd) + " to bank " +
                           std::to_string(bank) + " row " + std::to_string(row) + " at cycle " +
                           std::to_string(cycle) + " (earliest " +
                           std::to_string(earliest(cmd, bank)) + ", bank state " +
                           (state_allows(cmd, bank, row) ? "ok" : "wrong") + ")",
                       __FILE__, __LINE__);
}

void BankTiming::issue(Command cmd, std::uint32_t bank, std::uint32_t row, std::uint64_t cycle) {
  LLMSIM_CHECK(cmd == Command::refab || bank < m_banks.size(),
               "HBM command to a bank out of range");
  if (!can_issue(cmd, bank, row, cycle)) illegal(cmd, bank, row, cycle);
  const auto& by_level = m_constraints->by_command[idx(cmd)];
  auto raise = [cycle](Earliest& e, const Constraints& cs) {
    for (std::uint32_t i = 0; i < cs.size; ++i) {
      const Constraint& k = cs.items[i];
      e[k.next] = std::max(e[k.next], cycle + k.latency);
    }
  };
  if (cmd != Command::refab) {
    raise(m_banks[bank].earliest, by_level[static_cast<std::size_t>(Level::bank)]);
    raise(m_group[m_banks[bank].group], by_level[static_cast<std::size_t>(Level::bank_group)]);
  }
  raise(m_channel, by_level[static_cast<std::size_t>(Level::channel)]);
  m_command_bus_free = cycle + 1;
  switch (cmd) {
    case Command::act:
      m_last_acts[m_acts % 4] = cycle;
      ++m_acts;
      m_banks[bank].open_row = row;
      m_open_mask |= std::uint64_t{1} << bank;
      break;
    case Command::pre:
      m_banks[bank].open_row = kClosed;
      m_open_mask &= ~(std::uint64_t{1} << bank);
      break;
    case Command::rd:
    case Command::wr: {
      const std::uint64_t start = cycle + (cmd == Command::rd ? m_cl : m_cwl);
      LLMSIM_CHECK(start >= m_data_bus_free, "HBM data bursts overlap: timing table is wrong");
      m_data_bus_free = start + m_bl;
      break;
    }
    case Command::refab:
    case Command::refpb:
      break;
  }
}

}  // namespace llmsim::hbm
