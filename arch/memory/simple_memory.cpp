#include "arch/memory/simple_memory.h"

#include "sim/core/config.h"
#include "sim/core/error.h"

namespace llmsim::memory {

SimpleMemoryParams SimpleMemoryParams::parse(config::Reader& r) {
  SimpleMemoryParams p;
  p.clock_mhz = r.clock_mhz("clock_mhz");
  p.bus_bytes_per_cycle = r.count("bus_bytes_per_cycle");
  p.latency_cycles = r.uint("latency_cycles", std::nullopt, config::kMaxLatencyCycles);
  return p;
}

SimpleMemory::SimpleMemory(const sc_core::sc_module_name& name, const SimpleMemoryParams& p,
                           stats::Group& parent)
    : sc_module(name),
      m_params(p),
      m_clock(p.clock_mhz),
      m_stats(parent, basename()),
      m_bytes_read(m_stats, "read_bytes", "byte", "bytes read"),
      m_bytes_written(m_stats, "written_bytes", "byte", "bytes written"),
      m_transfers(m_stats, "transfers", "count", "DMA transfers served"),
      m_busy_cycles(m_stats, "bus_busy_cycles", "cycle", "cycles the data bus carried data"),
      m_queue_cycles(m_stats, "queue_cycles", "cycle",
                     "cycles transfers waited for the bus, summed over transfers"),
      m_bandwidth(m_stats, "achieved_bandwidth_gb_per_s", "GB/s", "bytes moved / simulated time",
                  [this] {
                    const double s = sc_core::sc_time_stamp().to_seconds();
                    return s > 0 ? double(m_bytes_read.value() + m_bytes_written.value()) / s / 1e9
                                 : 0.0;
                  }),
      m_utilisation(m_stats, "bus_utilisation", "ratio", "busy bus cycles / elapsed cycles",
                    [this] {
                      const auto now = m_clock.now().count();
                      return now ? double(m_busy_cycles.value()) / double(now) : 0.0;
                    }) {}

double SimpleMemory::peak_bytes_per_second() const {
  return double(m_params.bus_bytes_per_cycle) * m_params.clock_mhz * 1e6;
}

double SimpleMemory::idle_read_latency_seconds() const {
  return double(1 + m_params.latency_cycles) / (m_params.clock_mhz * 1e6);
}

Cycles SimpleMemory::occupy(std::uint64_t bytes, bool write, Cycles now) {
  const Cycles start = max(now, m_bus_free);
  const Cycles busy(ceil_div(bytes, m_params.bus_bytes_per_cycle));
  m_bus_free = start + busy;
  m_busy_cycles += busy.count();
  m_queue_cycles += (start - now).count();
  ++m_transfers;
  (write ? m_bytes_written : m_bytes_read) += bytes;
  return m_bus_free + Cycles(m_params.latency_cycles);
}

void SimpleMemory::transfer(const Transfer& t) {
  m_clock.wait_until(occupy(t.bytes(), t.write, m_clock.now()));
}

std::uint32_t SimpleMemory::access_bytes() const {
  return static_cast<std::uint32_t>(m_params.bus_bytes_per_cycle);
}

void SimpleMemory::locate(const Transfer& t, std::vector<Access>& out) const {
  const std::uint64_t ab = access_bytes();
  for (std::uint64_t row = 0; row < t.rows; ++row) {
    const std::uint64_t begin = t.addr + row * t.stride_bytes, end = begin + t.row_bytes;
    for (std::uint64_t a = begin / ab * ab; a < end; a += ab) out.push_back({0, a});
  }
}

void SimpleMemory::access(std::uint32_t port, const std::uint64_t*, std::size_t n, bool write,
                          std::uint32_t, Client& client, std::uint64_t cookie,
                          const sc_core::sc_time& at) {
  LLMSIM_CHECK(port == 0 && n > 0, "simple memory: bad port access");
  client.access_done(
      cookie, m_clock.to_time(occupy(n * access_bytes(), write, m_clock.cycles_at_or_after(at))));
}

namespace {

std::unique_ptr<MemoryBackend> make_simple(const std::string& name, config::Reader& r,
                                           stats::Group& parent) {
  return std::make_unique<SimpleMemory>(name.c_str(), SimpleMemoryParams::parse(r), parent);
}

}  // namespace

LLMSIM_REGISTER(MemoryRegistry, "simple", make_simple)

}  // namespace llmsim::memory
