#pragma once
// A pipelined memory with a fixed latency and a fixed data-bus bandwidth, in its own clock
// domain. A transfer occupies the bus for ceil(bytes / bus_bytes_per_cycle) cycles, first come
// first served; its data is done `latency_cycles` after its last bus cycle. Transfers from
// several requesters queue on the bus, so the total bandwidth is never exceeded.
// The placeholder for the HBM controller: same interface (MemoryBackend), type "simple".
#include "arch/memory/memory_backend.h"
#include "sim/core/stats.h"

namespace llmsim::memory {

struct SimpleMemoryParams {
  double clock_mhz = 1000;
  std::uint64_t bus_bytes_per_cycle = 64;
  std::uint64_t latency_cycles = 100;

  static SimpleMemoryParams parse(config::Reader& r);
};

class SimpleMemory final : public sc_core::sc_module, public MemoryBackend {
 public:
  SimpleMemory(const sc_core::sc_module_name& name, const SimpleMemoryParams& p,
               stats::Group& parent);

  void transfer(const Transfer& t) override;
  double peak_bytes_per_second() const override;
  // One bus beat and the latency: (1 + latency_cycles) memory cycles.
  double idle_read_latency_seconds() const override;
  // One port; an access is one bus beat (bus_bytes_per_cycle), named by its address, so a port
  // access of n words is timed like a transfer of n beats.
  std::uint32_t access_bytes() const override;
  void locate(const Transfer& t, std::vector<Access>& out) const override;
  void access(std::uint32_t port, const std::uint64_t* words, std::size_t n, bool write,
              std::uint32_t source, Client& client, std::uint64_t cookie,
              const sc_core::sc_time& at) override;

  const ClockDomain& clock() const { return m_clock; }

 private:
  // Reserves the bus for `bytes` from cycle `now` on; returns the cycle the data is done.
  Cycles occupy(std::uint64_t bytes, bool write, Cycles now);

  SimpleMemoryParams m_params;
  ClockDomain m_clock;
  Cycles m_bus_free;  // first cycle at which the data bus is free

  stats::Group m_stats;
  stats::Counter m_bytes_read;
  stats::Counter m_bytes_written;
  stats::Counter m_transfers;
  stats::Counter m_busy_cycles;
  stats::Counter m_queue_cycles;
  stats::Formula m_bandwidth;
  stats::Formula m_utilisation;
};

}  // namespace llmsim::memory
