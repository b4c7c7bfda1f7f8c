#pragma once
// The parameters of the on-chip network, read from the arch config's "noc" object:
//   "noc": {"model": "flit", "topology": "mesh", "mesh_width": 4, "mesh_height": 4, "router_latency_cycles": 2,
//           "link_latency_cycles": 1, "flit_bytes": 32, "header_flits": 1, "buffer_flits": 8,
//           "virtual_channels": 4, "clock_mhz": 1000, "energy_pj_per_flit_hop": 10,
//           "energy_pj_per_router_traversal": 15, "leakage_mw_per_router": 0,
//           "max_outstanding_packets": 32, "packet_payload_bytes": 512,
//           "core_nodes": [5, 6, 9, 10], "memory_nodes": []}
// A mesh takes mesh_width and mesh_height; a ring or a crossbar takes "nodes" instead (the
// other topology's keys are then unknown keys, hence errors). The packet model has no buffers
// or virtual channels: buffer_flits and virtual_channels are then errors too, unless null.
// Every key is optional; the defaults are the member initialisers below.
#include <cstdint>
#include <string>
#include <vector>

namespace llmsim {
namespace config {
class Reader;
}
}  // namespace llmsim

namespace llmsim::noc {

// mesh: W x H routers, one node each, XY dimension-order routing.
// ring: N routers in a bidirectional ring, one node each, shortest direction (ties go
//       clockwise), dateline virtual-channel classes against deadlock (needs >= 2 VCs).
// crossbar: one router with a port per node; every packet crosses it once.
enum class TopologyKind { mesh, ring, crossbar };

const char* to_string(TopologyKind k);

// How the network is simulated (network.h): flit by flit, with buffers, VCs and credits; or a
// packet at a time, each port busy until the packet's last flit has crossed it.
enum class NocModel { flit, packet };

const char* to_string(NocModel m);

struct NocParams {
  NocModel model = NocModel::flit;
  TopologyKind topology = TopologyKind::mesh;
  std::uint32_t mesh_width = 4;               // routers along x (mesh only)
  std::uint32_t mesh_height = 4;              // routers along y (mesh only)
  std::uint32_t ring_or_crossbar_nodes = 16;  // "nodes" (ring and crossbar only)
  // Cycles from a flit entering a router's input buffer to the earliest cycle it can leave on
  // an output (route, VC and switch allocation, switch traversal).
  std::uint32_t router_latency_cycles = 2;
  // Cycles a flit spends on a router-to-router link; credits travel back in the same time.
  std::uint32_t link_latency_cycles = 1;
  std::uint32_t flit_bytes = 32;  // link width: one flit per link per cycle
  // Flits of a packet before its payload. 0: the header travels in the sideband of the first
  // flit (a packet is then never shorter than one flit).
  std::uint32_t header_flits = 1;
  std::uint32_t buffer_flits = 8;      // input buffer depth per virtual channel (flit model)
  std::uint32_t virtual_channels = 4;  // per input port (flit model)
  // End-to-end flow control at each node's network interface, in both models: a node has at
  // most this many packets in flight (injected -- its head sent -- and not yet delivered); at
  // the cap it injects nothing until one of them is delivered, and then from the next cycle
  // (the models' timing contracts). 0: no cap. A source then slows, in the offered mix of
  // destinations, when its packets queue in the network, so past saturation no more than the
  // bottleneck channels' share gets through (the packet model's unbounded router queues would
  // otherwise deliver in full the flows that avoid them). The default is the usual tag or
  // outstanding-transaction limit of an on-chip interface: Arm's CoreLink NIC-400 regulates
  // at most 32 outstanding reads (and 32 writes) per interface (DSU 0026, max_ot register);
  // AMD's Versal PCIe bridge (PG344) takes up to 32 outstanding reads and writes; a PCIe
  // requester has 32 tags without extended tags. At zero load it binds only on a node that
  // streams packets of F flits to a node at zero-load latency T0 >= 32 F (network.h), which
  // then gets 32 F / (T0 + 1) flits per cycle: with the default latencies (T0 = 3 H + 2 + F - 1
  // over H hops) 1-flit packets over 10 hops or more, never on a 4x4 mesh (H <= 6).
  std::uint32_t max_outstanding_packets = 32;
  double clock_mhz = 1000;
  // Order-of-magnitude defaults for 32-byte flits in a 16-28 nm process: about 1 mm of link
  // at 0.04 pJ/bit/mm, and a buffer write + read + switch traversal at about 0.06 pJ/bit.
  double energy_pj_per_flit_hop = 10;          // one flit over one router-to-router link
  double energy_pj_per_router_traversal = 15;  // one flit through one router
  // Static power of one router (buffers, allocators, crossbar) with its output links, over
  // the network's simulated time (its cycles advanced through).
  double leakage_mw_per_router = 0;

  // Chip runs (arch/chip/noc_memory.h): the largest payload of one DMA packet; a core's DMA
  // transfer is cut into packets of at most this many bytes per memory port.
  std::uint32_t packet_payload_bytes = 512;
  // Where the cores and the memory ports sit (placement.h). Empty: the defaults.
  std::vector<std::uint32_t> core_nodes;
  std::vector<std::uint32_t> memory_nodes;

  std::uint32_t nodes() const;
  // Flits of a packet carrying `payload_bytes`: header_flits + ceil(payload_bytes / flit_bytes),
  // at least 1.
  // A DMA read request carries no payload (header only), its response the data read; a write
  // request carries the data, its acknowledgement none.
  std::uint32_t packet_flits(std::uint64_t payload_bytes) const;

  // Reads the keys above and validates them (ConfigError naming the key).
  static NocParams parse(config::Reader& r);
};

}  // namespace llmsim::noc
