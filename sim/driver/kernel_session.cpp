#include "sim/driver/kernel_session.h"

#include <cstdlib>

#include "sim/core/sanitizers.h"
#include "sim/core/units.h"

namespace llmsim::driver {

namespace {

std::mutex& kernel_mutex() {
  static std::mutex m;  // guards the process-wide SystemC kernel, not simulation state
  return m;
}

}  // namespace

KernelSession::KernelSession() : m_lock(kernel_mutex()) {
  sanitizers::reset_thread_stack();  // a simulation outside a session may have run
  // The banner is printed when the first context is made; keep it quiet.
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
  kernel::release_wake_events();  // a run outside a session may have left some
  m_previous = sc_core::sc_get_curr_simcontext();
  m_context = new sc_core::sc_simcontext;
  sc_core::sc_curr_simcontext = m_context;
  sc_core::sc_default_global_context = m_context;
  sc_core::sc_set_time_resolution(1, sc_core::SC_FS);  // see ClockDomain
  // A model error stops the simulation with sc_stop(); the kernel's "Simulation stopped by
  // user" note would only add noise to the error the driver reports.
  sc_core::sc_report_handler::set_actions("/OSCI/SystemC", sc_core::SC_INFO,
                                          sc_core::SC_DO_NOTHING);
}

KernelSession::~KernelSession() {
  kernel::release_wake_events();  // they belong to m_context
  delete m_context;
  sc_core::sc_curr_simcontext = m_previous;
  sc_core::sc_default_global_context = m_previous;
  sanitizers::reset_thread_stack();
}

}  // namespace llmsim::driver
