#pragma once
// The command choice of a pseudo-channel controller, as a function of its state (memoised per
// bank, see touch()): given the bank and timing state, the queued requests and the refresh
// obligation, which command issues next and at which cycle. The controller jumps straight to that
// cycle, so nothing ever iterates over idle cycles, and the answer is the one a controller deciding
// every cycle would give: between two issues the candidate commands and their earliest legal cycles
// are fixed, so the first cycle at which any of them is legal is the next decision, and the choice
// among those legal at that cycle follows the per-cycle priority:
//   1. a due refresh (PRE of the banks it needs closed, then REFab / REFpb);
//   2. column commands (RD/WR) of row hits, oldest request first;
//   3. closed page: PRE of an open bank that no queued request (either queue) hits;
//   4. the oldest request's ACT (bank closed) or PRE (another row open, and -- FR-FCFS -- no
//      request of the active queue hits that row).
// Ties within a class go to the older request, then to the lower bank (closed-page and refresh
// precharges: the lower bank).
//
// While an all-bank refresh is due no request command issues ("requests wait"). While a per-bank
// refresh is due, requests to the other banks proceed; the refreshing bank serves none.
// FCFS considers only the oldest request of the active queue (strictly in order, even if that
// request is to a bank being refreshed).
#include <cstdint>
#include <vector>

#include "arch/hbm/bank_timing.h"
#include "arch/hbm/controller_params.h"
#include "arch/hbm/request_queue.h"

namespace llmsim::hbm {

struct Decision {
  static constexpr std::uint64_t kNever = ~std::uint64_t{0};
  // The issue cycle; kNever when nothing would ever issue (no requests, no open bank to close
  // under a closed page policy, refresh off). The other fields are then meaningless.
  std::uint64_t cycle = kNever;
  // Its priority within its cycle (see CommandScheduler), smaller first: priority(class, age).
  std::uint64_t priority = 0;
  std::uint32_t bank = 0;  // bank index; unused for REFab
  Command cmd = Command::act;
  std::uint32_t row = 0;  // ACT: the row to open; PRE, RD, WR: the open row
  // The request of the active queue this command serves (ACT, PRE, RD, WR), or kNone
  // (refresh, closed-page precharge with nobody waiting).
  std::int32_t slot = RequestQueue::kNone;
  bool write_queue = false;  // which queue `slot` is in
  // Whether it was chosen among request commands alone, strictly before any refresh falls due.
  bool request_only = false;

  bool valid() const { return cycle != kNever; }
  // Whether a command with key (c, p, b) -- cycle, priority, bank, smaller first -- goes before
  // this one.
  bool beaten_by(std::uint64_t c, std::uint64_t p, std::uint32_t b) const {
    return c < cycle || (c == cycle && (p < priority || (p == priority && b < bank)));
  }
};

// The priority of a command within its cycle: its class (see CommandScheduler) in the top
// bits, then the age of the request it serves, its enqueue sequence number (smaller is older;
// 0 for refreshes and closed-page precharges). Contract: age < kMaxAge.
inline constexpr unsigned kAgeBits = 56;
inline constexpr std::uint64_t kMaxAge = std::uint64_t{1} << kAgeBits;
constexpr std::uint64_t priority(unsigned command_class, std::uint64_t age) {
  return std::uint64_t{command_class} << kAgeBits | age;
}

// What the scheduler must know about refresh at the moment of the decision.
struct RefreshDuty {
  RefreshMode mode = RefreshMode::off;
  std::uint64_t due = 0;   // cycle at which the next refresh falls due (may be in the past)
  std::uint32_t bank = 0;  // per_bank: the bank it refreshes
};

class CommandScheduler {
 public:
  // All references must outlive the scheduler; it only reads them.
  CommandScheduler(const ControllerParams& params, const BankTiming& timing,
                   const RequestQueue& reads, const RequestQueue& writes);

  // Sets `d` to the next command at or after cycle `from`, serving the write queue if
  // `serve_writes` (the read queue otherwise); invalid (cycle kNever) when nothing would ever
  // issue.
  void next(Decision& d, std::uint64_t from, bool serve_writes, const RefreshDuty& refresh) const;

  // `d`, the result of next(from', serve_writes, ...) for from' <= from <= d.cycle, updated for
  // a request just enqueued for `bank` (new_request(bank) done): true if `d` is now the next
  // command at or after `from` (often unchanged), false if next() must be asked again.
  bool with_new_request(Decision& d, std::uint64_t from, bool serve_writes,
                        std::uint32_t bank) const;

  // Contract: the owner calls touch(b) whenever bank b's open row or the requests queued for
  // it (in either queue) change, and new_request(b) instead when the only change is a request
  // enqueued for it; the scheduler memoises per-bank candidates between touches.
  void touch(std::uint32_t bank) { m_stale |= std::uint64_t{1} << bank; }
  // A request younger than every queued one never changes a bank's ACT (for the oldest
  // request), RD or WR (for the oldest row hit) candidate; it may change a PRE (a row hit
  // cancels it, the first request claims it) or create a candidate where there was none.
  void new_request(std::uint32_t bank) {
    const BankCandidate& c = m_memo[bank];
    if (!c.present || c.cmd == Command::pre) touch(bank);
  }
  // Contract: the owner calls issued(b) after every command to bank b (not REFab, which
  // constrains the channel only): it changed the bank- and bank-group-level constraints of b's
  // bank group.
  void issued(std::uint32_t bank) {
    // The banks of a group are numbered consecutively (BankTiming::bank_index), and the bank's
    // group is in the bank state issue() has just written: no table to fetch.
    m_part_stale |= m_group_bits << (m_timing.bank_group_of(bank) * m_banks_per_group);
  }

 private:
  static constexpr std::uint64_t kNever = Decision::kNever;

  // FR-FCFS: the command that bank's requests need next, with its priority. It depends only on
  // the bank's open row, its queued requests and which queue is served, so it is memoised per
  // bank and recomputed after a touch(); only its cycle is computed at every decision.
  // Its bank part of the earliest cycle, BankTiming::bank_earliest(cmd, bank), is memoised
  // too, until the bank or another in its group receives a command (issued()).
  struct BankCandidate {
    bool present = false;
    Command cmd = Command::act;
    std::uint32_t row = 0;
    std::uint64_t priority = 0;
    std::int32_t slot = RequestQueue::kNone;
    std::uint64_t bank_part = 0;
  };
  void update_candidate(std::uint32_t bank, bool serve_writes) const;

  // The functions below make a command the `best` if it beats it; `best` stays as it is when
  // none does. Commands go at or after `from`.
  // Request commands (and closed-page precharges), none to the banks in `skip` (a bank mask):
  // by the policy's rule, one of the two after it.
  void request_command(Decision& best, std::uint64_t from, bool serve_writes,
                       std::uint64_t skip) const;
  void frfcfs_command(Decision& best, std::uint64_t from, bool serve_writes,
                      std::uint64_t skip) const;
  void fcfs_command(Decision& best, std::uint64_t from, bool serve_writes,
                    std::uint64_t skip) const;
  // The command a due refresh needs next, with request commands to the other banks if the
  // refresh is per bank.
  void refresh_command(Decision& best, std::uint64_t from, bool serve_writes,
                       const RefreshDuty& refresh) const;
  // (cmd, bank) at its earliest legal cycle.
  void consider(Decision& best, std::uint64_t from, Command cmd, std::uint32_t bank,
                std::uint32_t row, std::uint64_t priority, std::int32_t slot) const;

  const ControllerParams& m_params;
  const BankTiming& m_timing;
  const RequestQueue& m_reads;
  const RequestQueue& m_writes;
  mutable std::vector<BankCandidate> m_memo;               // per bank, for the queue m_memo_writes
  mutable std::uint64_t m_stale = ~std::uint64_t{0};       // banks whose candidate is out of date
  mutable std::uint64_t m_part_stale = ~std::uint64_t{0};  // ... whose bank_part is
  mutable bool m_memo_writes = false;
  std::uint32_t m_banks_per_group;
  std::uint64_t m_group_bits;  // the banks of bank group 0 (a mask of m_banks_per_group bits)
};

}  // namespace llmsim::hbm
