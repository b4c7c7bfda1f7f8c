#include "arch/noc/noc_params.h"

#include <string>

#include "sim/core/config.h"
#include "sim/core/units.h"

namespace llmsim::noc {

const char* to_string(TopologyKind k) {
  switch (k) {
    case TopologyKind::mesh:
      return "mesh";
    case TopologyKind::ring:
      return "ring";
    case TopologyKind::crossbar:
      return "crossbar";
  }
  return "?";
}

const char* to_string(NocModel m) { return m == NocModel::flit ? "flit" : "packet"; }

std::uint32_t NocParams::nodes() const {
  return topology == TopologyKind::mesh ? mesh_width * mesh_height : ring_or_crossbar_nodes;
}

std::uint32_t NocParams::packet_flits(std::uint64_t payload_bytes) const {
  const auto f = header_flits + static_cast<std::uint32_t>(ceil_div(payload_bytes, flit_bytes));
  return f > 0 ? f : 1;
}

namespace {

// max_outstanding_packets: 0 (no cap) up to a reorder buffer far beyond any interface's.
constexpr std::uint64_t kMaxOutstandingPackets = 65536;

// A count in [1, max]; hardware sizes, not software ones.
std::uint32_t bounded(config::Reader& r, const std::string& key, std::uint64_t def,
                      std::uint64_t max) {
  const std::uint64_t v = r.count(key, def);
  if (v > max) {
    r.fail(key, "must be at most " + std::to_string(max) + ", got " + std::to_string(v));
  }
  return static_cast<std::uint32_t>(v);
}

}  // namespace

NocParams NocParams::parse(config::Reader& r) {
  NocParams p;
  p.model = r.choice("model", {"flit", "packet"}, std::string("flit")) == "flit" ? NocModel::flit
                                                                                : NocModel::packet;
  const std::string topo = r.choice("topology", {"mesh", "ring", "crossbar"}, std::string("mesh"));
  if (topo == "mesh") {
    p.topology = TopologyKind::mesh;
    p.mesh_width = bounded(r, "mesh_width", 4, 64);
    p.mesh_height = bounded(r, "mesh_height", 4, 64);
  } else {
    p.topology = topo == "ring" ? TopologyKind::ring : TopologyKind::crossbar;
    p.ring_or_crossbar_nodes = bounded(r, "nodes", 16, 4096);
    if (p.ring_or_crossbar_nodes < 2) r.fail("nodes", "must be at least 2, got 1");
  }
  p.router_latency_cycles = bounded(r, "router_latency_cycles", 2, 1024);
  p.link_latency_cycles = bounded(r, "link_latency_cycles", 1, 1024);
  p.flit_bytes = bounded(r, "flit_bytes", 32, 4096);
  p.header_flits = static_cast<std::uint32_t>(r.uint("header_flits", 1));
  if (p.header_flits > 64) {
    r.fail("header_flits", "must be at most 64, got " + std::to_string(p.header_flits));
  }
  if (p.model == NocModel::flit) {
    p.buffer_flits = bounded(r, "buffer_flits", 8, 1024);
    p.virtual_channels = bounded(r, "virtual_channels", 4, 64);
    if (p.topology == TopologyKind::ring && p.virtual_channels < 2) {
      r.fail("virtual_channels",
             "must be at least 2 on a ring (two dateline classes against deadlock), got 1");
    }
  } else {
    // null stands for absent, so that `--set noc.model=packet --set noc.buffer_flits=null`
    // turns a flit model's config into a packet model's.
    for (const std::string key : {"buffer_flits", "virtual_channels"}) {
      if (r.is_null(key)) {
        r.ignore(key);
      } else if (r.has(key)) {
        r.fail(key, "the packet model has no buffers or virtual channels; remove the key (--set " +
                        r.key_path(key) + "=null) or set noc.model to \"flit\"");
      }
    }
  }
  p.max_outstanding_packets =
      static_cast<std::uint32_t>(r.uint("max_outstanding_packets", 32, kMaxOutstandingPackets));
  p.clock_mhz = r.clock_mhz("clock_mhz", 1000.0);
  p.energy_pj_per_flit_hop = r.non_negative("energy_pj_per_flit_hop", 10.0);
  p.energy_pj_per_router_traversal = r.non_negative("energy_pj_per_router_traversal", 15.0);
  p.leakage_mw_per_router = r.non_negative("leakage_mw_per_router", 0.0);
  p.packet_payload_bytes = bounded(r, "packet_payload_bytes", 512, 1 << 20);
  const auto nodes = [&](const std::string& key) {
    std::vector<std::uint32_t> out;
    for (std::uint64_t n : r.uint_list(key, p.nodes(), std::vector<std::uint64_t>{})) {
      out.push_back(static_cast<std::uint32_t>(n));
    }
    return out;
  };
  p.core_nodes = nodes("core_nodes");
  p.memory_nodes = nodes("memory_nodes");
  return p;
}

}  // namespace llmsim::noc
