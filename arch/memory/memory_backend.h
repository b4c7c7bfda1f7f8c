#pragma once
// The memory behind the DMA engines. Implementations: "simple" (a latency + bandwidth pipe, this
// folder) and, later, "hbm" (a DRAM controller scheduling real commands, arch/hbm/). Chosen by
// the arch config key `memory.type`.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <systemc>

#include "sim/core/registry.h"
#include "sim/core/units.h"

namespace llmsim {
namespace config {
class Reader;
}
namespace stats {
class Group;
}
}  // namespace llmsim

namespace llmsim::memory {

// A 2-D transfer: `rows` rows of `row_bytes`, row r at addr + r * stride_bytes.
struct Transfer {
  std::uint64_t addr = 0;
  std::uint64_t rows = 1;
  std::uint64_t row_bytes = 0;
  std::uint64_t stride_bytes = 0;
  bool write = false;
  std::uint32_t source = 0;  // requesting core, for per-source accounting

  std::uint64_t bytes() const { return rows * row_bytes; }
};

class MemoryBackend {
 public:
  virtual ~MemoryBackend() = default;

  // Contract: called from an SC_THREAD, possibly by several threads at once. Returns, having
  // waited, when the whole transfer is done: the last byte of a read delivered, or the last
  // byte of a write accepted. The backend keeps its own stats.
  virtual void transfer(const Transfer& t) = 0;

  // Peak data bandwidth, for reports and sanity bounds.
  virtual double peak_bytes_per_second() const = 0;

  // After the simulation: brings state that is updated lazily (idle controllers, refreshes,
  // background energy) up to the end of the run, before the stats are read.
  virtual void finish() {}

  // Row-buffer hit rate, for memories that have rows.
  virtual std::optional<double> row_hit_rate() const { return std::nullopt; }

  // --- Ports, for an interconnect in front of the memory (arch/chip/noc_memory.h) ---
  // The memory is cut into `ports()` independent request queues (HBM: one per pseudo channel),
  // each owning part of the address space; an access is `access_bytes()` at an aligned address.
  virtual std::uint32_t ports() const { return 1; }
  virtual std::uint32_t port_of(std::uint64_t /*addr*/) const { return 0; }
  virtual std::uint32_t access_bytes() const = 0;
  // Split transaction, does not wait: the accesses at `addrs` (aligned, all owned by `port`)
  // enter the port's queue at the current SystemC time. `done` is called exactly once, from
  // whichever process the memory runs it in (possibly before access() returns), with the time at
  // which the last of them is complete (read data delivered, write data accepted); that time may
  // lie in the future. Contract as for transfer(): called from SystemC processes.
  using AccessDone = std::function<void(const sc_core::sc_time& complete)>;
  virtual void access(std::uint32_t port, const std::vector<std::uint64_t>& addrs, bool write,
                      std::uint32_t source, AccessDone done) = 0;
};

// Factory signature: module name, the `memory` config object, the parent stats group.
using MemoryRegistry = Registry<MemoryBackend, const std::string&, config::Reader&, stats::Group&>;

}  // namespace llmsim::memory
