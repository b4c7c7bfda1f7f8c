#include "arch/noc/network.h"

#include <algorithm>

#include "arch/noc/flit_network.h"
#include "arch/noc/packet_network.h"
#include "sim/core/error.h"

namespace llmsim::noc {

namespace {

// Latency histograms: one-cycle buckets up to this, then the overflow bucket (exact max).
constexpr std::size_t kLatencyBuckets = 4096;

}  // namespace

Network::Network(const NocParams& p, stats::Group& parent, const std::string& name)
    : m_params(p),
      m_topo(p),
      m_stats(parent, name),
      m_packets_delivered(m_stats, "packets_delivered", "count", "packets whose tail arrived"),
      m_flits_delivered(m_stats, "flits_delivered", "count", "flits ejected to their node"),
      m_flit_hops(m_stats, "flit_hops", "count", "flits carried over router-to-router links"),
      m_router_traversals(m_stats, "router_traversals", "count",
                          "flits that crossed a router's switch"),
      m_latency(m_stats, "packet_latency_cycles", "cycle",
                "creation to tail delivery, per delivered packet", 1, kLatencyBuckets),
      m_zero_load(m_stats, "zero_load_latency_cycles", "cycle",
                  "the part of packet latency an empty network would give (route and size)", 1,
                  kLatencyBuckets),
      m_contention(m_stats, "contention_latency_cycles", "cycle",
                   "packet latency beyond zero load: queueing, arbitration, credit stalls", 1,
                   kLatencyBuckets),
      m_energy(
          m_stats, "flit hops and router traversals x their energies",
          [this] { return dynamic_energy_pj(); },
          p.leakage_mw_per_router * double(m_topo.routers()),
          [this] { return double(cycles()) / (m_params.clock_mhz * 1e6); }),
      m_max_link_util(m_stats, "max_link_utilisation", "ratio",
                      "busiest router-to-router link: flits / cycles",
                      [this] {
                        double m = 0;
                        for (std::uint32_t r = 0; r < m_topo.routers(); ++r)
                          for (std::uint32_t q = 0; q < m_topo.ports(r); ++q)
                            if (m_topo.out(r, q).router >= 0)
                              m = std::max(m, double(port_flits(r, q)) / double(cycles()));
                        return m;
                      }),
      m_mean_link_util(m_stats, "mean_link_utilisation", "ratio",
                       "mean over router-to-router links of flits / cycles",
                       [this] {
                         double sum = 0;
                         std::uint64_t links = 0;
                         for (std::uint32_t r = 0; r < m_topo.routers(); ++r)
                           for (std::uint32_t q = 0; q < m_topo.ports(r); ++q)
                             if (m_topo.out(r, q).router >= 0) {
                               sum += double(port_flits(r, q)) / double(cycles());
                               ++links;
                             }
                         return links ? sum / double(links) : 0.0;
                       }),
      m_link_group(m_stats, "links") {
  m_port_flits.resize(m_topo.routers());
  for (std::uint32_t r = 0; r < m_topo.routers(); ++r) {
    const std::uint32_t ports = m_topo.ports(r);
    m_port_flits[r].assign(ports, 0);
    for (std::uint32_t q = 0; q < ports; ++q) {
      if (m_topo.out(r, q).router < 0) continue;
      m_link_util.push_back(std::make_unique<stats::Formula>(
          m_link_group, m_topo.port_name(r, q) + "_utilisation", "ratio",
          "flits / cycles on this link",
          [this, r, q] { return double(port_flits(r, q)) / double(cycles()); }));
    }
  }
}

double Network::dynamic_energy_pj() const {
  return double(m_flit_hops.value()) * m_params.energy_pj_per_flit_hop +
         double(m_router_traversals.value()) * m_params.energy_pj_per_router_traversal;
}

std::uint64_t Network::zero_load_latency(std::uint32_t src, std::uint32_t dst,
                                         std::uint32_t flits) const {
  const std::uint64_t h = m_topo.hops(src, dst);
  return (h + 1) * m_params.router_latency_cycles + h * m_params.link_latency_cycles + flits - 1;
}

void Network::check_send(std::uint32_t src, std::uint32_t dst, std::uint32_t flits,
                         std::uint64_t created, std::uint32_t cls) {
  LLMSIM_CHECK(cls < kClasses, "noc: message class out of range");
  LLMSIM_CHECK(src < m_topo.nodes() && dst < m_topo.nodes(), "noc: node out of range");
  LLMSIM_CHECK(flits >= 1, "noc: a packet has at least one flit");
  LLMSIM_CHECK(!m_started || created > m_done_through, "noc: packet offered in the past");
  ++m_in_flight;
}

void Network::deliver(std::uint64_t tag, std::uint32_t src, std::uint32_t dst, std::uint32_t flits,
                      std::uint64_t created, std::uint64_t cycle,
                      std::vector<Delivery>& delivered) {
  const Delivery d{tag, src, dst, flits, created, cycle, zero_load_latency(src, dst, flits)};
  LLMSIM_CHECK(d.latency_cycles() >= d.zero_load_cycles, "noc: faster than zero load");
  ++m_packets_delivered;
  m_latency.sample(d.latency_cycles());
  m_zero_load.sample(d.zero_load_cycles);
  m_contention.sample(d.latency_cycles() - d.zero_load_cycles);
  delivered.push_back(d);
  --m_in_flight;
}

std::unique_ptr<Network> make_network(const NocParams& p, stats::Group& parent,
                                      const std::string& name) {
  if (p.model == NocModel::packet) return std::make_unique<PacketNetwork>(p, parent, name);
  return std::make_unique<FlitNetwork>(p, parent, name);
}

}  // namespace llmsim::noc
