// NocParams::parse: defaults, topology-specific keys, validation messages that name the key.
#include <catch2/catch.hpp>

#include "arch/noc/noc_params.h"
#include "sim/core/config.h"
#include "sim/core/error.h"

namespace llmsim::noc {
namespace {

NocParams parse(const config::Json& noc) {
  const config::Json doc = {{"noc", noc}};
  config::Json resolved;
  config::Reader root(doc, "", resolved);
  return root.parse_child<NocParams>("noc");
}

}  // namespace

TEST_CASE("noc params: defaults are a 4x4 mesh", "[noc]") {
  const NocParams p = parse(config::Json::object());
  CHECK(p.model == NocModel::flit);
  CHECK(p.topology == TopologyKind::mesh);
  CHECK(p.nodes() == 16);
  CHECK(p.router_latency_cycles == 2);
  CHECK(p.link_latency_cycles == 1);
  CHECK(p.virtual_channels == 4);
  // 1 header flit + ceil(64 / 32) payload flits; 65 bytes need one more.
  CHECK(p.packet_flits(64) == 3);
  CHECK(p.packet_flits(65) == 4);
  CHECK(p.packet_flits(0) == 1);
}

TEST_CASE("noc params: ring and crossbar take nodes, a mesh takes width and height", "[noc]") {
  CHECK(parse({{"topology", "ring"}, {"nodes", 8}}).nodes() == 8);
  CHECK(parse({{"topology", "crossbar"}, {"nodes", 5}}).nodes() == 5);
  CHECK(parse({{"mesh_width", 8}, {"mesh_height", 2}}).nodes() == 16);
  CHECK_THROWS_WITH(parse({{"topology", "mesh"}, {"nodes", 8}}),
                    Catch::Contains("noc.nodes") && Catch::Contains("unknown"));
  CHECK_THROWS_WITH(parse({{"topology", "ring"}, {"mesh_width", 8}}),
                    Catch::Contains("noc.mesh_width"));
  CHECK_THROWS_WITH(parse({{"topology", "torus"}}),
                    Catch::Contains("noc.topology") && Catch::Contains("crossbar"));
}

TEST_CASE("noc params: invalid values name the key", "[noc]") {
  CHECK_THROWS_AS(parse({{"router_latency_cycles", 0}}), ConfigError);
  CHECK_THROWS_WITH(parse({{"router_latency_cycles", 0}}),
                    Catch::Contains("noc.router_latency_cycles"));
  CHECK_THROWS_WITH(parse({{"topology", "ring"}, {"virtual_channels", 1}}),
                    Catch::Contains("noc.virtual_channels") && Catch::Contains("dateline"));
  CHECK_THROWS_WITH(parse({{"mesh_width", 65}}), Catch::Contains("at most 64"));
  CHECK_THROWS_WITH(parse({{"clock_mhz", -1}}), Catch::Contains("noc.clock_mhz"));
}

TEST_CASE("noc params: the packet model has no buffers or virtual channels", "[noc]") {
  CHECK(parse({{"model", "packet"}}).model == NocModel::packet);
  CHECK(parse({{"model", "flit"}, {"buffer_flits", 4}}).buffer_flits == 4);
  CHECK_THROWS_WITH(parse({{"model", "packet"}, {"virtual_channels", 4}}),
                    Catch::Contains("noc.virtual_channels") &&
                        Catch::Contains("packet model has no buffers") &&
                        Catch::Contains("--set noc.virtual_channels=null"));
  CHECK_THROWS_WITH(parse({{"model", "packet"}, {"buffer_flits", 8}}),
                    Catch::Contains("noc.buffer_flits"));
  // null stands for absent: a flit config becomes a packet one with --set key=null.
  CHECK(parse({{"model", "packet"}, {"buffer_flits", nullptr}, {"virtual_channels", nullptr}})
            .model == NocModel::packet);
  CHECK_THROWS_WITH(parse({{"model", "wormhole"}}),
                    Catch::Contains("noc.model") && Catch::Contains("packet"));
}

TEST_CASE("noc params: the cap on a node's packets in flight", "[noc]") {
  CHECK(parse(config::Json::object()).max_outstanding_packets == 32);
  CHECK(parse({{"model", "packet"}, {"max_outstanding_packets", 0}}).max_outstanding_packets == 0);
  CHECK(parse({{"max_outstanding_packets", 65536}}).max_outstanding_packets == 65536);
  CHECK_THROWS_WITH(parse({{"max_outstanding_packets", 65537}}),
                    Catch::Contains("noc.max_outstanding_packets") && Catch::Contains("65536") &&
                        Catch::Contains("65537"));
  CHECK_THROWS_WITH(parse({{"max_outstanding_packets", -1}}),
                    Catch::Contains("noc.max_outstanding_packets"));
  CHECK_THROWS_WITH(parse({{"max_outstanding_packets", 1.5}}),
                    Catch::Contains("noc.max_outstanding_packets"));
}

}  // namespace llmsim::noc
