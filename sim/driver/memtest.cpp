#include "sim/driver/memtest.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <sstream>

#include "arch/hbm/hbm_system.h"
#include "sim/core/error.h"
#include "sim/driver/memtest_trace.h"
#include "sim/driver/report.h"

namespace llmsim::driver {

const std::vector<std::string>& memtest_patterns() {
  static const std::vector<std::string> kPatterns = {"seq_read",    "seq_write",    "mixed",
                                                     "random_read", "random_write", "strided"};
  return kPatterns;
}

namespace {

using Offer = MemtestOffer;

// Yields the requests of a synthetic pattern or of a trace file, in order.
class Generator {
 public:
  enum class Pattern { seq_read, seq_write, mixed, random_read, random_write, strided, trace };

  Generator(const MemtestOptions& o, std::uint64_t capacity, std::uint64_t burst_bytes)
      : m_o(o),
        m_capacity(capacity),
        m_burst_bytes(burst_bytes),
        m_slots(capacity / o.request_bytes),
        m_rng(o.seed) {
    const std::vector<std::string>& names = memtest_patterns();
    if (!o.trace_file.empty()) {
      m_pattern = Pattern::trace;
      load_trace();
      return;
    }
    const auto it = std::find(names.begin(), names.end(), o.pattern);
    if (it == names.end()) {
      throw UserError("--pattern " + o.pattern +
                      ": unknown; patterns: seq_read, seq_write, mixed, random_read, "
                      "random_write, strided");
    }
    m_pattern = Pattern(it - names.begin());
  }

  std::uint64_t count() const { return m_o.trace_file.empty() ? m_o.requests : m_trace.size(); }

  Offer operator()(std::uint64_t k) {
    const std::uint64_t n = m_o.request_bytes;
    switch (m_pattern) {
      case Pattern::seq_read:
        return {(k % m_slots) * n, false, {}};
      case Pattern::seq_write:
        return {(k % m_slots) * n, true, {}};
      case Pattern::strided:
        return {(k * m_o.stride_bytes) % (m_slots * n) / n * n, false, {}};
      case Pattern::random_read:
      case Pattern::random_write:
        return {std::uniform_int_distribution<std::uint64_t>(0, m_slots - 1)(m_rng) * n,
                m_pattern == Pattern::random_write,
                {}};
      case Pattern::mixed: {
        // A sequential read stream and, interleaved, writes to the upper half of memory.
        const bool write = std::uniform_real_distribution<double>(0, 1)(m_rng) >= m_o.read_fraction;
        return {((k % (m_slots / 2)) + (write ? m_slots / 2 : 0)) * n, write, {}};
      }
      case Pattern::trace:
        return m_trace[k];
    }
    return {};
  }

 private:
  // A trace request is one burst; m_burst_bytes is the memory's burst.
  void load_trace() {
    std::ifstream in(m_o.trace_file);
    if (!in) throw UserError(m_o.trace_file + ": cannot open trace file");
    m_trace = read_memtest_trace(in, m_o.trace_file, m_capacity, m_burst_bytes);
  }

  MemtestOptions m_o;
  std::uint64_t m_capacity;
  std::uint64_t m_burst_bytes;
  std::uint64_t m_slots;
  Pattern m_pattern = Pattern::seq_read;
  std::mt19937_64 m_rng;
  std::vector<Offer> m_trace;
};

hbm::HbmParams parse_memory(const config::Json& arch, const std::vector<std::string>& overrides) {
  config::Json doc = config::with_overrides(arch, overrides);
  config::Json resolved;
  config::Reader root(doc, "", resolved);
  if (!doc.contains("memory")) root.fail("memory", "is required for memtest");
  config::Reader mem = root.child("memory");
  if (mem.string("type", std::string("simple")) != "hbm") {
    mem.fail("type", "must be \"hbm\" for memtest (the simple memory has no controller to test)");
  }
  hbm::HbmParams p = hbm::HbmParams::parse(mem);
  mem.finish();
  return p;
}

std::string text(double x) {
  std::ostringstream os;
  os << x;
  return os.str();
}

// The limits of memtest.h, before anything is built: every message names the option.
void check_options(const MemtestOptions& o, std::uint64_t capacity, std::uint64_t burst,
                   double bytes_per_cycle) {
  const std::vector<std::string>& names = memtest_patterns();
  if (o.trace_file.empty() && std::find(names.begin(), names.end(), o.pattern) == names.end()) {
    throw UserError(
        "--pattern " + o.pattern +
        ": unknown; patterns: seq_read, seq_write, mixed, random_read, random_write, strided");
  }
  if (!(std::isfinite(o.rate_gb_per_s) && o.rate_gb_per_s >= 0)) {
    throw UserError("--rate " + text(o.rate_gb_per_s) +
                    ": must be a finite number >= 0 (GB/s; 0 = as fast as accepted)");
  }
  if (!o.trace_file.empty()) return;  // the trace's own checks follow its reading
  if (o.requests == 0 || o.requests > kMaxMemtestRequests) {
    throw UserError("--requests " + std::to_string(o.requests) + ": must be an integer from 1 to " +
                    std::to_string(kMaxMemtestRequests));
  }
  const bool mixed = o.pattern == "mixed";
  const std::uint64_t max_bytes = mixed ? capacity / 2 : capacity;
  if (o.request_bytes == 0 || o.request_bytes > max_bytes) {
    throw UserError("--bytes " + std::to_string(o.request_bytes) +
                    ": must be a positive integer at most " +
                    (mixed ? "half the capacity, " + std::to_string(max_bytes) +
                                 ", for --pattern mixed (its writes go to the upper half)"
                           : "the capacity, " + std::to_string(capacity)));
  }
  // The patterns' addresses are multiples of B: a request of B bytes spans B / burst bursts
  // when the burst divides B, else at most ceil((B - 1) / burst) + 1.
  const std::uint64_t b = o.request_bytes;
  const std::uint64_t spans = b % burst == 0 ? b / burst : (b + burst - 2) / burst + 1;
  if (o.requests > kMaxMemtestBursts / spans) {
    throw UserError("--requests " + std::to_string(o.requests) + " of --bytes " +
                    std::to_string(b) + ": " + std::to_string(spans) + " bursts of " +
                    std::to_string(burst) + " bytes each, more than the " +
                    std::to_string(kMaxMemtestBursts) + " bursts a run may simulate");
  }
  if (o.pattern == "strided" && (o.stride_bytes == 0 || o.stride_bytes > capacity)) {
    throw UserError("--stride " + std::to_string(o.stride_bytes) +
                    ": must be a positive integer at most the capacity, " +
                    std::to_string(capacity));
  }
  if (mixed && !(o.read_fraction >= 0 && o.read_fraction <= 1)) {
    throw UserError("--read-fraction " + text(o.read_fraction) + ": must be in [0, 1]");
  }
  const double offered_cycles =
      bytes_per_cycle > 0 ? double(o.requests) * double(o.request_bytes) / bytes_per_cycle : 0;
  if (offered_cycles > double(kMaxMemtestCycles)) {
    throw UserError("--rate " + text(o.rate_gb_per_s) + ": offering " + std::to_string(o.requests) +
                    " requests of " + std::to_string(o.request_bytes) + " bytes takes " +
                    text(offered_cycles) + " DRAM cycles, more than the " +
                    std::to_string(kMaxMemtestCycles) + " a run may simulate");
  }
}

// A trace as its reader returned it, against the limits of memtest.h.
void check_trace(const MemtestOptions& o, std::uint64_t n, std::uint64_t burst,
                 double bytes_per_cycle) {
  // Its lines (at most 2^24) and cycles (at most 2^32) are bounded by read_memtest_trace, well
  // within kMaxMemtestRequests and kMaxMemtestCycles; what --rate makes of them is not.
  static_assert(MemtestTraceLimits{}.max_lines <= kMaxMemtestRequests &&
                    MemtestTraceLimits{}.max_cycle <= kMaxMemtestCycles,
                "the trace reader's limits must be within memtest's");
  const double offered_cycles =
      bytes_per_cycle > 0 ? double(n) * double(burst) / bytes_per_cycle : 0;
  if (offered_cycles > double(kMaxMemtestCycles)) {
    throw UserError("--rate " + text(o.rate_gb_per_s) + ": offering the trace's " +
                    std::to_string(n) + " bursts takes " + text(offered_cycles) +
                    " DRAM cycles, more than the " + std::to_string(kMaxMemtestCycles) +
                    " a run may simulate");
  }
}

// The exact latency distribution: requests per latency in cycles, dense up to kDense cycles
// (8 MiB at most), sparse above (latencies that long are rare and few).
class LatencyHistogram {
 public:
  void add(std::uint64_t l) {
    if (l < kDense) {
      if (l >= m_dense.size()) m_dense.resize(std::min<std::uint64_t>(2 * l + 1, kDense), 0);
      ++m_dense[l];
    } else {
      ++m_sparse[l];
    }
  }
  // Nearest rank: the ceil(p% x n)-th smallest of the n latencies added.
  std::uint64_t percentile(double p, std::uint64_t n) const {
    const std::uint64_t rank =
        std::max<std::uint64_t>(1, std::uint64_t(std::ceil(p / 100 * double(n))));
    std::uint64_t seen = 0;
    for (std::uint64_t l = 0; l < m_dense.size(); ++l) {
      seen += m_dense[l];
      if (seen >= rank) return l;
    }
    for (const auto& [l, count] : m_sparse) {
      seen += count;
      if (seen >= rank) return l;
    }
    return m_sparse.empty() ? m_dense.size() - 1 : m_sparse.rbegin()->first;
  }

 private:
  static constexpr std::uint64_t kDense = 1 << 20;
  std::vector<std::uint64_t> m_dense = std::vector<std::uint64_t>(1024, 0);
  std::map<std::uint64_t, std::uint64_t> m_sparse;
};

}  // namespace

MemtestResult run_memtest(const config::Json& arch, const std::vector<std::string>& overrides,
                          const MemtestOptions& o) {
  const auto wall_start = std::chrono::steady_clock::now();
  const hbm::HbmParams params = parse_memory(arch, overrides);
  const std::uint64_t capacity = params.spec.org.capacity_bytes();
  const std::uint64_t burst = params.spec.org.burst_bytes();
  const hbm::Timing& tm = params.spec.timing;
  const double bytes_per_cycle = o.rate_gb_per_s * 1e9 / (tm.clock_mhz * 1e6);
  check_options(o, capacity, burst, bytes_per_cycle);
  Generator gen(o, capacity, burst);
  const std::uint64_t n = gen.count();
  if (!o.trace_file.empty()) check_trace(o, n, burst, bytes_per_cycle);
  stats::Group root("memory");
  hbm::HbmSystem sys(params, root, "memory");

  struct Inflight {
    std::uint64_t arrival = 0, last_done = 0;
    std::uint32_t outstanding = 0;
  };
  // A request holds a queue slot until its last burst's command issues, so at most all the
  // queue slots' worth are in flight: a window of twice that (a power of two) never wraps onto
  // a live request (checked below).
  const std::uint64_t slots =
      std::uint64_t(sys.interfaces()) *
      (params.controller.read_queue_depth + params.controller.write_queue_depth);
  std::uint64_t window = 1;
  while (window < 2 * slots) window *= 2;
  std::vector<Inflight> inflight(window);
  const std::uint64_t window_mask = window - 1;
  LatencyHistogram latency;
  std::uint64_t completed = 0;
  double latency_sum = 0;
  std::vector<hbm::Request> done;
  std::uint64_t now = 0, last = 0, total_bytes = 0;
  auto collect = [&] {
    for (const hbm::Request& r : done) {
      Inflight& f = inflight[r.id & window_mask];
      f.last_done = std::max(f.last_done, r.done);
      if (--f.outstanding == 0) {
        const std::uint64_t l = f.last_done - f.arrival;
        latency.add(l);
        ++completed;
        latency_sum += double(l);
        last = std::max(last, f.last_done);
      }
    }
    done.clear();
  };
  for (std::uint64_t k = 0; k < n; ++k) {
    const Offer off = gen(k);
    const std::uint64_t bytes = o.trace_file.empty() ? o.request_bytes : burst;
    if (off.cycle) now = std::max(now, *off.cycle);
    if (bytes_per_cycle > 0) {
      // Offered at the rate: request k once the k requests before it have been (bounded by
      // kMaxMemtestCycles, checked above).
      now = std::max(now, std::uint64_t(std::ceil(double(total_bytes) / bytes_per_cycle)));
    }
    Inflight& slot = inflight[k & window_mask];
    LLMSIM_CHECK(slot.outstanding == 0, "memtest: request window overrun");
    slot = Inflight{now, 0, 0};
    total_bytes += bytes;
    // The bursts [first, last] the request's bytes touch, counted without forming
    // addr + bytes (which wraps at the top of the address space).
    const std::uint64_t first = off.addr / burst;
    const std::uint64_t last_burst = first + (off.addr % burst + bytes - 1) / burst;
    for (std::uint64_t b = first; b <= last_burst; ++b) {
      const hbm::DecodedAddress d = sys.mapping().decode(b * burst);
      hbm::ChannelController& c = sys.controller(d.interface);
      now = c.advance_to_room(off.write, now, done);  // the generator stalls: in-order requester
      ++slot.outstanding;
      c.enqueue({k, off.write, {d.bank_group, d.bank, d.row, d.column}, now, 0});
    }
    collect();
  }
  for (std::uint32_t i = 0; i < sys.interfaces(); ++i) {
    hbm::ChannelController& c = sys.controller(i);
    while (auto next = c.next_command_cycle()) c.advance(*next + 1, done);
  }
  collect();
  LLMSIM_CHECK(completed == n, "memtest: a request never completed");
  // Every controller to the end of the run: refreshes and background energy of idle ones.
  for (std::uint32_t i = 0; i < sys.interfaces(); ++i) {
    if (last > sys.controller(i).now()) sys.controller(i).advance(last, done);
  }

  MemtestResult r;
  r.device = params.spec.name;
  r.requests = n;
  r.bytes = total_bytes;
  r.cycles = last;
  const double ns_per_cycle = 1e3 / tm.clock_mhz;
  r.seconds = double(last) * ns_per_cycle * 1e-9;
  r.achieved_bandwidth_gbps = r.seconds > 0 ? double(total_bytes) / r.seconds / 1e9 : 0;
  r.peak_bandwidth_gbps = params.spec.peak_bytes_per_second() / 1e9;
  r.offered_bandwidth_gbps = o.rate_gb_per_s;
  r.avg_latency_cycles = latency_sum / double(n);
  r.p50_latency_cycles = latency.percentile(50, n);
  r.p99_latency_cycles = latency.percentile(99, n);
  r.avg_latency_ns = r.avg_latency_cycles * ns_per_cycle;
  r.p50_latency_ns = double(r.p50_latency_cycles) * ns_per_cycle;
  r.p99_latency_ns = double(r.p99_latency_cycles) * ns_per_cycle;
  r.row_hit_rate = sys.row_hit_rate();
  r.energy_pj_per_bit = total_bytes ? sys.energy_pj() / (double(total_bytes) * 8) : 0;
  r.stats = root.values_json();
  r.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return r;
}

config::Json MemtestResult::to_json() const {
  return {{"device", device},
          {"requests", requests},
          {"bytes", bytes},
          {"cycles", cycles},
          {"seconds", seconds},
          {"achieved_bandwidth_gbps", achieved_bandwidth_gbps},
          {"peak_bandwidth_gbps", peak_bandwidth_gbps},
          {"offered_bandwidth_gbps", offered_bandwidth_gbps},
          {"avg_latency_ns", avg_latency_ns},
          {"p50_latency_ns", p50_latency_ns},
          {"p99_latency_ns", p99_latency_ns},
          {"avg_latency_cycles", avg_latency_cycles},
          {"p50_latency_cycles", p50_latency_cycles},
          {"p99_latency_cycles", p99_latency_cycles},
          {"row_hit_rate", row_hit_rate},
          {"energy_pj_per_bit", energy_pj_per_bit},
          {"stats", stats}};
}

void print_memtest(std::ostream& os, const MemtestResult& r) {
  const auto f = fixed;
  os << "llmsim memtest  device=" << r.device << "  requests=" << r.requests << "\n"
     << "  achieved bandwidth    " << f(r.achieved_bandwidth_gbps, 2) << " GB/s  ("
     << f(100 * r.achieved_bandwidth_gbps / r.peak_bandwidth_gbps, 1) << " % of peak)\n"
     << "  peak bandwidth        " << f(r.peak_bandwidth_gbps, 2) << " GB/s\n"
     << "  latency avg/p50/p99   " << f(r.avg_latency_ns, 1) << " / " << f(r.p50_latency_ns, 1)
     << " / " << f(r.p99_latency_ns, 1) << " ns\n"
     << "  row-hit rate          " << f(100 * r.row_hit_rate, 2) << " %\n"
     << "  energy                " << f(r.energy_pj_per_bit, 3) << " pJ/bit\n"
     << "  simulated             " << r.cycles << " DRAM cycles, " << f(r.seconds * 1e6, 3)
     << " us; wall " << f(r.wall_seconds * 1e3, 1) << " ms ("
     << f(double(r.requests) / r.wall_seconds / 1e6, 2) << " M requests/s)\n";
}

}  // namespace llmsim::driver
