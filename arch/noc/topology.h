#pragma once
// Routers, their ports and the channels between them, and the routing function.
//
// Every router has `ports(r)` input and output ports. An output port either feeds a
// router-to-router link (to an input port of another router) or ejects to a node; an input port
// is either fed by a link or by a node's injection channel. Mesh and ring routers have port 0
// for their own node; a crossbar's single router has port n for node n.
//   mesh  port 1 = east (+x), 2 = west (-x), 3 = north (+y), 4 = south (-y); node n sits at
//         (n % W, n / W). Routing is XY: correct x first, then y.
//   ring  port 1 = clockwise (to r + 1), 2 = counter-clockwise (to r - 1); the shorter way,
//         clockwise on a tie. The links N-1 -> 0 and 0 -> N-1 are datelines: a packet that
//         has crossed one uses the upper half of the virtual channels from then on.
//   crossbar  one router; output port = destination node.
#include <cstdint>
#include <string>
#include <vector>

#include "arch/noc/noc_params.h"

namespace llmsim::noc {

// Where a port's channel leads. For an output port: router >= 0 is the downstream router and
// port its input port; router < 0 means ejection to node `node`. For an input port the same,
// upstream.
struct PortEnd {
  std::int32_t router = -1;
  std::uint32_t port = 0;
  std::uint32_t node = 0;
  bool connected = false;
};

class Topology {
 public:
  explicit Topology(const NocParams& p);

  std::uint32_t nodes() const { return m_nodes; }
  std::uint32_t routers() const { return static_cast<std::uint32_t>(m_out.size()); }
  std::uint32_t ports(std::uint32_t router) const {
    return static_cast<std::uint32_t>(m_out[router].size());
  }
  const PortEnd& out(std::uint32_t router, std::uint32_t port) const { return m_out[router][port]; }
  const PortEnd& in(std::uint32_t router, std::uint32_t port) const { return m_in[router][port]; }
  // The router and input port node `n` injects into (and ejects from, same port number).
  std::uint32_t node_router(std::uint32_t n) const;
  std::uint32_t node_port(std::uint32_t n) const;

  // The output port a packet for node `dst` takes at `router`.
  std::uint32_t route(std::uint32_t router, std::uint32_t dst) const;
  // Router-to-router links from `src` to `dst` under the routing function (0 on a crossbar and
  // for src == dst); a packet traverses hops + 1 routers.
  std::uint32_t hops(std::uint32_t src, std::uint32_t dst) const;
  // True for the ring's dateline links (see above).
  bool is_dateline(std::uint32_t router, std::uint32_t port) const;
  // "r5_east" style name of an output port, for stats.
  std::string port_name(std::uint32_t router, std::uint32_t port) const;

 private:
  void connect(std::uint32_t r, std::uint32_t p, std::uint32_t r2, std::uint32_t p2);

  TopologyKind m_kind;
  std::uint32_t m_nodes;
  std::uint32_t m_width = 0, m_height = 0;
  std::vector<std::uint32_t> m_x, m_y;  // mesh: coordinates of each router (and its node)
  std::vector<std::vector<PortEnd>> m_out, m_in;
};

}  // namespace llmsim::noc
