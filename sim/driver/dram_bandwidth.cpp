#include "sim/driver/dram_bandwidth.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <ctime>
#include <mutex>
#include <ostream>
#include <queue>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "arch/hbm/hbm_system.h"
#include "arch/memory/simple_memory.h"
#include "sim/core/error.h"
#include "sim/driver/report.h"

namespace llmsim::driver {

namespace {

// This thread's CPU time: what a measurement costs, whatever else shares the machine.
double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

std::uint64_t floor_pow2(std::uint64_t x) {
  std::uint64_t p = 1;
  while (p <= x / 2) p *= 2;
  return p;
}

std::uint64_t ceil_pow2(std::uint64_t x) {
  std::uint64_t p = 1;
  while (p < x) p *= 2;
  return p;
}

// The share of time refresh leaves the interfaces, in closed form: all-bank refresh stops a
// pseudo channel for tRP (precharge all) + tRFC, and a row stream then re-opens its row
// (tRCDRD), once per tREFI (the arithmetic `memtest` is tested against: 288 of 3900 cycles on
// HBM2); per-bank refresh stops one bank for tRP + tRFCpb once per tREFI, and a stream over
// every bank loses that share of each bank.
double refresh_availability(const hbm::HbmParams& p) {
  const hbm::Timing& t = p.spec.timing;
  switch (p.controller.refresh) {
    case hbm::RefreshMode::all_bank:
      return 1.0 - double(t.tRP + t.tRFC + t.tRCDRD) / double(t.tREFI);
    case hbm::RefreshMode::per_bank:
      return 1.0 - double(t.tRP + t.tRFCpb) / double(t.tREFI);
    case hbm::RefreshMode::off:
      return 1.0;
  }
  return 1.0;
}

// Where requester i's block k starts (dram_bandwidth.h), and its rows.
struct Layout {
  std::uint64_t rows_per_block, side_by_side, bands;
  Layout(const DramPattern& p)
      : rows_per_block(std::max<std::uint64_t>(1, kBlockBytes / p.row_bytes)),
        side_by_side(std::clamp<std::uint64_t>(p.stride_bytes / p.row_bytes, 1, p.streams)),
        bands((p.streams + side_by_side - 1) / side_by_side) {}
  std::uint64_t block_addr(const DramPattern& p, std::uint32_t i, std::uint64_t k) const {
    const std::uint64_t row = (k * bands + i / side_by_side) * rows_per_block;
    return row * p.stride_bytes + (i % side_by_side) * p.row_bytes;
  }
};

// The HBM memory alone under the pattern (dram_bandwidth.h), refresh off.
DramMeasurement measure_hbm(hbm::HbmParams params, const DramPattern& p, std::uint64_t outstanding,
                            std::uint64_t scale) {
  const double availability = refresh_availability(params);
  params.controller.refresh = hbm::RefreshMode::off;
  stats::Group root("memory");
  hbm::HbmSystem sys(params, root, "memory");
  const Layout lay(p);
  const std::uint64_t capacity = params.spec.org.capacity_bytes();
  const std::uint64_t burst = sys.mapping().burst_bytes();
  // Blocks each requester keeps in flight: at most `outstanding`, at least 2, and enough that
  // the requesters together hold every read queue's worth plus two blocks (so that a block's
  // completion never leaves the queues to one block). More only lengthen the FIFOs in front of
  // the queues, which admit in order: on every hbm2-stack grid point 8 give the same results;
  // the queues' worth plus one block (two blocks for one requester) lost 19 % on a contiguous
  // stream, whose blocks each sit in one bank group and need the next one's bursts to
  // alternate with.
  const std::uint64_t queued = std::uint64_t(sys.interfaces()) *
                               params.controller.read_queue_depth * sys.mapping().burst_bytes();
  const std::uint64_t block_bytes = Layout(p).rows_per_block * p.row_bytes;
  const std::uint64_t in_flight = p.streams * block_bytes;
  outstanding =
      std::min(outstanding,
               std::max<std::uint64_t>(2, (queued + 2 * block_bytes + in_flight - 1) / in_flight));

  // Blocks in flight, by id = requester x outstanding + slot.
  struct Block {
    std::uint64_t outstanding = 0, last_done = 0;
  };
  std::vector<Block> blocks(std::uint64_t(p.streams) * outstanding);
  std::vector<std::uint64_t> next_block(p.streams, 0);
  std::uint64_t bursts = 0;
  // Offers requester i's next block at `cycle` in slot `id`; the matrix wraps at the capacity.
  auto issue = [&](std::uint32_t i, std::uint64_t id, std::uint64_t cycle) {
    const std::uint64_t addr = lay.block_addr(p, i, next_block[i]++);
    const std::uint64_t span = (lay.rows_per_block - 1) * p.stride_bytes + p.row_bytes;
    const std::uint64_t base = addr % capacity + span <= capacity ? addr % capacity : 0;
    hbm::Request r;
    r.id = id;
    r.arrival = cycle;
    hbm::for_each_burst(sys.mapping(), base, lay.rows_per_block, p.row_bytes, p.stride_bytes,
                        [&](const hbm::DecodedAddress& d) {
                          r.addr = {d.bank_group, d.bank, d.row, d.column};
                          sys.controller(d.interface).offer(r);
                          ++blocks[id].outstanding;
                          ++bursts;
                        });
  };
  // The first blocks in turn (each requester's first, then each one's second, ...), as DMA
  // engines starting together issue them, one block per datapath slot.
  for (std::uint64_t s = 0; s < outstanding; ++s) {
    for (std::uint32_t i = 0; i < p.streams; ++i) issue(i, i * outstanding + s, 0);
  }
  // Completed blocks by (done, id): ids in requester order, as the chip offers arrivals of one
  // cycle in source order.
  using Done = std::pair<std::uint64_t, std::uint64_t>;
  std::priority_queue<Done, std::vector<Done>, std::greater<>> completed;
  std::vector<hbm::Request> handed;
  // The window [window_start, window_end): from the loop's first cycle at which the warm-up's
  // bursts were handed out to the first at which kWindowBursts more were. At the top of the
  // loop every burst done before `target` has been handed out, so the bursts done before it
  // are those handed out less those still in flight (`future`: done >= target).
  const std::uint64_t warmup_bursts = std::max(kWarmupBursts, kWarmupGenerations * bursts) * scale;
  const std::uint64_t window_bursts = kWindowBursts * scale;
  std::vector<std::uint64_t> future;
  std::uint64_t handed_out = 0, done_before_start = 0, done_before_end = 0;
  std::uint64_t window_start = 0, window_end = 0;
  bool warm = false;
  // Per interface, the earliest done of a burst it has not handed out (kIdle: none), kept up
  // to date after every change to its controller.
  constexpr std::uint64_t kIdle = ~std::uint64_t{0};
  std::vector<std::uint64_t> due(sys.interfaces(), kIdle);
  auto refresh_due = [&](std::uint32_t c) {
    due[c] = sys.controller(c).earliest_done().value_or(kIdle);
  };
  for (std::uint32_t c = 0; c < sys.interfaces(); ++c) refresh_due(c);
  // The bursts handed out and done before `t`, for t no later than the loop's target.
  auto done_before = [&](std::uint64_t t) {
    future.erase(
        std::remove_if(future.begin(), future.end(), [t](std::uint64_t d) { return d < t; }),
        future.end());
    return handed_out - future.size();
  };
  for (;;) {
    // The next cycle anything may happen: a completed block's requester issues, or a controller
    // may complete a burst (its earliest done: every completion is handed out by then).
    const std::uint64_t target = std::min(completed.empty() ? kIdle : completed.top().first,
                                          *std::min_element(due.begin(), due.end()));
    LLMSIM_CHECK(target != kIdle, "dram bandwidth: the requesters stalled");
    if (!warm && (handed_out >= warmup_bursts || target >= kMaxCycles)) {
      warm = true;
      window_start = target;
      done_before_start = done_before(target);
    }
    if (warm && (handed_out >= warmup_bursts + window_bursts || target >= kMaxCycles)) {
      window_end = target;
      done_before_end = done_before(target);
      break;
    }
    if (future.size() > 65536) done_before(target);  // bounds the list
    // Only the controllers due at `target` have anything to hand out before it; the others
    // catch up when they are next due or offered a request.
    for (std::uint32_t c = 0; c < sys.interfaces(); ++c) {
      if (due[c] != target) continue;
      hbm::ChannelController& ctl = sys.controller(c);
      ctl.advance(std::max(target, ctl.now()), handed);
      refresh_due(c);
    }
    for (const hbm::Request& r : handed) {
      future.push_back(r.done);
      Block& b = blocks[r.id];
      b.last_done = std::max(b.last_done, r.done);
      if (--b.outstanding == 0) completed.push({b.last_done, r.id});
    }
    handed_out += handed.size();
    handed.clear();
    while (!completed.empty() && completed.top().first == target) {
      const std::uint64_t id = completed.top().second;
      completed.pop();
      blocks[id].last_done = 0;
      issue(std::uint32_t(id / outstanding), id, target);
      for (std::uint32_t c = 0; c < sys.interfaces(); ++c) refresh_due(c);
    }
  }
  DramMeasurement m;
  m.peak_bytes_per_second = params.spec.peak_bytes_per_second();
  m.refresh_availability = availability;
  m.window_cycles = window_end - window_start;
  LLMSIM_CHECK(m.window_cycles > 0, "dram bandwidth: empty window");
  const double seconds = double(m.window_cycles) / (params.spec.timing.clock_mhz * 1e6);
  const double bytes = double((done_before_end - done_before_start) * burst);
  m.bytes_per_second = std::min(m.peak_bytes_per_second, bytes / seconds) * availability;
  m.bursts = bursts;
  m.row_hit_rate = sys.row_hit_rate();
  return m;
}

// The simple memory's closed form (dram_bandwidth.h).
DramMeasurement measure_simple(const memory::SimpleMemoryParams& s, const DramPattern& p,
                               std::uint64_t outstanding) {
  const Layout lay(p);
  const double block = double(lay.rows_per_block * p.row_bytes);
  const double bus = double(s.bus_bytes_per_cycle);
  const double held = std::ceil(block / bus);
  const double circulating = double(p.streams) * double(outstanding);
  const double per_cycle =
      std::min(block / held, circulating * block / (held + double(s.latency_cycles)));
  DramMeasurement m;
  m.peak_bytes_per_second = bus * s.clock_mhz * 1e6;
  m.bytes_per_second = per_cycle * s.clock_mhz * 1e6;
  return m;
}

// The process-wide cache: key -> bytes per second. Measurements are deterministic, so the
// cache changes no result, only how often a memory is measured.
struct Cache {
  std::mutex mutex;
  std::unordered_map<std::string, double> values;
  std::atomic<std::uint64_t> measurements{0};
};

Cache& cache() {
  static Cache c;
  return c;
}

}  // namespace

struct DramBandwidthTable::Model {
  std::string key;  // the resolved memory config and the outstanding blocks
  std::uint64_t outstanding;
  std::uint32_t max_streams;
  std::optional<hbm::HbmParams> hbm;
  std::optional<memory::SimpleMemoryParams> simple;
};

DramBandwidthTable::DramBandwidthTable(const config::Json& memory, std::uint64_t outstanding,
                                       std::uint32_t max_streams)
    : m_model(std::make_unique<Model>()) {
  LLMSIM_CHECK(outstanding >= 1 && max_streams >= 1, "dram bandwidth: no requester");
  Model& m = *m_model;
  m.outstanding = outstanding;
  m.max_streams = max_streams;
  m.key = memory.dump() + "|" + std::to_string(outstanding);
  config::Json resolved;
  config::Reader r(memory, "memory", resolved);
  const std::string type = r.string("type", std::string("simple"));
  if (type == "hbm") {
    m.hbm = hbm::HbmParams::parse(r);
  } else {
    LLMSIM_CHECK(type == "simple", "dram bandwidth: memory type " + type + " has no model");
    m.simple = memory::SimpleMemoryParams::parse(r);
  }
  r.finish();
}

DramBandwidthTable::~DramBandwidthTable() = default;

DramBandwidthTable DramBandwidthTable::for_arch(const config::Json& resolved) {
  return DramBandwidthTable(resolved.at("memory"),
                            resolved.at("core").at("dma").at("max_outstanding_blocks"),
                            resolved.at("num_cores"));
}

std::uint32_t DramBandwidthTable::access_bytes() const {
  return m_model->hbm ? m_model->hbm->spec.org.burst_bytes()
                      : std::uint32_t(m_model->simple->bus_bytes_per_cycle);
}

double DramBandwidthTable::peak_bytes_per_second() const {
  const Model& m = *m_model;
  return m.hbm ? m.hbm->spec.peak_bytes_per_second()
               : double(m.simple->bus_bytes_per_cycle) * m.simple->clock_mhz * 1e6;
}

DramPattern DramBandwidthTable::quantise(const DramPattern& p) const {
  LLMSIM_CHECK(p.row_bytes > 0 && p.streams > 0, "dram bandwidth: empty pattern");
  // The simple memory moves a transfer's bytes back to back whatever its rows (SimpleMemory::
  // occupy); behind a NoC a row shorter than a bus beat would waste the rest (not modelled).
  const std::uint64_t access = m_model->hbm ? access_bytes() : 1;
  DramPattern q;
  q.streams = std::uint32_t(floor_pow2(std::min(p.streams, m_model->max_streams)));
  q.row_bytes = std::clamp(floor_pow2(p.row_bytes), ceil_pow2(access), kMaxRowBytes);
  const bool contiguous = p.stride_bytes <= p.row_bytes;
  q.stride_bytes = contiguous ? q.row_bytes
                              : std::clamp(ceil_pow2(p.stride_bytes), 2 * q.row_bytes,
                                           std::max(kMaxStrideBytes, 2 * q.row_bytes));
  return q;
}

DramMeasurement DramBandwidthTable::measure(const DramPattern& p, std::uint64_t scale) const {
  LLMSIM_CHECK(p.row_bytes > 0 && p.streams > 0 && p.stride_bytes >= p.row_bytes && scale > 0,
               "dram bandwidth: bad pattern");
  const double start = cpu_seconds();
  const Model& m = *m_model;
  DramMeasurement r = m.hbm ? measure_hbm(*m.hbm, p, m.outstanding, scale)
                            : measure_simple(*m.simple, p, m.outstanding);
  r.cpu_seconds = cpu_seconds() - start;
  return r;
}

double DramBandwidthTable::bytes_per_second(const DramPattern& p) const {
  const DramPattern q = quantise(p);
  const std::string key = m_model->key + "|" + std::to_string(q.row_bytes) + "," +
                          std::to_string(q.stride_bytes) + "," + std::to_string(q.streams);
  double v;
  {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.values.find(key);
    if (it == c.values.end()) {
      ++c.measurements;
      it = c.values.emplace(key, measure(q).bytes_per_second).first;
    }
    v = it->second;
  }
  // A row shorter than an access still moves the whole access: fewer useful bytes.
  if (p.row_bytes < q.row_bytes) v *= double(p.row_bytes) / double(q.row_bytes);
  return v;
}

std::uint64_t dram_bandwidth_measurements() {
  return cache().measurements.load();
}

namespace {

std::string pad_left(const std::string& s, std::size_t width) {
  return s.size() >= width ? s : std::string(width - s.size(), ' ') + s;
}

}  // namespace

std::vector<DramTableRow> dram_pattern_table(const DramBandwidthTable& table,
                                             std::uint32_t max_streams) {
  std::vector<DramTableRow> rows;
  for (std::uint64_t row = ceil_pow2(table.access_bytes()); row <= kMaxRowBytes; row *= 2) {
    for (const std::uint64_t times : {1, 2, 8, 64}) {
      if (row * times > std::max(kMaxStrideBytes, row)) break;
      for (std::uint32_t n = 1; n <= max_streams; n *= 2) {
        const DramPattern p{row, row * times, n};
        rows.push_back({p, table.measure(p)});
      }
    }
  }
  return rows;
}

config::Json to_json(const std::vector<DramTableRow>& rows) {
  config::Json j = config::Json::array();
  for (const DramTableRow& r : rows) {
    j.push_back({{"row_bytes", r.pattern.row_bytes},
                 {"stride_bytes", r.pattern.stride_bytes},
                 {"streams", r.pattern.streams},
                 {"bandwidth_gb_per_s", r.measured.bytes_per_second / 1e9},
                 {"peak_gb_per_s", r.measured.peak_bytes_per_second / 1e9},
                 {"refresh_availability", r.measured.refresh_availability},
                 {"row_hit_rate", r.measured.row_hit_rate},
                 {"bursts_simulated", r.measured.bursts},
                 {"cpu_ms", r.measured.cpu_seconds * 1e3}});
  }
  return j;
}

void print_dram_pattern_table(std::ostream& os, const std::vector<DramTableRow>& rows) {
  if (rows.empty()) return;
  const double peak = rows.front().measured.peak_bytes_per_second / 1e9;
  os << "DRAM bandwidth by access pattern (GB/s, % of the " << fixed(peak, 1)
     << " GB/s peak); blocks of " << kBlockBytes << " B per requester\n"
     << "  row_bytes  stride_bytes  streams   GB/s       %   row hits   cpu ms\n";
  double cpu = 0;
  for (const DramTableRow& r : rows) {
    const double gb = r.measured.bytes_per_second / 1e9;
    cpu += r.measured.cpu_seconds;
    os << "  " << pad_left(std::to_string(r.pattern.row_bytes), 9) << "  "
       << pad_left(std::to_string(r.pattern.stride_bytes), 12) << "  "
       << pad_left(std::to_string(r.pattern.streams), 7) << "  " << pad_left(fixed(gb, 1), 7)
       << "  " << pad_left(fixed(100 * gb / peak, 1), 6) << "  "
       << pad_left(fixed(100 * r.measured.row_hit_rate, 1), 8) << "  "
       << pad_left(fixed(r.measured.cpu_seconds * 1e3, 2), 7) << "\n";
  }
  os << "  " << rows.size() << " points, " << fixed(cpu * 1e3, 1) << " ms of CPU ("
     << fixed(cpu * 1e3 / double(rows.size()), 2) << " ms per point)\n";
}

}  // namespace llmsim::driver
