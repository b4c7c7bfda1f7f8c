// Both NoC models driven past saturation: no link carries more than one flit per cycle, in any
// cycle; accepted throughput stays under the channel-load bound of the pattern; noctest reports
// saturation above the bound and not below it. And the node's cap on packets in flight
// (noc.max_outstanding_packets), to the cycle.
//
// The bounds (R = offered flits per injecting node per cycle; a channel carries at most one
// flit per cycle, so R <= 1 / the largest load per unit R of any channel):
//  - mesh k x k, uniform (destinations over all k^2 nodes, XY routing): the eastbound link
//    between columns k/2 - 1 and k/2 of a row carries the packets of the k/2 sources west of it
//    in that row whose destination lies east of it (probability 1/2): k/2 x R/2 = k R / 4.
//    R <= 4/k: 0.5 on 8x8 (the bisection bound: 8 links each way across the cut carry half
//    of 32 sources' traffic each way).
//  - mesh k x k, transpose ((x, y) -> (y, x), XY): in row y = k - 1 every source x < k - 1
//    first goes east to column k - 1, so the eastbound link into column k - 1 carries k - 1
//    flows: R <= 1 / (k - 1) = 1/7 on 8x8.
//  - ring of 8, uniform, the shorter way (ties clockwise): a clockwise link carries, from
//    each source at clockwise distance d = 1..4 behind its head end, the 1/8 of its traffic
//    that goes d or further: (1 + 2 + 3 + 4) / 8 R = 1.25 R, so R <= 0.8.
//  - ring or crossbar of 8, to_memory: the 6 compute nodes send to the memory nodes 0 and 4,
//    half each: a memory node's ejection port carries 3 R, so R <= 1/3.
//  - crossbar of 8, hotspot (20 % to node 0, else uniform): node 0's ejection port carries
//    8 x (0.2 + 0.8 / 8) R = 2.4 R, so R <= 1 / 2.4.
//  - crossbar of 8, uniform: every injection and ejection port carries R, so R <= 1; an
//    offered rate cannot exceed it.
//
// These bound R, the rate at which every source can inject alike (the saturation throughput).
// Past saturation sources get different rates R_i <= R, and what bounds the accepted
// throughput, the mean of the R_i, is that every channel carries at most one flit per cycle:
// sum_i c_i R_i <= 1 for the share c_i of source i's flits that cross it. Each source injects
// its packets in the order offered, so its injected mix is its offered mix (a node's cap on
// packets in flight, noc.max_outstanding_packets, makes it stall when its packets queue; with
// unbounded router queues and no cap, a source would inject at R whatever the network does).
//  - Uniform, hotspot, to_memory, and the ring: every source loads the bottleneck channels alike
//    (summed over the symmetric set of them: the 8 eastbound links across the mesh's bisection
//    carry half of each western source's flits, sum over the 32 of R_i / 2 <= 8; a memory or
//    hotspot node's ejection port a fixed share of every source's; the 8 clockwise links of
//    the ring 1.25 R_i in all), so the mean of the R_i is at most the bound.
//  - Transpose: every source has one flow, and the flows form groups that share no link (the
//    sources x < y of row y share the eastbound links of that row and then the links of column
//    y towards row 0; the sources x > y the other way): a group of n flows takes at most
//    min(1, n R) in all, while the first group saturates at R = 1/7. On 8x8 the groups have
//    n = y and 7 - y for y = 0..7, and the 8 diagonal sources send to themselves (R each):
//    accepted <= (sum_y [min(1, y R) + min(1, (7 - y) R)] + 8 R) / 64, 17/64 at R = 0.5 (and
//    21/64 = 0.328 at R = 0.9): the pattern bound 1/7 does not bound accepted throughput here.
#include <array>
#include <catch2/catch.hpp>
#include <optional>
#include <random>

#include "arch/noc/network.h"
#include "sim/driver/noctest.h"

namespace llmsim {
namespace {

using driver::NoctestResult;

struct Case {
  const char* name;
  config::Json noc;  // the "noc" object, without the model
  const char* pattern;
  double bound;     // derived above
  double over;      // an offered rate well beyond it
  double accepted;  // the bound on accepted throughput at `over` (derived above)
};

std::vector<Case> cases() {
  const config::Json mesh8 = {{"topology", "mesh"}, {"mesh_width", 8}, {"mesh_height", 8}};
  const config::Json ring8 = {{"topology", "ring"}, {"nodes", 8}};
  const config::Json xbar8 = {{"topology", "crossbar"}, {"nodes", 8}};
  return {{"mesh 8x8 uniform", mesh8, "uniform", 0.5, 0.9, 0.5},
          {"mesh 8x8 transpose", mesh8, "transpose", 1.0 / 7, 0.5, 17.0 / 64},
          {"ring 8 uniform", ring8, "uniform", 0.8, 1.0, 0.8},
          {"ring 8 to_memory", ring8, "to_memory", 1.0 / 3, 0.9, 1.0 / 3},
          {"crossbar 8 hotspot", xbar8, "hotspot", 1 / 2.4, 0.9, 1 / 2.4},
          {"crossbar 8 to_memory", xbar8, "to_memory", 1.0 / 3, 0.9, 1.0 / 3}};
}

// The defaults otherwise: 2-cycle routers, 1-cycle links, 32 B flits; 64 B payload: 3-flit
// packets; the flit model with 4 VCs of 8 flits.
constexpr std::uint64_t kWindow = 4000;

// Without a drain past saturation (the window's packets are never all delivered); with one
// below, so that `saturated` also checks that every measured packet arrives. `cap`:
// noc.max_outstanding_packets, absent for the default (32).
NoctestResult run(const Case& c, const char* model, double rate,
                  std::optional<std::uint32_t> cap = std::nullopt) {
  config::Json noc = c.noc;
  noc["model"] = model;
  if (cap) noc["max_outstanding_packets"] = *cap;
  driver::NoctestOptions o;
  o.pattern = c.pattern;
  o.rate = rate;
  o.warmup_cycles = 1000;
  o.measure_cycles = kWindow;
  o.drain_cycles = rate > c.bound ? 0 : 20000;
  return driver::run_noctest({{"noc", noc}}, {}, o);
}

}  // namespace

TEST_CASE("noc saturation: past saturation, within link capacity and the bound", "[noc]") {
  for (const char* model : {"flit", "packet"}) {
    for (const Case& c : cases()) {
      INFO(model << " " << c.name);
      const NoctestResult r = run(c, model, c.over);
      CHECK(r.ideal_throughput_flits_per_node_cycle == Approx(c.bound));
      CHECK(r.saturated);
      // Flits over the window's cycles: an integer count at most the window's length.
      CHECK(r.max_link_utilisation <= 1.0);
      // The bottleneck channels carry at most a flit per cycle; the window's edges let in
      // a little more (packets that crossed before the window and are delivered in it).
      CHECK(r.pattern_throughput_flits_per_node_cycle <= 1.02 * c.bound);
      CHECK(r.pattern_throughput_flits_per_node_cycle > 0.6 * c.bound);
      CHECK(r.accepted_flits_per_node_cycle < 0.9 * c.over);
      // Accepted throughput: within the bound, up to the same window edges.
      CHECK(r.accepted_flits_per_node_cycle <= 1.02 * c.accepted);
      CHECK(r.accepted_flits_per_node_cycle > 0.6 * c.accepted);
    }
  }
}

TEST_CASE("noc saturation: the node's cap on packets in flight is what bounds the packet model",
          "[noc]") {
  // Without it (max_outstanding_packets 0) the packet model's sources never stall: on the mesh
  // the flows that stay on their side of the bisection are delivered in full while those
  // across it queue without limit, and it accepts more than 4/k (0.55 measured before the
  // cap); the pattern itself still gets through at most at the bound. The flit model's full
  // buffers stall its sources anyway: within the bound with or without the cap.
  const Case mesh = cases()[0];
  const NoctestResult uncapped = run(mesh, "packet", mesh.over, 0);
  CHECK(uncapped.accepted_flits_per_node_cycle > 1.05 * mesh.bound);
  CHECK(uncapped.pattern_throughput_flits_per_node_cycle <= 1.02 * mesh.bound);
  CHECK(run(mesh, "flit", mesh.over, 0).accepted_flits_per_node_cycle <= 1.02 * mesh.bound);
  // Any cap does it once the packets in flight have taken the steady mix, in which the slow
  // flows (across the bisection) hold most slots: the larger the cap the longer that takes.
  // Measured here (1000-cycle warmup, 4000-cycle window): cap 1 0.140, 8 0.474, 32 0.500,
  // 64 0.506, 256 0.525 (0.512 after 2000 + 10000 cycles: still converging).
  CHECK(run(mesh, "packet", mesh.over, 1).accepted_flits_per_node_cycle <= 1.02 * mesh.bound);
  CHECK(run(mesh, "packet", mesh.over, 8).accepted_flits_per_node_cycle <= 1.02 * mesh.bound);
}

TEST_CASE("noc saturation: below saturation, accepted is offered and not saturated", "[noc]") {
  Case xbar = cases()[4];
  xbar.pattern = "uniform";
  xbar.bound = 1.0;
  std::vector<Case> all = cases();
  all.push_back(xbar);
  for (const char* model : {"flit", "packet"}) {
    for (const Case& c : all) {
      INFO(model << " " << c.name);
      const double rate = 0.5 * c.bound;
      const NoctestResult r = run(c, model, rate);
      CHECK_FALSE(r.saturated);
      // The Bernoulli sources' actual rate in the window (a few hundred packets per node).
      const double offered =
          double(r.offered_flits_in_window) / (double(r.injecting_nodes) * double(kWindow));
      CHECK(offered == Approx(rate).epsilon(0.1));
      CHECK(r.accepted_flits_per_node_cycle == Approx(offered).epsilon(0.02));
      CHECK(r.pattern_throughput_flits_per_node_cycle == Approx(offered).epsilon(0.05));
      CHECK(r.max_link_utilisation <= 1.0);
      CHECK(r.avg_latency_cycles < 3 * r.avg_zero_load_latency_cycles);
    }
  }
}

namespace noc {

TEST_CASE("noc saturation: no link carries more than a flit in any cycle", "[noc]") {
  // Bernoulli traffic well past saturation, uniform over all nodes, 3-flit packets; after
  // every cycle, every link's count may have grown by at most one flit. The packet model
  // claims links ahead (thousands of cycles here): counted at claim time, a link would gain
  // a whole backlog in one cycle.
  for (const NocModel model : {NocModel::flit, NocModel::packet}) {
    for (const TopologyKind topo : {TopologyKind::mesh, TopologyKind::ring}) {
      NocParams p;
      p.model = model;
      p.topology = topo;
      p.mesh_width = p.mesh_height = 8;
      p.ring_or_crossbar_nodes = 8;
      INFO(to_string(model) << " " << to_string(topo));
      stats::Group root("t");
      const auto net = make_network(p, root, "noc");
      const Topology& t = net->topology();
      std::vector<std::pair<std::uint32_t, std::uint32_t>> links;
      for (std::uint32_t r = 0; r < t.routers(); ++r)
        for (std::uint32_t q = 0; q < t.ports(r); ++q)
          if (t.out(r, q).router >= 0) links.emplace_back(r, q);
      std::vector<std::uint64_t> before(links.size(), 0);
      std::mt19937_64 rng(7);
      std::bernoulli_distribution inject(1.0 / 3);  // rate 1: a 3-flit packet every 3 cycles
      std::uniform_int_distribution<std::uint32_t> dst(0, t.nodes() - 1);
      std::vector<Delivery> done;
      std::uint64_t over = 0, hops_counted = 0;
      for (std::uint64_t c = 0; c < 3000; ++c) {
        for (std::uint32_t n = 0; n < t.nodes(); ++n)
          if (inject(rng)) net->send(n, dst(rng), 3, c, 0);
        net->advance(c, done);
        for (std::size_t l = 0; l < links.size(); ++l) {
          const std::uint64_t now = net->port_flits(links[l].first, links[l].second);
          over += now > before[l] + 1 || now < before[l];
          before[l] = now;
        }
      }
      CHECK(over == 0);
      for (std::uint64_t f : before) hops_counted += f;
      const std::uint64_t claimed = root.counter_value("noc.flit_hops");
      if (model == NocModel::packet) {
        // Links claimed beyond the last cycle: not yet counted.
        CHECK(hops_counted < claimed);
      } else {
        CHECK(hops_counted == claimed);
      }
      // Drained, every claimed flit has crossed.
      while (auto c = net->next_event_cycle()) net->advance(*c, done);
      std::uint64_t drained = 0;
      for (const auto& [r, q] : links) drained += net->port_flits(r, q);
      CHECK(drained == root.counter_value("noc.flit_hops"));
    }
  }
}

namespace {

// The delivery cycle of each packet {src, dst, flits, created}, by index, offered in creation
// order with the network advanced to just before each creation; cap: max_outstanding_packets.
std::vector<std::uint64_t> delivered_at(NocModel model, std::uint32_t mesh_width, std::uint32_t cap,
                                        const std::vector<std::array<std::uint32_t, 4>>& sent) {
  NocParams p;
  p.model = model;
  p.mesh_width = mesh_width;
  p.mesh_height = 1;
  p.router_latency_cycles = 2;
  p.link_latency_cycles = 1;
  p.max_outstanding_packets = cap;
  stats::Group root("t");
  const auto net = make_network(p, root, "noc");
  std::vector<Delivery> done;
  for (std::size_t i = 0; i < sent.size(); ++i) {
    if (sent[i][3] > 0) net->advance(sent[i][3] - 1, done);
    net->send(sent[i][0], sent[i][1], sent[i][2], sent[i][3], i);
  }
  while (auto c = net->next_event_cycle()) net->advance(*c, done);
  REQUIRE(net->in_flight() == 0);
  std::vector<std::uint64_t> at(sent.size());
  for (const Delivery& d : done) at[d.tag] = d.delivered_cycle;
  return at;
}

}  // namespace

TEST_CASE("noc: a node at its cap injects from the cycle after one of its packets arrives",
          "[noc]") {
  const NocModel model = GENERATE(NocModel::flit, NocModel::packet);
  INFO(to_string(model) << " model");
  // A 2x1 mesh, tr = 2, tl = 1; node 0 -> node 1, 1 flit: T0 = 2 x 2 + 1 = 5.
  // Two packets created at 0. Cap 1: the first is injected at 0 and delivered at 5, freeing
  // the slot from 6: the second is injected at 6 and delivered at 6 + 5 = 11.
  CHECK(delivered_at(model, 2, 1, {{0, 1, 1, 0}, {0, 1, 1, 0}}) ==
        std::vector<std::uint64_t>{5, 11});
  // Cap 2, or none: the second follows the first a cycle behind on the injection channel.
  CHECK(delivered_at(model, 2, 2, {{0, 1, 1, 0}, {0, 1, 1, 0}}) ==
        std::vector<std::uint64_t>{5, 6});
  CHECK(delivered_at(model, 2, 0, {{0, 1, 1, 0}, {0, 1, 1, 0}}) ==
        std::vector<std::uint64_t>{5, 6});
  // The second created at 5, the cycle the first is delivered: the slot serves from 6 all
  // the same: delivered at 11 (latency T0 + 1).
  CHECK(delivered_at(model, 2, 1, {{0, 1, 1, 0}, {0, 1, 1, 5}}) ==
        std::vector<std::uint64_t>{5, 11});
  // Packets from other nodes do not count: node 1 -> node 0 meanwhile is not held up.
  CHECK(delivered_at(model, 2, 1, {{0, 1, 1, 0}, {1, 0, 1, 0}, {0, 1, 1, 0}}) ==
        std::vector<std::uint64_t>{5, 5, 11});
  // 3-flit packets, cap 1: T0 = 5 + 2 = 7; the second is injected at 8, delivered at 15.
  CHECK(delivered_at(model, 2, 1, {{0, 1, 3, 0}, {0, 1, 3, 0}}) ==
        std::vector<std::uint64_t>{7, 15});
}

TEST_CASE("noc: the cap limits a stream to cap packets per T0 + 1 cycles", "[noc]") {
  const NocModel model = GENERATE(NocModel::flit, NocModel::packet);
  INFO(to_string(model) << " model");
  // An 8x1 mesh (a line), node 0 -> node 7: H = 7, 1-flit packets, T0 = 8 x 2 + 7 = 23.
  // 40 packets created at 0. With no cap they stream a flit per cycle: packet i delivered at
  // i + 23. With cap 4, packets 4g .. 4g + 3 are injected at 24 g .. 24 g + 3 (each the cycle
  // after packet i - 4's delivery at 24 (g - 1) + j + 23), delivered 23 later: 4 packets per
  // 24 cycles, cap x F / (T0 + 1) flits per cycle.
  const std::vector<std::array<std::uint32_t, 4>> stream(40, {0, 7, 1, 0});
  const auto free = delivered_at(model, 8, 0, stream);
  const auto capped = delivered_at(model, 8, 4, stream);
  for (std::uint64_t i = 0; i < stream.size(); ++i) {
    INFO("packet " << i);
    CHECK(free[i] == i + 23);
    CHECK(capped[i] == 24 * (i / 4) + i % 4 + 23);
  }
}

}  // namespace noc
}  // namespace llmsim
