#include "arch/noc/packet_network.h"

#include <algorithm>

#include "sim/core/error.h"

namespace llmsim::noc {

namespace {

constexpr std::uint64_t kNever = ~std::uint64_t{0};
// Calendar buckets: a packet's next router is tr + tl ahead, its delivery F - 1; queueing and
// injections at a future creation cycle go further, rarely beyond this.
constexpr std::uint64_t kWindow = 256;

// A cycle's events are ordered by rank through a bitmap when the ranks are few enough (a mesh of
// 16 routers has 3 x 80), std::sort otherwise.
constexpr std::uint32_t kMaxBitmapRanks = 4096;

// t mod ports, with constant divisors for the usual port counts (a multiply, not a 64-bit
// division, which costs some 40 cycles on every hop).
std::uint32_t cycle_mod(std::uint64_t t, std::uint32_t ports) {
  switch (ports) {
    case 2:
      return static_cast<std::uint32_t>(t % 2);
    case 3:
      return static_cast<std::uint32_t>(t % 3);
    case 4:
      return static_cast<std::uint32_t>(t % 4);
    case 5:
      return static_cast<std::uint32_t>(t % 5);
    case 6:
      return static_cast<std::uint32_t>(t % 6);
    default:
      return static_cast<std::uint32_t>(t % ports);
  }
}

}  // namespace

PacketNetwork::PacketNetwork(const NocParams& p, stats::Group& parent, const std::string& name)
    : Network(p, parent, name),
      m_nodes(m_topo.nodes()),
      m_cap(p.max_outstanding_packets > 0 ? p.max_outstanding_packets : ~std::uint32_t{0}),
      m_port_base(m_topo.routers()),
      m_calendar(kWindow),
      m_window_mask(kWindow - 1) {
  std::uint32_t ports = 0;
  for (std::uint32_t r = 0; r < m_topo.routers(); ++r) {
    m_port_base[r] = ports;
    ports += m_topo.ports(r);
    m_port_router.resize(ports, r);
  }
  m_port_free.assign(ports, 0);
  LLMSIM_CHECK(ports < (1u << kPriorityBits) && m_topo.nodes() < (1u << kPriorityBits),
               "noc: too many ports for the event encoding");
  m_rank_stride = std::max(ports, m_topo.nodes());
  if (3 * m_rank_stride <= kMaxBitmapRanks) {
    m_rank_present.assign((3 * m_rank_stride + 63) / 64, 0);
    m_rank_packet.assign(3 * m_rank_stride, 0);
  }
}

void PacketNetwork::order(std::vector<std::uint64_t>& events) {
  if (events.size() < 2) return;
  if (m_rank_present.empty()) {
    std::sort(events.begin(), events.end());
    return;
  }
  // No two events share a rank: mark each rank's bit and remember its packet, then read the
  // bits back in increasing order. Linear in the events plus a word per 64 ranks, where a
  // comparison sort of about ten events in an unpredictable order mispredicts most branches.
  for (const std::uint64_t e : events) {
    const std::uint32_t r = rank_index(e);
    m_rank_present[r / 64] |= std::uint64_t{1} << (r % 64);
    m_rank_packet[r] = static_cast<std::uint32_t>(e);
  }
  std::size_t i = 0;
  for (std::size_t w = 0; w < m_rank_present.size(); ++w) {
    for (std::uint64_t bits = m_rank_present[w]; bits != 0; bits &= bits - 1) {
      const auto r = static_cast<std::uint32_t>(w * 64 + __builtin_ctzll(bits));
      const std::uint32_t kind = (r >= m_rank_stride) + (r >= 2 * m_rank_stride);
      events[i++] = event(static_cast<Kind>(kind), r - kind * m_rank_stride, m_rank_packet[r]);
    }
    m_rank_present[w] = 0;
  }
  LLMSIM_CHECK(i == events.size(), "noc: two events of one cycle share a rank");
}

void PacketNetwork::push(std::uint64_t cycle, std::uint64_t event) {
  // While a cycle's bucket is processed (m_delivered set), nothing joins it.
  LLMSIM_CHECK(cycle > m_first || (cycle == m_first && m_delivered == nullptr),
               "noc: event queued in the past");
  if (cycle - m_first <= m_window_mask) {
    m_calendar[cycle & m_window_mask].push_back(event);
    ++m_near;
  } else {
    m_far.push(Timed{cycle, event});
  }
}

void PacketNetwork::slide(std::uint64_t cycle) {
  m_first = cycle;
  while (!m_far.empty() && m_far.top().cycle - m_first <= m_window_mask) {
    m_calendar[m_far.top().cycle & m_window_mask].push_back(m_far.top().event);
    ++m_near;
    m_far.pop();
  }
}

std::optional<std::uint64_t> PacketNetwork::next_event_cycle() const {
  if (m_near > 0) {
    for (std::uint64_t c = m_first;; ++c) {
      if (!m_calendar[c & m_window_mask].empty()) return c;
    }
  }
  if (!m_far.empty()) return m_far.top().cycle;
  return std::nullopt;
}

void PacketNetwork::send(std::uint32_t src, std::uint32_t dst, std::uint32_t flits,
                         std::uint64_t created, std::uint64_t tag, std::uint32_t cls) {
  check_send(src, dst, flits, created, cls);
  const std::uint32_t id = m_packets.add(Packet{tag, created, src, dst, flits});
  Node& n = m_nodes[src];
  n.waiting.queues[cls].push_back(id);
  schedule_inject(src, std::max(created, n.free));
}

void PacketNetwork::schedule_inject(std::uint32_t n, std::uint64_t cycle) {
  Node& node = m_nodes[n];
  if (cycle >= node.inject_at) return;  // an earlier attempt reschedules itself
  node.inject_at = cycle;
  push(cycle, event(kInject, n, 0));
}

void PacketNetwork::advance(std::uint64_t until, std::vector<Delivery>& delivered) {
  for (;;) {
    const std::optional<std::uint64_t> next = next_event_cycle();
    if (!next || *next > until) break;
    const std::uint64_t c = *next;
    slide(c);
    // Processing adds no event to this cycle (a head is next ready tr + tl later; a delivery in
    // the same cycle is made at once, as it would be the next event anyway), so the bucket is
    // complete: take it in rank order.
    std::vector<std::uint64_t>& bucket = m_calendar[c & m_window_mask];
    order(bucket);
    m_delivered = &delivered;
    for (const std::uint64_t e : bucket) {
      const auto packet = static_cast<std::uint32_t>(e);
      const auto priority = static_cast<std::uint32_t>(e >> 32) & ((1u << kPriorityBits) - 1);
      switch (static_cast<Kind>(e >> (32 + kPriorityBits))) {
        case kDeliver:
          deliver_packet(packet, c);
          break;
        case kInject:
          inject(priority, c);
          break;
        case kHop:
          hop(packet, m_port_router[priority], c);
          break;
      }
    }
    m_delivered = nullptr;
    m_near -= bucket.size();
    bucket.clear();
    slide(c + 1);
  }
  advanced_through(until);
}

std::uint64_t PacketNetwork::flits_claimed_ahead(std::uint32_t r, std::uint32_t q) const {
  if (m_topo.out(r, q).router < 0) return 0;  // ejected flits count at delivery
  const std::uint64_t free = m_port_free[m_port_base[r] + q], now = cycles();
  return free > now ? free - now : 0;
}

void PacketNetwork::deliver_packet(std::uint32_t packet, std::uint64_t t) {
  const Packet& pk = m_packets[packet];
  // Ejected flits count when the tail is delivered, not when the port is claimed (possibly
  // long before): a window's delivered flits (noctest's accepted throughput) are then exact
  // to the packet.
  count_port(m_topo.node_router(pk.dst), m_topo.node_port(pk.dst), pk.flits, false);
  deliver(pk.tag, pk.src, pk.dst, pk.flits, pk.created, t, *m_delivered);
  // A source at its cap has no injection attempt pending (inject() stops there), or one at
  // this cycle, which must not use the slot: it serves from the next cycle.
  Node& src = m_nodes[pk.src];
  if (src.outstanding-- == m_cap) {
    src.resume = t + 1;
    const std::uint64_t next_due = src.waiting.next_created(m_packets);
    if (next_due != kNever) schedule_inject(pk.src, std::max({next_due, src.free, t + 1}));
  }
  m_packets.release(packet);
}

void PacketNetwork::inject(std::uint32_t n, std::uint64_t t) {
  Node& node = m_nodes[n];
  if (node.inject_at != t) return;  // superseded by an earlier attempt
  node.inject_at = kNever;
  // At the cap, the delivery of one of its packets schedules the next attempt.
  if (node.outstanding >= m_cap) return;
  // The next class in turn whose front packet is due; the channel is free (attempts are
  // scheduled no earlier than node.free), and so is a slot unless it was freed this cycle.
  const int cls = t >= node.resume ? node.waiting.due(t, m_packets) : -1;
  if (cls >= 0) {
    const std::uint32_t id = node.waiting.queues[static_cast<std::uint32_t>(cls)].front();
    node.waiting.finish(cls);
    node.free = t + m_packets[id].flits;
    push_hop(id, m_topo.node_router(n), m_topo.node_port(n), t + m_params.router_latency_cycles);
    if (++node.outstanding == m_cap) return;
  }
  const std::uint64_t next_due = node.waiting.next_created(m_packets);
  if (next_due != kNever) schedule_inject(n, std::max({next_due, node.free, node.resume}));
}

void PacketNetwork::push_hop(std::uint32_t packet, std::uint32_t r, std::uint32_t p,
                             std::uint64_t t) {
  const std::uint32_t ports = m_topo.ports(r);
  const std::uint32_t turn = cycle_mod(t, ports);
  const std::uint32_t rotated = p >= turn ? p - turn : p + ports - turn;
  push(t, event(kHop, m_port_base[r] + rotated, packet));
}

void PacketNetwork::hop(std::uint32_t packet, std::uint32_t r, std::uint64_t t) {
  const Packet& pk = m_packets[packet];
  const std::uint32_t q = m_topo.route(r, pk.dst);
  std::uint64_t& free = m_port_free[m_port_base[r] + q];
  const std::uint64_t leave = std::max(t, free);
  free = leave + pk.flits;
  const PortEnd& down = m_topo.out(r, q);
  if (down.router >= 0) {
    count_port(r, q, pk.flits, true);
    push_hop(packet, static_cast<std::uint32_t>(down.router), down.port,
             leave + m_params.link_latency_cycles + m_params.router_latency_cycles);
  } else if (leave + pk.flits - 1 == t) {
    deliver_packet(packet, t);
  } else {
    push(leave + pk.flits - 1, event(kDeliver, m_port_base[r] + q, packet));
  }
}

}  // namespace llmsim::noc
