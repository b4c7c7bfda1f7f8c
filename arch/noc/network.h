#pragma once
// The on-chip network, in plain C++ (no SystemC), behind one interface with two models of it
// (`noc.model` in the arch config):
//   flit    (flit_network.h) wormhole switching, virtual channels, credit-based flow control,
//           one flit per link per cycle: exact to the flit, as BookSim or gem5's Garnet. For
//           studies of the network itself: buffers, VCs, head-of-line blocking, saturation.
//   packet  (packet_network.h) each router output port (link or ejection) and each node's
//           injection channel keeps a "busy until" cycle; a packet claims a port for as many
//           cycles as it has flits, first come first served, one event per packet per router:
//           bandwidth, serialisation and queueing at every port, but no buffer limit in the
//           routers (as gem5's SimpleNetwork with unbounded buffers, or ONNXim's simple
//           interconnect).
// In both, a node has at most max_outstanding_packets packets in flight (noc_params.h), the
// end-to-end flow control of its network interface: past saturation a source whose packets
// queue stalls, keeping its offered mix of destinations, so in neither model do the flows that
// avoid the overloaded channels run ahead of those that cross them.
// Both give a lone packet the same latency (zero load), count the same stats and the same
// energy, and share this interface, so a run can switch models with one key.
//
// Zero load, in cycles of the network clock (tr = router_latency_cycles, tl =
// link_latency_cycles): a packet of F flits over H router-to-router links (H + 1 routers) takes
//     T0 = (H + 1) * tr + H * tl + (F - 1)
// from its creation to the delivery of its tail (head: tr per router and tl per link; each
// following flit one cycle behind it). zero_load_latency() returns T0; a delivered packet's
// latency - T0 is its contention part.
#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "arch/noc/noc_params.h"
#include "arch/noc/topology.h"
#include "sim/core/energy.h"
#include "sim/core/stats.h"

namespace llmsim::noc {

// A packet whose tail reached its destination.
struct Delivery {
  std::uint64_t tag = 0;  // as given to send()
  std::uint32_t src = 0, dst = 0, flits = 0;
  std::uint64_t created_cycle = 0, delivered_cycle = 0;
  std::uint64_t zero_load_cycles = 0;  // T0 for its route and size
  std::uint64_t latency_cycles() const { return delivered_cycle - created_cycle; }
};

class Network {
 public:
  virtual ~Network() = default;
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  const NocParams& params() const { return m_params; }
  const Topology& topology() const { return m_topo; }

  // A node injects from one queue per message class, oldest packet first within a class, and
  // takes the classes in turn, a whole packet at a time (round robin over the classes whose
  // front packet is due), as a network interface keeps requests and responses apart so that a
  // long stream of one does not hold up the other. Chip runs put DMA read requests and read
  // responses in class 0 and write data and write acknowledgements in class 1.
  static constexpr std::uint32_t kClasses = 2;

  // Offers a packet of `flits` flits (>= 1) from node src to node dst at cycle `created`, which
  // must be after every cycle already advanced through (InternalError otherwise), in message
  // class `cls` (< kClasses).
  virtual void send(std::uint32_t src, std::uint32_t dst, std::uint32_t flits,
                    std::uint64_t created, std::uint64_t tag, std::uint32_t cls = 0) = 0;
  // Processes every event at cycles <= until and appends the packets delivered meanwhile, in
  // delivery order.
  virtual void advance(std::uint64_t until, std::vector<Delivery>& delivered) = 0;
  // The cycle of the earliest pending event, if any (nothing pending: the network is empty).
  virtual std::optional<std::uint64_t> next_event_cycle() const = 0;

  // Packets offered and not yet delivered.
  std::uint64_t in_flight() const { return m_in_flight; }
  std::uint64_t zero_load_latency(std::uint32_t src, std::uint32_t dst, std::uint32_t flits) const;
  // Flits that crossed output port q of router r in the cycles advanced through so far (a link,
  // or an ejection port, which counts the flits of delivered packets). A link never carries more
  // than one flit per cycle, so over any span of cycles a..b advanced through, the difference
  // of two readings is at most b - a + 1. The packet model claims a link ahead of time (past
  // saturation, thousands of cycles ahead); flits claimed for cycles not yet advanced through
  // are not counted until then.
  std::uint64_t port_flits(std::uint32_t r, std::uint32_t q) const {
    return m_port_flits[r][q] - flits_claimed_ahead(r, q);
  }
  // Cycles covered so far: last cycle advanced through + 1.
  std::uint64_t cycles() const { return m_done_through + 1; }
  // Flit hops and router traversals x their energies (the energy_pj stat adds leakage).
  double dynamic_energy_pj() const;

 protected:
  // Registers the stats both models keep in a child group `name` of `parent`.
  Network(const NocParams& p, stats::Group& parent, const std::string& name);

  // A node's packets waiting to inject (ids into the model's packet pool `Pool`, whose packets
  // have a `created` cycle), one FIFO per message class, and whose turn it is (see send()).
  struct InjectionQueues {
    std::array<std::deque<std::uint32_t>, kClasses> queues;  // per class, oldest first
    std::uint32_t turn = 0;  // round robin: the class tried first for the next packet

    // The class in turn whose front packet was created at or before t, or -1.
    template <class Pool>
    int due(std::uint64_t t, const Pool& packets) const {
      for (std::uint32_t k = 0; k < kClasses; ++k) {
        const std::uint32_t cls = (turn + k) % kClasses;
        if (!queues[cls].empty() && packets[queues[cls].front()].created <= t) {
          return static_cast<int>(cls);
        }
      }
      return -1;
    }
    // Removes the front packet of class `cls`, whose whole packet has been injected; the next
    // class has the turn.
    void finish(int cls) {
      queues[static_cast<std::uint32_t>(cls)].pop_front();
      turn = (static_cast<std::uint32_t>(cls) + 1) % kClasses;
    }
    // The earliest creation cycle of a front packet, or ~0 when every queue is empty.
    template <class Pool>
    std::uint64_t next_created(const Pool& packets) const {
      std::uint64_t next = ~std::uint64_t{0};
      for (const auto& q : queues) {
        if (!q.empty()) next = std::min(next, packets[q.front()].created);
      }
      return next;
    }
  };

  // Checks a packet offered at `created` (see send()) and counts it in flight.
  void check_send(std::uint32_t src, std::uint32_t dst, std::uint32_t flits, std::uint64_t created,
                  std::uint32_t cls);
  // Records that cycles through `until` have been advanced through.
  void advanced_through(std::uint64_t until) {
    if (!m_started || until > m_done_through) m_done_through = until;
    m_started = true;
  }
  // Flits counted by count_port() for link port q of router r that cross it after the last
  // cycle advanced through (cycles() and later).
  virtual std::uint64_t flits_claimed_ahead(std::uint32_t /*r*/, std::uint32_t /*q*/) const {
    return 0;
  }
  // `flits` flits left router r through output port q (a link or an ejection port): now, or
  // for a link in cycles claimed ahead (see flits_claimed_ahead()).
  void count_port(std::uint32_t r, std::uint32_t q, std::uint32_t flits, bool link) {
    m_router_traversals += flits;
    m_port_flits[r][q] += flits;
    if (link) {
      m_flit_hops += flits;
    } else {
      m_flits_delivered += flits;
    }
  }
  // A packet's tail was delivered at `cycle`: samples the latency stats and appends it.
  void deliver(std::uint64_t tag, std::uint32_t src, std::uint32_t dst, std::uint32_t flits,
               std::uint64_t created, std::uint64_t cycle, std::vector<Delivery>& delivered);

  NocParams m_params;
  Topology m_topo;

 private:
  std::uint64_t m_done_through = 0;  // last cycle advanced through (0 before any)
  bool m_started = false;
  std::uint64_t m_in_flight = 0;
  std::vector<std::vector<std::uint64_t>> m_port_flits;

  stats::Group m_stats;
  stats::Counter m_packets_delivered;
  stats::Counter m_flits_delivered;
  stats::Counter m_flit_hops;
  stats::Counter m_router_traversals;
  stats::Histogram m_latency;
  stats::Histogram m_zero_load;
  stats::Histogram m_contention;
  energy::UnitEnergy m_energy;
  stats::Formula m_max_link_util;
  stats::Formula m_mean_link_util;
  stats::Group m_link_group;
  std::vector<std::unique_ptr<stats::Formula>> m_link_util;
};

// The packets a model has in flight, by id: a delivered packet's slot is reused.
template <class Packet>
class PacketPool {
 public:
  std::uint32_t add(const Packet& p) {
    if (m_free.empty()) {
      m_items.push_back(p);
      return static_cast<std::uint32_t>(m_items.size() - 1);
    }
    const std::uint32_t id = m_free.back();
    m_free.pop_back();
    m_items[id] = p;
    return id;
  }
  void release(std::uint32_t id) { m_free.push_back(id); }
  Packet& operator[](std::uint32_t id) { return m_items[id]; }
  const Packet& operator[](std::uint32_t id) const { return m_items[id]; }

 private:
  std::vector<Packet> m_items;
  std::vector<std::uint32_t> m_free;
};

// The model `p.model` asks for, its stats in a child group `name` of `parent`.
std::unique_ptr<Network> make_network(const NocParams& p, stats::Group& parent,
                                      const std::string& name);

}  // namespace llmsim::noc
