#include "arch/hbm/command_scheduler.h"

#include <algorithm>
#include <array>

namespace llmsim::hbm {

namespace {

// Priority classes, smaller first (see the header).
constexpr unsigned kRefresh = 0;
constexpr unsigned kColumn = 1;
constexpr unsigned kClosePage = 2;
constexpr unsigned kRowCommand = 3;

// The lowest bank of a non-empty bank mask; `m &= m - 1` then drops it.
std::uint32_t lowest_bank(std::uint64_t m) {
  return static_cast<std::uint32_t>(__builtin_ctzll(m));
}

}  // namespace

CommandScheduler::CommandScheduler(const ControllerParams& params, const BankTiming& timing,
                                   const RequestQueue& reads, const RequestQueue& writes)
    : m_params(params),
      m_timing(timing),
      m_reads(reads),
      m_writes(writes),
      m_memo(timing.banks()),
      m_banks_per_group(timing.banks_per_group()),
      m_group_bits(m_banks_per_group >= 64 ? ~std::uint64_t{0}
                                            : (std::uint64_t{1} << m_banks_per_group) - 1) {}

void CommandScheduler::consider(Decision& best, std::uint64_t from, Command cmd, std::uint32_t bank,
                                std::uint32_t row, std::uint64_t priority,
                                std::int32_t slot) const {
  const std::uint64_t cycle = std::max(from, m_timing.earliest(cmd, bank));
  if (best.beaten_by(cycle, priority, bank)) {
    best.cycle = cycle;
    best.priority = priority;
    best.bank = bank;
    best.cmd = cmd;
    best.row = row;
    best.slot = slot;
  }
}

void CommandScheduler::next(Decision& d, std::uint64_t from, bool serve_writes,
                            const RefreshDuty& refresh) const {
  d.cycle = kNever;
  d.write_queue = serve_writes;
  d.request_only = false;
  if (refresh.mode != RefreshMode::off && refresh.due <= from) {
    refresh_command(d, from, serve_writes, refresh);
    return;
  }
  request_command(d, from, serve_writes, 0);
  d.request_only = true;
  // A due refresh takes precedence from its due cycle on, so a request command only goes
  // first if it issues strictly before.
  if (refresh.mode != RefreshMode::off && d.cycle >= refresh.due) {
    d.cycle = kNever;
    d.request_only = false;
    refresh_command(d, refresh.due, serve_writes, refresh);
  }
}

bool CommandScheduler::with_new_request(Decision& d, std::uint64_t from, bool serve_writes,
                                        std::uint32_t bank) const {
  // Only the new request's bank may have a new candidate, and other banks' candidates are
  // unchanged, unless the served queue changed or FCFS's single candidate moved.
  if (m_params.scheduler != SchedulerKind::frfcfs || serve_writes != m_memo_writes ||
      d.write_queue != serve_writes) {
    return false;
  }
  // Its memoised candidate survived new_request(): no candidate changed at all.
  if (!((m_stale >> bank) & 1)) return true;
  // The bank's candidate changed. If it was the decision, the old one may be gone; a decision
  // taken among requests before the refresh falls due stays before it if it is beaten.
  if (!d.request_only || d.bank == bank) return false;
  update_candidate(bank, serve_writes);
  const BankCandidate& c = m_memo[bank];
  if (c.present) consider(d, from, c.cmd, bank, c.row, c.priority, c.slot);
  return true;
}

void CommandScheduler::refresh_command(Decision& best, std::uint64_t from, bool serve_writes,
                                       const RefreshDuty& refresh) const {
  if (refresh.mode == RefreshMode::all_bank) {
    // Close every open bank (each PRE as soon as it is legal), then REFab.
    const std::uint64_t open = m_timing.open_mask();
    if (open == 0) {
      consider(best, from, Command::refab, 0, 0, priority(kRefresh, 0), RequestQueue::kNone);
    }
    for (std::uint64_t m = open; m != 0; m &= m - 1) {
      const auto b = lowest_bank(m);
      consider(best, from, Command::pre, b, m_timing.open_row(b), priority(kRefresh, 0),
               RequestQueue::kNone);
    }
    return;
  }
  const std::uint32_t b = refresh.bank;
  if (m_timing.is_open(b)) {
    consider(best, from, Command::pre, b, m_timing.open_row(b), priority(kRefresh, 0),
             RequestQueue::kNone);
  } else {
    consider(best, from, Command::refpb, b, 0, priority(kRefresh, 0), RequestQueue::kNone);
  }
  request_command(best, from, serve_writes, std::uint64_t{1} << b);
}

void CommandScheduler::update_candidate(std::uint32_t b, bool serve_writes) const {
  m_stale &= ~(std::uint64_t{1} << b);
  const RequestQueue& q = serve_writes ? m_writes : m_reads;
  const std::int32_t head = q.oldest(b);
  BankCandidate& c = m_memo[b];
  if (m_timing.is_open(b)) {
    const std::uint32_t row = m_timing.open_row(b);
    if (q.hits(b) > 0) {
      const std::int32_t s = q.oldest_hit(b, row);
      c = {true, serve_writes ? Command::wr : Command::rd, row, priority(kColumn, q.entry(s).seq),
           s};
    } else if (m_params.page_policy == PagePolicy::closed &&
               (serve_writes ? m_reads : m_writes).hits(b) == 0) {
      c = {true, Command::pre, row, priority(kClosePage, 0), head};
    } else if (head != RequestQueue::kNone) {
      c = {true, Command::pre, row, priority(kRowCommand, q.entry(head).seq), head};
    } else {
      c.present = false;
    }
  } else if (head != RequestQueue::kNone) {
    const RequestQueue::Entry& e = q.entry(head);
    c = {true, Command::act, e.req.addr.row, priority(kRowCommand, e.seq), head};
  } else {
    c.present = false;
  }
  if (c.present) c.bank_part = m_timing.bank_earliest(c.cmd, b);
  m_part_stale &= ~(std::uint64_t{1} << b);
}

void CommandScheduler::request_command(Decision& best, std::uint64_t from, bool serve_writes,
                                       std::uint64_t skip) const {
  if (m_params.scheduler == SchedulerKind::frfcfs) {
    frfcfs_command(best, from, serve_writes, skip);
  } else {
    fcfs_command(best, from, serve_writes, skip);
  }
}

void CommandScheduler::frfcfs_command(Decision& best, std::uint64_t from, bool serve_writes,
                                      std::uint64_t skip) const {
  const RequestQueue& q = serve_writes ? m_writes : m_reads;
  // Banks with a queued request, and under a closed page policy every open bank.
  const std::uint64_t closable =
      m_params.page_policy == PagePolicy::closed ? m_timing.open_mask() : 0;
  const std::uint64_t banks = (q.nonempty_mask() | closable) & ~skip;
  if (banks == 0) return;
  if (serve_writes != m_memo_writes) {
    m_memo_writes = serve_writes;
    m_stale = ~std::uint64_t{0};
  }
  // The bank-independent part of each command's earliest cycle, once per decision.
  std::array<std::uint64_t, kCommandCount> channel_floor;
  for (const Command c : {Command::act, Command::pre, serve_writes ? Command::wr : Command::rd}) {
    channel_floor[static_cast<std::size_t>(c)] = std::max(from, m_timing.channel_earliest(c));
  }
  // Bring the memoised candidates and bank parts of these banks up to date.
  for (std::uint64_t m = banks & (m_stale | m_part_stale); m != 0; m &= m - 1) {
    const auto b = lowest_bank(m);
    if ((m_stale >> b) & 1) {
      update_candidate(b, serve_writes);
    } else {
      BankCandidate& c = m_memo[b];
      if (c.present) c.bank_part = m_timing.bank_earliest(c.cmd, b);
      m_part_stale &= ~(std::uint64_t{1} << b);
    }
  }
  // The winner among these banks: banks are visited in increasing order, so a tie in (cycle,
  // priority) keeps the lower bank.
  const BankCandidate* win = nullptr;
  std::uint32_t win_bank = 0;
  std::uint64_t win_cycle = kNever, win_priority = 0;
  for (std::uint64_t m = banks; m != 0; m &= m - 1) {
    const auto b = lowest_bank(m);
    const BankCandidate& c = m_memo[b];
    if (!c.present) continue;
    const std::uint64_t cycle =
        std::max(channel_floor[static_cast<std::size_t>(c.cmd)], c.bank_part);
    if (cycle < win_cycle || (cycle == win_cycle && c.priority < win_priority)) {
      win = &c;
      win_bank = b;
      win_cycle = cycle;
      win_priority = c.priority;
    }
  }
  if (win != nullptr && best.beaten_by(win_cycle, win_priority, win_bank)) {
    best.cycle = win_cycle;
    best.priority = win_priority;
    best.bank = win_bank;
    best.cmd = win->cmd;
    best.row = win->row;
    best.slot = win->slot;
  }
}

void CommandScheduler::fcfs_command(Decision& best, std::uint64_t from, bool serve_writes,
                                    std::uint64_t skip) const {
  const RequestQueue& q = serve_writes ? m_writes : m_reads;
  const RequestQueue& other = serve_writes ? m_reads : m_writes;
  const bool closed_page = m_params.page_policy == PagePolicy::closed;
  const Command column = serve_writes ? Command::wr : Command::rd;
  const std::uint64_t open = m_timing.open_mask();
  // FCFS: the oldest request of the active queue is the oldest head of the bank lists.
  std::int32_t oldest = RequestQueue::kNone;
  for (std::uint64_t m = q.nonempty_mask(); m != 0; m &= m - 1) {
    const std::int32_t s = q.oldest(lowest_bank(m));
    if (oldest == RequestQueue::kNone || q.entry(s).seq < q.entry(oldest).seq) oldest = s;
  }
  std::uint64_t closable = closed_page ? open & ~skip : 0;
  if (oldest != RequestQueue::kNone) {
    const RequestQueue::Entry& e = q.entry(oldest);
    const std::uint32_t b = e.bank;
    closable &= ~(std::uint64_t{1} << b);
    if (!((skip >> b) & 1)) {
      if (!m_timing.is_open(b)) {
        consider(best, from, Command::act, b, e.req.addr.row, priority(kRowCommand, e.seq), oldest);
      } else if (m_timing.open_row(b) == e.req.addr.row) {
        consider(best, from, column, b, e.req.addr.row, priority(kColumn, e.seq), oldest);
      } else {
        consider(best, from, Command::pre, b, m_timing.open_row(b), priority(kRowCommand, e.seq),
                 oldest);
      }
    }
  }
  for (std::uint64_t m = closable; m != 0; m &= m - 1) {
    const auto b = lowest_bank(m);
    if (q.hits(b) == 0 && other.hits(b) == 0) {
      consider(best, from, Command::pre, b, m_timing.open_row(b), priority(kClosePage, 0),
               RequestQueue::kNone);
    }
  }
}

}  // namespace llmsim::hbm
