#pragma once
// The packet model of the on-chip network (noc.model "packet"; network.h): every port keeps the
// cycle it is busy until, and a packet claims one for as many cycles as it has flits. One event
// per packet per router, whatever its size: the cost DESIGN.md budgets for a shared resource
// (O(1) per transaction), against one per flit per router and per credit for the flit model.
//
// Timing contract, in cycles of the network clock (tr = router_latency_cycles,
// tl = link_latency_cycles, F = the packet's flits):
//  - A node's injection channel carries one flit per cycle. Its queues and message classes are
//    those of network.h: at a cycle where the channel is free, the node starts the front packet
//    of the next class in turn whose packet is due; the channel is then busy for F cycles. A
//    packet started at s has its head in its first router at s, ready to leave at s + tr.
//  - A head ready at router r at cycle h takes the output port q that routing gives: it leaves
//    at d = max(h, the cycle q is free), and q is busy until d + F (its flits follow the head
//    one per cycle). Through a link the head is ready at the next router at d + tl + tr;
//    through an ejection port the tail is delivered at d + F - 1.
//  - Heads ready for the same port in the same cycle go in rotating order of their input port,
//    from port h mod P, as the flit model's switch allocator tries them; an earlier head always
//    goes first (first come, first served).
//  - Stats count a link's flits in the cycles they cross it (network.h, port_flits()), so no
//    link carries more than a flit per cycle in any span of cycles.
//  - No buffer limit in the routers: a waiting packet's flits wait in the router it has
//    reached, and an input port may feed two output ports at once (no head-of-line blocking).
//    What the flit model adds on top -- credit stalls, VC allocation, blocking behind a
//    stalled packet -- is what the two models' difference measures.
//  - End-to-end flow control at the node (N = max_outstanding_packets, 0: none): a node with N
//    packets started and not yet delivered starts none. The delivery of one of them at cycle d
//    frees its slot from cycle d + 1: the node's next packet (the class in turn, as above)
//    starts at the first cycle >= d + 1 at which it is due and the channel is free. So a
//    source with N = 1 sends at most one packet per T0 + 1 cycles. Past saturation a source's
//    packets queue behind the overloaded channels and hold its slots, so it slows in its
//    offered mix of destinations: the flows that avoid those channels do not get through in
//    full while the others queue without limit.
// With no other traffic a packet takes network.h's T0 in both models, to the cycle.
#include <cstdint>
#include <optional>
#include <queue>
#include <string>
#include <vector>

#include "arch/noc/network.h"

namespace llmsim::noc {

class PacketNetwork final : public Network {
 public:
  // Registers its stats in a child group `name` of `parent`.
  PacketNetwork(const NocParams& p, stats::Group& parent, const std::string& name);

  void send(std::uint32_t src, std::uint32_t dst, std::uint32_t flits, std::uint64_t created,
            std::uint64_t tag, std::uint32_t cls = 0) override;
  void advance(std::uint64_t until, std::vector<Delivery>& delivered) override;
  std::optional<std::uint64_t> next_event_cycle() const override;

 protected:
  // A link's flits are counted when its port is claimed. The cycles a port is claimed for
  // after the current cycle c are contiguous up to its busy-until cycle: a claim that leaves
  // a gap starts at the cycle its head is ready, never later than c, and every later claim
  // starts where the one before ends. So the flits still to cross after c are exactly
  // busy-until - (c + 1).
  std::uint64_t flits_claimed_ahead(std::uint32_t r, std::uint32_t q) const override;

 private:
  struct Packet {
    std::uint64_t tag = 0, created = 0;
    std::uint32_t src = 0, dst = 0, flits = 0;
  };
  struct Node {
    InjectionQueues waiting;
    std::uint64_t free = 0;                       // the injection channel is busy before this cycle
    std::uint64_t inject_at = ~std::uint64_t{0};  // the one injection event that counts
    // Packets started and not yet delivered; a delivery at the cap frees its slot from the
    // cycle `resume`.
    std::uint32_t outstanding = 0;
    std::uint64_t resume = 0;
  };
  // Events in the order (cycle, rank): deliveries (by ejection port), then injections (by node),
  // then heads at routers (by router, then rotated input port). No two events share a
  // (cycle, rank): a port passes one head per cycle, and a node has one injection event that
  // counts. An event is one word, its rank (kind and priority) over the packet's id, so a
  // cycle's events sort as integers; where it happens follows from the priority (a node, or a
  // port and so its router: m_port_router).
  enum Kind : std::uint64_t { kDeliver = 0, kInject = 1, kHop = 2 };
  static constexpr int kPriorityBits = 30;
  static std::uint64_t event(Kind kind, std::uint32_t priority, std::uint32_t packet) {
    return (std::uint64_t{kind} << kPriorityBits | priority) << 32 | packet;
  }
  struct Timed {  // an event beyond the calendar's window
    std::uint64_t cycle, event;
    bool operator>(const Timed& o) const {
      return cycle != o.cycle ? cycle > o.cycle : event > o.event;
    }
  };

  // A cycle's event ranks, 0 .. 3 m_rank_stride - 1: kind x stride + priority.
  std::uint32_t rank_index(std::uint64_t e) const {
    const auto kind = static_cast<std::uint32_t>(e >> (32 + kPriorityBits));
    return kind * m_rank_stride +
           (static_cast<std::uint32_t>(e >> 32) & ((1u << kPriorityBits) - 1));
  }
  // Sorts a cycle's events (distinct ranks) by rank.
  void order(std::vector<std::uint64_t>& events);
  void push(std::uint64_t cycle, std::uint64_t event);
  // Moves the calendar's first cycle to `cycle` (every bucket before it empty), taking in the
  // far events that enter the window.
  void slide(std::uint64_t cycle);
  void schedule_inject(std::uint32_t n, std::uint64_t cycle);
  void inject(std::uint32_t n, std::uint64_t t);
  // The head of `packet` is ready at router r at cycle t.
  void hop(std::uint32_t packet, std::uint32_t r, std::uint64_t t);
  void deliver_packet(std::uint32_t packet, std::uint64_t t);
  void push_hop(std::uint32_t packet, std::uint32_t r, std::uint32_t p, std::uint64_t t);

  PacketPool<Packet> m_packets;
  std::vector<Node> m_nodes;
  // max_outstanding_packets, ~0 for none.
  std::uint32_t m_cap;
  std::vector<std::uint64_t> m_port_free;  // [m_port_base[r] + q]: busy before this cycle
  std::vector<std::uint32_t> m_port_base;
  std::vector<std::uint32_t> m_port_router;      // [m_port_base[r] + q]: r
  std::vector<Delivery>* m_delivered = nullptr;  // advance()'s output, while it runs
  // The events of the next cycles, a bucket per cycle (sorted by rank when their cycle comes);
  // events further ahead wait in a heap and move into their bucket when the window reaches them.
  std::vector<std::vector<std::uint64_t>> m_calendar;  // bucket of cycle c: c & m_window_mask
  std::uint64_t m_window_mask;
  std::uint64_t m_first = 0;  // the calendar's first cycle: no event is queued before it
  std::uint64_t m_near = 0;   // events in the calendar
  std::priority_queue<Timed, std::vector<Timed>, std::greater<Timed>> m_far;
  // order()'s scratch: a bit per rank and the packet of each marked rank (empty when there are
  // too many ranks for a bitmap to pay).
  std::uint32_t m_rank_stride = 0;
  std::vector<std::uint64_t> m_rank_present;
  std::vector<std::uint32_t> m_rank_packet;
};

}  // namespace llmsim::noc
