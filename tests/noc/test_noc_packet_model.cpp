// The packet model (noc.model "packet"): ports busy until a packet's last flit has crossed,
// first come first served, rotating input-port priority on a tie -- each case derived by hand.
// 4x4 mesh, tr = 2, tl = 1; ports 0 local, 1 east, 2 west, 3 north, 4 south (topology.h).
#include <catch2/catch.hpp>

#include "arch/noc/network.h"

namespace llmsim::noc {
namespace {

NocParams packet_params() {
  NocParams p;
  p.model = NocModel::packet;
  p.router_latency_cycles = 2;
  p.link_latency_cycles = 1;
  return p;
}

struct Sent {
  std::uint32_t src, dst, flits;
  std::uint64_t created;
};

// Delivered cycle of each packet, by index.
std::vector<std::uint64_t> deliveries(const std::vector<Sent>& packets) {
  stats::Group root("t");
  const auto net = make_network(packet_params(), root, "noc");
  std::vector<Delivery> done;
  // Offered in creation order, the network advanced to just before each creation.
  for (std::size_t i = 0; i < packets.size(); ++i) {
    if (packets[i].created > 0) net->advance(packets[i].created - 1, done);
    net->send(packets[i].src, packets[i].dst, packets[i].flits, packets[i].created, i);
  }
  while (auto c = net->next_event_cycle()) net->advance(*c, done);
  REQUIRE(net->in_flight() == 0);
  std::vector<std::uint64_t> at(packets.size());
  for (const Delivery& d : done) at[d.tag] = d.delivered_cycle;
  return at;
}

}  // namespace

TEST_CASE("noc packet model: a tie for a link goes to the input port in turn", "[noc]") {
  // A: node 0 -> 2, 4 flits, created 10: injected at 10, ready at router 0 at 12, leaves east
  //    at 12, ready at router 1 (west input, port 2) at 12 + 1 + 2 = 15.
  // B: node 1 -> 2, 4 flits, created 13: injected at 13, ready at router 1 (local, port 0) at 15.
  // Both want router 1's east port at 15; 15 mod 5 = 0, so port 0 (B) goes first: B leaves at
  // 15, ready at router 2 at 18, ejected at 18, tail at 18 + 3 = 21 (latency 8 = its T0).
  // A leaves at 19 when B's 4 flits have gone, ready at router 2 at 22 (the ejection port is
  // free from 18 + 4 = 22), tail at 25 (latency 15 = T0 11 + 4).
  const auto at = deliveries({{0, 2, 4, 10}, {1, 2, 4, 13}});
  CHECK(at[1] == 21);
  CHECK(at[0] == 25);
}

TEST_CASE("noc packet model: the earlier head takes the link first", "[noc]") {
  // As above with B created at 14: B is ready at router 1 at 16, after A (15). A leaves at 15
  // and is delivered at 15 + 3 + 3 = 21 (its T0, 11 after 10); B leaves at 19 when A's flits
  // have gone, ready at router 2 at 22, and the ejection port is free from 18 + 4 = 22: tail at 25.
  const auto at = deliveries({{0, 2, 4, 10}, {1, 2, 4, 14}});
  CHECK(at[0] == 21);
  CHECK(at[1] == 25);
}

TEST_CASE("noc packet model: a busy ejection port serialises packets from two sides", "[noc]") {
  // A: 4 -> 5 (router 4 east to router 5, arriving on its west port 2), 2 flits, created 0:
  //    ready at router 4 at 2, leaves at 2, ready at router 5 at 5, ejected 5-6, tail at 6.
  // B: 6 -> 5 (router 6 west to router 5, arriving on its east port 1), 3 flits, created 0:
  //    ready at router 5 at 5 too. 5 mod 5 = 0: ports in the order 0, 1, 2, ... so B (port 1)
  //    goes before A (port 2): B ejected 5-7, tail at 7; A from 8, tail at 9.
  const auto at = deliveries({{4, 5, 2, 0}, {6, 5, 3, 0}});
  CHECK(at[1] == 7);
  CHECK(at[0] == 9);
}

TEST_CASE("noc packet model: no head-of-line blocking", "[noc]") {
  // C: 1 -> 2, 16 flits, created 2: ready at router 1 (local) at 4, leaves east at 4 (busy until
  //    20), ready at router 2 at 7, ejected from 7, tail at 7 + 15 = 22.
  // A: 0 -> 2, 8 flits, created 0: ready at router 0 at 2, leaves east at 2 (busy until 10),
  //    ready at router 1 (west input) at 5, waits for C: leaves at 20, ready at router 2 at 23,
  //    the ejection port free from 7 + 16 = 23: tail at 23 + 7 = 30.
  // B: 0 -> 5 ((1, 1): east, then north), 1 flit, created 1: node 0's channel is busy with A's
  //    8 flits until 8, so injected at 8, ready at router 0 at 10, leaves east at 10 (free from
  //    10), ready at router 1 at 13 on A's input port while A still waits there -- but for
  //    another output: north is free, B leaves at 13, ready at router 5 at 16, tail at 16.
  const auto at = deliveries({{0, 2, 8, 0}, {0, 5, 1, 1}, {1, 2, 16, 2}});
  CHECK(at[2] == 22);
  CHECK(at[0] == 30);
  CHECK(at[1] == 16);
}

}  // namespace llmsim::noc
