#include "arch/chip/noc_memory.h"

#include <algorithm>

#include "sim/core/error.h"

namespace llmsim::chip {

NocFabric::NocFabric(const sc_core::sc_module_name& name, const noc::NocParams& p,
                     stats::Group& parent)
    : sc_module(name), m_clock(p.clock_mhz), m_network(p, parent, basename()) {
  sc_core::sc_spawn([this] { run(); }, "fabric");
}

void NocFabric::send(std::uint32_t src, std::uint32_t dst, std::uint32_t flits,
                     const sc_core::sc_time& at, std::uint32_t cls, Delivered delivered) {
  std::uint64_t tag;
  if (m_free_tags.empty()) {
    tag = m_callbacks.size();
    m_callbacks.emplace_back();
  } else {
    tag = m_free_tags.back();
    m_free_tags.pop_back();
  }
  m_callbacks[tag] = std::move(delivered);
  const std::uint64_t cycle = m_clock.cycles_at_or_after(at).count();
  m_offers.push(Offer{cycle, m_seq++, src, dst, flits, cls, tag});
  m_offered.notify(sc_core::SC_ZERO_TIME);
}

void NocFabric::run() {
  constexpr std::uint64_t kNone = ~std::uint64_t{0};
  for (;;) {
    std::uint64_t next = kNone;
    if (const auto e = m_network.next_event_cycle()) next = *e;
    if (!m_offers.empty()) next = std::min(next, m_offers.top().cycle);
    if (next == kNone) {
      sc_core::wait(m_offered);
      continue;
    }
    const sc_core::sc_time at = m_clock.period() * (double(next) + 0.5);
    const sc_core::sc_time now = sc_core::sc_time_stamp();
    if (at > now) {
      sc_core::wait(at - now, m_offered);
      if (sc_core::sc_time_stamp() < at) continue;  // a new packet: decide again
    }
    while (!m_offers.empty() && m_offers.top().cycle <= next) {
      const Offer o = m_offers.top();
      m_offers.pop();
      m_network.send(o.src, o.dst, o.flits, o.cycle, o.tag, o.cls);
    }
    m_delivered.clear();
    m_network.advance(next, m_delivered);
    for (const noc::Delivery& d : m_delivered) {
      Delivered cb = std::move(m_callbacks[d.tag]);
      m_free_tags.push_back(d.tag);
      cb();
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
      m_by_port(memory.ports()) {
  LLMSIM_CHECK(memory_nodes.size() == memory.ports(), "noc: one node per memory port");
}

void NocMemoryPort::access(std::uint32_t, const std::vector<std::uint64_t>&, bool, std::uint32_t,
                           AccessDone) {
  throw InternalError("noc: a core's memory port takes whole transfers only");
}

void NocMemoryPort::transfer(const memory::Transfer& t) {
  const std::uint64_t ab = m_memory.access_bytes();
  for (auto& v : m_by_port) v.clear();
  for (std::uint64_t row = 0; row < t.rows; ++row) {
    const std::uint64_t begin = t.addr + row * t.stride_bytes, end = begin + t.row_bytes;
    for (std::uint64_t a = begin / ab * ab; a < end; a += ab) {
      m_by_port[m_memory.port_of(a)].push_back(a);
    }
  }

  struct State {
    std::uint64_t outstanding = 0;
    sc_core::sc_event done;
  } st;
  const noc::NocParams& np = m_fabric.params();
  const std::uint64_t per_message = std::max<std::uint64_t>(1, np.packet_payload_bytes / ab);
  const sc_core::sc_time now = sc_core::sc_time_stamp();
  const bool write = t.write;
  const std::uint32_t source = t.source;
  // Messages leave in the order of their first address, as the DMA engine walks the transfer:
  // with addresses interleaved over the ports, every port gets its first message early.
  m_messages.clear();
  for (std::uint32_t port = 0; port < m_by_port.size(); ++port) {
    for (std::size_t i = 0; i < m_by_port[port].size(); i += per_message) {
      m_messages.push_back({m_by_port[port][i], port, static_cast<std::uint32_t>(i)});
    }
  }
  std::sort(m_messages.begin(), m_messages.end(),
            [](const Message& a, const Message& b) { return a.first_addr < b.first_addr; });
  for (const Message& m : m_messages) {
    const std::uint32_t port = m.port;
    const std::vector<std::uint64_t>& all = m_by_port[port];
    {
      const std::size_t i = m.begin;
      std::vector<std::uint64_t> chunk(all.begin() + i,
                                       all.begin() + std::min(all.size(), i + per_message));
      const std::uint64_t bytes = chunk.size() * ab;
      const std::uint32_t node = m_memory_nodes[port];
      ++st.outstanding;
      auto response = [this, node, write, bytes, &st](const sc_core::sc_time& complete) {
        m_fabric.send(node, m_core_node, m_fabric.params().packet_flits(write ? 0 : bytes),
                      std::max(complete, sc_core::sc_time_stamp()), write ? 1 : 0, [&st] {
                        if (--st.outstanding == 0) st.done.notify(sc_core::SC_ZERO_TIME);
                      });
      };
      m_fabric.send(m_core_node, node, np.packet_flits(write ? bytes : 0), now, write ? 1 : 0,
                    [this, port, chunk = std::move(chunk), write, source, response] {
                      m_memory.access(port, chunk, write, source, response);
                    });
    }
  }
  while (st.outstanding > 0) sc_core::wait(st.done);
}

}  // namespace llmsim::chip
