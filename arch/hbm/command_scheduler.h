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
#include <optional>
#include <vector>

#include "arch/hbm/bank_timing.h"
#include "arch/hbm/controller_params.h"
#include "arch/hbm/request_queue.h"

namespace llmsim::hbm {

struct Decision {
  std::uint64_t cycle = 0;
  Command cmd = Command::act;
  std::uint32_t bank = 0;  // bank index; unused for REFab
  std::uint32_t row = 0;   // ACT: the row to open; PRE, RD, WR: the open row
  // The request of the active queue this command serves (ACT, PRE, RD, WR), or kNone
  // (refresh, closed-page precharge with nobody waiting).
  std::int32_t slot = RequestQueue::kNone;
  bool write_queue = false;  // which queue `slot` is in
  // Its priority within its cycle (see CommandScheduler), and whether it was chosen among
  // request commands alone, strictly before any refresh falls due.
  int rank = 0;
  std::uint64_t age = 0;
  bool request_only = false;
};

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

  // The next command at or after cycle `from`, serving the write queue if `serve_writes`
  // (the read queue otherwise). Nullopt when nothing would ever issue (no requests, no open
  // bank to close under a closed page policy, refresh off).
  std::optional<Decision> next(std::uint64_t from, bool serve_writes,
                               const RefreshDuty& refresh) const;

  // `d`, the result of next(from', serve_writes, ...) for from' <= from <= d.cycle, updated for
  // a request just enqueued for `bank` (touch(bank) done): the next command at or after `from`
  // if it can be had without a full search, nullopt if next() must be asked again.
  std::optional<Decision> with_new_request(const Decision& d, std::uint64_t from, bool serve_writes,
                                           std::uint32_t bank) const;

  // Contract: the owner calls touch(b) whenever bank b's open row or the requests queued for
  // it (in either queue) change; the scheduler memoises per-bank candidates between touches.
  void touch(std::uint32_t bank) { m_stale |= std::uint64_t{1} << bank; }

 private:
  // FR-FCFS: the command that bank's requests need next, with its priority. It depends only on
  // the bank's open row, its queued requests and which queue is served, so it is memoised per
  // bank and recomputed after a touch(); only its cycle is computed at every decision.
  struct BankCandidate {
    bool present = false;
    Command cmd = Command::act;
    std::uint32_t row = 0;
    int rank = 0;
    std::uint64_t age = 0;
    std::int32_t slot = RequestQueue::kNone;
  };
  void update_candidate(std::uint32_t bank, bool serve_writes) const;

  static constexpr std::uint64_t kNever = ~std::uint64_t{0};
  // The best candidate so far: its priority key (cycle, rank, age, bank), smaller first, and
  // its command. `cycle` is kNever while there is none.
  struct Candidate {
    std::uint64_t cycle = kNever;
    int rank = 0;           // priority class
    std::uint64_t age = 0;  // request seq: smaller (older) first
    std::uint32_t bank = 0;
    Command cmd = Command::act;
    std::uint32_t row = 0;
    std::int32_t slot = RequestQueue::kNone;
    bool valid() const { return cycle != kNever; }
    // Whether (cycle, rank, age, bank) goes before this candidate.
    bool beaten_by(std::uint64_t c, int r, std::uint64_t a, std::uint32_t b) const {
      return c < cycle ||
             (c == cycle && (r < rank || (r == rank && (a < age || (a == age && b < bank)))));
    }
  };

  // Request commands (and closed-page precharges) at or after `from`, none to the banks in
  // `skip` (a bank mask).
  void request_command(Candidate& best, std::uint64_t from, bool serve_writes,
                       std::uint64_t skip) const;
  // The command a due refresh needs next, at or after `from`, with request commands to the
  // other banks if the refresh is per bank.
  void refresh_command(Candidate& best, std::uint64_t from, bool serve_writes,
                       const RefreshDuty& refresh) const;
  // Makes (cmd, bank) at its earliest legal cycle >= `from` the best if it beats `best`.
  void consider(Candidate& best, std::uint64_t from, Command cmd, std::uint32_t bank,
                std::uint32_t row, int rank, std::uint64_t age, std::int32_t slot) const;

  const ControllerParams& m_params;
  const BankTiming& m_timing;
  const RequestQueue& m_reads;
  const RequestQueue& m_writes;
  mutable std::vector<BankCandidate> m_memo;  // per bank, for the queue m_memo_writes
  mutable std::uint64_t m_stale = ~std::uint64_t{0};
  mutable bool m_memo_writes = false;
};

}  // namespace llmsim::hbm
