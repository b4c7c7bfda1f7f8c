#pragma once
// The HBM memory behind the DMA engines (memory.type "hbm"): an HbmSystem driven by the SystemC
// kernel. A transfer (or a port access) is cut into bursts, each decoded to its interface and
// offered to that interface's controller, which queues it or, while its queue is full, holds
// it in a FIFO in front (ChannelController::offer). One scheduler thread serves every
// interface, lazily: a controller is left alone while nothing it does can be seen outside, and
// caught up (every command before the cycle, in order) when a request arrives or when a
// completion is due. A completion is seen only through its `done` cycle, at least
// min(tCL, tCWL) + tBL after its RD/WR, so the thread wakes at the decision time of the cycle
// before the earliest `done` any controller may produce (ChannelController::earliest_done)
// and runs each due controller through that cycle at once, not one command cycle at a time:
// a controller's state stays in cache for a dozen commands, and the thread wakes about once
// per read latency instead of once per command cycle. The commands are the ones a controller
// asked every cycle would issue (the controller's own contract).
//
// Timing of the hand-over: a request arriving at time t enters its controller at cycle
// ceil(t / tCK). The decisions for cycle c are taken at (c + 1/2) tCK, after every request that
// arrived at or before c tCK. Requests arriving in the same cycle enter in the order of their
// source (core), then of their arrival, whatever the order of the SystemC processes that
// brought them: the schedule is deterministic and exact to the DRAM clock. A request held in
// the FIFO enters at the cycle after the command that made room for it.
//
// Running ahead, as NocFabric does (arch/chip/noc_memory.h): when the kernel has no activity
// pending up to the decision time of the next due cycle, no request can arrive for that cycle
// or an earlier one, so the thread takes its decisions at once instead of sleeping until then;
// its completions carry their own times. A port access may therefore be made for a time ahead
// of the kernel's (MemoryBackend::access's `at`).
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include <systemc>

#include "arch/hbm/hbm_system.h"
#include "arch/memory/memory_backend.h"
#include "sim/core/timeline.h"

namespace llmsim::hbm {

class HbmMemory final : public sc_core::sc_module, public memory::MemoryBackend {
 public:
  HbmMemory(const sc_core::sc_module_name& name, const HbmParams& p, stats::Group& parent,
            const std::string& key_path);

  void transfer(const memory::Transfer& t) override;
  double peak_bytes_per_second() const override;
  // ACT, RD and the burst on the command clock: (tRCDRD + tCL + tBL) tCK.
  double idle_read_latency_seconds() const override;
  void finish() override;
  std::optional<double> row_hit_rate() const override { return m_system.row_hit_rate(); }
  std::optional<std::uint64_t> capacity_bytes() const override {
    return m_system.spec().org.capacity_bytes();
  }
  std::uint64_t interleave_period_bytes() const override {
    return m_system.mapping().period_bytes();
  }
  // A port is an interface (pseudo channel); an access is one burst, named by its decoded bank
  // address (bank group, bank, column, row packed into a word), so it is decoded once.
  std::uint32_t ports() const override { return m_system.interfaces(); }
  std::uint32_t access_bytes() const override { return m_system.mapping().burst_bytes(); }
  void locate(const memory::Transfer& t, std::vector<Access>& out) const override;
  void access(std::uint32_t port, const std::uint64_t* words, std::size_t n, bool write,
              std::uint32_t source, Client& client, std::uint64_t cookie,
              const sc_core::sc_time& at) override;
  // A process "memory" with a track per pseudo channel ("ch3_pc1") holding its busy periods
  // ("busy" spans): the data-bus time of its bursts, merged while the bus idles for less than
  // tRC (one row cycle, about what a row miss costs a busy stream), so a file holds periods of
  // activity, never one event per burst. Args: read_bytes, written_bytes and data_cycles (DRAM
  // cycles the bus carried data; data_cycles / the period's cycles is its utilisation).
  void trace_to(timeline::Timeline& tl) override;

 private:
  // Completion tracking of one transfer or port access: bursts outstanding and the last data
  // cycle. A transfer waits on `all_done`; an access (from m_pending, back to m_free_pending at
  // completion) tells its `client`.
  struct Pending {
    std::uint64_t outstanding = 0;
    std::uint64_t last_done = 0;
    sc_core::sc_event* all_done = nullptr;
    Client* client = nullptr;
    std::uint64_t cookie = 0;
  };

  // Calls f(decoded burst) for the bursts of `t` in the order a DMA engine walks it
  // (hbm::for_each_burst).
  template <class F>
  void for_each_burst(const memory::Transfer& t, F&& f) const {
    hbm::for_each_burst(m_system.mapping(), t.addr, t.rows, t.row_bytes, t.stride_bytes,
                        std::forward<F>(f));
  }
  void schedule();
  // Re-reads interface i's due cycle into m_due (its controller's bound, and that of the
  // arrivals held for it).
  void reschedule(std::uint32_t i);
  // The due cycle of the held arrivals (m_arrivals): the cycle before their earliest `done`.
  std::uint64_t held_bound() const { return m_arrival_cycle + m_min_done_cycles - 1; }
  // The cycle at which a request arriving at time `at` enters (ceil(at / tCK)); first offers
  // the held arrivals of an earlier cycle.
  std::uint64_t arrival_cycle(const sc_core::sc_time& at);
  // Interface i was given a request arriving at `arrival` (held in m_arrivals): the scheduler
  // wakes in time to hand out its completion.
  void hold(std::uint32_t i, std::uint64_t arrival);
  // Offers the held arrivals to their controllers, in source order (see the top of the file).
  void offer_arrivals();
  // Hands out completions at the decision time `at` (see schedule()).
  void retire(const std::vector<Request>& completed, const sc_core::sc_time& at);
  // Notifies m_wake if an interface now has a command at `cycle`, before the scheduler's
  // wake-up.
  void wake_for(std::uint64_t cycle);
  // With a timeline: extends interface i's busy period by `completed` (its bursts just issued),
  // closing it into a span at a gap of tRC or more.
  void trace_busy(std::uint32_t i, const std::vector<Request>& completed);
  void close_busy(std::uint32_t i);

  stats::Group m_stats;
  HbmSystem m_system;
  ClockDomain m_clock;
  // The scheduler's only wake-up (as NocFabric's): notified for the decision time it sleeps
  // until, and at once for new work when an interface's next command cycle is earlier than the
  // one the scheduler sleeps until (m_asleep_until: kIdle while it waits for work, 0 while it
  // runs); a later or equal one is found by the scan at its wake-up.
  sc_core::sc_event m_wake;
  std::uint64_t m_asleep_until = 0;
  // The requests that arrived in the current arrival cycle (m_arrival_cycle), held until the
  // decisions of that cycle (or a later arrival), so that they enter in source order whatever
  // the order of the SystemC processes that brought them. Held as runs of one source's
  // requests to one port (a port access is one run), their bank addresses packed in m_words.
  struct Arrival {
    std::uint32_t source, port;
    std::uint32_t first, count;  // m_words[first .. first + count)
    std::uint64_t id;            // the Pending
    bool write;
  };
  // Appends requests words[0 .. n) to the held runs (a new run unless they continue the last).
  void hold_requests(std::uint32_t source, std::uint32_t port, const std::uint64_t* words,
                     std::size_t n, std::uint64_t id, bool write);
  std::vector<Arrival> m_arrivals;
  std::vector<std::uint64_t> m_words;
  std::uint64_t m_arrival_cycle = 0;
  std::vector<Arrival> m_sorted;              // offer_arrivals' scratch
  std::vector<std::uint64_t> m_source_start;  // offer_arrivals' scratch
  std::vector<Request> m_completed;           // scratch
  // Per interface, whether m_arrivals holds a request for it; and those interfaces.
  std::vector<bool> m_held;
  std::vector<std::uint32_t> m_held_ports;
  std::vector<std::unique_ptr<Pending>> m_pending;  // port accesses, reused
  std::vector<Pending*> m_free_pending;
  // Per interface, the last cycle whose decisions may be taken before its controller must be
  // asked for completions (kIdle when its queues are empty): one before the earliest `done` of a
  // request it holds or has completed unasked. Kept up to date after every change to a
  // controller, so a wake-up never asks an idle controller.
  static constexpr std::uint64_t kIdle = ~std::uint64_t(0);
  std::vector<std::uint64_t> m_due;
  std::uint64_t m_min_done_cycles;  // min(tCL, tCWL) + tBL: the earliest done after an issue

  // Timeline (null when off): each interface's open busy period, in DRAM cycles.
  struct BusyPeriod {
    std::uint64_t start = 0, end = 0;  // first data beat, cycle after the last one
    std::uint64_t read_bytes = 0, written_bytes = 0, data_cycles = 0;
  };
  timeline::Timeline* m_timeline = nullptr;
  timeline::KindId m_busy_span = 0;
  std::vector<timeline::TrackId> m_tracks;
  std::vector<BusyPeriod> m_busy;
};

}  // namespace llmsim::hbm
