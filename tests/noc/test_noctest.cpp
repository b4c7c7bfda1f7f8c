// `llmsim noctest`: synthetic traffic through the network alone. The channel-load bound and
// the saturation arithmetic are in docs/timing.md, "NoC".
#include "sim/driver/noctest.h"

#include <catch2/catch.hpp>
#include <sstream>

#include "sim/core/error.h"

namespace llmsim::driver {
namespace {

// The defaults: 2-cycle routers, 1-cycle links, 32 B flits, 4 VCs of 8 flits; 64 B payload:
// 3-flit packets.
config::Json mesh_arch() {
  return {{"noc", {{"topology", "mesh"}}}};
}

NoctestResult run(std::uint32_t k, double rate, const std::string& pattern = "uniform",
                  std::uint64_t drain_cycles = 40000, config::Json arch = mesh_arch()) {
  NoctestOptions o;
  o.pattern = pattern;
  o.rate = rate;
  o.mesh_width = o.mesh_height = k;
  o.warmup_cycles = 1000;
  o.measure_cycles = 3000;
  o.drain_cycles = drain_cycles;
  return run_noctest(arch, {}, o);
}

double bound(std::uint32_t k, const std::string& pattern = "uniform") {
  return run(k, 0.01, pattern).ideal_throughput_flits_per_node_cycle;
}

}  // namespace

TEST_CASE("noctest: the channel-load bound of uniform traffic under XY is 4/k", "[noc]") {
  // k x k mesh, uniform over all k^2 nodes: the k links crossing the middle of a row carry
  // (k/2 sources) x R x (1/2 of their traffic) = k R / 4 each, so R <= 4/k; for k = 4 the
  // injection and ejection channels (R <= 1) bind equally.
  CHECK(bound(4) == Approx(1.0));
  CHECK(bound(8) == Approx(0.5));
  CHECK(bound(6) == Approx(4.0 / 6.0));
  // Odd k = 5: the busiest cut leaves 2 columns on one side, 3 on the other:
  // 2 x R x 3/5 = 1.2 R.
  CHECK(bound(5) == Approx(1.0 / 1.2));
}

TEST_CASE("noctest: channel-load bounds of the other patterns and topologies", "[noc]") {
  // Transpose on 4x4 under XY: row 0's westbound link into (0,0) carries (1,0), (2,0), (3,0).
  CHECK(bound(4, "transpose") == Approx(1.0 / 3.0));
  // Hotspot (20 % to node 0): node 0 ejects 16 x (0.2 + 0.8 / 16) = 4 R.
  CHECK(bound(4, "hotspot") == Approx(0.25));
  // to_memory on 4x4: 8 compute nodes (columns 1, 2) to 8 memory nodes (columns 0, 3);
  // each memory node ejects 8 x 1/8 = R.
  CHECK(bound(4, "to_memory") == Approx(1.0));
  // Ring of 8, ties clockwise: a clockwise link carries distances 1..4: (1+2+3+4)/8 = 1.25 R.
  NoctestOptions o;
  o.rate = 0.01;
  o.measure_cycles = 500;
  const config::Json ring = {{"noc", {{"topology", "ring"}, {"nodes", 8}}}};
  CHECK(run_noctest(ring, {}, o).ideal_throughput_flits_per_node_cycle == Approx(0.8));
  const config::Json xbar = {{"noc", {{"topology", "crossbar"}, {"nodes", 8}}}};
  CHECK(run_noctest(xbar, {}, o).ideal_throughput_flits_per_node_cycle == Approx(1.0));
}

TEST_CASE("noctest: low load is delivered at zero-load latency", "[noc]") {
  const NoctestResult r = run(4, 0.05);
  CHECK_FALSE(r.saturated);
  CHECK(r.accepted_flits_per_node_cycle == Approx(0.05).epsilon(0.1));
  // Mean hops of uniform traffic on 4x4: 2 x (k^2 - 1) / (3k) = 2.5, so T0 averages
  // 3.5 x 2 + 2.5 x 1 + 2 = 11.5 cycles; contention adds little at 5 % load.
  CHECK(r.avg_zero_load_latency_cycles == Approx(11.5).epsilon(0.03));
  CHECK(r.avg_latency_cycles < 1.1 * r.avg_zero_load_latency_cycles);
}

TEST_CASE("noctest: 4x4 mesh, uniform traffic saturates at 0.70-0.80 of the bound", "[noc]") {
  // Saturation: the first offered rate (steps of 0.05) whose average latency exceeds 3 x
  // zero-load. Regression pins of the measured curve (seed 1).
  const NoctestResult below = run(4, 0.65);
  CHECK(below.avg_latency_cycles < 3 * below.avg_zero_load_latency_cycles);
  CHECK(below.accepted_flits_per_node_cycle == Approx(0.65).epsilon(0.02));
  const NoctestResult above = run(4, 0.70);
  CHECK(above.avg_latency_cycles > 3 * above.avg_zero_load_latency_cycles);
  // Saturation throughput: accepted rate when offered the full bound (1.0), measured without
  // draining: 0.78, i.e. 22 % below the bound.
  const NoctestResult over = run(4, 1.0, "uniform", 0);
  CHECK(over.accepted_flits_per_node_cycle > 0.75 * over.ideal_throughput_flits_per_node_cycle);
  CHECK(over.accepted_flits_per_node_cycle < 0.90 * over.ideal_throughput_flits_per_node_cycle);
}

TEST_CASE("noctest: the packet model, without head-of-line blocking, nears the bound", "[noc]") {
  // The same 4x4 mesh and traffic as above. Offered the full bound, the flit model accepts
  // 0.78 (above); the packet model, whose packets never wait behind another bound elsewhere,
  // 0.98-0.99 (measured), and at 0.70 its contention latency is a third of the flit model's
  // (8 against 26 cycles, measured), the zero-load part being the same.
  const config::Json packet = {{"noc", {{"topology", "mesh"}, {"model", "packet"}}}};
  const NoctestResult over = run(4, 1.0, "uniform", 0, packet);
  CHECK(over.accepted_flits_per_node_cycle > 0.95 * over.ideal_throughput_flits_per_node_cycle);
  CHECK(over.accepted_flits_per_node_cycle <= over.ideal_throughput_flits_per_node_cycle);
  const NoctestResult flit = run(4, 0.70);
  const NoctestResult pkt = run(4, 0.70, "uniform", 40000, packet);
  CHECK(pkt.avg_zero_load_latency_cycles == Approx(flit.avg_zero_load_latency_cycles));
  CHECK(pkt.avg_latency_cycles - pkt.avg_zero_load_latency_cycles <
        0.5 * (flit.avg_latency_cycles - flit.avg_zero_load_latency_cycles));
}

TEST_CASE("noctest: 8x8 mesh, uniform traffic saturates at 0.80-0.90 of the bound", "[noc]") {
  // Steps of 0.025 flits/node/cycle; bound 0.5.
  const NoctestResult below = run(8, 0.40);
  CHECK(below.avg_latency_cycles < 3 * below.avg_zero_load_latency_cycles);
  CHECK(below.accepted_flits_per_node_cycle == Approx(0.40).epsilon(0.02));
  const NoctestResult above = run(8, 0.425);
  CHECK(above.avg_latency_cycles > 3 * above.avg_zero_load_latency_cycles);
  const NoctestResult over = run(8, 0.5, "uniform", 0);
  CHECK(over.accepted_flits_per_node_cycle > 0.80 * 0.5);
  CHECK(over.accepted_flits_per_node_cycle < 0.90 * 0.5);
}

TEST_CASE("noctest: ring and crossbar stay live past saturation", "[noc]") {
  // The ring's dateline VCs keep wormhole routing deadlock-free: overloaded, it still delivers
  // close to its 0.8 bound's share.
  NoctestOptions o;
  o.rate = 1.0;
  o.warmup_cycles = 500;
  o.measure_cycles = 2000;
  o.drain_cycles = 0;
  const config::Json ring = {{"noc", {{"topology", "ring"}, {"nodes", 8}}}};
  const NoctestResult r = run_noctest(ring, {}, o);
  CHECK(r.accepted_flits_per_node_cycle > 0.5 * 0.8);
  CHECK(r.accepted_flits_per_node_cycle <= 0.8);
  const config::Json xbar = {{"noc", {{"topology", "crossbar"}, {"nodes", 8}}}};
  const NoctestResult x = run_noctest(xbar, {}, o);
  CHECK(x.accepted_flits_per_node_cycle > 0.5);
  CHECK(x.accepted_flits_per_node_cycle <= 1.0);
  // Single-flit packets at rate 1: a packet every cycle at every node.
  o.payload_bytes = 0;
  const NoctestResult one = run_noctest(xbar, {}, o);
  CHECK(one.packet_flits == 1);
  CHECK(one.accepted_flits_per_node_cycle > 0.5);
}

TEST_CASE("noctest: every pattern runs; JSON has the documented keys", "[noc]") {
  for (const std::string p : {"uniform", "transpose", "hotspot", "to_memory"}) {
    INFO(p);
    const NoctestResult r = run(4, 0.1, p);
    CHECK_FALSE(r.saturated);
    CHECK(r.accepted_flits_per_node_cycle == Approx(0.1).epsilon(0.15));
    const config::Json j = r.to_json();
    for (const char* key : {"offered_flits_per_node_cycle", "accepted_flits_per_node_cycle",
                            "avg_latency_cycles", "p99_latency_cycles"}) {
      CHECK(j.contains(key));
    }
    CHECK(j["stats"]["noc"].contains("packet_latency_cycles"));
    CHECK(r.p99_latency_cycles >= r.avg_latency_cycles);
  }
  CHECK(run(4, 0.1, "to_memory").injecting_nodes == 8);
}

TEST_CASE("noctest: a sweep stops at saturation and prints CSV", "[noc]") {
  NoctestOptions o;
  o.warmup_cycles = 500;
  o.measure_cycles = 1500;
  const auto sweep = run_noctest_sweep(mesh_arch(), {}, o, 0.25);
  REQUIRE(sweep.size() == 3);  // 0.25, 0.5, 0.75 (over 3 x zero-load), then stop
  CHECK(saturation_rate(sweep) == Approx(0.75));
  std::ostringstream csv;
  print_noctest_sweep_csv(csv, sweep);
  CHECK(csv.str().rfind("offered_flits_per_node_cycle,accepted_flits_per_node_cycle,", 0) == 0);
}

TEST_CASE("noctest: user errors name what is wrong", "[noc]") {
  NoctestOptions o;
  o.pattern = "tornado";
  CHECK_THROWS_WITH(run_noctest(mesh_arch(), {}, o), Catch::Contains("--pattern tornado"));
  o.pattern = "transpose";
  o.mesh_width = 4;
  o.mesh_height = 2;
  CHECK_THROWS_WITH(run_noctest(mesh_arch(), {}, o), Catch::Contains("square mesh"));
  o = NoctestOptions{};
  o.rate = 1.5;
  CHECK_THROWS_WITH(run_noctest(mesh_arch(), {}, o), Catch::Contains("--rate"));
  o = NoctestOptions{};
  o.mesh_width = o.mesh_height = 4;
  const config::Json ring = {{"noc", {{"topology", "ring"}}}};
  CHECK_THROWS_WITH(run_noctest(ring, {}, o), Catch::Contains("--mesh"));
  CHECK_THROWS_WITH(run_noctest(config::Json::object(), {}, NoctestOptions{}),
                    Catch::Contains("noc"));
  CHECK_THROWS_AS(run_noctest(mesh_arch(), {"noc.buffer_flit=4"}, NoctestOptions{}), ConfigError);
}

}  // namespace llmsim::driver
