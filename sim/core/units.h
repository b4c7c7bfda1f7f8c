#pragma once
// Units of time and size. Every component counts integer cycles of its own clock domain;
// ClockDomain is the one place that converts between cycles and SystemC time.
#include <cstdint>
#include <string>

#include <systemc>

namespace llmsim {

// A count of clock cycles of one clock domain. Explicit so that cycles of different meaning
// (or plain integers) do not mix silently (after gem5's `Cycles`).
class Cycles {
 public:
  constexpr Cycles() = default;
  constexpr explicit Cycles(std::uint64_t n) : m_n(n) {}
  constexpr std::uint64_t count() const { return m_n; }

  constexpr Cycles operator+(Cycles o) const { return Cycles(m_n + o.m_n); }
  constexpr Cycles operator-(Cycles o) const { return Cycles(m_n - o.m_n); }
  constexpr Cycles& operator+=(Cycles o) {
    m_n += o.m_n;
    return *this;
  }
  constexpr bool operator==(Cycles o) const { return m_n == o.m_n; }
  constexpr bool operator!=(Cycles o) const { return m_n != o.m_n; }
  constexpr bool operator<(Cycles o) const { return m_n < o.m_n; }
  constexpr bool operator<=(Cycles o) const { return m_n <= o.m_n; }
  constexpr bool operator>(Cycles o) const { return m_n > o.m_n; }
  constexpr bool operator>=(Cycles o) const { return m_n >= o.m_n; }

 private:
  std::uint64_t m_n = 0;
};

constexpr Cycles max(Cycles a, Cycles b) {
  return a < b ? b : a;
}

// A size in bytes.
using Bytes = std::uint64_t;

constexpr std::uint64_t ceil_div(std::uint64_t a, std::uint64_t b) {
  return (a + b - 1) / b;
}
constexpr bool is_power_of_two(std::uint64_t x) {
  return x != 0 && (x & (x - 1)) == 0;
}

// The clocks a config may give, in MHz. The driver sets SystemC's time resolution to 1 fs:
// at kMaxClockMhz (100 GHz) a period is 10,000 fs, rounded to within 5e-5 of the frequency;
// at kMinClockMhz (1 MHz) it is 10^9 fs, so that 2^64 fs, SystemC's end of time, is still
// 1.8e10 cycles away.
inline constexpr double kMinClockMhz = 1;
inline constexpr double kMaxClockMhz = 100'000;

// A clock domain: a frequency and its period in SystemC time. The driver sets the SystemC time
// resolution to 1 fs and the period is rounded to it (1200 MHz: 833,333 fs, 4e-7 relative).
// Cycles are counted exactly within a domain; a hand-over between domains waits for the next
// edge of the receiving domain (cycles_at_or_after rounds up).
class ClockDomain {
 public:
  explicit ClockDomain(double clock_mhz);

  double clock_mhz() const { return m_mhz; }
  const sc_core::sc_time& period() const { return m_period; }

  // In integers (what sc_time * double gives below 2^53 fs, without its volatile double).
  sc_core::sc_time to_time(Cycles c) const { return sc_core::sc_time::from_value(ticks(c)); }
  // to_time(c) in kernel time units, for comparisons on hot paths (sc_time::from_value is a
  // library call).
  std::uint64_t ticks(Cycles c) const { return m_period.value() * c.count(); }
  // The middle of cycle c, (c + 1/2) periods rounded to the nearest fs (half up): when a
  // lazily driven component (NoC fabric, HBM scheduler) takes the decisions of cycle c, after
  // everything that arrived by its edge.
  sc_core::sc_time mid_cycle(std::uint64_t c) const {
    return sc_core::sc_time::from_value((2 * m_period.value() * c + m_period.value() + 1) / 2);
  }
  // The first clock edge at or after time t, counted in cycles of this domain.
  Cycles cycles_at_or_after(const sc_core::sc_time& t) const;
  // Current simulation time in cycles of this domain (rounded up to the next edge).
  Cycles now() const { return cycles_at_or_after(sc_core::sc_time_stamp()); }
  // Suspends the calling SC_THREAD until cycle `c` of this domain (no-op if already there),
  // through kernel::wait_until.
  void wait_until(Cycles c) const;
  double seconds(Cycles c) const { return static_cast<double>(c.count()) / (m_mhz * 1e6); }

 private:
  double m_mhz;
  sc_core::sc_time m_period;
};

// Timed waits with an order fixed by the model. SystemC's timed-event queue is a heap that does
// not keep notifications of equal times in order, so processes waking at the same time (cores,
// DMA workers at a clock edge) would resume in an order that any other timed notification --
// an extra process, one more wake-up of a lazily driven component -- can change, and with it
// every first-come reservation (a DMA datapath, SRAM bank ports). Every timed wait of a model
// process at a clock edge goes through one kernel event per wake-up time instead: the processes
// that wake at a time resume in an order given by the order in which they began to wait
// (SystemC 2.3.4 triggers an event's waiters last first), whatever else the kernel has queued.
// (The HBM and NoC threads wait raw: each takes its decisions at mid-cycle of its own clock,
// where no clock edge falls.)
// tests/system/test_determinism.cpp adds noise processes and checks that no cycle changes.
namespace kernel {

// Suspends the calling SC_THREAD until time `t` (no-op if t <= now).
void wait_until(const sc_core::sc_time& t);
// Whether the kernel has no activity pending at or before time `t` (> now): no other process
// can act before t, so the running one may act for t at once instead of sleeping until then,
// as a conservative parallel simulator advances a partition to its safe horizon. The lazily
// driven NoC and HBM threads run ahead through it.
inline bool quiet_through(const sc_core::sc_time& t) {
  return sc_core::sc_time_to_pending_activity() > t - sc_core::sc_time_stamp();
}
// Deletes the wake-up events of the current kernel context: driver::KernelSession calls it
// before it deletes the context.
void release_wake_events();

}  // namespace kernel

}  // namespace llmsim
