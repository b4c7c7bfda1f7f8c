#pragma once
// Test support: a SystemC thread that runs a test body at a given time.
#include <exception>
#include <functional>
#include <initializer_list>
#include <utility>

#include <catch2/catch.hpp>
#include <systemc>

namespace llmsim::test {

// One SC_THREAD: sleeps until `start`, runs `body` and records the time `body` returned.
// Assertions stay outside the kernel: an exception from `body` is kept, stops the simulation
// and is rethrown by rethrow_error() after sc_start.
class Actor : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(Actor);
  Actor(const sc_core::sc_module_name& name, sc_core::sc_time start, std::function<void()> body)
      : sc_module(name), m_start(start), m_body(std::move(body)) {
    SC_THREAD(run);
  }

  bool done() const { return m_done; }
  const sc_core::sc_time& done_at() const { return m_done_at; }
  void rethrow_error() const {
    if (m_error) std::rethrow_exception(m_error);
  }

 private:
  void run() {
    try {
      sc_core::wait(m_start);
      m_body();
      m_done_at = sc_core::sc_time_stamp();
      m_done = true;
    } catch (const sc_core::sc_unwind_exception&) {
      throw;  // the kernel's own thread unwinding
    } catch (...) {
      m_error = std::current_exception();
      sc_core::sc_stop();
    }
  }

  sc_core::sc_time m_start;
  std::function<void()> m_body;
  sc_core::sc_time m_done_at;
  bool m_done = false;
  std::exception_ptr m_error;
};

// Runs the simulation to the end and checks every actor finished without error.
inline void run_all(std::initializer_list<const Actor*> actors) {
  sc_core::sc_start();
  for (const Actor* a : actors) {
    a->rethrow_error();
    REQUIRE(a->done());
  }
}

}  // namespace llmsim::test
