#pragma once
// The memory behind the DMA engines. Implementations: "simple" (a latency + bandwidth pipe, this
// folder) and, later, "hbm" (a DRAM controller scheduling real commands, arch/hbm/). Chosen by
// the arch config key `memory.type`.
#include <cstdint>
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
namespace timeline {
class Timeline;
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
  std::uint32_t source = 0;  // requesting core: per-source accounting, and the order of
                             // requests arriving at a memory in the same cycle

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

  // Seconds from a lone read's arrival at an idle memory to its last byte: the memory's part of
  // a DMA round trip, for the mapper's cost model (HBM: a row miss on an idle bank).
  virtual double idle_read_latency_seconds() const = 0;

  // Row-buffer hit rate, for memories that have rows.
  virtual std::optional<double> row_hit_rate() const { return std::nullopt; }

  // Addressable bytes, for memories with a capacity (nullopt: unbounded).
  virtual std::optional<std::uint64_t> capacity_bytes() const { return std::nullopt; }

  // The address period after which the memory maps addresses alike (HBM: AddressMapping::
  // period_bytes); 0 for memories whose timing does not depend on the address.
  virtual std::uint64_t interleave_period_bytes() const { return 0; }

  // Before the simulation: records the memory's activity on `tl` (a process of its own), for
  // memories that have a timeline view (HBM); others record nothing.
  virtual void trace_to(timeline::Timeline&) {}

  // --- Ports, for an interconnect in front of the memory (arch/chip/noc_memory.h) ---
  // The memory is cut into `ports()` independent request queues (HBM: one per pseudo channel),
  // each owning part of the address space; an access moves `access_bytes()` at an aligned
  // address.
  virtual std::uint32_t ports() const { return 1; }
  virtual std::uint32_t access_bytes() const = 0;
  // One access of a transfer: the port that owns it and a word that names it to access() (the
  // memory's own encoding, e.g. an address already decoded into bank, row and column).
  struct Access {
    std::uint32_t port;
    std::uint64_t word;
  };
  // Appends the accesses of `t` in the order a DMA engine walks it: row by row, each row's
  // aligned accesses in address order. WorkloadError for an address beyond the memory.
  virtual void locate(const Transfer& t, std::vector<Access>& out) const = 0;
  // Told when a port access is complete.
  class Client {
   public:
    virtual void access_done(std::uint64_t cookie, const sc_core::sc_time& complete) = 0;

   protected:
    ~Client() = default;
  };
  // Split transaction, does not wait: the accesses named by words[0 .. n) (words from
  // locate(), all on `port`, n >= 1) enter the port's queue at time `at`.
  // client.access_done(cookie, t) is called exactly once, from whichever process the memory
  // runs it in (possibly before access() returns), with the time t at which the last of them is
  // complete (read data delivered, write data accepted); t may lie in the future. Contract:
  // called from SystemC processes, with at >= the current SystemC time and no other process
  // able to act before `at` (a caller that runs ahead of the kernel, as NocFabric does, passes
  // the time it acts for), and in non-decreasing `at` across calls.
  virtual void access(std::uint32_t port, const std::uint64_t* words, std::size_t n, bool write,
                      std::uint32_t source, Client& client, std::uint64_t cookie,
                      const sc_core::sc_time& at) = 0;
};

// Factory signature: module name, the `memory` config object, the parent stats group.
using MemoryRegistry = Registry<MemoryBackend, const std::string&, config::Reader&, stats::Group&>;

}  // namespace llmsim::memory
