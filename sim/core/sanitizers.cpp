// Support for the sanitizer build (LLMSIM_SANITIZE, `./dev test`'s build-asan) and the fuzzers:
// their runtime options, and two fixes that make AddressSanitizer trustworthy with SystemC's
// coroutines. Compiled into every binary of those builds (llmsim_lib is linked whole), so
// ctest, the hostile suite and a hand-run build-asan/llmsim behave alike; ASAN_OPTIONS,
// UBSAN_OPTIONS and LSAN_OPTIONS in the environment still override the options. In other
// builds only the empty reset_thread_stack() is left.
//
// Why not other ways out. The false reports below come from SystemC, not from llmsim, so a
// suppression (of the sigaltstack interceptor, or detect_stack_use_after_return=0, which does
// not apply to GCC 12 anyway) would hide the symptom we know of and keep the stale poison that
// causes it: later reports elsewhere would still be false. Fresh processes help but do not
// suffice: ctest already runs each TEST_CASE in its own process (catch_discover_tests), yet
// many run several simulations, and the CLI and Python run one after a kernel reset. SystemC's
// pthread processes are a build option of SystemC itself (SC_USE_PTHREADS); Debian's
// libsystemc 2.3.4 is built with QuickThreads.
#include "sim/core/sanitizers.h"

#ifdef LLMSIM_ASAN

#include <dlfcn.h>
#include <pthread.h>
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

extern "C" const char* __asan_default_options() {
  return "";
}

// Undefined behaviour aborts (-fno-sanitize-recover); a stack trace says where it was.
extern "C" const char* __ubsan_default_options() {
  return "print_stacktrace=1";
}

// 1. Stale poison on reused coroutine stacks. Debian's SystemC 2.3.4 runs SC_THREADs on
// QuickThreads coroutines whose stacks it maps with mmap and unmaps with munmap when a
// simulation context is deleted (driver::KernelSession, once per run). A coroutine still
// suspended in wait() when its context goes never returns, so the redzones of its frames stay
// poisoned in AddressSanitizer's shadow after the munmap (GCC 12's runtime clears shadow on
// neither mmap nor munmap). The next context's stacks are often mapped at the same addresses,
// and GCC's frame setup poisons only a new frame's redzones, trusting the rest of its shadow to
// be clear: a later run in the same process then reports stack-buffer-overflow on a correct
// access (seen: a DmaLoad built in a test's SC_THREAD, tests/arch/test_dma_engine.cpp).
// Unmapped memory holds no objects, so clearing its shadow at munmap hides nothing: this
// munmap, which the executable exports in place of libc's, does that and then unmaps.
extern "C" int munmap(void* addr, std::size_t length) {
  if (addr != nullptr && length != 0) __asan_unpoison_memory_region(addr, length);
  return int(syscall(SYS_munmap, addr, length));
}

namespace llmsim::sanitizers {

// 2. The main stack after a simulation. SystemC 2.3.4 announces its coroutine switches to
// AddressSanitizer (__sanitizer_start_switch_fiber), but names the main coroutine's stack as
// address 0 and size 0, and announces no switch when an SC_THREAD ends (QUICKTHREADS_ABORT):
// once a simulation has run, AddressSanitizer takes the main thread's stack to be empty or a
// dead coroutine's. Every exception thrown from then on prints "ASan is ignoring requested
// __asan_handle_no_return" and leaves the frames it unwinds poisoned; a later throw's own
// check (the sigaltstack interceptor, called by the runtime on that stack) then reports
// stack-use-after-scope, and any later call may trip on the stale redzones. Announcing a
// switch to the thread's real stack puts the bounds right; the stack below the caller's frame
// holds no live frame, so clearing its poison hides nothing.
void reset_thread_stack() {
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return;
  void* lowest = nullptr;
  std::size_t size = 0;
  const bool known = pthread_attr_getstack(&attr, &lowest, &size) == 0;
  pthread_attr_destroy(&attr);
  if (!known || size == 0) return;
  __sanitizer_start_switch_fiber(nullptr, lowest, size);
  __sanitizer_finish_switch_fiber(nullptr, nullptr, nullptr);
  char here;
  const std::uintptr_t page = 4096;
  const std::uintptr_t low = reinterpret_cast<std::uintptr_t>(lowest);
  const std::uintptr_t below = (reinterpret_cast<std::uintptr_t>(&here) - page) & ~(page - 1);
  if (below > low) __asan_unpoison_memory_region(lowest, below - low);
}

}  // namespace llmsim::sanitizers

// The same reset right after every simulation: sc_core::sc_start() (the only form llmsim
// calls; the inline overloads with a duration call the out-of-line sc_start(const sc_time&,
// ...), which is left alone) is taken over here, runs libsystemc's, and resets the stack when
// it returns or throws. Without it an exception thrown after sc_start() and caught before the
// KernelSession ends (a test checking a run's error) would still meet the wrong bounds.
namespace sc_core {

void sc_start();

void sc_start() {
  using Start = void (*)();
  // libsystemc's sc_start(), found once: the next definition after this executable's.
  static const Start systemc_start =
      reinterpret_cast<Start>(dlsym(RTLD_NEXT, "_ZN7sc_core8sc_startEv"));
  struct Reset {
    ~Reset() { llmsim::sanitizers::reset_thread_stack(); }
  } reset;
  systemc_start();
}

}  // namespace sc_core

#else

namespace llmsim::sanitizers {

void reset_thread_stack() {}

}  // namespace llmsim::sanitizers

#endif
