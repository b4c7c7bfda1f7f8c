// Semaphore and BarrierHub (arch/core/sync.h) in small SystemC designs: synchronisation costs
// no simulated time, so a waiter resumes at exactly the time it is released.
#include "arch/core/sync.h"

#include <exception>
#include <functional>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <systemc>

#include "sim/driver/kernel_session.h"
#include "tests/support/actor.h"

namespace llmsim::core {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;

using test::Actor;

sc_time ns(double n) {
  return sc_time(n, SC_NS);
}

// Sleeps the calling thread for `n` ns.
void sleep_ns(double n) {
  sc_core::wait(ns(n));
}

}  // namespace

TEST_CASE("A semaphore waiter resumes exactly when signalled", "[sync]") {
  driver::KernelSession session;
  Semaphore sem;
  // The waiter blocks from 0 ns; the signal at 50 ns releases it at 50 ns, not later (a
  // release costs a delta cycle, no time).
  Actor waiter("waiter", ns(0), [&] { sem.wait(); });
  Actor signaller("signaller", ns(50), [&] { sem.signal(); });
  sc_core::sc_start();
  waiter.rethrow_error();
  signaller.rethrow_error();
  REQUIRE(signaller.done_at() == ns(50));
  REQUIRE(waiter.done());
  REQUIRE(waiter.done_at() == ns(50));
  REQUIRE(sem.count() == 0);  // the waiter took the one signal
}

TEST_CASE("A semaphore without a signal blocks forever", "[sync]") {
  driver::KernelSession session;
  Semaphore sem;
  Actor waiter("waiter", ns(0), [&] { sem.wait(); });
  sc_core::sc_start();
  waiter.rethrow_error();
  REQUIRE_FALSE(waiter.done());
  REQUIRE(sem.count() == 0);
}

TEST_CASE("A semaphore with a positive count does not block", "[sync]") {
  driver::KernelSession session;
  Semaphore initial(1);
  Semaphore early;
  // `initial` starts at 1: the wait at 10 ns returns at once. `early` is signalled at 0 ns,
  // before its waiter arrives at 40 ns: that wait returns at once too.
  Actor a("a", ns(10), [&] { initial.wait(); });
  Actor s("s", ns(0), [&] { early.signal(); });
  Actor b("b", ns(40), [&] { early.wait(); });
  sc_core::sc_start();
  for (const Actor* x : {&a, &s, &b}) {
    x->rethrow_error();
    REQUIRE(x->done());
  }
  REQUIRE(a.done_at() == ns(10));
  REQUIRE(b.done_at() == ns(40));
  REQUIRE(initial.count() == 0);
  REQUIRE(early.count() == 0);
}

TEST_CASE("A semaphore counts signals", "[sync]") {
  driver::KernelSession session;
  Semaphore sem;
  std::vector<sc_time> taken;
  // One thread takes three times; signals come at 10 ns, 20 ns, and twice at 30 ns.
  // Takes: 10 ns, 20 ns, 30 ns; then one signal is left over.
  Actor taker("taker", ns(0), [&] {
    for (int i = 0; i < 3; ++i) {
      sem.wait();
      taken.push_back(sc_core::sc_time_stamp());
    }
  });
  Actor signaller("signaller", ns(10), [&] {
    sem.signal();
    sleep_ns(10);
    sem.signal();
    sleep_ns(10);
    sem.signal();
    sem.signal();
  });
  sc_core::sc_start();
  taker.rethrow_error();
  signaller.rethrow_error();
  REQUIRE(taken == std::vector<sc_time>{ns(10), ns(20), ns(30)});
  REQUIRE(sem.count() == 1);
}

TEST_CASE("Two signals release two of three waiters at the signal time", "[sync]") {
  driver::KernelSession session;
  Semaphore sem;
  Actor w1("w1", ns(0), [&] { sem.wait(); });
  Actor w2("w2", ns(5), [&] { sem.wait(); });
  Actor w3("w3", ns(7), [&] { sem.wait(); });
  Actor signaller("signaller", ns(30), [&] {
    sem.signal();
    sem.signal();
  });
  sc_core::sc_start();
  int released = 0;
  for (const Actor* w : {&w1, &w2, &w3}) {
    w->rethrow_error();
    if (w->done()) {
      ++released;
      REQUIRE(w->done_at() == ns(30));
    }
  }
  REQUIRE(released == 2);
  REQUIRE(sem.count() == 0);
}

TEST_CASE("A barrier releases every participant at the last arrival", "[sync]") {
  driver::KernelSession session;
  BarrierHub hub(3);
  // Barrier 0: arrivals at 10, 30 and 20 ns -> all leave at 30 ns.
  // Then each sleeps 5, 1 and 40 ns: barrier 1 arrivals at 35, 31 and 70 ns -> all leave at 70.
  struct Participant {
    double arrive_ns, then_ns;
    sc_time left0, left1;
  };
  Participant ps[3] = {{10, 5, {}, {}}, {30, 1, {}, {}}, {20, 40, {}, {}}};
  auto body = [&hub](Participant& p) {
    return [&hub, &p] {
      hub.arrive(0);
      p.left0 = sc_core::sc_time_stamp();
      sleep_ns(p.then_ns);
      hub.arrive(1);
      p.left1 = sc_core::sc_time_stamp();
    };
  };
  Actor a("a", ns(ps[0].arrive_ns), body(ps[0]));
  Actor b("b", ns(ps[1].arrive_ns), body(ps[1]));
  Actor c("c", ns(ps[2].arrive_ns), body(ps[2]));
  sc_core::sc_start();
  for (const Actor* x : {&a, &b, &c}) {
    x->rethrow_error();
    REQUIRE(x->done());
  }
  for (const Participant& p : ps) {
    REQUIRE(p.left0 == ns(30));
    REQUIRE(p.left1 == ns(70));
  }
}

TEST_CASE("A barrier holds everyone until the last participant arrives", "[sync]") {
  driver::KernelSession session;
  BarrierHub hub(3);
  // Only two of three participants arrive: neither leaves.
  Actor a("a", ns(10), [&] { hub.arrive(0); });
  Actor b("b", ns(20), [&] { hub.arrive(0); });
  sc_core::sc_start();
  a.rethrow_error();
  b.rethrow_error();
  REQUIRE_FALSE(a.done());
  REQUIRE_FALSE(b.done());
  REQUIRE(sc_core::sc_time_stamp() == ns(20));  // nothing else happened
}

}  // namespace llmsim::core
