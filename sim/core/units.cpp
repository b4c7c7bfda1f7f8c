#include "sim/core/units.h"

#include <cmath>
#include <map>
#include <memory>
#include <vector>

#include "sim/core/error.h"

namespace llmsim {

namespace {

// Configs are read through config::Reader::clock_mhz, which enforces the range.
sc_core::sc_time period_of(double clock_mhz) {
  LLMSIM_CHECK(clock_mhz >= kMinClockMhz && clock_mhz <= kMaxClockMhz,
               "clock domain outside [kMinClockMhz, kMaxClockMhz]");
  return sc_core::sc_time(std::round(1e9 / clock_mhz), sc_core::SC_FS);
}

}  // namespace

ClockDomain::ClockDomain(double clock_mhz) : m_mhz(clock_mhz), m_period(period_of(clock_mhz)) {}

Cycles ClockDomain::cycles_at_or_after(const sc_core::sc_time& t) const {
  const std::uint64_t p = m_period.value();
  return Cycles(ceil_div(t.value(), p));
}

void ClockDomain::wait_until(Cycles c) const {
  kernel::wait_until(to_time(c));
}

namespace kernel {

namespace {

// One event per pending wake-up time, recycled once its time has passed.
class WakeEvents {
 public:
  sc_core::sc_event& at(const sc_core::sc_time& t) {
    LLMSIM_CHECK(m_context == nullptr || m_context == sc_core::sc_get_curr_simcontext(),
                 "wake-up events of another SystemC context: simulate inside a KernelSession");
    m_context = sc_core::sc_get_curr_simcontext();
    const sc_core::sc_time now = sc_core::sc_time_stamp();
    // Events of past times have fired (a time's notifications come before its processes run).
    while (!m_pending.empty() && m_pending.begin()->first <= now.value()) {
      m_free.push_back(m_pending.begin()->second);
      m_pending.erase(m_pending.begin());
    }
    auto [it, added] = m_pending.try_emplace(t.value(), nullptr);
    if (added) {
      if (m_free.empty()) {
        m_owned.push_back(std::make_unique<sc_core::sc_event>());
        m_free.push_back(m_owned.back().get());
      }
      it->second = m_free.back();
      m_free.pop_back();
      it->second->notify(t - now);
    }
    return *it->second;
  }
  void release() {
    m_pending.clear();
    m_free.clear();
    m_owned.clear();
    m_context = nullptr;
  }

 private:
  sc_core::sc_simcontext* m_context = nullptr;
  std::map<std::uint64_t, sc_core::sc_event*> m_pending;  // by time, in kernel time units
  std::vector<sc_core::sc_event*> m_free;
  std::vector<std::unique_ptr<sc_core::sc_event>> m_owned;
};

WakeEvents& wake_events() {
  static WakeEvents w;  // the kernel is single-threaded (KernelSession holds its mutex)
  return w;
}

}  // namespace

void wait_until(const sc_core::sc_time& t) {
  if (t > sc_core::sc_time_stamp()) sc_core::wait(wake_events().at(t));
}

void release_wake_events() {
  wake_events().release();
}

}  // namespace kernel

}  // namespace llmsim
