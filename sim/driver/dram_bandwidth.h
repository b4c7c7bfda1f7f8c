#pragma once
// DRAM bandwidth as the memory model delivers it for a strided block pattern: the table behind
// workloads::Target::dram_bandwidth, for the mapper's cost model (issue 20).
//
// The pattern measured (Target::DramPattern {row_bytes B, stride_bytes S, streams N}):
//   N requesters (cores) read at once. Each reads blocks of R = max(1, kBlockBytes / B) rows of
//   B contiguous bytes, S bytes apart. The requesters sweep one matrix together: P = min(N,
//   S / B) of them side by side across its width (requester i's rows start at i mod P times B:
//   neighbouring output tiles' operands), the N / P groups of P one block below the other
//   (neighbouring row bands). Requester i's block k starts at row ((k N/P + i / P) R) of the
//   matrix, at column byte (i mod P) B, the matrix at address 0. Contiguous (S == B): P = 1, and
//   the requesters take turns on consecutive blocks of R B bytes.
//   Each requester keeps `outstanding` blocks in flight (the DMA engine's
//   max_outstanding_blocks) and issues its next block the cycle one completes; a block is
//   offered at once, row by row, each burst to its pseudo channel's queue (held in front of the
//   queue while it is full, as the chip's HBM memory does: hbm_memory.h). Reads only: tile
//   stores are priced as reads of the same pattern (the controllers treat reads and writes
//   alike but for write drain and turnaround, not measured).
//
// HBM: simulated on the memory alone (HbmSystem, controllers advanced lazily in plain C++ as
// `llmsim memtest` does; a memory behind the NoC is measured without it) with refresh off,
// over a window of kWindowCycles DRAM cycles after kWarmupCycles; the result is scaled by the
// share of time refresh leaves (refresh_availability below: a closed form, since one refresh
// interval, 3.9 us, is more traffic than a point may cost to simulate). Bandwidth = bytes of
// the bursts whose data completes in the window / the window.
// Simple memory (memory.type "simple", one FCFS bus): the closed form of its timing. A block
// of b = R B bytes holds the bus s = ceil(b / bus_bytes_per_cycle) cycles and completes
// latency_cycles L later; N x outstanding blocks circulate, so the bus carries
// min(b / s, N outstanding b / (s + L)) bytes per cycle (a closed cyclic queue with one
// deterministic server and a pure delay).
//
// Not modelled here (the cost model's part): the DMA engine's own datapath rate, the NoC.
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "sim/core/config.h"
#include "workloads/target.h"

namespace llmsim::driver {

using DramPattern = workloads::Target::DramPattern;

// The bytes a requester's block holds (R = max(1, kBlockBytes / row_bytes) rows).
inline constexpr std::uint64_t kBlockBytes = 16384;
// The table's grid (powers of two): row_bytes from the memory's access (a burst or bus beat)
// to kMaxRowBytes, stride_bytes from row_bytes to kMaxStrideBytes.
inline constexpr std::uint64_t kMaxRowBytes = 16384;
inline constexpr std::uint64_t kMaxStrideBytes = std::uint64_t(1) << 20;
// HBM measurement window: after a warm-up of max(kWarmupBursts, kWarmupGenerations x the
// bursts of the requesters' first blocks), the cycles kWindowBursts more bursts take (at most
// kMaxCycles DRAM cycles in all). Against 16 times longer warm-up and window, hbm2-stack's
// 120 grid points (llmsim memtest --pattern-table, 4 cores) move at most 1.1 %; datacenter's
// 112 of 120 within 2 %, 8 sparse ones (rows at 64 times their size apart) from -3.5 % to
// +8.6 %: their start-up, when every bank is fresh, lasts tens of thousands of bursts.
inline constexpr std::uint64_t kWarmupBursts = 4096;
inline constexpr std::uint64_t kWarmupGenerations = 2;
inline constexpr std::uint64_t kWindowBursts = 8192;
inline constexpr std::uint64_t kMaxCycles = std::uint64_t(1) << 20;

struct DramMeasurement {
  double bytes_per_second = 0;       // refresh included
  double peak_bytes_per_second = 0;  // all interfaces, no refresh
  double refresh_availability = 1;   // the factor applied for refresh (HBM)
  std::uint64_t bursts = 0;          // bursts offered (HBM; 0 for the closed form)
  std::uint64_t window_cycles = 0;   // HBM: DRAM cycles measured
  double row_hit_rate = 0;           // HBM
  double cpu_seconds = 0;            // the measurement's cost
};

// The memory a table measures: a resolved `memory` config object (as saved beside the stats).
class DramBandwidthTable {
 public:
  // `outstanding`: blocks each requester keeps in flight (>= 1); `max_streams`: requesters at
  // most (the chip's cores). ConfigError if `memory` does not parse.
  DramBandwidthTable(const config::Json& memory, std::uint64_t outstanding,
                     std::uint32_t max_streams);
  ~DramBandwidthTable();
  // The table of a resolved arch config (run.h validate()): its memory, its cores' DMA
  // max_outstanding_blocks and num_cores.
  static DramBandwidthTable for_arch(const config::Json& resolved);

  // Bytes per second the memory delivers on `p`, from the table: `p` quantised (quantise()),
  // measured on first use and cached process-wide (thread-safe) by the memory's config, the
  // outstanding blocks and the quantised pattern; rows shorter than an access are charged the
  // whole access. Contract: p.row_bytes > 0, p.streams > 0.
  double bytes_per_second(const DramPattern& p) const;
  double peak_bytes_per_second() const;
  // The grid point `p` is priced at, rounded towards less bandwidth:
  //   streams      min(streams, max_streams), down to a power of two (fewer requesters);
  //   row_bytes    down to a power of two in [access_bytes, kMaxRowBytes] (shorter rows);
  //   stride_bytes == row_bytes if p is contiguous (stride <= row_bytes), else up to a power of
  //                two in [2 row_bytes, kMaxStrideBytes] (sparser; a stride not a power of two
  //                is priced as the next one, whose rows land on no more interfaces).
  DramPattern quantise(const DramPattern& p) const;
  std::uint32_t access_bytes() const;
  // Measures `p` as it is (no quantising, no cache); `scale` multiplies the HBM warm-up and
  // window (to check that they reach the steady state).
  DramMeasurement measure(const DramPattern& p, std::uint64_t scale = 1) const;

 private:
  struct Model;
  std::unique_ptr<Model> m_model;
};

// Measurements taken (cache misses) in this process, for tests.
std::uint64_t dram_bandwidth_measurements();

// `llmsim memtest --pattern-table`: the grid points row_bytes (powers of two from the access
// to kMaxRowBytes) x stride (row_bytes, 2, 8 and 64 times it, at most kMaxStrideBytes) x
// streams (powers of two up to the cores), each measured once.
struct DramTableRow {
  DramPattern pattern;
  DramMeasurement measured;
};
std::vector<DramTableRow> dram_pattern_table(const DramBandwidthTable& table,
                                             std::uint32_t max_streams);
config::Json to_json(const std::vector<DramTableRow>& rows);
void print_dram_pattern_table(std::ostream& os, const std::vector<DramTableRow>& rows);

}  // namespace llmsim::driver
