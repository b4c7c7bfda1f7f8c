// The schedule is a function of the model alone: extra SystemC processes that wake at the same
// times as the chip's own, and so reorder the kernel's timed-event queue, change no cycle of a
// run. (Before kernel::wait_until, they did: BERT-large at batch 8 x seq 512 on datacenter
// took 48,408,058 cycles quiet and 48,367,798 with 16 such processes, and a pure change of when
// the HBM model wakes up gave 48,375,598; now it takes 48,354,326 in all three.
// tests/core/test_wake_order.cpp pins the mechanism in a small design.)
#include <catch2/catch.hpp>

#include <systemc>

#include "sim/driver/presets.h"
#include "sim/driver/run.h"
#include "tests/support/kernel_noise.h"
#include "workloads/transformer.h"

namespace {

using namespace llmsim;

driver::RunResult run(const std::string& arch, const workloads::Workload& w,
                      std::uint32_t noise_threads, std::uint64_t until_ns) {
  driver::RunSpec spec{arch, driver::load_arch(arch), {}, w};
  // Sleeps of 0.5 to 8 ns: edges of the 1 GHz cores and of the 2 GHz NoC among them.
  if (noise_threads > 0) {
    spec.elaborated = [=] {
      test::spawn_noise(noise_threads, sc_core::sc_time(0.5, sc_core::SC_NS), 16,
                        sc_core::sc_time(double(until_ns), sc_core::SC_NS));
    };
  }
  return driver::run(spec);
}

}  // namespace

TEST_CASE("Kernel noise changes no cycle: GPT-2 decode on datacenter (HBM behind the NoC)") {
  workloads::TraceOptions o;
  o.phase = workloads::Phase::decode;
  o.kv_len = 128;
  const auto w = workloads::build_trace(workloads::load_model("gpt2"), o);
  const auto quiet = run("datacenter", w, 0, 0);
  // The noise stops well before the run ends (346,842 cycles of 1 ns), which it must not
  // prolong.
  const auto noisy = run("datacenter", w, 16, 300000);
  REQUIRE(quiet.ops.size() == noisy.ops.size());
  for (std::size_t i = 0; i < quiet.ops.size(); ++i) {
    INFO("op " << quiet.ops[i].name);
    CHECK(noisy.ops[i].start_cycle == quiet.ops[i].start_cycle);
    CHECK(noisy.ops[i].end_cycle == quiet.ops[i].end_cycle);
  }
  CHECK(noisy.total_cycles == quiet.total_cycles);
  CHECK(quiet.total_cycles == 345371);  // the golden gpt2_datacenter_decode_b1_kv128
}
