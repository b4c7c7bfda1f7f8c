#include "arch/chip/noc_memory.h"

#include <algorithm>

#include "sim/core/error.h"

namespace llmsim::chip {

NocFabric::NocFabric(const sc_core::sc_module_name& name, const noc::NocParams& p,
                     stats::Group& parent)
    : sc_module(name), m_clock(p.clock_mhz), m_network(noc::make_network(p, parent, basename())) {
  sc_core::sc_spawn([this] { run(); }, "fabric");
}

void NocFabric::send(std::uint32_t src, std::uint32_t dst, std::uint32_t flits,
                     const sc_core::sc_time& at, std::uint32_t cls, Receiver& to,
                     std::uint64_t cookie, std::uint32_t rank) {
  LLMSIM_CHECK(rank < (1u << (64 - kSeqBits)) && m_seq < (std::uint64_t{1} << kSeqBits),
               "noc: packet rank or offer count beyond the order word");
  std::uint64_t tag;
  if (m_free_tags.empty()) {
    tag = m_packets.size();
    m_packets.emplace_back();
  } else {
    tag = m_free_tags.back();
    m_free_tags.pop_back();
  }
  const std::uint64_t cycle = m_clock.cycles_at_or_after(at).count();
  m_packets[tag] = Packet{cycle, src, dst, flits, cls, &to, cookie};
  m_offers.push(Offer{at.value(), std::uint64_t{rank} << kSeqBits | m_seq++, tag});
  // A packet for the cycle the fabric sleeps until, or later, is found when it wakes.
  if (cycle < m_asleep_until) m_wake.notify(sc_core::SC_ZERO_TIME);
}

void NocFabric::run() {
  constexpr std::uint64_t kNone = ~std::uint64_t{0};
  for (;;) {
    std::uint64_t next = kNone;
    if (const auto e = m_network->next_event_cycle()) next = *e;
    if (!m_offers.empty()) next = std::min(next, m_packets[m_offers.top().tag].cycle);
    if (next == kNone) {
      m_asleep_until = kNone;
      sc_core::wait(m_wake);
      m_asleep_until = 0;
      continue;
    }
    const sc_core::sc_time at = m_clock.mid_cycle(next);
    const sc_core::sc_time now = sc_core::sc_time_stamp();
    // Sleep until `at` unless no other process can act before it (see the header).
    if (at > now && !kernel::quiet_through(at)) {
      m_asleep_until = next;
      m_wake.notify(at - now);
      sc_core::wait(m_wake);
      m_asleep_until = 0;
      if (sc_core::sc_time_stamp() < at) continue;  // an earlier packet: decide again
    }
    while (!m_offers.empty() && m_packets[m_offers.top().tag].cycle <= next) {
      const std::uint64_t tag = m_offers.top().tag;
      m_offers.pop();
      const Packet& p = m_packets[tag];
      m_network->send(p.src, p.dst, p.flits, p.cycle, tag, p.cls);
    }
    m_delivered.clear();
    m_network->advance(next, m_delivered);
    for (const noc::Delivery& d : m_delivered) {
      const Packet& p = m_packets[d.tag];
      Receiver* const to = p.to;
      const std::uint64_t cookie = p.cookie;
      m_free_tags.push_back(d.tag);
      to->delivered(cookie, at);
    }
  }
}

NocMemoryPort::NocMemoryPort(NocFabric& fabric, memory::MemoryBackend& memory,
                             std::uint32_t core_node,
                             const std::vector<std::uint32_t>& memory_nodes)
    : m_fabric(fabric),
      m_memory(memory),
      m_core_node(core_node),
      m_memory_nodes(memory_nodes),
      m_count(memory.ports()),
      m_next(memory.ports()),
      m_open(memory.ports(), 0) {
  LLMSIM_CHECK(memory_nodes.size() == memory.ports(), "noc: one node per memory port");
}

void NocMemoryPort::access(std::uint32_t, const std::uint64_t*, std::size_t, bool, std::uint32_t,
                           memory::MemoryBackend::Client&, std::uint64_t, const sc_core::sc_time&) {
  throw InternalError("noc: a core's memory port takes whole transfers only");
}

void NocMemoryPort::transfer(const memory::Transfer& t) {
  m_located.clear();
  m_memory.locate(t, m_located);
  const noc::NocParams& np = m_fabric.params();
  const std::uint64_t ab = m_memory.access_bytes();
  const std::uint64_t per_message = std::max<std::uint64_t>(1, np.packet_payload_bytes / ab);

  // The words grouped by port (each port's in walk order); a message starts at every
  // per_message-th word of a port, and messages are numbered in the walk order of their first
  // word.
  // A state from the pool (its vectors keep their capacity): the transfer waits below, and
  // other transfers of this port may start meanwhile.
  if (m_free_states.empty()) m_free_states.push_back(std::make_unique<TransferState>());
  std::unique_ptr<TransferState> held = std::move(m_free_states.back());
  m_free_states.pop_back();
  TransferState& st = *held;
  st.write = t.write;
  st.source = t.source;
  st.messages.clear();
  std::fill(m_count.begin(), m_count.end(), 0);
  for (const Access& a : m_located) ++m_count[a.port];
  for (std::uint64_t port = 0, offset = 0; port < m_count.size(); ++port) {
    m_next[port] = offset;
    offset += m_count[port];
  }
  st.words.resize(m_located.size());
  // m_count now counts each port's words not yet in a message, m_open the room left in its
  // last message (0 at the start and, every message filled, at the end).
  for (const Access& a : m_located) {
    const std::uint64_t i = m_next[a.port]++;
    st.words[i] = a.word;
    if (m_open[a.port] == 0) {
      const auto count = static_cast<std::uint32_t>(std::min(per_message, m_count[a.port]));
      m_count[a.port] -= count;
      m_open[a.port] = count;
      st.messages.push_back(Message{&st, a.port, m_memory_nodes[a.port], i, count});
    }
    --m_open[a.port];
  }

  st.outstanding = st.messages.size();
  const sc_core::sc_time now = sc_core::sc_time_stamp();
  const std::uint32_t cls = t.write ? 1 : 0;
  for (Message& m : st.messages) {
    const std::uint64_t bytes = t.write ? m.count * ab : 0;
    m_fabric.send(m_core_node, m.node, np.packet_flits(bytes), now, cls, *this,
                  reinterpret_cast<std::uintptr_t>(&m));
  }
  while (st.outstanding > 0) sc_core::wait(st.done);
  // The fabric may have delivered the last response ahead of the kernel's time.
  kernel::wait_until(st.done_at);
  m_free_states.push_back(std::move(held));
}

void NocMemoryPort::delivered(std::uint64_t cookie, const sc_core::sc_time& at) {
  Message& m = *reinterpret_cast<Message*>(static_cast<std::uintptr_t>(cookie));
  TransferState& st = *m.transfer;
  if (!m.responding) {  // a request reached the memory port's node
    m_memory.access(m.port, st.words.data() + m.first, m.count, st.write, st.source, *this, cookie,
                    at);
  } else if (--st.outstanding == 0) {
    // The transfer's thread wakes now and waits until `at` in the model's order of wake-ups.
    st.done_at = at;
    st.done.notify(sc_core::SC_ZERO_TIME);
  }
}

void NocMemoryPort::access_done(std::uint64_t cookie, const sc_core::sc_time& complete) {
  Message& m = *reinterpret_cast<Message*>(static_cast<std::uintptr_t>(cookie));
  m.responding = true;
  const std::uint64_t bytes = m.transfer->write ? 0 : m.count * m_memory.access_bytes();
  m_fabric.send(m.node, m_core_node, m_fabric.params().packet_flits(bytes),
                std::max(complete, sc_core::sc_time_stamp()), m.transfer->write ? 1 : 0, *this,
                cookie, m.port);
}

}  // namespace llmsim::chip
