#pragma once
// The memory controller of one HBM pseudo channel (one rank), in plain C++: a read queue and a
// write queue, a command scheduler (FCFS or FR-FCFS, open or closed page, write drain between
// watermarks), refresh (all-bank, per-bank or off), and the device's bank and timing state.
// Exact to the DRAM clock (tCK) and event driven: advance() jumps from one command's issue
// cycle to the next and never visits a cycle at which nothing issues. A SystemC wrapper and the
// standalone `memtest` driver call it.
//
// Time: the controller has decided every command before now(). A caller enqueues requests at
// arrival cycles >= now() and calls advance(until) to let commands before `until` issue; it may
// sleep until next_command_cycle() in between. Refreshes and closed-page precharges that fall
// in a period nobody asked about are caught up lazily by the next enqueue() or advance(), at
// the cycles they would have issued at had the controller been asked every cycle, so the
// command schedule does not depend on how often the caller calls in.
//
// One request is one burst (org.burst_bytes()); a request completes, and frees its queue slot,
// when its RD or WR issues, with `done` = RD + tCL + tBL or WR + tCWL + tBL (the cycle after
// its last data beat).
//
// A requester that cannot hold requests back offers them instead of enqueueing them: a request
// offered while its queue is full, or while an earlier offered request still waits, waits in a
// FIFO in front of the controller (the requester's buffer; a waiting write holds back the reads
// behind it) and enters the queue at the cycle after the command that made room for it.
//
// Stats (group `name`): request, byte, row-outcome and command counters, read latency
// (arrival to done), queue occupancies, row_hit_rate, elapsed_cycles (= now()) and energy_pj =
// act_pre_pj x ACTs + read/write pJ per bit x bits of RD/WR bursts + refresh_pj x (REFab +
// REFpb / banks) + background_mw x elapsed time. Background energy runs to now(): advance() to
// the end of the run before dumping. Occupancy means run to the SystemC time of the dump (in a
// standalone run, to the last queue change).
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "arch/hbm/bank_timing.h"
#include "arch/hbm/command_scheduler.h"
#include "arch/hbm/controller_params.h"
#include "arch/hbm/dram_spec.h"
#include "arch/hbm/request_queue.h"
#include "sim/core/stats.h"
#include "sim/core/units.h"

namespace llmsim::hbm {

struct IssuedCommand {
  Command cmd;
  std::uint64_t cycle;
  std::uint32_t bank_group, bank, row;  // bank within its group; 0 for REFab
};

class ChannelController {
 public:
  // ConfigError if the device cannot do what `p` asks (per-bank refresh without tRFCpb, a
  // refresh interval too short for its refresh) or cannot be scheduled (tCCD_S < tBL).
  // `timing_table`: BankTiming::table_for(spec), shared by the device's pseudo channels (built
  // here when null).
  ChannelController(const DramSpec& spec, const ControllerParams& p, stats::Group& parent,
                    const std::string& name,
                    std::shared_ptr<const BankTiming::Table> timing_table = nullptr);

  ChannelController(const ChannelController&) = delete;
  ChannelController& operator=(const ChannelController&) = delete;

  // The queue for reads (or writes) has room.
  bool can_accept(bool write) const { return !(write ? m_writes : m_reads).full(); }
  // Contract: can_accept(r.write), r.arrival >= now(), r.addr within the device. If r.arrival
  // > now() the controller first advances to r.arrival; requests completed on the way are
  // handed out by the next advance().
  void enqueue(const Request& r);
  // Issues, in cycle order, every command whose issue cycle is < `until` (refreshes and
  // closed-page precharges included) and appends the requests whose RD/WR has issued to
  // `completed`, with `done` set (done may be > until: the data is still on its way).
  // Afterwards now() == until. Contract: until >= now().
  void advance(std::uint64_t until, std::vector<Request>& completed);
  // Enqueues `r` if its queue has room and no offered request waits, else appends it to the
  // waiting FIFO (see above). Contract: r.arrival >= now(), r.addr within the device. Like
  // enqueue(), first advances to r.arrival.
  void offer(const Request& r);
  // Offered requests not yet in a queue.
  std::size_t waiting() const { return m_waiting.size(); }
  // A lower bound on the `done` of every request not yet handed out by advance(), if nothing
  // else arrives: those completed while catching up in enqueue() or offer() (their own `done`)
  // and those that commands from now() on will complete (the next command cycle plus the
  // shorter data latency of the kinds queued or waiting: tCL + tBL for reads, tCWL + tBL for
  // writes); nullopt when there are none. A requester that calls advance() again by the cycle
  // before this bound learns of every completion before its data is there.
  std::optional<std::uint64_t> earliest_done() const;
  // For a requester that waits while the queue is full: advances to `from`, then, while the
  // queue for `write` requests is full, through one more command at a time. Returns the first
  // cycle >= `from` at which a request finds room: `from`, or the cycle after the command that
  // made room (then now()). Completions as for advance(). Contract: from >= now().
  std::uint64_t advance_to_room(bool write, std::uint64_t from, std::vector<Request>& completed);
  // The cycle at which the next command would issue if nothing else arrived, or nullopt when
  // both queues are empty (refreshes and closed-page precharges are caught up lazily and need no
  // wake-up). The command may be a refresh or a precharge rather than a request's RD/WR.
  std::optional<std::uint64_t> next_command_cycle() const;
  std::uint64_t now() const { return m_now; }

  std::uint32_t queued_reads() const { return m_reads.size(); }
  std::uint32_t queued_writes() const { return m_writes.size(); }
  // Whether the controller is in write drain mode at now().
  bool draining_writes() const { return drain_now(); }
  const DramSpec& spec() const { return m_spec; }
  const ControllerParams& params() const { return m_params; }

  // Called for every command issued, refreshes included, in issue order.
  void set_observer(std::function<void(const IssuedCommand&)> f) { m_observer = std::move(f); }

  // Low-level access for the timing tests: whether `cmd` may issue at `cycle` to
  // (a.bank_group, a.bank, a.row) given every timing constraint and the bank state, and
  // issuing it (InternalError unless legal and cycle >= now(); afterwards now() is cycle + 1).
  // issue() changes the device state and the command counters only: no request completes and
  // the refresh schedule does not move.
  bool can_issue(Command cmd, const BankAddress& a, std::uint64_t cycle) const;
  void issue(Command cmd, const BankAddress& a, std::uint64_t cycle);

 private:
  // Issues every command before `until` (see advance()).
  void run_until(std::uint64_t until, std::vector<Request>& completed);
  // run_until(until) for an arrival: the completions wait in m_pending for the next advance().
  void catch_up(std::uint64_t until);
  // The next command (see CommandScheduler::next), cached in m_decision (decide() fills it).
  const Decision& decision() const {
    if (!m_decision_valid) decide();
    return m_decision;
  }
  void decide() const;
  // Issues `d` (m_decision: it stays marked valid, so nothing recomputes it meanwhile) and
  // invalidates the cached decision.
  void execute(const Decision& d, std::vector<Request>& completed);
  // The device-level effects of a command: timing, bank state, row-hit counts, counters,
  // observer.
  void apply(Command cmd, std::uint32_t bank, std::uint32_t row, std::uint64_t cycle);
  void complete(const Decision& d, std::vector<Request>& completed);
  // Moves waiting requests into their queues while there is room, arriving at now().
  void admit();
  RefreshDuty refresh_duty() const {
    return RefreshDuty{m_params.refresh, m_refresh_due, m_refresh_bank};
  }
  // The due cycle of refresh number m_refreshes + 1.
  std::uint64_t refresh_due() const;
  // Which queue the scheduler serves: writes in drain mode or when no read is pending.
  bool serve_writes() const { return drain_now() || m_reads.empty(); }
  // Write drain mode at now(), from the mode of the cycle before and the writes queued now
  // (arrivals of this cycle included): entered at >= the high watermark, left at <= the low one.
  // As the queue only changes at issues and arrivals, evaluating it lazily gives the mode a
  // controller re-evaluating it every cycle would have (re-applying it to the same count
  // changes nothing).
  bool drain_now() const {
    return m_drain ? m_writes.size() > m_drain_low : m_writes.size() >= m_drain_high;
  }
  std::uint32_t check_address(const BankAddress& a) const;
  double energy_pj() const;

  // Members in the order of their use: what every command reads comes first, in as few cache
  // lines as possible (a run visits 48 controllers in turn); the rarely used containers after.
  DramSpec m_spec;
  ControllerParams m_params;
  BankTiming m_timing;
  RequestQueue m_reads;
  RequestQueue m_writes;
  CommandScheduler m_scheduler;
  std::uint32_t m_drain_high, m_drain_low;  // write watermarks in requests
  std::uint32_t m_burst_bytes;
  // A RD's (WR's) data is done tCL + tBL (tCWL + tBL) after it issues.
  std::uint64_t m_read_done_cycles, m_write_done_cycles;

  std::uint64_t m_now = 0;
  std::uint64_t m_seq = 0;           // enqueue counter: request age
  bool m_drain = false;              // write drain mode of cycle now() - 1
  std::uint32_t m_refresh_bank = 0;  // per_bank: the next bank to refresh
  std::uint64_t m_refreshes = 0;     // refreshes issued by the scheduler
  std::uint64_t m_refresh_due = 0;   // refresh_due(), kept up to date
  // The next decision, valid until the state changes (an issue, or an enqueue the scheduler
  // cannot fold in). Moving now() forward up to the decided cycle leaves it valid: every
  // candidate's earliest cycle is already at or after it.
  mutable Decision m_decision;
  mutable bool m_decision_valid = false;
  // The earliest `done` in m_pending, kept rather than scanned for: under write streams
  // m_pending grows long, and scanning it at every earliest_done() made BERT-large seq 512 on
  // datacenter 10-20 % slower.
  std::uint64_t m_pending_done = ~std::uint64_t{0};
  std::uint64_t m_waiting_writes = 0;
  std::vector<Request> m_pending;    // completed while catching up in enqueue() or offer()
  std::deque<Request> m_waiting;     // offered, not yet enqueued (FIFO)
  std::function<void(const IssuedCommand&)> m_observer;
  ClockDomain m_clock;  // for the occupancy stats

  stats::Group m_stats;
  // Two counters to a cache line, in the order a burst bumps them: a read that hits an open
  // row touches the first two lines only (the order of declaration shows nowhere in the dumps).
  alignas(64) stats::Counter m_reads_done;
  stats::Counter m_read_bytes, m_rd, m_row_hits;
  stats::Counter m_writes_done, m_written_bytes, m_wr, m_row_misses, m_row_conflicts;
  stats::Counter m_act, m_pre, m_refab, m_refpb;
  stats::Histogram m_read_latency;
  stats::Occupancy m_read_queue, m_write_queue;
  stats::Formula m_row_hit_rate, m_energy, m_elapsed;
};

}  // namespace llmsim::hbm
