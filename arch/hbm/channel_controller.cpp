#include "arch/hbm/channel_controller.h"

#include <string>
#include <utility>

#include "sim/core/error.h"

namespace llmsim::hbm {

namespace {

// Read latency histogram: 8-cycle buckets up to 4096 cycles.
constexpr std::uint64_t kLatencyBucketCycles = 8;
constexpr std::size_t kLatencyBuckets = 512;

// The InternalErrors of the contract checks, out of line: the checks are on hot paths.
[[noreturn]] void address_error(const BankAddress& a) {
  throw_internal_error("check_address(a)",
                       "HBM address out of range: bank group " + std::to_string(a.bank_group) +
                           ", bank " + std::to_string(a.bank) + ", row " + std::to_string(a.row) +
                           ", column " + std::to_string(a.column),
                       __FILE__, __LINE__);
}

[[noreturn]] void time_error(const char* what, std::uint64_t cycle, std::uint64_t now) {
  throw_internal_error("cycle >= now()",
                       std::string("HBM ") + what + " at cycle " + std::to_string(cycle) +
                           ", before the controller's time " + std::to_string(now),
                       __FILE__, __LINE__);
}

void check_refresh(const DramSpec& spec, const ControllerParams& p) {
  const Timing& t = spec.timing;
  const std::string key = "memory.controller.refresh";
  const std::string device = "device \"" + spec.name + "\" has ";
  if (p.refresh == RefreshMode::per_bank) {
    if (t.tRFCpb == 0) {
      throw ConfigError(key + ": per_bank needs a device with per-bank refresh (tRFCpb > 0); " +
                        device + "tRFCpb = 0; use \"all_bank\" or \"off\"");
    }
    const std::uint64_t min_refi = std::uint64_t{spec.org.banks()} * std::max(1u, t.tRREFD);
    if (t.tREFI < min_refi || t.tREFI <= t.tRFCpb) {
      throw ConfigError(key + ": per_bank refresh cannot keep up: " + device +
                        "tREFI = " + std::to_string(t.tREFI) +
                        ", needs at least banks x max(1, tRREFD) = " + std::to_string(min_refi) +
                        " and more than tRFCpb = " + std::to_string(t.tRFCpb));
    }
  } else if (p.refresh == RefreshMode::all_bank && t.tREFI <= t.tRFC) {
    throw ConfigError(key + ": all_bank refresh cannot keep up: " + device + "tREFI = " +
                      std::to_string(t.tREFI) + " <= tRFC = " + std::to_string(t.tRFC));
  }
}

}  // namespace

ChannelController::ChannelController(const DramSpec& spec, const ControllerParams& p,
                                     stats::Group& parent, const std::string& name,
                                     std::shared_ptr<const BankTiming::Table> timing_table)
    : m_spec(spec),
      m_params(p),
      m_timing(spec, std::move(timing_table)),
      m_reads(p.read_queue_depth, spec.org.banks()),
      m_writes(p.write_queue_depth, spec.org.banks()),
      m_scheduler(m_params, m_timing, m_reads, m_writes),
      m_drain_high(p.write_drain_high_count()),
      m_drain_low(p.write_drain_low_count()),
      m_burst_bytes(spec.org.burst_bytes()),
      m_read_done_cycles(std::uint64_t{spec.timing.tCL} + spec.timing.tBL),
      m_write_done_cycles(std::uint64_t{spec.timing.tCWL} + spec.timing.tBL),
      m_clock(spec.timing.clock_mhz),
      m_stats(parent, name),
      m_reads_done(m_stats, "reads", "count", "read requests served"),
      m_read_bytes(m_stats, "read_bytes", "byte", "bytes read by requests"),
      m_rd(m_stats, "rd_commands", "count", "RD commands"),
      m_row_hits(m_stats, "row_hits", "count", "requests served from an already open row"),
      m_writes_done(m_stats, "writes", "count", "write requests served"),
      m_written_bytes(m_stats, "written_bytes", "byte", "bytes written by requests"),
      m_wr(m_stats, "wr_commands", "count", "WR commands"),
      m_row_misses(m_stats, "row_misses", "count", "requests that needed an ACT (bank closed)"),
      m_row_conflicts(m_stats, "row_conflicts", "count",
                      "requests that needed a PRE and an ACT (another row open)"),
      m_act(m_stats, "act_commands", "count", "ACT commands"),
      m_pre(m_stats, "pre_commands", "count", "PRE commands"),
      m_refab(m_stats, "refab_commands", "count", "all-bank refresh commands"),
      m_refpb(m_stats, "refpb_commands", "count", "per-bank refresh commands"),
      m_read_latency(m_stats, "read_latency_cycles", "cycle",
                     "read arrival to last data beat, in tCK", kLatencyBucketCycles,
                     kLatencyBuckets),
      m_read_queue(m_stats, "read_queue_occupancy", "request", "requests in the read queue",
                   m_clock),
      m_write_queue(m_stats, "write_queue_occupancy", "request", "requests in the write queue",
                    m_clock),
      m_row_hit_rate(m_stats, "row_hit_rate", "ratio", "row hits / requests served",
                     [this] {
                       const double n = static_cast<double>(
                           m_row_hits.value() + m_row_misses.value() + m_row_conflicts.value());
                       return n == 0 ? 0.0 : static_cast<double>(m_row_hits.value()) / n;
                     }),
      m_energy(m_stats, "energy_pj", "pJ",
               "ACT/PRE, read, write and refresh energy plus background power over "
               "elapsed_cycles",
               [this] { return energy_pj(); }),
      m_elapsed(m_stats, "elapsed_cycles", "cycle", "tCK cycles the controller has advanced to",
                [this] { return static_cast<double>(m_now); }) {
  check_refresh(spec, p);
  m_refresh_due = refresh_due();
}

std::uint32_t ChannelController::check_address(const BankAddress& a) const {
  const Organization& o = m_spec.org;
  if (!(a.bank_group < o.bank_groups && a.bank < o.banks_per_group && a.row < o.rows &&
        a.column < o.columns)) {
    address_error(a);
  }
  return m_timing.bank_index(a.bank_group, a.bank);
}

void ChannelController::enqueue(const Request& r) {
  LLMSIM_CHECK(can_accept(r.write), "HBM request enqueued to a full queue");
  if (r.arrival < m_now) time_error("request arrives", r.arrival, m_now);
  const std::uint32_t bank = check_address(r.addr);
  LLMSIM_CHECK(m_seq < kMaxAge, "HBM request sequence numbers exhausted");
  if (r.arrival > m_now) catch_up(r.arrival);
  RequestQueue& q = r.write ? m_writes : m_reads;
  const std::int32_t slot =
      q.push(r, m_seq++, bank, m_timing.is_open(bank) && m_timing.open_row(bank) == r.addr.row);
  q.entry(slot).req.done = 0;
  m_scheduler.new_request(bank);
  (r.write ? m_write_queue : m_read_queue).set(Cycles(r.arrival), q.size());
  // Usually the new request changes no candidate or only adds one: fold it into the cached
  // decision.
  m_decision_valid = m_decision_valid && m_decision.valid() &&
                     m_scheduler.with_new_request(m_decision, m_now, serve_writes(), bank);
}

void ChannelController::offer(const Request& r) {
  if (r.arrival < m_now) time_error("request offered", r.arrival, m_now);
  if (r.arrival > m_now) catch_up(r.arrival);
  if (m_waiting.empty() && can_accept(r.write)) {
    enqueue(r);
    return;
  }
  m_waiting.push_back(r);
  m_waiting_writes += r.write;
}

void ChannelController::admit() {
  while (!m_waiting.empty() && can_accept(m_waiting.front().write)) {
    Request r = m_waiting.front();
    m_waiting.pop_front();
    m_waiting_writes -= r.write;
    r.arrival = m_now;
    enqueue(r);
  }
}

void ChannelController::catch_up(std::uint64_t until) {
  const std::size_t before = m_pending.size();
  run_until(until, m_pending);
  for (std::size_t i = before; i < m_pending.size(); ++i) {
    m_pending_done = std::min(m_pending_done, m_pending[i].done);
  }
}

std::optional<std::uint64_t> ChannelController::earliest_done() const {
  std::optional<std::uint64_t> bound;
  if (!m_pending.empty()) bound = m_pending_done;
  if (const auto next = next_command_cycle()) {
    const bool writes = m_writes.size() > 0 || m_waiting_writes > 0;
    const std::uint64_t d =
        *next + (writes ? std::min(m_read_done_cycles, m_write_done_cycles) : m_read_done_cycles);
    bound = std::min(bound.value_or(d), d);
  }
  return bound;
}

void ChannelController::advance(std::uint64_t until, std::vector<Request>& completed) {
  if (until < m_now) time_error("controller asked to advance", until, m_now);
  if (!m_pending.empty()) {
    completed.insert(completed.end(), m_pending.begin(), m_pending.end());
    m_pending.clear();
    m_pending_done = ~std::uint64_t{0};
  }
  run_until(until, completed);
}

std::uint64_t ChannelController::advance_to_room(bool write, std::uint64_t from,
                                                 std::vector<Request>& completed) {
  advance(from, completed);
  // A full queue has a request, so a command always comes (at worst after a refresh).
  while (!can_accept(write)) {
    LLMSIM_CHECK(decision().valid(), "HBM controller with a full queue and nothing to issue");
    const std::uint64_t next = decision().cycle + 1;
    run_until(next, completed);
    from = next;
  }
  return from;
}

std::optional<std::uint64_t> ChannelController::next_command_cycle() const {
  if (m_reads.empty() && m_writes.empty()) return std::nullopt;
  const Decision& d = decision();
  if (!d.valid()) return std::nullopt;
  return d.cycle;
}

void ChannelController::run_until(std::uint64_t until, std::vector<Request>& completed) {
  // An invalid decision has cycle kNever: nothing issues.
  while (decision().cycle < until) {
    execute(m_decision, completed);
    if (!m_waiting.empty()) admit();
  }
  if (until > m_now) {
    m_drain = drain_now();  // the mode of every cycle in [now, until)
    m_now = until;
  }
}

void ChannelController::decide() const {
  m_scheduler.next(m_decision, m_now, serve_writes(), refresh_duty());
  m_decision_valid = true;
}

std::uint64_t ChannelController::refresh_due() const {
  const std::uint64_t k = m_refreshes + 1;
  if (m_params.refresh == RefreshMode::all_bank) {
    return k * m_spec.timing.tREFI;  // the k-th REFab is due at k * tREFI
  }
  if (m_params.refresh == RefreshMode::per_bank) {
    // The k-th REFpb is due at floor(k * tREFI / banks): every bank once per tREFI on average,
    // without accumulating the rounding of tREFI / banks.
    return k * m_spec.timing.tREFI / m_timing.banks();
  }
  return 0;
}

void ChannelController::execute(const Decision& d, std::vector<Request>& completed) {
  m_drain = drain_now();  // the mode of cycles [now, d.cycle], decided on before the command
  apply(d.cmd, d.bank, d.row, d.cycle);
  RequestQueue& q = d.write_queue ? m_writes : m_reads;
  switch (d.cmd) {
    case Command::act:
      if (d.slot != RequestQueue::kNone) q.entry(d.slot).needed_act = true;
      break;
    case Command::pre:
      if (d.slot != RequestQueue::kNone) q.entry(d.slot).needed_pre = true;
      break;
    case Command::rd:
    case Command::wr:
      complete(d, completed);
      break;
    case Command::refab:
      ++m_refreshes;
      m_refresh_due = refresh_due();
      break;
    case Command::refpb:
      ++m_refreshes;
      m_refresh_due = refresh_due();
      m_refresh_bank = (m_refresh_bank + 1) % m_timing.banks();
      break;
  }
  m_now = d.cycle + 1;
  m_decision_valid = false;
}

void ChannelController::complete(const Decision& d, std::vector<Request>& completed) {
  RequestQueue& q = d.write_queue ? m_writes : m_reads;
  LLMSIM_CHECK(d.slot != RequestQueue::kNone, "HBM column command without a request");
  const RequestQueue::Entry& e = q.entry(d.slot);
  if (e.needed_pre) {
    ++m_row_conflicts;
  } else if (e.needed_act) {
    ++m_row_misses;
  } else {
    ++m_row_hits;
  }
  completed.push_back(e.req);
  Request& r = completed.back();
  if (r.write) {
    r.done = d.cycle + m_write_done_cycles;
    ++m_writes_done;
    m_written_bytes += m_burst_bytes;
  } else {
    r.done = d.cycle + m_read_done_cycles;
    ++m_reads_done;
    m_read_bytes += m_burst_bytes;
    m_read_latency.sample(r.done - r.arrival);
  }
  q.remove(d.slot, /*hit=*/true);
  m_scheduler.touch(d.bank);
  // The request held its slot through its issue cycle.
  (r.write ? m_write_queue : m_read_queue).set(Cycles(d.cycle + 1), q.size());
}

void ChannelController::apply(Command cmd, std::uint32_t bank, std::uint32_t row,
                              std::uint64_t cycle) {
  m_timing.issue(cmd, bank, row, cycle);
  if (cmd != Command::refab) m_scheduler.issued(bank);
  switch (cmd) {
    case Command::act:
      m_reads.on_open(bank, row);
      m_writes.on_open(bank, row);
      m_scheduler.touch(bank);
      ++m_act;
      break;
    case Command::pre:
      m_reads.on_close(bank);
      m_writes.on_close(bank);
      m_scheduler.touch(bank);
      ++m_pre;
      break;
    case Command::rd:
      ++m_rd;
      break;
    case Command::wr:
      ++m_wr;
      break;
    case Command::refab:
      ++m_refab;
      break;
    case Command::refpb:
      ++m_refpb;
      break;
  }
  if (m_observer) {
    const bool all = cmd == Command::refab;
    const std::uint32_t per_group = m_spec.org.banks_per_group;
    m_observer(IssuedCommand{cmd, cycle, all ? 0 : bank / per_group, all ? 0 : bank % per_group,
                             (cmd == Command::refab || cmd == Command::refpb) ? 0 : row});
  }
}

bool ChannelController::can_issue(Command cmd, const BankAddress& a, std::uint64_t cycle) const {
  return m_timing.can_issue(cmd, check_address(a), a.row, cycle);
}

void ChannelController::issue(Command cmd, const BankAddress& a, std::uint64_t cycle) {
  if (cycle < m_now) time_error("command issued", cycle, m_now);
  apply(cmd, check_address(a), a.row, cycle);
  m_drain = drain_now();
  m_now = cycle + 1;
  m_decision_valid = false;
}

double ChannelController::energy_pj() const {
  const Energy& e = m_spec.energy;
  const double burst_bits = 8.0 * m_spec.org.burst_bytes();
  const double refreshes = static_cast<double>(m_refab.value()) +
                           static_cast<double>(m_refpb.value()) / m_timing.banks();
  // mW x s = mJ = 1e9 pJ.
  return e.act_pre_pj * static_cast<double>(m_act.value()) +
         e.read_pj_per_bit * burst_bits * static_cast<double>(m_rd.value()) +
         e.write_pj_per_bit * burst_bits * static_cast<double>(m_wr.value()) +
         e.refresh_pj * refreshes + e.background_mw * m_clock.seconds(Cycles(m_now)) * 1e9;
}

}  // namespace llmsim::hbm
