// Where cores and memory ports sit on the network (arch/noc/placement.h): the defaults and the
// errors of explicit lists.
#include <catch2/catch.hpp>

#include "arch/noc/placement.h"
#include "sim/core/error.h"

namespace llmsim::noc {
namespace {

using Catch::Matchers::Contains;
using Catch::Matchers::Message;
using V = std::vector<std::uint32_t>;

NocParams mesh(std::uint32_t w, std::uint32_t h) {
  NocParams p;
  p.topology = TopologyKind::mesh;
  p.mesh_width = w;
  p.mesh_height = h;
  return p;
}

}  // namespace

TEST_CASE("placement: a 4x4 mesh's edge in perimeter order", "[noc]") {
  // Bottom row left to right, right column upwards, top row right to left, left column down.
  CHECK(edge_nodes(mesh(4, 4)) == V{0, 1, 2, 3, 7, 11, 15, 14, 13, 12, 8, 4});
  CHECK(edge_nodes(mesh(3, 1)) == V{0, 1, 2});
}

TEST_CASE("placement: default, the datacenter's 4 cores and 48 pseudo channels", "[noc]") {
  const Placement pl = place(mesh(4, 4), 4, 48, "noc");
  CHECK(pl.core_node == V{5, 6, 9, 10});  // the interior nodes
  // 48 ports over the 12 edge nodes in contiguous groups of 4: a stack's 16 pseudo channels
  // on three neighbouring nodes.
  REQUIRE(pl.memory_node.size() == 48);
  const V edge = edge_nodes(mesh(4, 4));
  for (std::uint32_t i = 0; i < 48; ++i) CHECK(pl.memory_node[i] == edge[i / 4]);
}

TEST_CASE("placement: more cores than interior nodes spill onto the edge", "[noc]") {
  // 3x3 mesh: one interior node (4); 3 cores take 4, then edge nodes 0 and 1; the 2 memory
  // ports spread over the free edge nodes 2, 5, 8, 7, 6, 3: port i on free[i * 6 / 2].
  const Placement pl = place(mesh(3, 3), 3, 2, "noc");
  CHECK(pl.core_node == V{4, 0, 1});
  CHECK(pl.memory_node == V{2, 7});
}

TEST_CASE("placement: ring and crossbar space the cores evenly", "[noc]") {
  NocParams p;
  p.topology = TopologyKind::ring;
  p.ring_or_crossbar_nodes = 8;
  const Placement pl = place(p, 2, 3, "noc");
  CHECK(pl.core_node == V{0, 4});
  // Ports over the nodes without a core, 1 2 3 5 6 7: port i on free[i * 6 / 3].
  CHECK(pl.memory_node == V{1, 3, 6});
}

TEST_CASE("placement: explicit lists; fewer memory nodes than ports are shared in groups",
          "[noc]") {
  NocParams p = mesh(4, 4);
  p.core_nodes = {0, 15};
  p.memory_nodes = {3, 12};
  const Placement pl = place(p, 2, 4, "noc");
  CHECK(pl.core_node == V{0, 15});
  CHECK(pl.memory_node == V{3, 3, 12, 12});
}

TEST_CASE("placement: wrong lists are config errors naming the key", "[noc]") {
  NocParams p = mesh(2, 2);
  p.core_nodes = {0, 1, 2};
  CHECK_THROWS_MATCHES(place(p, 2, 1, "arch.noc"), ConfigError,
                       Message("arch.noc.core_nodes: must name one node per core (2), got [0, 1, "
                               "2]"));
  p.core_nodes = {1, 1};
  CHECK_THROWS_MATCHES(place(p, 2, 1, "arch.noc"), ConfigError,
                       Message("arch.noc.core_nodes: puts two cores on node 1 (one core per "
                               "node), got [1, 1]"));
  p.core_nodes = {};
  CHECK_THROWS_MATCHES(place(p, 5, 1, "arch.noc"), ConfigError,
                       Message("arch.noc.core_nodes: cannot place 5 cores on 4 nodes (one core "
                               "per node)"));
  p.memory_nodes = {0, 1, 2};
  CHECK_THROWS_MATCHES(place(p, 1, 2, "arch.noc"), ConfigError,
                       Message("arch.noc.memory_nodes: names 3 nodes for 2 memory ports (at most "
                               "one node per port), got [0, 1, 2]"));
}

}  // namespace llmsim::noc
