#pragma once
// Support for the sanitizer build (sim/core/sanitizers.cpp); no-ops in other builds.

namespace llmsim::sanitizers {

// Tells AddressSanitizer the calling thread's real stack again and clears stale poison below
// the caller's frame. To be called outside any simulation (driver::KernelSession does, on
// entry and exit): SystemC's coroutine switches leave AddressSanitizer's idea of the stack
// wrong once a simulation has run (sanitizers.cpp says how).
void reset_thread_stack();

}  // namespace llmsim::sanitizers
