// Zero-load latency of the network model, exact to the cycle:
//   T0 = (H + 1) * tr + H * tl + (F - 1)
// for H router-to-router links (H + 1 routers), router latency tr, link latency tl, F flits,
// from the packet's creation (= its head's injection, the network being empty) to the cycle
// its tail is delivered. Each test sends one packet into an empty network.
#include <catch2/catch.hpp>

#include "arch/noc/network.h"
#include "sim/core/config.h"

namespace llmsim::noc {
namespace {

NocParams params(TopologyKind kind, std::uint32_t tr, std::uint32_t tl,
                 NocModel model = NocModel::flit) {
  NocParams p;
  p.model = model;
  p.topology = kind;
  p.mesh_width = p.mesh_height = 4;
  p.ring_or_crossbar_nodes = 8;
  p.router_latency_cycles = tr;
  p.link_latency_cycles = tl;
  return p;
}

// Sends the packets (src, dst, flits) at `created` into an empty network and returns the
// delivery of each, by tag = index.
std::vector<Delivery> run(const NocParams& p, const std::vector<std::tuple<int, int, int>>& packets,
                          std::uint64_t created = 10) {
  stats::Group root("t");
  const auto owned = make_network(p, root, "noc");
  Network& net = *owned;
  for (std::size_t i = 0; i < packets.size(); ++i) {
    const auto [s, d, f] = packets[i];
    net.send(s, d, f, created, i);
  }
  std::vector<Delivery> done;
  while (auto c = net.next_event_cycle()) net.advance(*c, done);
  REQUIRE(done.size() == packets.size());
  REQUIRE(net.in_flight() == 0);
  std::vector<Delivery> by_tag(packets.size());
  for (const Delivery& d : done) by_tag[d.tag] = d;
  return by_tag;
}

std::uint64_t latency(const NocParams& p, int src, int dst, int flits) {
  return run(p, {{src, dst, flits}})[0].latency_cycles();
}

}  // namespace

TEST_CASE("noc zero load: mesh, worked examples", "[noc]") {
  const NocModel model = GENERATE(NocModel::flit, NocModel::packet);
  INFO(to_string(model) << " model");
  const NocParams p = params(TopologyKind::mesh, 2, 1, model);
  // 0 (0,0) -> 15 (3,3): H = 6 links, 7 routers: 7 x 2 + 6 x 1 + (3 - 1) = 22.
  CHECK(latency(p, 0, 15, 3) == 22);
  // 5 (1,1) -> 6 (2,1): H = 1: 2 x 2 + 1 + 0 = 5 for one flit; 8 flits: 5 + 7 = 12.
  CHECK(latency(p, 5, 6, 1) == 5);
  CHECK(latency(p, 5, 6, 8) == 12);
  // To itself: one router, no link: 2 + (4 - 1) = 5.
  CHECK(latency(p, 9, 9, 4) == 5);
  // 12 (0,3) -> 3 (3,0): H = 6 (x first, then y), 1 flit: 14 + 6 = 20.
  CHECK(latency(p, 12, 3, 1) == 20);
}

TEST_CASE("noc zero load: the formula for many pairs, sizes and latencies", "[noc]") {
  const NocModel model = GENERATE(NocModel::flit, NocModel::packet);
  for (auto [tr, tl] : {std::pair{1, 1}, {2, 1}, {3, 2}, {1, 4}}) {
    for (TopologyKind kind : {TopologyKind::mesh, TopologyKind::ring, TopologyKind::crossbar}) {
      NocParams p = params(kind, tr, tl, model);
      // Enough credits for one VC to stream: round trip tr + 2 tl.
      p.buffer_flits = tr + 2 * tl;
      stats::Group root("t");
      const auto net = make_network(p, root, "noc");
      for (auto [src, dst] : {std::pair{0, 7}, {7, 0}, {3, 4}, {1, 6}, {2, 2}}) {
        for (int flits : {1, 2, 5, 16}) {
          const std::uint64_t h = net->topology().hops(src, dst);
          const std::uint64_t t0 = (h + 1) * tr + h * tl + flits - 1;
          INFO(to_string(model) << " model, " << to_string(kind) << " tr " << tr << " tl " << tl << " " << src << " -> " << dst
                               << " flits " << flits);
          CHECK(net->zero_load_latency(src, dst, flits) == t0);
          CHECK(latency(p, src, dst, flits) == t0);
        }
      }
    }
  }
}

TEST_CASE("noc zero load: hop counts of each topology", "[noc]") {
  const Topology mesh(params(TopologyKind::mesh, 1, 1));
  CHECK(mesh.hops(0, 15) == 6);
  CHECK(mesh.hops(4, 7) == 3);
  // Ring of 8: the shorter way, 7 -> 0 is one hop across the dateline; 0 -> 4 is a tie (4).
  const Topology ring(params(TopologyKind::ring, 1, 1));
  CHECK(ring.hops(7, 0) == 1);
  CHECK(ring.hops(0, 4) == 4);
  CHECK(ring.hops(1, 6) == 3);
  const Topology xbar(params(TopologyKind::crossbar, 1, 1));
  CHECK(xbar.hops(0, 7) == 0);
}

TEST_CASE("noc: a second packet from the same node waits for the first to serialise", "[noc]") {
  const NocModel model = GENERATE(NocModel::flit, NocModel::packet);
  INFO(to_string(model) << " model");
  const NocParams p = params(TopologyKind::mesh, 2, 1, model);
  // Both created at cycle 10 at node 0 for node 3 (H = 3, F = 4): T0 = 4 x 2 + 3 + 3 = 14.
  // The second's head enters the injection channel after the first's 4 flits: 14 + 4 = 18.
  const auto d = run(p, {{0, 3, 4}, {0, 3, 4}});
  CHECK(d[0].latency_cycles() == 14);
  CHECK(d[1].latency_cycles() == 18);
  CHECK(d[1].zero_load_cycles == 14);
}

TEST_CASE("noc: too few credits for the round trip stretch the packet", "[noc]") {
  NocParams p = params(TopologyKind::mesh, 2, 1);
  // Round trip at a router link: tr + 2 tl = 4 cycles; with 3 credits a VC sends 3 flits per
  // 4 cycles, so an 8-flit packet's tail is later than T0; 4 credits are just enough.
  p.buffer_flits = 3;
  p.virtual_channels = 1;
  CHECK(latency(p, 0, 3, 8) > 4 * 2 + 3 + 7);
  p.buffer_flits = 4;
  CHECK(latency(p, 0, 3, 8) == 4 * 2 + 3 + 7);
}

TEST_CASE("noc: stats count hops, traversals and energy", "[noc]") {
  const NocModel model = GENERATE(NocModel::flit, NocModel::packet);
  INFO(to_string(model) << " model");
  NocParams p = params(TopologyKind::mesh, 2, 1, model);
  p.energy_pj_per_flit_hop = 3;
  p.energy_pj_per_router_traversal = 2;
  stats::Group root("t");
  const auto owned = make_network(p, root, "noc");
  Network& net = *owned;
  // 0 -> 15: 6 links and 7 routers for each of 3 flits.
  net.send(0, 15, 3, 0, 0);
  std::vector<Delivery> done;
  while (auto c = net.next_event_cycle()) net.advance(*c, done);
  net.advance(29, done);  // utilisation over cycles 0..29
  CHECK(net.cycles() == 30);
  CHECK(root.counter_value("noc.flit_hops") == 18);
  CHECK(root.counter_value("noc.router_traversals") == 21);
  CHECK(net.dynamic_energy_pj() == Approx(18 * 3 + 21 * 2));
  // XY: east along row 0 first. r0_east carried 3 flits in 30 cycles.
  const auto* u = dynamic_cast<const stats::Formula*>(root.find("noc.links.r0_east_utilisation"));
  REQUIRE(u != nullptr);
  CHECK(u->value() == Approx(3.0 / 30.0));
  const auto* north0 =
      dynamic_cast<const stats::Formula*>(root.find("noc.links.r0_north_utilisation"));
  REQUIRE(north0 != nullptr);
  CHECK(north0->value() == 0);
}

}  // namespace llmsim::noc
