#include "arch/noc/topology.h"

#include <cstdlib>

#include "sim/core/error.h"

namespace llmsim::noc {

namespace {

constexpr std::uint32_t kLocal = 0, kEast = 1, kWest = 2, kNorth = 3, kSouth = 4;
constexpr std::uint32_t kClockwise = 1, kCounter = 2;

}  // namespace

Topology::Topology(const NocParams& p) : m_kind(p.topology), m_nodes(p.nodes()) {
  const std::uint32_t routers = m_kind == TopologyKind::crossbar ? 1 : m_nodes;
  const std::uint32_t ports = m_kind == TopologyKind::mesh   ? 5
                              : m_kind == TopologyKind::ring ? 3
                                                             : m_nodes;
  m_out.assign(routers, std::vector<PortEnd>(ports));
  m_in.assign(routers, std::vector<PortEnd>(ports));
  for (std::uint32_t n = 0; n < m_nodes; ++n) {
    const std::uint32_t r = node_router(n), q = node_port(n);
    m_out[r][q] = PortEnd{-1, 0, n, true};
    m_in[r][q] = PortEnd{-1, 0, n, true};
  }
  if (m_kind == TopologyKind::mesh) {
    m_width = p.mesh_width;
    m_height = p.mesh_height;
    for (std::uint32_t y = 0; y < m_height; ++y) {
      for (std::uint32_t x = 0; x < m_width; ++x) {
        const std::uint32_t r = y * m_width + x;
        m_x.push_back(x);
        m_y.push_back(y);
        if (x + 1 < m_width) connect(r, kEast, r + 1, kWest);
        if (x > 0) connect(r, kWest, r - 1, kEast);
        if (y + 1 < m_height) connect(r, kNorth, r + m_width, kSouth);
        if (y > 0) connect(r, kSouth, r - m_width, kNorth);
      }
    }
  } else if (m_kind == TopologyKind::ring) {
    for (std::uint32_t r = 0; r < m_nodes; ++r) {
      connect(r, kClockwise, (r + 1) % m_nodes, kCounter);
      connect(r, kCounter, (r + m_nodes - 1) % m_nodes, kClockwise);
    }
  }
}

void Topology::connect(std::uint32_t r, std::uint32_t p, std::uint32_t r2, std::uint32_t p2) {
  m_out[r][p] = PortEnd{static_cast<std::int32_t>(r2), p2, 0, true};
  m_in[r2][p2] = PortEnd{static_cast<std::int32_t>(r), p, 0, true};
}

std::uint32_t Topology::node_router(std::uint32_t n) const {
  return m_kind == TopologyKind::crossbar ? 0 : n;
}

std::uint32_t Topology::node_port(std::uint32_t n) const {
  return m_kind == TopologyKind::crossbar ? n : kLocal;
}

std::uint32_t Topology::route(std::uint32_t router, std::uint32_t dst) const {
  switch (m_kind) {
    case TopologyKind::crossbar:
      return dst;
    case TopologyKind::ring: {
      if (router == dst) return kLocal;
      const std::uint32_t cw = dst > router ? dst - router : dst + m_nodes - router;
      return 2 * cw <= m_nodes ? kClockwise : kCounter;
    }
    case TopologyKind::mesh: {
      const std::uint32_t x = m_x[router], y = m_y[router], dx = m_x[dst], dy = m_y[dst];
      if (dx != x) return dx > x ? kEast : kWest;
      if (dy != y) return dy > y ? kNorth : kSouth;
      return kLocal;
    }
  }
  LLMSIM_CHECK(false, "noc: unknown topology");
  return 0;
}

std::uint32_t Topology::hops(std::uint32_t src, std::uint32_t dst) const {
  switch (m_kind) {
    case TopologyKind::crossbar:
      return 0;
    case TopologyKind::ring: {
      const std::uint32_t cw = (dst + m_nodes - src) % m_nodes;
      return 2 * cw <= m_nodes ? cw : m_nodes - cw;
    }
    case TopologyKind::mesh:
      return static_cast<std::uint32_t>(
          std::abs(static_cast<int>(src % m_width) - static_cast<int>(dst % m_width)) +
          std::abs(static_cast<int>(src / m_width) - static_cast<int>(dst / m_width)));
  }
  return 0;
}

bool Topology::is_dateline(std::uint32_t router, std::uint32_t port) const {
  return m_kind == TopologyKind::ring &&
         ((router == m_nodes - 1 && port == kClockwise) || (router == 0 && port == kCounter));
}

std::string Topology::port_name(std::uint32_t router, std::uint32_t port) const {
  static constexpr const char* kMesh[] = {"local", "east", "west", "north", "south"};
  static constexpr const char* kRing[] = {"local", "cw", "ccw"};
  const std::string r = "r" + std::to_string(router) + "_";
  switch (m_kind) {
    case TopologyKind::mesh:
      return r + kMesh[port];
    case TopologyKind::ring:
      return r + kRing[port];
    case TopologyKind::crossbar:
      return r + "p" + std::to_string(port);
  }
  return r;
}

}  // namespace llmsim::noc
