// HbmMemory, the SystemC driver of the controllers: completions reach their requester in time
// however sparse the traffic.
#include "arch/hbm/hbm_memory.h"

#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <systemc>

#include "sim/driver/kernel_session.h"
#include "tests/support/hbm_spec.h"

namespace llmsim::hbm {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;

struct Recorder final : memory::MemoryBackend::Client {
  std::vector<std::pair<std::uint64_t, sc_time>> done;  // (cookie, completion time)
  void access_done(std::uint64_t cookie, const sc_time& complete) override {
    done.emplace_back(cookie, complete);
  }
};

}  // namespace

TEST_CASE("A request arriving just before its controller's wake-up is served on time") {
  driver::KernelSession session;
  stats::Group root("chip");
  HbmParams p;
  p.spec = test::distinct_spec();  // 1 GHz: cycle c at c ns; tRCDRD 15, tCL 17, tCWL 5, tBL 2
  p.controller.refresh = RefreshMode::off;
  HbmMemory mem("memory", p, root, "memory");
  // Two bursts of one row of one pseudo channel: bytes 0 and 512 (16 interfaces x 32 B
  // interleaved, so 512 is the next column of interface 0).
  std::vector<memory::MemoryBackend::Access> a;
  mem.locate({0, 1, 32, 32, false, 0}, a);
  mem.locate({512, 1, 32, 32, false, 0}, a);
  REQUIRE(a.size() == 2);
  REQUIRE(a[0].port == a[1].port);
  Recorder client;
  // The first read arrives at 0: ACT at 0, RD at 15, data done at 15 + 17 + 2 = 34. Its
  // controller is due at cycle 0 + 17 + 2 - 1 = 18 (next command + the read latency - 1), when
  // the scheduler thread runs it through cycle 18 (at 18.5 ns) and hands the completion out.
  sc_core::sc_spawn([&] { mem.access(a[0].port, &a[0].word, 1, false, 0, client, 1, sc_core::sc_time_stamp()); });
  // The second read arrives at 18.2 ns, before that wake-up and for cycle 19, after it: it is
  // held until its cycle's decisions, and its controller, served at 18.5 ns and then with an
  // empty queue, must still be woken for it. Row hit: RD at 15 + tCCD_L 7 = 22, done at
  // 22 + 17 + 2 = 41.
  sc_core::sc_spawn([&] {
    sc_core::wait(sc_time(18.2, SC_NS));
    mem.access(a[1].port, &a[1].word, 1, false, 0, client, 2, sc_core::sc_time_stamp());
  });
  sc_core::sc_start();
  mem.finish();
  REQUIRE(client.done.size() == 2);
  CHECK(client.done[0] == std::make_pair(std::uint64_t{1}, sc_time(34, SC_NS)));
  CHECK(client.done[1] == std::make_pair(std::uint64_t{2}, sc_time(41, SC_NS)));
}

}  // namespace llmsim::hbm
