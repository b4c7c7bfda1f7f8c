#pragma once
// The HBM memory behind the DMA engines (memory.type "hbm"): an HbmSystem driven by the SystemC
// kernel. A transfer is cut into bursts, each decoded to its interface and appended to that
// interface's feed; a feed moves bursts into the controller's queue as soon as it has room.
// One scheduler thread serves every interface: it sleeps until the earliest cycle at which any
// controller can issue a command (or until a transfer arrives), issues the commands of that
// cycle on every interface, refills the queues from the feeds and hands out completions. Idle
// cycles cost nothing, and a busy cycle costs one wake-up however many interfaces work in it.
//
// Timing of the hand-over: a request arriving at time t enters its controller at cycle
// ceil(t / tCK). The decisions for cycle c are taken at (c + 1/2) tCK, after every request that
// arrived at or before c tCK, whatever the order of SystemC processes within a time step; so
// the schedule is deterministic and exact to the DRAM clock. A burst fed from a feed after the
// decisions of cycle c arrives at cycle c + 1.
#include <deque>
#include <memory>
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
  void finish() override;
  std::optional<double> row_hit_rate() const override { return m_system.row_hit_rate(); }
  // A port is an interface (pseudo channel); an access is one burst, named by its decoded bank
  // address (bank group, bank, column, row packed into a word), so it is decoded once.
  std::uint32_t ports() const override { return m_system.interfaces(); }
  std::uint32_t access_bytes() const override { return m_system.mapping().burst_bytes(); }
  void locate(const memory::Transfer& t, std::vector<Access>& out) const override;
  void access(std::uint32_t port, const std::uint64_t* words, std::size_t n, bool write,
              std::uint32_t source, Client& client, std::uint64_t cookie) override;
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
  // A burst waiting in a feed for room in its controller's queue. Its request's id is its
  // owner's address, which retire() turns back into the owner.
  struct Burst {
    BankAddress addr;
    bool write;
    Pending* owner;
  };

  // Calls f(decoded burst) for the bursts of `t` in the order a DMA engine walks it: row by
  // row, each row's bursts in address order, decoded as a counter (BurstCursor, no division).
  template <class F>
  void for_each_burst(const memory::Transfer& t, F&& f) const {
    const std::uint64_t burst = m_system.mapping().burst_bytes();
    for (std::uint64_t row = 0; row < t.rows; ++row) {
      const std::uint64_t begin = t.addr + row * t.stride_bytes, end = begin + t.row_bytes;
      std::uint64_t a = begin / burst * burst;
      if (a >= end) continue;
      BurstCursor c(m_system.mapping(), a);
      for (;;) {
        f(*c);
        a += burst;
        if (a >= end) break;
        c.next();
      }
    }
  }
  void schedule();
  // Re-reads interface i's next command cycle into m_next.
  void reschedule(std::uint32_t i);
  // Moves bursts from interface i's feed into its controller while there is room.
  void feed(std::uint32_t i, std::uint64_t arrival);
  void retire(const std::vector<Request>& completed);
  // Notifies m_arrival if an interface now has a command at `cycle`, before the scheduler's
  // wake-up.
  void wake_for(std::uint64_t cycle);
  // With a timeline: extends interface i's busy period by `completed` (its bursts just issued),
  // closing it into a span at a gap of tRC or more.
  void trace_busy(std::uint32_t i, const std::vector<Request>& completed);
  void close_busy(std::uint32_t i);
  sc_core::sc_time decision_time(std::uint64_t cycle) const;

  stats::Group m_stats;
  HbmSystem m_system;
  ClockDomain m_clock;
  // Wakes the scheduler for new work: notified only when an interface's next command cycle is
  // earlier than the one the scheduler sleeps until (m_asleep_until: kIdle while it waits for
  // work, 0 while it runs); a later or equal one is found by the scan at its wake-up.
  sc_core::sc_event m_arrival;
  std::uint64_t m_asleep_until = 0;
  std::vector<std::deque<Burst>> m_feeds;  // per interface
  std::vector<Request> m_completed;                 // scratch
  std::vector<std::uint32_t> m_fed;                 // scratch: interfaces a transfer appended to
  std::vector<bool> m_is_fed;                       // scratch: per interface, whether in m_fed
  std::vector<std::unique_ptr<Pending>> m_pending;  // port accesses, reused
  std::vector<Pending*> m_free_pending;
  // Next command cycle of each interface (kIdle when its queues are empty), kept up to date
  // after every change to a controller, so a wake-up never asks an idle controller.
  static constexpr std::uint64_t kIdle = ~std::uint64_t(0);
  std::vector<std::uint64_t> m_next;

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
