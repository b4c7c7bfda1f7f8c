#include "sim/core/units.h"

#include <cmath>

#include "sim/core/error.h"

namespace llmsim {

ClockDomain::ClockDomain(double clock_mhz)
    : m_mhz(clock_mhz), m_period(std::round(1e9 / clock_mhz), sc_core::SC_FS) {
  LLMSIM_CHECK(clock_mhz > 0 && m_period > sc_core::SC_ZERO_TIME,
               "clock domain with a non-positive period");
}

Cycles ClockDomain::cycles_at_or_after(const sc_core::sc_time& t) const {
  const std::uint64_t p = m_period.value();
  return Cycles(ceil_div(t.value(), p));
}

void ClockDomain::wait_until(Cycles c) const {
  const sc_core::sc_time target = to_time(c);
  const sc_core::sc_time now = sc_core::sc_time_stamp();
  if (target > now) sc_core::wait(target - now);
}

}  // namespace llmsim
