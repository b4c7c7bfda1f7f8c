#pragma once
// One simulation's SystemC kernel context. SystemC 2.3 elaborates one design per context, so
// each run installs a fresh sc_simcontext and deletes it afterwards, restoring the previous one
// (never deleting the first context: the library registers static events in it). This lets a
// process (the Python module, a sweep worker, the test suite) run simulations back to back;
// tests/python proves two runs in one process give the same stats as two processes.
// The kernel is not thread-safe: a session holds a process-wide mutex for its lifetime.
#include <mutex>

#include <systemc>

namespace llmsim::driver {

class KernelSession {
 public:
  KernelSession();
  ~KernelSession();
  KernelSession(const KernelSession&) = delete;
  KernelSession& operator=(const KernelSession&) = delete;

 private:
  std::unique_lock<std::mutex> m_lock;
  sc_core::sc_simcontext* m_previous;
  sc_core::sc_simcontext* m_context;
};

}  // namespace llmsim::driver
