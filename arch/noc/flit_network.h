#pragma once
// The flit model of the on-chip network (noc.model "flit"; network.h): an exact discrete-event
// model of wormhole switching, virtual channels, credit-based flow control, one flit per link per
// cycle. Only routers with a flit that can move, or that just received a credit, are processed
// in a cycle; idle routers cost nothing.
//
// Timing contract, in cycles of the network clock (tr = router_latency_cycles,
// tl = link_latency_cycles, both >= 1):
//  - A node offers a packet at its creation cycle; its flits enter the node's router input
//    buffer (the injection channel) one per cycle, in order, each needing a credit of the
//    virtual channel the packet was given there. The head enters at the creation cycle when
//    the injection channel is idle and a VC is free.
//  - A flit that entered a router's input buffer at cycle a may leave the router at any cycle
//    s >= a + tr (the router pipeline), if: it is at the front of its VC; no other flit leaves
//    from the same input port or through the same output port in cycle s; and the downstream
//    VC has a credit (a head flit also needs that VC to be free: no other packet's tail still
//    to send into it; the lowest-numbered free VC with a credit is taken). Contention is resolved
//    by rotating priority: at cycle s input ports are tried from port s mod P and each port's VCs
//    from VC s mod V (deterministic, stateless).
//  - A flit leaving at s through a link enters the downstream input buffer at s + tl; through
//    an ejection port it is delivered to the node at s (sinks always accept).
//  - A flit leaving an input buffer at s returns its credit upstream at s + tl (s + 1 to an
//    injecting node). An output VC is released for the next packet as soon as the tail of the
//    current one has been sent into it (BookSim's wait_for_tail_credit = 0): a VC buffer may
//    hold the end of one packet and the start of the next, in order.
//  - End-to-end flow control at the node (N = max_outstanding_packets, 0: none): a node with N
//    packets whose head it has sent and whose tail is not yet delivered sends no head. The
//    delivery of one of them at cycle d frees its slot from cycle d + 1 (a node's injection of
//    a cycle comes before its routers' work, where deliveries happen), as in the packet model.
//  - Packet latency = cycle its tail is delivered - its creation cycle. With no other traffic it
//    is network.h's T0, provided one VC can stream a flit per cycle: its credit round trip
//    tr + 2 * tl (tr + 1 at the injection channel) must not exceed buffer_flits, else the tail
//    is later.
#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <queue>
#include <string>
#include <vector>

#include "arch/noc/network.h"

namespace llmsim::noc {

class FlitNetwork final : public Network {
 public:
  // Registers its stats in a child group `name` of `parent`.
  FlitNetwork(const NocParams& p, stats::Group& parent, const std::string& name);

  void send(std::uint32_t src, std::uint32_t dst, std::uint32_t flits, std::uint64_t created,
            std::uint64_t tag, std::uint32_t cls = 0) override;
  void advance(std::uint64_t until, std::vector<Delivery>& delivered) override;
  std::optional<std::uint64_t> next_event_cycle() const override;

 private:
  struct Flit {
    std::uint32_t packet;
    bool head, tail;
    std::uint64_t ready;  // first cycle it may leave the router it is in
  };
  // An input VC's buffer is a ring of buffer_flits flits in Router::flits (credits never let
  // more in).
  struct InputVc {
    std::uint32_t first = 0, count = 0;  // ring position of the front flit; flits held
    std::int32_t out_port = -1;          // held from the head's departure to the tail's
    std::uint32_t out_vc = 0;
  };
  struct OutputVc {
    std::uint32_t credits = 0;
    bool busy = false;  // owned by a packet from its head's departure to its tail's
  };
  struct Router {
    std::vector<InputVc> in;                // [port * V + vc]
    std::vector<Flit> flits;                // [(port * V + vc) * buffer_flits + i]
    std::vector<OutputVc> out;              // [port * V + vc], for ports that feed links
    std::vector<std::uint64_t> out_used;    // cycle + 1 an output port last sent a flit
    std::vector<std::uint64_t> busy_vcs;    // per input port: bit v set if VC v holds a flit
    std::vector<std::uint64_t> busy_ports;  // bit p set if input port p holds a flit
    std::uint32_t busy = 0;                 // input VCs holding a flit, all ports
    std::uint64_t last_wake = 0;            // cycle + 1 of the last processing
    // The earliest wake-up queued since the last processing (~0: none). A wake-up is queued
    // only if earlier: one at that cycle recomputes when the router is next needed. Later
    // ones already queued stay and are harmless (processing is idempotent within a cycle and
    // does nothing when no flit can move).
    std::uint64_t pending_wake = ~std::uint64_t{0};
  };
  struct Node {
    InjectionQueues waiting;
    std::int32_t current = -1;      // the class whose front packet is being injected, or -1
    std::uint32_t sent_flits = 0;   // of the packet being injected
    std::uint32_t vc = 0;           // of the packet being injected, once its head is sent
    std::uint32_t outstanding = 0;  // packets whose head is sent and tail not yet delivered
    std::vector<OutputVc> vcs;      // the router's local input VCs as seen by the node
    std::uint64_t last_wake = 0;    // cycle + 1 of the last injection attempt
    // The cycle of the last injection attempt queued: a second one for the same cycle would
    // find nothing more to do (credits of a cycle are processed before its attempts).
    std::uint64_t inject_at = ~std::uint64_t{0};
  };
  struct Packet {
    std::uint64_t tag = 0, created = 0;
    std::uint32_t src = 0, dst = 0, flits = 0;
    std::uint32_t vc_class = 0;  // ring dateline class
  };

  // Events, processed in the order (cycle, kind, insertion): credits before work in a cycle.
  // A calendar of `window` per-cycle buckets holds the next cycles' events, one FIFO per kind;
  // events further ahead (injections at a packet's future creation cycle) wait in a heap and
  // move into their bucket when the window reaches their cycle, ahead of any event queued for
  // that cycle since.
  enum Kind : std::uint8_t { router_credit, node_credit, node_inject, router_wake, kKinds };
  struct Event {
    std::uint32_t target;  // router or node
    std::uint32_t slot;    // router_credit: output port * V + vc; node_credit: vc
  };
  struct Bucket {
    std::array<std::vector<Event>, kKinds> fifo;
    std::uint32_t pending = 0;  // entries, all kinds
  };
  struct FarEvent {
    std::uint64_t cycle;
    Kind kind;
    std::uint64_t seq;
    Event e;
    bool operator>(const FarEvent& o) const;
  };

  void push(std::uint64_t cycle, Kind kind, std::uint32_t target, std::uint32_t slot = 0);
  // Moves the calendar's first cycle to `cycle` (every bucket before it empty), taking in the
  // far events that enter the window.
  void slide(std::uint64_t cycle);
  void process(std::uint64_t cycle, Kind kind, const Event& e, std::vector<Delivery>& delivered);
  void wake_router(std::uint32_t r, std::uint64_t t, std::vector<Delivery>& delivered);
  // Ensures router r is processed at `cycle` (or earlier, which then reschedules).
  void schedule(std::uint32_t r, std::uint64_t cycle);
  void schedule_inject(std::uint32_t n, std::uint64_t cycle);
  void inject(std::uint32_t n, std::uint64_t t);
  // The lowest free VC among `vcs[base .. base + V)` for `packet`'s class, or -1.
  std::int32_t free_vc(const std::vector<OutputVc>& vcs, std::size_t base,
                       std::uint32_t vc_class) const;
  const Flit& front(const Router& router, std::size_t slot) const {
    return router.flits[slot * m_buffer + router.in[slot].first];
  }
  // Sends the front flit of input VC v of port p through the switch at cycle t if it is ready
  // and its output port, output VC and credit are free; returns whether it left.
  bool try_leave(Router& router, std::uint32_t r, std::uint32_t p, std::uint32_t v, std::uint64_t t,
                 std::vector<Delivery>& delivered);
  // Whether the front flit of input VC `slot` could leave router r at a cycle where its ports
  // are free.
  bool has_resources(const Router& router, std::uint32_t r, std::size_t slot) const;
  // Appends a flit to input VC `v` of port `p` of router `r`, keeping the occupancy counts.
  void enter(std::uint32_t r, std::uint32_t p, std::uint32_t v, const Flit& f);
  void leave(std::uint32_t r, std::uint32_t p, std::uint32_t v, std::uint32_t q, std::uint32_t ov,
             std::uint64_t t, std::vector<Delivery>& delivered);

  std::uint32_t m_vcs;
  std::vector<Router> m_routers;
  std::vector<Node> m_nodes;
  std::uint32_t m_buffer;  // buffer_flits
  std::uint32_t m_cap;     // max_outstanding_packets, ~0 for none
  PacketPool<Packet> m_packets;
  std::vector<Bucket> m_calendar;  // bucket of cycle c: c & m_window_mask
  std::uint64_t m_window_mask;
  std::uint64_t m_first = 0;  // the calendar's first cycle: no event is queued before it
  std::uint64_t m_near = 0;   // unprocessed events in the calendar
  std::priority_queue<FarEvent, std::vector<FarEvent>, std::greater<FarEvent>> m_far;
  std::uint64_t m_far_seq = 0;
  std::vector<std::uint64_t> m_port_scratch;  // wake_router's busy ports
};

}  // namespace llmsim::noc
