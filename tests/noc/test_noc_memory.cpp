// The cores' path to memory through the network (arch/chip/noc_memory.h), exact to the cycle on
// a network and a memory small enough to derive by hand: a 2x1 mesh, the core on node 0 and
// one memory port on node 1 (one link: H = 1), routers of tr = 2 cycles, links of tl = 1,
// 32-byte flits with a one-flit header, the network at 1 GHz; behind it a SimpleMemory at
// 1 GHz moving 64 B per cycle (its access size) with 100 cycles of latency.
//
// Zero-load packet latency (tests/noc/test_noc_zero_load.cpp): (H + 1) tr + H tl + F - 1
// = 5 + F - 1 cycles for F flits. A packet offered at t is created at cycle ceil(t / 1 ns); a
// packet delivered at cycle d acts at (d + 1/2) ns (the decision time of its cycle).
#include <catch2/catch.hpp>
#include <systemc>

#include "arch/chip/noc_memory.h"
#include "arch/memory/simple_memory.h"
#include "sim/core/stats.h"
#include "sim/driver/kernel_session.h"
#include "tests/support/actor.h"
#include "tests/support/kernel_noise.h"

namespace llmsim::chip {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;
using test::Actor;
using test::run_all;

noc::NocParams two_nodes(std::uint32_t payload_bytes) {
  noc::NocParams p;
  p.topology = noc::TopologyKind::mesh;
  p.mesh_width = 2;
  p.mesh_height = 1;
  p.router_latency_cycles = 2;
  p.link_latency_cycles = 1;
  p.flit_bytes = 32;
  p.header_flits = 1;
  p.buffer_flits = 8;
  p.virtual_channels = 2;
  p.clock_mhz = 1000;
  p.packet_payload_bytes = payload_bytes;
  return p;
}

memory::SimpleMemoryParams simple() {
  memory::SimpleMemoryParams p;
  p.clock_mhz = 1000;
  p.bus_bytes_per_cycle = 64;
  p.latency_cycles = 100;
  return p;
}

memory::Transfer transfer_of(std::uint64_t bytes, bool write) {
  memory::Transfer t;
  t.row_bytes = t.stride_bytes = bytes;
  t.write = write;
  return t;
}

struct Outcome {
  double done_ns = 0;  // when the transfer returned
  std::uint64_t packets = 0, flits = 0, bus_cycles = 0, read_bytes = 0, written_bytes = 0;
};

// Runs one transfer issued at 0 ns from node 0; the stats are read before the modules go. With
// `noise`, a process wakes every quarter cycle, so the fabric always has something pending
// before its next decision time and never runs ahead of the kernel.
Outcome one_transfer(std::uint64_t bytes, bool write, std::uint32_t payload_bytes,
                     bool noise = false) {
  driver::KernelSession session;
  if (noise) test::spawn_noise(1, sc_time(0.25, SC_NS), 1, sc_time(300, SC_NS));
  stats::Group root("chip");
  NocFabric fabric("noc", two_nodes(payload_bytes), root);
  memory::SimpleMemory mem("mem", simple(), root);
  const std::vector<std::uint32_t> memory_nodes = {1};
  NocMemoryPort port(fabric, mem, 0, memory_nodes);
  Actor a("core", sc_time(0, SC_NS), [&] { port.transfer(transfer_of(bytes, write)); });
  run_all({&a});
  Outcome o;
  o.done_ns = a.done_at().to_seconds() * 1e9;
  o.packets = root.counter_value("noc.packets_delivered");
  o.flits = root.counter_value("noc.flits_delivered");
  o.bus_cycles = root.counter_value("mem.bus_busy_cycles");
  o.read_bytes = root.counter_value("mem.read_bytes");
  o.written_bytes = root.counter_value("mem.written_bytes");
  return o;
}

}  // namespace

TEST_CASE("noc memory path: a 64-byte read, request and response", "[noc]") {
  // Request: header only, F = 1: created at cycle 0, delivered at 5, enters the memory at
  // 5.5 ns. The memory's bus takes it at its next cycle, 6 ns, for 64 / 64 = 1 cycle, and its
  // data is ready 100 cycles later: 107 ns. Response: header + 64 / 32 = 3 flits, created at
  // cycle 107, delivered at 107 + 5 + 2 = 114; the transfer completes at 114.5 ns.
  const Outcome o = one_transfer(64, false, 512);
  CHECK(o.done_ns == Approx(114.5).margin(1e-9));
  CHECK(o.packets == 2);
  CHECK(o.flits == 1 + 3);
  CHECK(o.read_bytes == 64);
}

TEST_CASE("noc memory path: a 64-byte write, data and acknowledgement", "[noc]") {
  // Request: header + 2 data flits, F = 3: delivered at 5 + 2 = 7, enters the memory at 7.5 ns;
  // bus cycle 8, accepted at 8 + 1 + 100 = 109 ns. Acknowledgement: F = 1, created at 109,
  // delivered at 114: complete at 114.5 ns.
  const Outcome o = one_transfer(64, true, 512);
  CHECK(o.done_ns == Approx(114.5).margin(1e-9));
  CHECK(o.flits == 3 + 1);
  CHECK(o.written_bytes == 64);
}

TEST_CASE("noc memory path: a 2 KiB read in four 512-byte messages", "[noc]") {
  // Four header-only requests leave node 0 one per cycle (cycles 0-3): delivered at 5, 6, 7, 8,
  // in the memory at 5.5 .. 8.5 ns. Each takes 512 / 64 = 8 bus cycles, one after another:
  // [6, 14), [14, 22), [22, 30), [30, 38); data ready at 114, 122, 130, 138 ns.
  // Responses: 1 + 16 = 17 flits each, from node 1's single injection port: the first is
  // created at 114 and delivered at 114 + 5 + 16 = 135, its flits leaving in cycles 114-130;
  // the second, ready at 122, leaves from 131 (17 cycles after the first): delivered at 152;
  // the third at 169, the fourth at 186. Complete at 186.5 ns.
  const Outcome o = one_transfer(2048, false, 512);
  CHECK(o.done_ns == Approx(186.5).margin(1e-9));
  CHECK(o.packets == 8);
  CHECK(o.flits == 4 * 1 + 4 * 17);
  CHECK(o.bus_cycles == 32);
}

TEST_CASE("noc memory path: one message per packet_payload_bytes", "[noc]") {
  // The same 2 KiB in one message: request delivered at 5, memory [6, 38), ready at 138;
  // response of 1 + 64 flits delivered at 138 + 5 + 64 = 207: complete at 207.5 ns. Longer
  // than four messages (186.5 ns): the first response no longer overlaps the memory's work.
  const Outcome o = one_transfer(2048, false, 2048);
  CHECK(o.done_ns == Approx(207.5).margin(1e-9));
  CHECK(o.packets == 2);
}

TEST_CASE("noc memory path: running ahead of the kernel changes no time", "[noc]") {
  // Alone in the kernel, the fabric takes each cycle's decisions as soon as it is done with the
  // previous ones (nothing else can act in between); with a process waking every quarter cycle
  // it sleeps until every decision time. The memory and the transfer see the same times.
  for (const bool write : {false, true}) {
    for (const std::uint64_t bytes : {64u, 2048u}) {
      for (const std::uint32_t payload : {512u, 2048u}) {
        CAPTURE(write, bytes, payload);
        const Outcome ahead = one_transfer(bytes, write, payload);
        const Outcome asleep = one_transfer(bytes, write, payload, true);
        CHECK(ahead.done_ns == Approx(asleep.done_ns).margin(1e-9));
        CHECK(ahead.packets == asleep.packets);
        CHECK(ahead.bus_cycles == asleep.bus_cycles);
      }
    }
  }
}

}  // namespace llmsim::chip
