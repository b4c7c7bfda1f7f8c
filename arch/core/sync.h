#pragma once
// Synchronisation between instruction queues: counting semaphores within a core and barriers
// across the cores of a chip. Both cost no simulated time: a release wakes waiters one delta
// cycle later, at the same simulated time.
#include <cstdint>
#include <map>
#include <string>

#include <systemc>

namespace llmsim::core {

class Semaphore {
 public:
  explicit Semaphore(std::uint32_t initial = 0) : m_count(initial) {}
  void signal() {
    ++m_count;
    m_changed.notify(sc_core::SC_ZERO_TIME);
  }
  // Blocks the calling SC_THREAD until the count is positive, then takes one.
  void wait() {
    while (m_count == 0) sc_core::wait(m_changed);
    --m_count;
  }
  std::uint32_t count() const { return m_count; }

 private:
  std::uint32_t m_count;
  sc_core::sc_event m_changed;
};

// Each barrier id is used once per participant; the last arrival releases everyone.
class BarrierHub {
 public:
  explicit BarrierHub(std::uint32_t participants) : m_participants(participants) {}
  void arrive(std::uint32_t id) {
    Entry& e = m_entries[id];
    if (++e.arrived == m_participants) {
      e.released.notify(sc_core::SC_ZERO_TIME);
      return;
    }
    sc_core::wait(e.released);
  }

 private:
  struct Entry {
    std::uint32_t arrived = 0;
    sc_core::sc_event released;
  };
  std::uint32_t m_participants;
  std::map<std::uint32_t, Entry> m_entries;
};

}  // namespace llmsim::core
