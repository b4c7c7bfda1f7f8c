#pragma once
// Support for the sanitizer build (sim/core/sanitizers.cpp); no-ops in other builds.

// LLMSIM_ASAN is defined when this translation unit is compiled with AddressSanitizer (GCC
// says so with __SANITIZE_ADDRESS__, clang with __has_feature).
#if defined(__SANITIZE_ADDRESS__)
#define LLMSIM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LLMSIM_ASAN 1
#endif
#endif

namespace llmsim::sanitizers {

// Tells AddressSanitizer the calling thread's real stack again and clears stale poison below
// the caller's frame. To be called outside any simulation (driver::KernelSession does, on
// entry and exit): SystemC's coroutine switches leave AddressSanitizer's idea of the stack
// wrong once a simulation has run (sanitizers.cpp says how).
void reset_thread_stack();

}  // namespace llmsim::sanitizers
