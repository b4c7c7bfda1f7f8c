#pragma once
// Test support: SystemC processes that only sleep, in raw kernel waits, so that they fill the
// kernel's timed-event queue with wake-ups at the same times as a design's own. A design whose
// schedule is a function of the model alone runs the same with and without them.
#include <cstdint>

#include <systemc>

namespace llmsim::test {

// `threads` processes, each sleeping for pseudo-random multiples of `step` (1 to `steps` of
// them, from its own fixed seed) until `until`.
inline void spawn_noise(std::uint32_t threads, sc_core::sc_time step, std::uint32_t steps,
                        sc_core::sc_time until) {
  for (std::uint32_t i = 0; i < threads; ++i) {
    sc_core::sc_spawn(
        [=] {
          std::uint64_t x = 0x9e3779b97f4a7c15ull * (i + 1);
          while (sc_core::sc_time_stamp() < until) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            sc_core::wait(step * double(1 + (x >> 33) % steps));
          }
        },
        sc_core::sc_gen_unique_name("noise"));
  }
}

}  // namespace llmsim::test
