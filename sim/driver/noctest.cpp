#include "sim/driver/noctest.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <queue>
#include <random>
#include <sstream>

#include "arch/noc/network.h"
#include "sim/core/error.h"
#include "sim/driver/report.h"

namespace llmsim::driver {

namespace {

std::string text(double x) {
  std::ostringstream os;
  os << x;
  return os.str();
}

const std::vector<std::string> kPatterns = {"uniform", "transpose", "hotspot", "to_memory"};

// Destinations of one synthetic pattern: which nodes inject, and the probability of each
// destination for each source (used both to draw packets and to compute the ideal bound).
class Traffic {
 public:
  Traffic(const NoctestOptions& o, const noc::NocParams& p) : m_o(o), m_nodes(p.nodes()) {
    if (std::find(kPatterns.begin(), kPatterns.end(), o.pattern) == kPatterns.end()) {
      throw UserError("--pattern " + o.pattern +
                      ": unknown; patterns: uniform, transpose, hotspot, to_memory");
    }
    if (o.pattern == "transpose" &&
        (p.topology != noc::TopologyKind::mesh || p.mesh_width != p.mesh_height)) {
      throw UserError("--pattern transpose: needs a square mesh");
    }
    if (o.pattern == "hotspot" && o.hotspot_node >= m_nodes) {
      throw UserError("--hotspot-node " + std::to_string(o.hotspot_node) +
                      ": must be a node of the network, 0 to " + std::to_string(m_nodes - 1));
    }
    if (o.pattern == "hotspot" && !(o.hotspot_fraction >= 0 && o.hotspot_fraction <= 1)) {
      throw UserError("--hotspot-fraction " + text(o.hotspot_fraction) + ": must be in [0, 1]");
    }
    m_width = p.topology == noc::TopologyKind::mesh ? p.mesh_width : 0;
    std::vector<bool> memory(m_nodes, false);
    if (o.pattern == "to_memory") {
      if (m_width > 0) {
        for (std::uint32_t n = 0; n < m_nodes; ++n)
          memory[n] = n % m_width == 0 || n % m_width == m_width - 1;
      } else {
        memory[0] = memory[m_nodes / 2] = true;
      }
    }
    for (std::uint32_t n = 0; n < m_nodes; ++n) {
      if (memory[n]) {
        m_memory.push_back(n);
      } else {
        m_sources.push_back(n);
      }
    }
    if (m_sources.empty()) throw UserError("--pattern to_memory: no compute nodes to inject");
  }

  const std::vector<std::uint32_t>& sources() const { return m_sources; }

  std::uint32_t draw(std::uint32_t src, std::mt19937_64& rng) const {
    auto uniform = [&](std::uint32_t n) {
      return static_cast<std::uint32_t>(
          std::uniform_int_distribution<std::uint32_t>(0, n - 1)(rng));
    };
    if (m_o.pattern == "transpose") return (src % m_width) * m_width + src / m_width;
    if (m_o.pattern == "to_memory") return m_memory[uniform(std::uint32_t(m_memory.size()))];
    if (m_o.pattern == "hotspot" &&
        std::uniform_real_distribution<double>(0, 1)(rng) < m_o.hotspot_fraction) {
      return m_o.hotspot_node;
    }
    return uniform(m_nodes);
  }

  // Calls f(dst, probability) for every destination of `src`.
  void destinations(std::uint32_t src, const std::function<void(std::uint32_t, double)>& f) const {
    if (m_o.pattern == "transpose") return f((src % m_width) * m_width + src / m_width, 1.0);
    if (m_o.pattern == "to_memory") {
      for (std::uint32_t m : m_memory) f(m, 1.0 / double(m_memory.size()));
      return;
    }
    const double hot = m_o.pattern == "hotspot" ? m_o.hotspot_fraction : 0.0;
    for (std::uint32_t d = 0; d < m_nodes; ++d) {
      f(d, (1.0 - hot) / double(m_nodes) + (d == m_o.hotspot_node ? hot : 0.0));
    }
  }

 private:
  const NoctestOptions& m_o;
  std::uint32_t m_nodes;
  std::uint32_t m_width = 0;
  std::vector<std::uint32_t> m_sources, m_memory;
};

// Calls f(r, q) for every output port (link or ejection) a packet from src to dst takes.
template <class F>
void for_each_port(const noc::Topology& topo, std::uint32_t src, std::uint32_t dst, F&& f) {
  std::uint32_t r = topo.node_router(src);
  for (;;) {
    const std::uint32_t q = topo.route(r, dst);
    f(r, q);
    const noc::PortEnd& e = topo.out(r, q);
    if (e.router < 0) return;
    r = static_cast<std::uint32_t>(e.router);
  }
}

// The load of every output port [router][port] when every source injects one flit per cycle.
std::vector<std::vector<double>> channel_loads(const noc::Topology& topo, const Traffic& traffic) {
  std::vector<std::vector<double>> load(topo.routers());
  for (std::uint32_t r = 0; r < topo.routers(); ++r) load[r].assign(topo.ports(r), 0.0);
  for (std::uint32_t src : traffic.sources()) {
    traffic.destinations(src, [&](std::uint32_t dst, double w) {
      for_each_port(topo, src, dst, [&](std::uint32_t r, std::uint32_t q) { load[r][q] += w; });
    });
  }
  return load;
}

// 1 / the largest load any channel carries when every source injects one flit per cycle.
double ideal_throughput(const std::vector<std::vector<double>>& load) {
  double worst = 1.0;  // an injection channel carries its node's whole rate
  for (const auto& ports : load)
    for (double l : ports) worst = std::max(worst, l);
  return 1.0 / worst;
}

// The limits of noctest.h that need no config (the hotspot node's are Traffic's).
void check_options(const NoctestOptions& o) {
  if (!(o.rate > 0 && o.rate <= 1)) {
    throw UserError("--rate " + text(o.rate) + ": must be in (0, 1] flits per node per cycle");
  }
  if (o.payload_bytes > kMaxNoctestPayloadBytes) {
    throw UserError("--payload " + std::to_string(o.payload_bytes) +
                    ": must be an integer from 1 to " + std::to_string(kMaxNoctestPayloadBytes) +
                    " bytes");
  }
  if (o.measure_cycles == 0) {
    throw UserError("--cycles 0: the measurement window must be at least 1 cycle");
  }
  if (o.mesh_width > kMaxMeshSide || o.mesh_height > kMaxMeshSide) {
    throw UserError("--mesh " + std::to_string(o.mesh_width) + "x" + std::to_string(o.mesh_height) +
                    ": at most " + std::to_string(kMaxMeshSide) + " routers per side");
  }
  // warmup + measure + drain without wrapping.
  if (o.warmup_cycles > kMaxNoctestCycles || o.measure_cycles > kMaxNoctestCycles ||
      o.drain_cycles > kMaxNoctestCycles ||
      o.warmup_cycles + o.measure_cycles + o.drain_cycles > kMaxNoctestCycles) {
    throw UserError("--warmup " + std::to_string(o.warmup_cycles) + " + --cycles " +
                    std::to_string(o.measure_cycles) + " + the drain of " +
                    std::to_string(o.drain_cycles) + " cycles: must be at most " +
                    std::to_string(kMaxNoctestCycles) + " network cycles");
  }
}

// The flits a run offers, against kMaxNoctestFlits.
void check_work(const NoctestOptions& o, std::size_t sources) {
  const std::uint64_t cycles = o.warmup_cycles + o.measure_cycles + o.drain_cycles;
  const double flits = double(sources) * o.rate * double(cycles);
  if (flits > double(kMaxNoctestFlits)) {
    throw UserError("--rate " + text(o.rate) + " on " + std::to_string(sources) +
                    " injecting nodes for " + std::to_string(cycles) +
                    " cycles (warmup, window and drain): " + text(flits) +
                    " flits offered, more than the " + std::to_string(kMaxNoctestFlits) +
                    " a run may simulate; lower --rate, --cycles, --warmup or --mesh");
  }
}

// The pattern's bottleneck channels (those whose load sets the ideal bound: the output ports,
// and the sources' injection channels when they bind) and, over the measurement window, the
// flits of the packets created through each and of those delivered through each.
class Bottlenecks {
 public:
  Bottlenecks(const noc::Topology& topo, const Traffic& traffic,
              const std::vector<std::vector<double>>& load)
      : m_topo(topo), m_index(topo.routers()), m_source_index(topo.nodes(), -1) {
    double worst = 1.0;
    for (const auto& ports : load)
      for (double l : ports) worst = std::max(worst, l);
    auto binds = [&](double l) { return l >= worst * (1 - 1e-9); };
    for (std::uint32_t r = 0; r < topo.routers(); ++r) {
      m_index[r].assign(topo.ports(r), -1);
      for (std::uint32_t q = 0; q < topo.ports(r); ++q)
        if (binds(load[r][q])) m_index[r][q] = m_channels++;
    }
    if (binds(1.0))
      for (std::uint32_t n : traffic.sources()) m_source_index[n] = m_channels++;
    m_created.assign(m_channels, 0);
    m_delivered.assign(m_channels, 0);
  }
  void created(std::uint32_t src, std::uint32_t dst, std::uint32_t flits) {
    add(m_created, src, dst, flits);
  }
  void delivered(std::uint32_t src, std::uint32_t dst, std::uint32_t flits) {
    add(m_delivered, src, dst, flits);
  }
  // The smallest delivered / created over the channels that had traffic (1 if none had).
  double delivered_fraction() const {
    double f = 1.0;
    for (std::int32_t c = 0; c < m_channels; ++c)
      if (m_created[c] > 0) f = std::min(f, double(m_delivered[c]) / double(m_created[c]));
    return f;
  }

 private:
  void add(std::vector<std::uint64_t>& to, std::uint32_t src, std::uint32_t dst,
           std::uint32_t flits) {
    if (m_source_index[src] >= 0) to[m_source_index[src]] += flits;
    for_each_port(m_topo, src, dst, [&](std::uint32_t r, std::uint32_t q) {
      if (m_index[r][q] >= 0) to[m_index[r][q]] += flits;
    });
  }

  const noc::Topology& m_topo;
  std::vector<std::vector<std::int32_t>> m_index;  // [router][port]: channel, or -1
  std::vector<std::int32_t> m_source_index;        // [node]: its injection channel, or -1
  std::int32_t m_channels = 0;
  std::vector<std::uint64_t> m_created, m_delivered;
};

// The flits each router-to-router link has carried so far, in the network's link order.
std::vector<std::uint64_t> link_flits(const noc::Network& net) {
  const noc::Topology& topo = net.topology();
  std::vector<std::uint64_t> flits;
  for (std::uint32_t r = 0; r < topo.routers(); ++r)
    for (std::uint32_t q = 0; q < topo.ports(r); ++q)
      if (topo.out(r, q).router >= 0) flits.push_back(net.port_flits(r, q));
  return flits;
}

noc::NocParams parse_noc(const config::Json& arch, const std::vector<std::string>& overrides,
                         const NoctestOptions& o) {
  config::Json doc = config::with_overrides(arch, overrides);
  config::Json resolved;
  config::Reader root(doc, "", resolved);
  if (!doc.contains("noc")) root.fail("noc", "is required for noctest");
  if (o.mesh_width > 0 || o.mesh_height > 0) {
    if (o.mesh_width == 0 || o.mesh_height == 0) throw UserError("--mesh: expected WxH, e.g. 8x8");
    const config::Json& noc = doc["noc"];
    if (noc.is_object() && noc.contains("topology") && noc["topology"] != "mesh") {
      throw UserError("--mesh: the noc topology is " + config::short_dump(noc["topology"]) +
                      ", not \"mesh\"");
    }
    config::apply_override(doc, "noc.mesh_width=" + std::to_string(o.mesh_width));
    config::apply_override(doc, "noc.mesh_height=" + std::to_string(o.mesh_height));
  }
  return root.parse_child<noc::NocParams>("noc");
}

}  // namespace

NoctestResult run_noctest(const config::Json& arch, const std::vector<std::string>& overrides,
                          const NoctestOptions& o) {
  const auto wall_start = std::chrono::steady_clock::now();
  check_options(o);
  const noc::NocParams params = parse_noc(arch, overrides, o);
  const Traffic traffic(o, params);
  check_work(o, traffic.sources().size());
  stats::Group root("noctest");
  const std::unique_ptr<noc::Network> network = noc::make_network(params, root, "noc");
  noc::Network& net = *network;
  const std::uint32_t flits = params.packet_flits(o.payload_bytes);
  const std::uint64_t window_begin = o.warmup_cycles,
                      window_end = o.warmup_cycles + o.measure_cycles;
  const std::uint64_t give_up = window_end + o.drain_cycles;

  std::mt19937_64 rng(o.seed);
  // Bernoulli injection of probability p per cycle: the gap to the next packet is 1 + the
  // failures before a success (none when p = 1, which std::geometric_distribution excludes).
  const double p = o.rate / flits;
  std::geometric_distribution<std::uint64_t> geometric(p < 1 ? p : 0.5);
  auto gap = [&](std::mt19937_64& g) { return p < 1 ? geometric(g) : std::uint64_t{0}; };
  using Arrival = std::pair<std::uint64_t, std::uint32_t>;  // cycle, node
  std::priority_queue<Arrival, std::vector<Arrival>, std::greater<>> arrivals;
  for (std::uint32_t n : traffic.sources()) arrivals.push({gap(rng), n});

  const std::vector<std::vector<double>> load = channel_loads(net.topology(), traffic);
  Bottlenecks bottlenecks(net.topology(), traffic, load);
  std::vector<noc::Delivery> done;
  std::vector<std::uint64_t> latencies;
  double zero_load_sum = 0;
  std::uint64_t measured_sent = 0;
  auto collect = [&] {
    for (const noc::Delivery& d : done) {
      if (d.delivered_cycle >= window_begin && d.delivered_cycle < window_end) {
        bottlenecks.delivered(d.src, d.dst, d.flits);
      }
      if (d.tag == 0) continue;
      latencies.push_back(d.latency_cycles());
      zero_load_sum += double(d.zero_load_cycles);
    }
    done.clear();
  };
  // Flits delivered, and carried by each link, by the start and by the end of the window: the
  // network is advanced through cycle c - 1 exactly, then its counters read.
  std::uint64_t delivered_at_begin = 0, delivered_at_end = 0;
  std::vector<std::uint64_t> links_at_begin = link_flits(net), links_at_end = links_at_begin;
  bool begun = window_begin == 0, ended = false;
  auto snapshot = [&](std::uint64_t t) {
    if (!begun && t >= window_begin) {
      net.advance(window_begin - 1, done);
      delivered_at_begin = root.counter_value("noc.flits_delivered");
      links_at_begin = link_flits(net);
      begun = true;
    }
    if (!ended && t >= window_end) {
      net.advance(window_end - 1, done);
      delivered_at_end = root.counter_value("noc.flits_delivered");
      links_at_end = link_flits(net);
      ended = true;
    }
    collect();
  };
  std::uint64_t now = 0;
  while (!arrivals.empty()) {
    const auto [t, n] = arrivals.top();
    snapshot(t);
    if (t >= window_end && latencies.size() == measured_sent) break;
    if (t >= give_up) break;
    if (t > 0) net.advance(t - 1, done);
    collect();
    arrivals.pop();
    const bool measured = t >= window_begin && t < window_end;
    measured_sent += measured;
    const std::uint32_t dst = traffic.draw(n, rng);
    if (measured) bottlenecks.created(n, dst, flits);
    net.send(n, dst, flits, t, measured ? 1 : 0);
    arrivals.push({t + 1 + gap(rng), n});
    now = t;
  }
  net.advance(now, done);
  collect();
  const std::uint64_t accepted_flits = delivered_at_end - delivered_at_begin;

  NoctestResult r;
  r.topology = noc::to_string(params.topology);
  r.pattern = o.pattern;
  r.nodes = params.nodes();
  r.injecting_nodes = static_cast<std::uint32_t>(traffic.sources().size());
  r.packet_flits = flits;
  r.offered_flits_per_node_cycle = o.rate;
  r.accepted_flits_per_node_cycle =
      double(accepted_flits) / (double(r.injecting_nodes) * double(o.measure_cycles));
  r.offered_flits_in_window = measured_sent * flits;
  r.ideal_throughput_flits_per_node_cycle = ideal_throughput(load);
  r.pattern_throughput_flits_per_node_cycle =
      double(r.offered_flits_in_window) / (double(r.injecting_nodes) * double(o.measure_cycles)) *
      bottlenecks.delivered_fraction();
  r.packets_measured = latencies.size();
  const double slack = NoctestResult::kSaturationShortfall * double(r.offered_flits_in_window) +
                       double(r.injecting_nodes) * flits;
  // With no drain, the window's last packets are always still in flight.
  r.saturated = (o.drain_cycles > 0 && latencies.size() < measured_sent) ||
                double(accepted_flits) + slack < double(r.offered_flits_in_window);
  if (!latencies.empty()) {
    double sum = 0;
    for (std::uint64_t l : latencies) sum += double(l);
    r.avg_latency_cycles = sum / double(latencies.size());
    r.avg_zero_load_latency_cycles = zero_load_sum / double(latencies.size());
    r.avg_contention_latency_cycles = r.avg_latency_cycles - r.avg_zero_load_latency_cycles;
    // Nearest rank: the ceil(0.99 n)-th smallest.
    const std::size_t rank = std::max<std::size_t>(
        1, static_cast<std::size_t>(std::ceil(0.99 * double(latencies.size()))));
    std::nth_element(latencies.begin(), latencies.begin() + (rank - 1), latencies.end());
    r.p99_latency_cycles = latencies[rank - 1];
  }
  r.cycles = net.cycles();
  for (std::size_t l = 0; l < links_at_end.size(); ++l) {
    r.max_link_utilisation =
        std::max(r.max_link_utilisation,
                 double(links_at_end[l] - links_at_begin[l]) / double(o.measure_cycles));
  }
  const std::uint64_t delivered = root.counter_value("noc.flits_delivered");
  r.energy_pj_per_flit = delivered ? net.dynamic_energy_pj() / double(delivered) : 0;
  r.stats = root.values_json();
  r.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return r;
}

std::vector<NoctestResult> run_noctest_sweep(const config::Json& arch,
                                             const std::vector<std::string>& overrides,
                                             const NoctestOptions& o, double rate_step) {
  if (!(rate_step > 0 && rate_step <= 1)) {
    throw UserError("--rate-step must be in (0, 1], got " + std::to_string(rate_step));
  }
  std::vector<NoctestResult> sweep;
  NoctestOptions point = o;
  for (int k = 1; k * rate_step <= 1.0 + 1e-9; ++k) {
    point.rate = std::min(1.0, k * rate_step);
    sweep.push_back(run_noctest(arch, overrides, point));
    if (saturation_rate({sweep.back()}) > 0) break;
  }
  return sweep;
}

double saturation_rate(const std::vector<NoctestResult>& sweep) {
  for (const NoctestResult& r : sweep) {
    if (r.past_saturation()) {
      return r.offered_flits_per_node_cycle;
    }
  }
  return 0;
}

config::Json NoctestResult::to_json() const {
  return {{"topology", topology},
          {"pattern", pattern},
          {"nodes", nodes},
          {"injecting_nodes", injecting_nodes},
          {"packet_flits", packet_flits},
          {"offered_flits_per_node_cycle", offered_flits_per_node_cycle},
          {"accepted_flits_per_node_cycle", accepted_flits_per_node_cycle},
          {"ideal_throughput_flits_per_node_cycle", ideal_throughput_flits_per_node_cycle},
          {"pattern_throughput_flits_per_node_cycle", pattern_throughput_flits_per_node_cycle},
          {"offered_flits_in_window", offered_flits_in_window},
          {"avg_latency_cycles", avg_latency_cycles},
          {"p99_latency_cycles", p99_latency_cycles},
          {"avg_zero_load_latency_cycles", avg_zero_load_latency_cycles},
          {"avg_contention_latency_cycles", avg_contention_latency_cycles},
          {"packets_measured", packets_measured},
          {"saturated", saturated},
          {"cycles", cycles},
          {"max_link_utilisation", max_link_utilisation},
          {"energy_pj_per_flit", energy_pj_per_flit},
          {"stats", stats}};
}

void print_noctest(std::ostream& os, const NoctestResult& r) {
  const auto f = fixed;
  os << "llmsim noctest  topology=" << r.topology << "  nodes=" << r.nodes
     << "  pattern=" << r.pattern << "  packet=" << r.packet_flits << " flits\n"
     << "  offered               " << f(r.offered_flits_per_node_cycle, 4) << " flits/node/cycle\n"
     << "  accepted              " << f(r.accepted_flits_per_node_cycle, 4)
     << " flits/node/cycle  (ideal bound " << f(r.ideal_throughput_flits_per_node_cycle, 4) << ")"
     << (r.saturated ? "  SATURATED" : "") << "\n"
     << "  pattern throughput    " << f(r.pattern_throughput_flits_per_node_cycle, 4)
     << " flits/node/cycle\n"
     << "  latency avg / p99     " << f(r.avg_latency_cycles, 2) << " / " << r.p99_latency_cycles
     << " cycles  (zero-load " << f(r.avg_zero_load_latency_cycles, 2) << " + contention "
     << f(r.avg_contention_latency_cycles, 2) << ")\n"
     << "  busiest link          " << f(100 * r.max_link_utilisation, 1) << " % of the window\n"
     << "  energy                " << f(r.energy_pj_per_flit, 2) << " pJ/flit\n"
     << "  simulated             " << r.cycles << " cycles, " << r.packets_measured
     << " measured packets; wall " << f(r.wall_seconds * 1e3, 1) << " ms\n";
}

void print_noctest_sweep_csv(std::ostream& os, const std::vector<NoctestResult>& sweep) {
  os << "offered_flits_per_node_cycle,accepted_flits_per_node_cycle,avg_latency_cycles,"
        "p99_latency_cycles,avg_zero_load_latency_cycles,past_saturation\n";
  for (const NoctestResult& r : sweep) {
    os << r.offered_flits_per_node_cycle << "," << r.accepted_flits_per_node_cycle << ","
       << r.avg_latency_cycles << "," << r.p99_latency_cycles << ","
       << r.avg_zero_load_latency_cycles << "," << (r.past_saturation() ? 1 : 0) << "\n";
  }
}

}  // namespace llmsim::driver
