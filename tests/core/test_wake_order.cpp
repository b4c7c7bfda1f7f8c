// kernel::wait_until (sim/core/units.h): processes waking at the same time resume in an order
// fixed by the order in which they began to wait, whatever other timed notifications the
// kernel holds -- SystemC's own timed queue gives no such guarantee.
#include <cstdint>
#include <vector>

#include <catch2/catch.hpp>
#include <systemc>

#include "sim/core/units.h"
#include "sim/driver/kernel_session.h"
#include "tests/support/kernel_noise.h"

namespace llmsim {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;

// Eight workers begin to wait for 100 ns at 1, 2, ... 8 ns (worker i at (i + 1) ns); `noise`
// extra processes sleep raw kernel waits of 1 to 10 ns through 200 ns, many of them ending at
// 100 ns too. Returns the order in which the workers resumed.
std::vector<int> resume_order(std::uint32_t noise) {
  driver::KernelSession session;
  std::vector<int> order;
  for (int i = 0; i < 8; ++i) {
    sc_core::sc_spawn([i, &order] {
      sc_core::wait(sc_time(i + 1, SC_NS));
      kernel::wait_until(sc_time(100, SC_NS));
      CHECK(sc_core::sc_time_stamp() == sc_time(100, SC_NS));
      order.push_back(i);
    });
  }
  test::spawn_noise(noise, sc_time(1, SC_NS), 10, sc_time(200, SC_NS));
  sc_core::sc_start();
  return order;
}

}  // namespace

TEST_CASE("Processes waking at the same time resume in an order other timed waits do not change") {
  const std::vector<int> quiet = resume_order(0);
  REQUIRE(quiet.size() == 8);
  for (const std::uint32_t noise : {1u, 3u, 17u, 64u}) {
    INFO("noise processes: " << noise);
    CHECK(resume_order(noise) == quiet);
  }
}

TEST_CASE("ClockDomain::wait_until resumes at the edge, and not at all for a past one") {
  driver::KernelSession session;
  const ClockDomain clk(800);  // 1.25 ns
  sc_time first, second;
  sc_core::sc_spawn([&] {
    clk.wait_until(Cycles(8));
    first = sc_core::sc_time_stamp();
    clk.wait_until(Cycles(3));
    second = sc_core::sc_time_stamp();
  });
  sc_core::sc_start();
  CHECK(first == sc_time(10, SC_NS));
  CHECK(second == sc_time(10, SC_NS));
}

TEST_CASE("ClockDomain edges and mid-cycle decision times are exact integers of fs") {
  driver::KernelSession session;  // sets the 1 fs resolution
  // 1200 MHz: a period of 833,333 fs (rounded), odd, so half a period rounds half up.
  const ClockDomain clk(1200);
  REQUIRE(clk.period().value() == 833333);
  CHECK(clk.to_time(Cycles(0)).value() == 0);
  CHECK(clk.to_time(Cycles(3)).value() == 2499999);
  // (c + 1/2) x 833,333 = 833,333 c + 416,666.5 -> 416,667 over the edge.
  CHECK(clk.mid_cycle(0).value() == 416667);
  CHECK(clk.mid_cycle(10).value() == 8749997);
  // The same as SystemC's sc_time * double (round half up) far into a run: cycle 10^9 of a
  // 1200 MHz clock is 0.83 s of simulated time.
  for (const std::uint64_t c : {std::uint64_t{1}, std::uint64_t{12345}, std::uint64_t{1000000000}}) {
    CHECK(clk.to_time(Cycles(c)) == clk.period() * static_cast<double>(c));
    CHECK(clk.mid_cycle(c) == clk.period() * (static_cast<double>(c) + 0.5));
  }
  const ClockDomain even(2000);  // 500,000 fs: half a period is exact
  CHECK(even.mid_cycle(7).value() == 3750000);
}

}  // namespace llmsim
