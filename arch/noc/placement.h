#pragma once
// Where the cores and the memory ports (HBM pseudo channels; one for a simple memory) sit on
// the network, from the `noc` object's `core_nodes` and `memory_nodes`:
//   core_nodes    one distinct node per core, or [] for the default;
//   memory_nodes  one node per memory port, or fewer nodes over which the ports are spread in
//                 contiguous groups (port i on memory_nodes[i * n / ports], so the pseudo
//                 channels of one channel, and the channels of one stack, stay together), or []
//                 for the default.
// Defaults. Mesh: cores on the interior nodes (row-major), then, if there are more cores than
// interior nodes, on the edge nodes; memory ports in contiguous groups over the edge nodes that
// hold no core, in perimeter order (counter-clockwise from (0, 0): bottom row, right column,
// top row, left column), as HBM PHYs sit on the die's edges. Ring and crossbar: cores evenly
// spaced (core i on node i * N / cores), memory ports over the other nodes in order. Nodes that
// host no core and no port are plain routers.
#include <cstdint>
#include <string>
#include <vector>

#include "arch/noc/noc_params.h"

namespace llmsim::noc {

struct Placement {
  std::vector<std::uint32_t> core_node;    // per core
  std::vector<std::uint32_t> memory_node;  // per memory port
};

// ConfigError naming `key_path`.core_nodes or .memory_nodes if an explicit list has the wrong
// length or puts two cores on one node, or if there are more cores than nodes.
Placement place(const NocParams& p, std::uint32_t cores, std::uint32_t memory_ports,
                const std::string& key_path);

// The mesh's edge nodes in perimeter order (see above); every node for a ring or a crossbar.
std::vector<std::uint32_t> edge_nodes(const NocParams& p);

}  // namespace llmsim::noc
