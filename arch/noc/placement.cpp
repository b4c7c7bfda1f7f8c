#include "arch/noc/placement.h"

#include <algorithm>

#include "sim/core/error.h"

namespace llmsim::noc {

namespace {

std::string list(const std::vector<std::uint32_t>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

// Ports spread in contiguous groups over `nodes`: port i on nodes[i * n / ports].
std::vector<std::uint32_t> spread(const std::vector<std::uint32_t>& nodes, std::uint32_t ports) {
  std::vector<std::uint32_t> out(ports);
  for (std::uint32_t i = 0; i < ports; ++i) {
    out[i] = nodes[std::uint64_t(i) * nodes.size() / ports];
  }
  return out;
}

}  // namespace

std::vector<std::uint32_t> edge_nodes(const NocParams& p) {
  std::vector<std::uint32_t> out;
  if (p.topology != TopologyKind::mesh) {
    for (std::uint32_t n = 0; n < p.nodes(); ++n) out.push_back(n);
    return out;
  }
  const std::uint32_t w = p.mesh_width, h = p.mesh_height;
  const auto add = [&](std::uint32_t x, std::uint32_t y) {
    const std::uint32_t n = y * w + x;
    if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
  };
  for (std::uint32_t x = 0; x < w; ++x) add(x, 0);
  for (std::uint32_t y = 1; y < h; ++y) add(w - 1, y);
  for (std::uint32_t x = w - 1; x-- > 0;) add(x, h - 1);
  for (std::uint32_t y = h - 1; y-- > 1;) add(0, y);
  return out;
}

Placement place(const NocParams& p, std::uint32_t cores, std::uint32_t memory_ports,
                const std::string& key_path) {
  const std::uint32_t n = p.nodes();
  const std::vector<std::uint32_t> edges = edge_nodes(p);
  const auto fail = [&](const std::string& key, const std::string& what) {
    throw ConfigError(key_path + "." + key + ": " + what);
  };
  Placement pl;

  if (!p.core_nodes.empty()) {
    if (p.core_nodes.size() != cores) {
      fail("core_nodes", "must name one node per core (" + std::to_string(cores) + "), got " +
                             list(p.core_nodes));
    }
    for (std::size_t i = 0; i < cores; ++i) {
      if (std::count(p.core_nodes.begin(), p.core_nodes.end(), p.core_nodes[i]) > 1) {
        fail("core_nodes", "puts two cores on node " + std::to_string(p.core_nodes[i]) +
                               " (one core per node), got " + list(p.core_nodes));
      }
    }
    pl.core_node = p.core_nodes;
  } else {
    if (cores > n) {
      fail("core_nodes", "cannot place " + std::to_string(cores) + " cores on " +
                             std::to_string(n) + " nodes (one core per node)");
    }
    if (p.topology == TopologyKind::mesh) {
      std::vector<std::uint32_t> order;  // interior nodes first, then the edge
      for (std::uint32_t v = 0; v < n; ++v) {
        if (std::find(edges.begin(), edges.end(), v) == edges.end()) order.push_back(v);
      }
      order.insert(order.end(), edges.begin(), edges.end());
      pl.core_node.assign(order.begin(), order.begin() + cores);
    } else {
      for (std::uint32_t i = 0; i < cores; ++i) {
        pl.core_node.push_back(static_cast<std::uint32_t>(std::uint64_t(i) * n / cores));
      }
    }
  }

  if (!p.memory_nodes.empty()) {
    if (p.memory_nodes.size() > memory_ports) {
      fail("memory_nodes", "names " + std::to_string(p.memory_nodes.size()) + " nodes for " +
                               std::to_string(memory_ports) +
                               " memory ports (at most one node per port), got " +
                               list(p.memory_nodes));
    }
    pl.memory_node = spread(p.memory_nodes, memory_ports);
  } else {
    std::vector<std::uint32_t> free;
    for (std::uint32_t v : edges) {
      if (std::find(pl.core_node.begin(), pl.core_node.end(), v) == pl.core_node.end()) {
        free.push_back(v);
      }
    }
    pl.memory_node = spread(free.empty() ? edges : free, memory_ports);
  }
  return pl;
}

}  // namespace llmsim::noc
