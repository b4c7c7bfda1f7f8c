#include "arch/noc/flit_network.h"

#include <algorithm>
#include <tuple>

#include "sim/core/error.h"

namespace llmsim::noc {

namespace {

constexpr std::uint64_t kNever = ~std::uint64_t{0};

}  // namespace

bool FlitNetwork::FarEvent::operator>(const FarEvent& o) const {
  return std::tie(cycle, kind, seq) > std::tie(o.cycle, o.kind, o.seq);
}

namespace {

// Calendar buckets: enough for every delay but a packet's creation (tr + tl at most), and at
// least 8.
std::uint64_t calendar_window(const NocParams& p) {
  std::uint64_t w = 8;
  while (w <= std::uint64_t{p.router_latency_cycles} + p.link_latency_cycles + 1) w *= 2;
  return w;
}

}  // namespace

FlitNetwork::FlitNetwork(const NocParams& p, stats::Group& parent, const std::string& name)
    : Network(p, parent, name),
      m_vcs(p.virtual_channels),
      m_routers(m_topo.routers()),
      m_buffer(p.buffer_flits),
      m_cap(p.max_outstanding_packets > 0 ? p.max_outstanding_packets : ~std::uint32_t{0}),
      m_calendar(calendar_window(p)),
      m_window_mask(calendar_window(p) - 1) {
  for (std::uint32_t r = 0; r < m_topo.routers(); ++r) {
    const std::uint32_t ports = m_topo.ports(r);
    m_routers[r].in.resize(std::size_t(ports) * m_vcs);
    m_routers[r].flits.resize(std::size_t(ports) * m_vcs * m_buffer);
    m_routers[r].out.assign(std::size_t(ports) * m_vcs, OutputVc{p.buffer_flits, false});
    m_routers[r].out_used.assign(ports, 0);
    m_routers[r].busy_vcs.assign(ports, 0);
    m_routers[r].busy_ports.assign((ports + 63) / 64, 0);
  }
  m_nodes.resize(m_topo.nodes());
  for (Node& n : m_nodes) n.vcs.assign(m_vcs, OutputVc{p.buffer_flits, false});
}

void FlitNetwork::push(std::uint64_t cycle, Kind kind, std::uint32_t target, std::uint32_t slot) {
  LLMSIM_CHECK(cycle >= m_first, "noc: event queued in the past");
  if (cycle - m_first <= m_window_mask) {
    Bucket& b = m_calendar[cycle & m_window_mask];
    b.fifo[kind].push_back(Event{target, slot});
    ++b.pending;
    ++m_near;
  } else {
    m_far.push(FarEvent{cycle, kind, m_far_seq++, Event{target, slot}});
  }
}

void FlitNetwork::slide(std::uint64_t cycle) {
  m_first = cycle;
  while (!m_far.empty() && m_far.top().cycle - m_first <= m_window_mask) {
    const FarEvent& f = m_far.top();
    Bucket& b = m_calendar[f.cycle & m_window_mask];
    b.fifo[f.kind].push_back(f.e);
    ++b.pending;
    ++m_near;
    m_far.pop();
  }
}

std::optional<std::uint64_t> FlitNetwork::next_event_cycle() const {
  if (m_near > 0) {
    for (std::uint64_t c = m_first;; ++c) {
      if (m_calendar[c & m_window_mask].pending > 0) return c;
    }
  }
  if (!m_far.empty()) return m_far.top().cycle;
  return std::nullopt;
}

void FlitNetwork::send(std::uint32_t src, std::uint32_t dst, std::uint32_t flits, std::uint64_t created,
                   std::uint64_t tag, std::uint32_t cls) {
  check_send(src, dst, flits, created, cls);
  const std::uint32_t id = m_packets.add(Packet{tag, created, src, dst, flits, 0});
  Node& n = m_nodes[src];
  n.waiting.queues[cls].push_back(id);
  // A class with older packets has the node's next attempt scheduled already (or waiting for a
  // credit); an extra attempt is harmless (at most one flit per node per cycle).
  if (n.waiting.queues[cls].size() == 1) schedule_inject(src, created);
}

void FlitNetwork::advance(std::uint64_t until, std::vector<Delivery>& delivered) {
  for (;;) {
    std::uint64_t c;
    if (m_near > 0) {
      c = m_first;
      while (m_calendar[c & m_window_mask].pending == 0) ++c;
    } else if (!m_far.empty()) {
      c = m_far.top().cycle;
    } else {
      break;
    }
    if (c > until) break;
    slide(c);
    Bucket& b = m_calendar[c & m_window_mask];
    // Kind by kind, first in first out. Processing may queue more events in this cycle, but
    // only of a later kind (credits of a cycle wake its routers and injections) or its own.
    for (int k = 0; k < kKinds; ++k) {
      std::vector<Event>& fifo = b.fifo[k];
      for (std::size_t i = 0; i < fifo.size(); ++i) {
        const Event e = fifo[i];
        process(c, static_cast<Kind>(k), e, delivered);
      }
      b.pending -= static_cast<std::uint32_t>(fifo.size());
      m_near -= fifo.size();
      fifo.clear();
    }
    LLMSIM_CHECK(b.pending == 0, "noc: an event queued for an earlier kind of the same cycle");
    slide(c + 1);
  }
  advanced_through(until);
}

void FlitNetwork::process(std::uint64_t cycle, Kind kind, const Event& e,
                      std::vector<Delivery>& delivered) {
  switch (kind) {
    case router_credit: {
      Router& router = m_routers[e.target];
      ++router.out[e.slot].credits;
      if (router.busy > 0) schedule(e.target, cycle);  // an empty router has nothing to send
      break;
    }
    case node_credit:
      ++m_nodes[e.target].vcs[e.slot].credits;
      schedule_inject(e.target, cycle);
      break;
    case node_inject:
      inject(e.target, cycle);
      break;
    case router_wake:
      wake_router(e.target, cycle, delivered);
      break;
    case kKinds:
      break;
  }
}

void FlitNetwork::schedule_inject(std::uint32_t n, std::uint64_t cycle) {
  Node& node = m_nodes[n];
  if (node.inject_at == cycle) return;
  node.inject_at = cycle;
  push(cycle, node_inject, n);
}

std::int32_t FlitNetwork::free_vc(const std::vector<OutputVc>& vcs, std::size_t base,
                              std::uint32_t vc_class) const {
  std::uint32_t lo = 0, hi = m_vcs;
  if (m_params.topology == TopologyKind::ring) {
    lo = vc_class == 0 ? 0 : m_vcs / 2;
    hi = vc_class == 0 ? m_vcs / 2 : m_vcs;
  }
  for (std::uint32_t v = lo; v < hi; ++v)
    if (!vcs[base + v].busy && vcs[base + v].credits > 0) return static_cast<std::int32_t>(v);
  return -1;
}

void FlitNetwork::inject(std::uint32_t n, std::uint64_t t) {
  Node& node = m_nodes[n];
  if (node.last_wake == t + 1) return;
  std::int32_t c = node.current;
  if (c < 0) {  // between packets: the next class in turn whose front packet is due
    c = node.waiting.due(t, m_packets);
    if (c < 0) return;  // every front packet has its own attempt scheduled at its creation
  }
  const std::uint32_t id = node.waiting.queues[static_cast<std::uint32_t>(c)].front();
  const Packet& pk = m_packets[id];
  node.last_wake = t + 1;
  const bool head = node.sent_flits == 0;
  if (head) {
    if (node.outstanding >= m_cap) return;  // retried when one of its packets is delivered
    const std::int32_t v = free_vc(node.vcs, 0, 0);
    if (v < 0) return;  // retried when a tail credit frees a VC
    node.vc = static_cast<std::uint32_t>(v);
    node.vcs[node.vc].busy = true;
    node.current = c;
    ++node.outstanding;  // free_vc() found a credit: the head leaves now
  }
  OutputVc& vc = node.vcs[node.vc];
  if (vc.credits == 0) return;  // retried when a credit returns
  --vc.credits;
  const bool tail = ++node.sent_flits == pk.flits;
  const std::uint32_t r = m_topo.node_router(n), p = m_topo.node_port(n);
  const std::uint64_t ready = t + m_params.router_latency_cycles;
  enter(r, p, node.vc, Flit{id, head, tail, ready});
  schedule(r, ready);
  if (tail) {
    vc.busy = false;
    node.waiting.finish(c);
    node.sent_flits = 0;
    node.current = -1;
  }
  const std::uint64_t next = node.waiting.next_created(m_packets);
  if (next != ~std::uint64_t{0}) schedule_inject(n, std::max(t + 1, next));
}

bool FlitNetwork::has_resources(const Router& router, std::uint32_t r, std::size_t slot) const {
  const Flit& f = front(router, slot);
  const InputVc& ivc = router.in[slot];
  const std::uint32_t q =
      f.head ? m_topo.route(r, m_packets[f.packet].dst) : static_cast<std::uint32_t>(ivc.out_port);
  if (m_topo.out(r, q).router < 0) return true;
  if (!f.head) return router.out[std::size_t(q) * m_vcs + ivc.out_vc].credits > 0;
  const std::uint32_t cls = m_topo.is_dateline(r, q) ? 1 : m_packets[f.packet].vc_class;
  return free_vc(router.out, std::size_t(q) * m_vcs, cls) >= 0;
}

namespace {

// Calls f(i) for the set bits i of `mask`, from bit `start` (< 64) upwards and then from bit 0,
// until f returns true; returns whether it did.
template <class F>
bool visit_word(std::uint64_t mask, std::uint32_t start, F&& f) {
  const std::uint64_t high = mask & (~std::uint64_t{0} << start);
  for (std::uint64_t m = high; m != 0; m &= m - 1) {
    if (f(static_cast<std::uint32_t>(__builtin_ctzll(m)))) return true;
  }
  for (std::uint64_t m = mask & ~high; m != 0; m &= m - 1) {
    if (f(static_cast<std::uint32_t>(__builtin_ctzll(m)))) return true;
  }
  return false;
}

// The same over the bits of n words (bit i in word i / 64), from bit `start`.
template <class F>
void visit_rotated(const std::uint64_t* words, std::size_t n, std::uint32_t start, F&& f) {
  const std::size_t w0 = start / 64;
  if (n == 1) {
    visit_word(words[0], start, f);
    return;
  }
  const std::uint64_t high = ~std::uint64_t{0} << (start % 64);
  for (std::size_t k = 0; k <= n; ++k) {
    const std::size_t w = (w0 + k) % n;
    std::uint64_t m = words[w];
    if (k == 0) m &= high;
    if (k == n) m &= ~high;
    for (; m != 0; m &= m - 1) {
      if (f(static_cast<std::uint32_t>(w * 64 + __builtin_ctzll(m)))) return;
    }
  }
}

}  // namespace

void FlitNetwork::wake_router(std::uint32_t r, std::uint64_t t, std::vector<Delivery>& delivered) {
  Router& router = m_routers[r];
  if (router.last_wake == t + 1) return;
  router.last_wake = t + 1;
  router.pending_wake = kNever;
  if (router.busy == 0) return;
  const std::uint32_t ports = m_topo.ports(r);
  // Rotating priority: ports from t mod P, VCs from t mod V; ports with no flit are skipped.
  // Ports that hold a flit now; a flit leaving changes only its own port's VCs.
  m_port_scratch.assign(router.busy_ports.begin(), router.busy_ports.end());
  const auto v0 = static_cast<std::uint32_t>(t % m_vcs);
  visit_rotated(m_port_scratch.data(), m_port_scratch.size(), static_cast<std::uint32_t>(t % ports),
                [&](std::uint32_t p) {
                  visit_word(router.busy_vcs[p], v0, [&](std::uint32_t v) {
                    return try_leave(router, r, p, v, t, delivered);
                  });
                  return false;
                });
  // The next cycle a front flit could move: t + 1 for one that lost a port this cycle (or just
  // reached the front), else the earliest ready time. Those short of a credit or a VC are
  // woken by its return; flits behind a front one, when it leaves.
  std::uint64_t next = kNever;
  visit_rotated(router.busy_ports.data(), router.busy_ports.size(), 0, [&](std::uint32_t p) {
    bool soon = false;
    visit_word(router.busy_vcs[p], 0, [&](std::uint32_t v) {
      const std::size_t slot = std::size_t(p) * m_vcs + v;
      const std::uint64_t ready = front(router, slot).ready;
      if (ready > t + 1) {
        next = std::min(next, ready);
      } else if (has_resources(router, r, slot)) {
        soon = true;
      }
      return soon;
    });
    if (soon) next = t + 1;
    return soon;  // done: nothing is earlier than t + 1
  });
  if (next != kNever) schedule(r, next);
}

bool FlitNetwork::try_leave(Router& router, std::uint32_t r, std::uint32_t p, std::uint32_t v,
                        std::uint64_t t, std::vector<Delivery>& delivered) {
  const std::size_t slot = std::size_t(p) * m_vcs + v;
  const InputVc& ivc = router.in[slot];
  const Flit& f = front(router, slot);
  if (f.ready > t) return false;
  const std::uint32_t q =
      f.head ? m_topo.route(r, m_packets[f.packet].dst) : static_cast<std::uint32_t>(ivc.out_port);
  if (router.out_used[q] == t + 1) return false;
  std::uint32_t ov = ivc.out_vc;
  if (m_topo.out(r, q).router >= 0) {
    if (f.head) {
      Packet& pk = m_packets[f.packet];
      const std::uint32_t cls = m_topo.is_dateline(r, q) ? 1 : pk.vc_class;
      const std::int32_t free = free_vc(router.out, std::size_t(q) * m_vcs, cls);
      if (free < 0) return false;
      pk.vc_class = cls;
      ov = static_cast<std::uint32_t>(free);
    } else if (router.out[std::size_t(q) * m_vcs + ov].credits == 0) {
      return false;
    }
  }
  router.out_used[q] = t + 1;
  leave(r, p, v, q, ov, t, delivered);
  return true;  // one flit per input port per cycle
}

void FlitNetwork::enter(std::uint32_t r, std::uint32_t p, std::uint32_t v, const Flit& f) {
  Router& router = m_routers[r];
  const std::size_t slot = std::size_t(p) * m_vcs + v;
  InputVc& ivc = router.in[slot];
  LLMSIM_CHECK(ivc.count < m_buffer, "noc: input buffer overflow");
  if (ivc.count == 0) {
    if (router.busy_vcs[p] == 0) router.busy_ports[p / 64] |= std::uint64_t{1} << (p % 64);
    router.busy_vcs[p] |= std::uint64_t{1} << v;
    ++router.busy;
  }
  std::uint32_t i = ivc.first + ivc.count;
  if (i >= m_buffer) i -= m_buffer;
  router.flits[slot * m_buffer + i] = f;
  ++ivc.count;
}

void FlitNetwork::schedule(std::uint32_t r, std::uint64_t cycle) {
  Router& router = m_routers[r];
  if (cycle >= router.pending_wake) return;
  router.pending_wake = cycle;
  push(cycle, router_wake, r);
}

void FlitNetwork::leave(std::uint32_t r, std::uint32_t p, std::uint32_t v, std::uint32_t q,
                    std::uint32_t ov, std::uint64_t t, std::vector<Delivery>& delivered) {
  Router& router = m_routers[r];
  const std::size_t slot = std::size_t(p) * m_vcs + v;
  InputVc& ivc = router.in[slot];
  const Flit f = front(router, slot);
  if (++ivc.first == m_buffer) ivc.first = 0;
  if (--ivc.count == 0) {
    router.busy_vcs[p] &= ~(std::uint64_t{1} << v);
    if (router.busy_vcs[p] == 0) router.busy_ports[p / 64] &= ~(std::uint64_t{1} << (p % 64));
    --router.busy;
  }
  const PortEnd& down = m_topo.out(r, q);
  count_port(r, q, 1, down.router >= 0);
  const PortEnd& up = m_topo.in(r, p);
  if (up.router < 0) {
    push(t + 1, node_credit, up.node, v);
  } else {
    push(t + m_params.link_latency_cycles, router_credit, static_cast<std::uint32_t>(up.router),
         up.port * m_vcs + v);
  }
  if (f.head) {
    ivc.out_port = static_cast<std::int32_t>(q);
    ivc.out_vc = ov;
  }
  if (f.tail) ivc.out_port = -1;
  if (down.router >= 0) {
    OutputVc& o = router.out[std::size_t(q) * m_vcs + ov];
    o.busy = !f.tail;
    LLMSIM_CHECK(o.credits > 0, "noc: flit sent without a credit");
    --o.credits;
    const std::uint64_t ready = t + m_params.link_latency_cycles + m_params.router_latency_cycles;
    const auto d = static_cast<std::uint32_t>(down.router);
    enter(d, down.port, ov, Flit{f.packet, f.head, f.tail, ready});
    schedule(d, ready);
    return;
  }
  if (!f.tail) return;
  const Packet& pk = m_packets[f.packet];
  deliver(pk.tag, pk.src, pk.dst, pk.flits, pk.created, t, delivered);
  // A source at its cap may send its next head from the next cycle.
  if (m_nodes[pk.src].outstanding-- == m_cap) schedule_inject(pk.src, t + 1);
  m_packets.release(f.packet);
}

}  // namespace llmsim::noc
