#pragma once
// The DRAM device of one pseudo channel (one rank), as the controller's timing checker sees it:
// which row each bank holds open, and for every command the earliest cycle (tCK) at which it
// may issue, kept at three levels -- bank, bank group, channel -- and raised on every issue by
// the constraints that command starts (after ramulator2's timing table and DRAMsim3's
// ChannelState). A legality check is therefore O(1): the maximum of three "earliest" cycles,
// the command bus, the tFAW window for ACT, and the bank state.
//
// Constraints, previous -> next command (all in tCK):
//   ACT -> RD tRCDRD, ACT -> WR tRCDWR, ACT -> PRE tRAS, ACT -> ACT tRC      same bank
//   ACT -> ACT tRRD_L same bank group, tRRD_S any bank; at most 4 ACTs in any tFAW window
//   PRE -> ACT tRP                                                           same bank
//   RD -> PRE tRTP; WR -> PRE tCWL + tBL + tWR                                same bank
//   RD -> RD, WR -> WR tCCD_L same bank group, tCCD_S any bank
//   WR -> RD tCWL + tBL + tWTR_L same bank group, tCWL + tBL + tWTR_S any bank (write data end
//            to read command)
//   RD -> WR max(tCL + tBL + tRTW - tCWL, tCCD_S) any bank: the write data may start only
//            tRTW after the read data has left the bus; a column command never follows another
//            sooner than tCCD_S, even when a long write latency would allow it
//   REFab: all banks closed; ACT -> REFab tRC, PRE -> REFab tRP, REFpb -> REFab tRFCpb;
//          REFab -> ACT / REFab / REFpb tRFC (the whole pseudo channel is busy)
//   REFpb: its bank closed; ACT -> REFpb tRC and PRE -> REFpb tRP same bank;
//          REFpb -> ACT / REFpb tRFCpb same bank, tRREFD other banks
//   any command -> any command 1 (one command per cycle on the command bus)
// Data bus: a burst occupies [RD + tCL, RD + tCL + tBL) or [WR + tCWL, WR + tCWL + tBL); the
// constraints above imply that bursts never overlap when tCCD_S >= tBL (checked at
// construction), and issue() checks it as an invariant.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "arch/hbm/dram_spec.h"

namespace llmsim::hbm {

enum class Command { act, pre, rd, wr, refab, refpb };
inline constexpr std::size_t kCommandCount = 6;
const char* to_string(Command c);

// A location within one pseudo channel. `column` counts bursts within the row.
struct BankAddress {
  std::uint32_t bank_group = 0, bank = 0, row = 0, column = 0;
};

class BankTiming {
 public:
  static constexpr std::uint32_t kMaxBanks = 64;  // bank sets are 64-bit masks

  // The device's timing constraints, by previous command, level and next command: the same for
  // every pseudo channel of a device, so built once (table_for) and shared -- one table stays
  // in the L1 cache instead of one per channel.
  struct Table;
  static std::shared_ptr<const Table> table_for(const DramSpec& spec);

  // ConfigError if the timing cannot be scheduled (tCCD_S < tBL would overlap bursts) or the
  // pseudo channel has more than kMaxBanks banks. `table`: table_for(spec), shared with the
  // device's other pseudo channels; built here when null.
  explicit BankTiming(const DramSpec& spec, std::shared_ptr<const Table> table = nullptr);

  std::uint32_t banks() const { return static_cast<std::uint32_t>(m_banks.size()); }
  // Banks are numbered bank_group * banks_per_group + bank.
  std::uint32_t bank_index(std::uint32_t bank_group, std::uint32_t bank) const {
    return bank_group * m_banks_per_group + bank;
  }
  std::uint32_t bank_group_of(std::uint32_t bank) const { return m_banks[bank].group; }
  std::uint32_t banks_per_group() const { return m_banks_per_group; }

  bool is_open(std::uint32_t bank) const { return m_banks[bank].open_row != kClosed; }
  // The open row of an open bank.
  std::uint32_t open_row(std::uint32_t bank) const { return m_banks[bank].open_row; }
  // Bit b set when bank b is open.
  std::uint64_t open_mask() const { return m_open_mask; }

  // The earliest cycle at which `cmd` to `bank` satisfies every timing constraint (the bank
  // state aside); legal at every later cycle too, until the next issue. `bank` is ignored for
  // REFab. It is the maximum of the two parts below.
  std::uint64_t earliest(Command cmd, std::uint32_t bank) const {
    if (cmd == Command::refab) return channel_earliest(cmd);
    return std::max(channel_earliest(cmd), bank_earliest(cmd, bank));
  }
  // The part of earliest() common to every bank: the channel-level constraints, the command
  // bus and, for ACT, the tFAW window. A scheduler comparing many banks computes it once.
  std::uint64_t channel_earliest(Command cmd) const {
    const std::size_t c = static_cast<std::size_t>(cmd);
    const std::uint64_t e = std::max(m_channel[c], m_command_bus_free);
    // The fifth ACT waits until the oldest of the last four has left the tFAW window.
    if (cmd == Command::act && m_acts >= 4) return std::max(e, m_last_acts[m_acts % 4] + m_faw);
    return e;
  }
  // The part of earliest() that depends on the bank: its bank and bank group constraints.
  // Not for REFab.
  std::uint64_t bank_earliest(Command cmd, std::uint32_t bank) const {
    const std::size_t c = static_cast<std::size_t>(cmd);
    const BankState& b = m_banks[bank];
    return std::max(b.earliest[c], m_group[b.group][c]);
  }
  // Whether the bank state allows `cmd`: ACT and REFpb need the bank closed, PRE needs it
  // open, RD/WR need `row` open, REFab needs every bank closed.
  bool state_allows(Command cmd, std::uint32_t bank, std::uint32_t row) const;
  bool can_issue(Command cmd, std::uint32_t bank, std::uint32_t row, std::uint64_t cycle) const {
    return state_allows(cmd, bank, row) && cycle >= earliest(cmd, bank);
  }
  // Issues `cmd` at `cycle` (InternalError unless can_issue) and applies its constraints.
  void issue(Command cmd, std::uint32_t bank, std::uint32_t row, std::uint64_t cycle);

 private:
  enum class Level { bank, bank_group, channel };
  static constexpr std::size_t kLevels = 3;
  struct Constraint {
    std::uint32_t next;  // command index
    std::uint32_t latency;
  };
  // The constraints one command starts at one level: at most one per next command, in a fixed
  // array (issue() is on the hot path of every command).
  struct Constraints {
    std::array<Constraint, kCommandCount> items{};
    std::uint32_t size = 0;
  };
  using Earliest = std::array<std::uint64_t, kCommandCount>;  // per next command
  static constexpr std::uint32_t kClosed = 0xffffffffu;
  struct BankState {
    Earliest earliest{};
    std::uint32_t group = 0;
    std::uint32_t open_row = kClosed;
  };

  // The ConfigErrors of the constructor.
  static void check(const DramSpec& spec);
  static void add(Table& t, Command prev, Level level, Command next, std::uint64_t latency);
  // Throws the InternalError for an illegal issue() (out of line: issue() is hot).
  [[noreturn]] void illegal(Command cmd, std::uint32_t bank, std::uint32_t row,
                            std::uint64_t cycle) const;

  std::uint32_t m_banks_per_group;
  std::uint64_t m_faw;
  std::shared_ptr<const Table> m_constraints;
  std::vector<BankState> m_banks;
  std::vector<Earliest> m_group;
  Earliest m_channel{};
  std::uint64_t m_command_bus_free = 0;        // one command per cycle
  std::array<std::uint64_t, 4> m_last_acts{};  // ring of the last four ACT cycles
  std::uint64_t m_acts = 0;                    // ACTs issued (position in the ring)
  std::uint64_t m_data_bus_free = 0;           // end of the last data burst
  std::uint32_t m_cl, m_cwl, m_bl;
  std::uint64_t m_open_mask = 0;
};

}  // namespace llmsim::hbm
