// SimpleMemory (arch/memory/simple_memory.h): a transfer holds the data bus for
// ceil(bytes / bus_bytes_per_cycle) memory cycles, first come first served, and is done
// latency_cycles after its last bus cycle. Checked as exact completion times seen by SC_THREAD
// requesters, plus the stats and the MemoryRegistry.
#include "arch/memory/simple_memory.h"

#include <algorithm>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <systemc>

#include "sim/core/config.h"
#include "sim/core/error.h"
#include "sim/core/stats.h"
#include "sim/driver/kernel_session.h"
#include "tests/support/actor.h"

namespace llmsim::memory {
namespace {

using Catch::Matchers::Contains;
using Catch::Matchers::Message;
using sc_core::SC_NS;
using sc_core::SC_PS;
using sc_core::sc_time;

using test::Actor;

// 1000 MHz (1 ns cycles), 64 B per cycle, 100 cycles of latency.
SimpleMemoryParams default_params() {
  SimpleMemoryParams p;
  p.clock_mhz = 1000;
  p.bus_bytes_per_cycle = 64;
  p.latency_cycles = 100;
  return p;
}

Transfer read_of(std::uint64_t bytes) {
  Transfer t;
  t.addr = 0;
  t.rows = 1;
  t.row_bytes = bytes;
  t.stride_bytes = bytes;
  t.write = false;
  return t;
}

using test::run_all;

}  // namespace

TEST_CASE("One read takes its bus cycles plus the latency", "[memory]") {
  driver::KernelSession session;
  stats::Group root("chip");
  SimpleMemory mem("mem", default_params(), root);
  // 4096 B / 64 B per cycle = 64 bus cycles [0, 64), + 100 latency = cycle 164 = 164 ns.
  Actor a("a", sc_time(0, SC_NS), [&] { mem.transfer(read_of(4096)); });
  run_all({&a});
  REQUIRE(a.done_at() == sc_time(164, SC_NS));
  REQUIRE(root.counter_value("mem.read_bytes") == 4096);
  REQUIRE(root.counter_value("mem.written_bytes") == 0);
  REQUIRE(root.counter_value("mem.transfers") == 1);
  REQUIRE(root.counter_value("mem.bus_busy_cycles") == 64);
  REQUIRE(root.counter_value("mem.queue_cycles") == 0);
  REQUIRE(mem.peak_bytes_per_second() == 64e9);  // 64 B x 1e9 cycles/s
}

TEST_CASE("A port access enters at the time it is made for, which may lie ahead", "[memory]") {
  // A caller running ahead of the kernel (the NoC fabric) makes the access at time 0 for
  // 10.5 ns: the bus is taken from the first edge at or after it, cycle 11. 256 B = 4 bus
  // cycles [11, 15), + 100 latency = cycle 115 = 115 ns; a second access made for 12 ns queues
  // behind it: [15, 16), done at 116 ns.
  struct Recorder final : MemoryBackend::Client {
    std::vector<std::pair<std::uint64_t, sc_time>> done;
    void access_done(std::uint64_t cookie, const sc_time& complete) override {
      done.emplace_back(cookie, complete);
    }
  };
  driver::KernelSession session;
  stats::Group root("chip");
  SimpleMemory mem("mem", default_params(), root);
  Recorder client;
  const std::uint64_t word = 0;
  Actor a("a", sc_time(0, SC_NS), [&] {
    mem.access(0, &word, 4, false, 0, client, 1, sc_time(10.5, SC_NS));
    mem.access(0, &word, 1, false, 0, client, 2, sc_time(12, SC_NS));
  });
  run_all({&a});
  REQUIRE(client.done.size() == 2);
  CHECK(client.done[0] == std::make_pair(std::uint64_t{1}, sc_time(115, SC_NS)));
  CHECK(client.done[1] == std::make_pair(std::uint64_t{2}, sc_time(116, SC_NS)));
  CHECK(root.counter_value("mem.queue_cycles") == 3);  // the second waited [12, 15)
}

TEST_CASE("A 2-D write rounds its bus cycles up", "[memory]") {
  driver::KernelSession session;
  stats::Group root("chip");
  SimpleMemory mem("mem", default_params(), root);
  Transfer t;
  t.addr = 4096;
  t.rows = 4;
  t.row_bytes = 100;
  t.stride_bytes = 256;
  t.write = true;
  // 4 rows x 100 B = 400 B; ceil(400 / 64) = 7 bus cycles, + 100 = 107 ns. The stride does
  // not matter to this model.
  Actor a("a", sc_time(10, SC_NS), [&] { mem.transfer(t); });
  run_all({&a});
  REQUIRE(a.done_at() == sc_time(10 + 107, SC_NS));
  REQUIRE(root.counter_value("mem.written_bytes") == 400);
  REQUIRE(root.counter_value("mem.read_bytes") == 0);
  REQUIRE(root.counter_value("mem.bus_busy_cycles") == 7);
}

TEST_CASE("Concurrent requesters queue on the bus", "[memory]") {
  driver::KernelSession session;
  stats::Group root("chip");
  SimpleMemory mem("mem", default_params(), root);
  // Both at 0 ns: whichever the kernel runs first takes bus cycles [0, 64) and is done at
  // 64 + 100 = 164 ns; the other waits 64 cycles, takes [64, 128) and is done at 228 ns.
  // Latencies overlap: only the bus serialises, so the second is 64 ns (not 164) later.
  Actor a("a", sc_time(0, SC_NS), [&] { mem.transfer(read_of(4096)); });
  Actor b("b", sc_time(0, SC_NS), [&] { mem.transfer(read_of(4096)); });
  run_all({&a, &b});
  const sc_time first = std::min(a.done_at(), b.done_at());
  const sc_time second = std::max(a.done_at(), b.done_at());
  REQUIRE(first == sc_time(164, SC_NS));
  REQUIRE(second == sc_time(228, SC_NS));
  REQUIRE(root.counter_value("mem.queue_cycles") == 64);
  REQUIRE(root.counter_value("mem.bus_busy_cycles") == 128);
  REQUIRE(root.counter_value("mem.read_bytes") == 8192);
  REQUIRE(root.counter_value("mem.transfers") == 2);
}

TEST_CASE("A request queues until exactly the cycle the bus frees", "[memory]") {
  // The first read holds the bus for cycles [0, 64). Gate at t-1 and t:
  //  - arriving at 63 ns it waits 1 cycle: bus [64, 128), done 128 + 100 = 228 ns;
  //  - arriving at 64 ns it starts at once: bus [64, 128), done 228 ns, no queueing;
  //  - arriving at 65 ns: bus [65, 129), done 229 ns.
  struct Case {
    int arrive_ns, done_ns, queue_cycles;
  };
  const Case cases[] = {{63, 228, 1}, {64, 228, 0}, {65, 229, 0}};
  for (const Case& c : cases) {
    INFO("second request at " << c.arrive_ns << " ns");
    driver::KernelSession session;
    stats::Group root("chip");
    SimpleMemory mem("mem", default_params(), root);
    Actor a("a", sc_time(0, SC_NS), [&] { mem.transfer(read_of(4096)); });
    Actor b("b", sc_time(c.arrive_ns, SC_NS), [&] { mem.transfer(read_of(4096)); });
    run_all({&a, &b});
    REQUIRE(a.done_at() == sc_time(164, SC_NS));
    REQUIRE(b.done_at() == sc_time(c.done_ns, SC_NS));
    REQUIRE(root.counter_value("mem.queue_cycles") == std::uint64_t(c.queue_cycles));
  }
}

TEST_CASE("A request to an idle bus starts immediately", "[memory]") {
  driver::KernelSession session;
  stats::Group root("chip");
  SimpleMemory mem("mem", default_params(), root);
  // The first read is done at 164 ns; the bus has been idle since 64 ns. A read at 200 ns
  // takes bus cycles [200, 264) and is done at 264 + 100 = 364 ns.
  Actor a("a", sc_time(0, SC_NS), [&] { mem.transfer(read_of(4096)); });
  Actor b("b", sc_time(200, SC_NS), [&] { mem.transfer(read_of(4096)); });
  run_all({&a, &b});
  REQUIRE(a.done_at() == sc_time(164, SC_NS));
  REQUIRE(b.done_at() == sc_time(364, SC_NS));
  REQUIRE(root.counter_value("mem.queue_cycles") == 0);
}

TEST_CASE("Back-to-back requests from one thread pipeline only through the bus", "[memory]") {
  driver::KernelSession session;
  stats::Group root("chip");
  SimpleMemory mem("mem", default_params(), root);
  sc_time first_done;
  // A blocking requester issues its second read when the first returns (164 ns): bus
  // [164, 228), done 228 + 100 = 328 ns.
  Actor a("a", sc_time(0, SC_NS), [&] {
    mem.transfer(read_of(4096));
    first_done = sc_core::sc_time_stamp();
    mem.transfer(read_of(4096));
  });
  run_all({&a});
  REQUIRE(first_done == sc_time(164, SC_NS));
  REQUIRE(a.done_at() == sc_time(328, SC_NS));
}

TEST_CASE("Times are counted in the memory's own clock", "[memory]") {
  // Memory at 1250 MHz: a cycle is 0.8 ns = 800 ps.
  SimpleMemoryParams p = default_params();
  p.clock_mhz = 1250;
  SECTION("a request on a memory clock edge") {
    driver::KernelSession session;
    stats::Group root("chip");
    SimpleMemory mem("mem", p, root);
    // 64 bus cycles + 100 latency = 164 memory cycles x 800 ps = 131,200 ps.
    Actor a("a", sc_time(0, SC_NS), [&] { mem.transfer(read_of(4096)); });
    run_all({&a});
    REQUIRE(a.done_at() == sc_time(131200, SC_PS));
    REQUIRE(mem.peak_bytes_per_second() == 80e9);  // 64 B x 1.25e9 cycles/s
  }
  SECTION("a request between memory clock edges waits for the next edge") {
    driver::KernelSession session;
    stats::Group root("chip");
    SimpleMemory mem("mem", p, root);
    // At 1 ns (a 1 GHz requester's cycle 1) the next memory edge is cycle ceil(1000 / 800) = 2
    // (1.6 ns): bus [2, 66), done 66 + 100 = cycle 166 = 132,800 ps.
    Actor a("a", sc_time(1, SC_NS), [&] { mem.transfer(read_of(4096)); });
    run_all({&a});
    REQUIRE(a.done_at() == sc_time(132800, SC_PS));
    REQUIRE(root.counter_value("mem.queue_cycles") == 0);
  }
}

TEST_CASE("SimpleMemoryParams parses the memory config", "[memory][config]") {
  using config::Json;
  const Json node =
      Json::parse(R"({"clock_mhz": 1250, "bus_bytes_per_cycle": 32, "latency_cycles": 0})");
  Json resolved;
  config::Reader r(node, "memory", resolved);
  const SimpleMemoryParams p = SimpleMemoryParams::parse(r);
  REQUIRE_NOTHROW(r.finish());
  REQUIRE(p.clock_mhz == 1250.0);
  REQUIRE(p.bus_bytes_per_cycle == 32);
  REQUIRE(p.latency_cycles == 0);

  const Json bad = Json::parse(R"({"clock_mhz": 1000, "bus_bytes_per_cycle": 0,
                                   "latency_cycles": 100})");
  config::Reader rb(bad, "memory", resolved);
  REQUIRE_THROWS_MATCHES(SimpleMemoryParams::parse(rb), ConfigError,
                         Message("memory.bus_bytes_per_cycle: must be a positive integer, got 0"));
}

TEST_CASE("MemoryRegistry creates \"simple\" and rejects unknown types", "[memory][registry]") {
  driver::KernelSession session;
  using config::Json;
  stats::Group root("chip");
  const Json node =
      Json::parse(R"({"clock_mhz": 1000, "bus_bytes_per_cycle": 64, "latency_cycles": 100})");
  Json resolved;
  config::Reader r(node, "memory", resolved);
  const std::string name = "hbm0";
  REQUIRE_THROWS_AS(MemoryRegistry::instance().create("nope", "memory.type", name, r, root),
                    ConfigError);
  REQUIRE_THROWS_WITH(
      MemoryRegistry::instance().create("nope", "memory.type", name, r, root),
      Contains("memory.type: unknown implementation \"nope\"") && Contains("simple"));

  std::unique_ptr<MemoryBackend> mem =
      MemoryRegistry::instance().create("simple", "memory.type", name, r, root);
  REQUIRE(dynamic_cast<SimpleMemory*>(mem.get()) != nullptr);
  REQUIRE(mem->peak_bytes_per_second() == 64e9);
  // The backend's stats hang under the module name.
  REQUIRE(root.counter_value("hbm0.read_bytes") == 0);
}

}  // namespace llmsim::memory
