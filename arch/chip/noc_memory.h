#pragma once
// The cores' way to memory through the on-chip network.
//
// NocFabric drives a noc::Network (plain C++, event driven; the flit or the packet model) from
// one SystemC thread, as HbmMemory drives its controllers: it sleeps until the network's next
// event or a new packet, and takes the decisions of network cycle c at (c + 1/2) tNoC, after
// every packet offered at or before c tNoC, so the schedule does not depend on the order of
// SystemC processes. A packet offered at time t (now or later) is created at cycle
// ceil(t / tNoC); packets wait in the fabric until their creation cycle, so a node injects them
// in creation order: packets created in the same cycle in the order of their offer times t,
// then of their rank (the memory port a response answers for), then of the calls -- so neither
// the order of SystemC processes nor the moment a packet is offered for a later time changes
// the schedule. A packet's receiver is told, in the fabric thread, the decision time of its
// delivery cycle.
//
// Running ahead: most network cycles with an event pass while no other process has anything
// to do (a packet crosses a router every cycle, a core wakes every few hundred). When the
// kernel has no activity pending up to the decision time of the next cycle with an event,
// nothing can offer a packet for that cycle or an earlier one, so the fabric takes its
// decisions at once instead of sleeping until then, and tells the receivers that time: they
// act for it (a memory port access enters at it; a finished transfer resumes at it), so the
// schedule is the one of a fabric that slept. This saves the kernel a time step per such
// cycle, nine in ten of the fabric's wake-ups on BERT-base over the datacenter preset's mesh.
//
// NocMemoryPort is what a core's DMA engine sees as its memory (a MemoryBackend). A transfer
// is cut into the memory's accesses (HBM bursts), grouped by the port (pseudo channel) that owns
// them, and each port's accesses, in the order the DMA engine walks the transfer (row by row,
// address order within a row), into messages of at most packet_payload_bytes. Messages leave
// in the order of their first access, so with addresses interleaved over the ports every port
// has its first request within a few cycles. Per message:
//   read   request packet (header only) core -> port's node; on delivery the accesses enter the
//          port's queue; when the last one's data is ready, the response packet (header + data)
//          port's node -> core.
//   write  request packet (header + data) core -> port's node; on delivery the accesses enter
//          the port's queue; when the last one is accepted, an acknowledgement (header only)
//          port's node -> core.
// Reads travel in message class 0 and writes in class 1, so a node's network interface
// alternates between them packet by packet (a long store does not hold up the read requests
// queued behind it).
// The transfer is complete when every message's response or acknowledgement has been delivered.
// Half a network cycle passes between a delivery and what it triggers (the network interface's
// turnaround): a request delivered at cycle d enters the memory at (d + 1/2) tNoC, and a core
// sees its last response at the first core edge after that.
#include <cstdint>
#include <memory>
#include <queue>
#include <vector>

#include <systemc>

#include "arch/memory/memory_backend.h"
#include "arch/noc/network.h"
#include "arch/noc/placement.h"
#include "sim/core/units.h"

namespace llmsim::chip {

class NocFabric : public sc_core::sc_module {
 public:
  // Told when a packet's tail reaches its destination, with the decision time `at` of its
  // delivery cycle, which may lie ahead of the SystemC time (see above): the receiver acts
  // for `at`, and nothing else in the model acts before it.
  class Receiver {
   public:
    virtual void delivered(std::uint64_t cookie, const sc_core::sc_time& at) = 0;

   protected:
    ~Receiver() = default;
  };

  NocFabric(const sc_core::sc_module_name& name, const noc::NocParams& p, stats::Group& parent);

  // Offers a packet of `flits` from node src to node dst at time `at` (>= now), in message class
  // `cls` (noc::Network::send), with tie-break `rank` (see above); `to.delivered(cookie, at)`
  // runs when its tail reaches dst.
  void send(std::uint32_t src, std::uint32_t dst, std::uint32_t flits, const sc_core::sc_time& at,
            std::uint32_t cls, Receiver& to, std::uint64_t cookie, std::uint32_t rank = 0);

  const noc::NocParams& params() const { return m_network->params(); }
  const noc::Network& network() const { return *m_network; }
  const ClockDomain& clock() const { return m_clock; }

 private:
  // A packet offered and not yet sent into the network, in the order (creation cycle, offer
  // time, rank, call): the creation cycle is ceil(at / tNoC), so `at` orders it too, and rank
  // and call share a word. Its packet and receiver wait in m_packets[tag].
  struct Offer {
    std::uint64_t at;     // kernel time units
    std::uint64_t order;  // rank << kSeqBits | sequence number of the call
    std::uint64_t tag;
    bool operator>(const Offer& o) const { return at != o.at ? at > o.at : order > o.order; }
  };
  static constexpr unsigned kSeqBits = 48;
  // A packet in the fabric, from its offer to its delivery.
  struct Packet {
    std::uint64_t cycle;  // creation
    std::uint32_t src, dst, flits, cls;
    Receiver* to;
    std::uint64_t cookie;
  };
  void run();

  ClockDomain m_clock;
  std::unique_ptr<noc::Network> m_network;
  // The fabric thread's only wake-up: notified for its decision time when it goes to sleep, and
  // at once (a delta notification overrides a pending timed one) for a packet offered for a
  // cycle before the one it sleeps until (m_asleep_until: ~0 while it waits for any packet, 0
  // while it runs). One event rather than a timed wait on an event: the kernel then keeps no
  // timeout next to it, which is a tenth of the kernel's work per wake-up.
  sc_core::sc_event m_wake;
  std::uint64_t m_asleep_until = 0;
  std::priority_queue<Offer, std::vector<Offer>, std::greater<Offer>> m_offers;
  std::uint64_t m_seq = 0;
  std::vector<Packet> m_packets;  // by tag
  std::vector<std::uint64_t> m_free_tags;
  std::vector<noc::Delivery> m_delivered;  // scratch
};

class NocMemoryPort final : public memory::MemoryBackend,
                            private NocFabric::Receiver,
                            private memory::MemoryBackend::Client {
 public:
  // The port of the core on node `core_node`; `memory_nodes` gives each memory port's node.
  NocMemoryPort(NocFabric& fabric, memory::MemoryBackend& memory, std::uint32_t core_node,
                const std::vector<std::uint32_t>& memory_nodes);

  void transfer(const memory::Transfer& t) override;
  double peak_bytes_per_second() const override { return m_memory.peak_bytes_per_second(); }
  double idle_read_latency_seconds() const override { return m_memory.idle_read_latency_seconds(); }
  std::uint32_t access_bytes() const override { return m_memory.access_bytes(); }
  void locate(const memory::Transfer& t, std::vector<Access>& out) const override {
    m_memory.locate(t, out);
  }
  void access(std::uint32_t, const std::uint64_t*, std::size_t, bool, std::uint32_t,
              memory::MemoryBackend::Client&, std::uint64_t, const sc_core::sc_time&) override;

 private:
  struct TransferState;
  // One message: its accesses, and where it is (request or response on its way).
  struct Message {
    TransferState* transfer;
    std::uint32_t port, node;  // memory port and its node
    std::uint64_t first;       // its accesses: words[first .. first + count)
    std::uint32_t count;
    bool responding = false;  // the response or acknowledgement is on its way
  };
  struct TransferState {
    bool write = false;
    std::uint32_t source = 0;
    std::uint64_t outstanding = 0;
    sc_core::sc_event done;
    sc_core::sc_time done_at;          // when the last response or acknowledgement was delivered
    std::vector<std::uint64_t> words;  // the accesses, grouped by port
    std::vector<Message> messages;
  };

  void delivered(std::uint64_t cookie, const sc_core::sc_time& at) override;
  void access_done(std::uint64_t cookie, const sc_core::sc_time& complete) override;

  NocFabric& m_fabric;
  memory::MemoryBackend& m_memory;
  std::uint32_t m_core_node;
  const std::vector<std::uint32_t>& m_memory_nodes;
  // Scratch of transfer(), used before it first waits.
  std::vector<Access> m_located;
  std::vector<std::uint64_t> m_count, m_next, m_open;         // per memory port
  std::vector<std::unique_ptr<TransferState>> m_free_states;  // finished transfers' states
};

}  // namespace llmsim::chip
