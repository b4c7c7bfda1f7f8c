#pragma once
// `llmsim noctest`: the on-chip network alone under synthetic open-loop traffic, driven in plain
// C++ (arch/noc is a discrete-event model of its own; no SystemC kernel).
//
// Traffic: every injecting node creates packets by a Bernoulli process of probability
// rate / packet_flits per cycle (inter-arrival gaps drawn as 1 + geometric, from one
// std::mt19937_64 seeded with `seed`), each of header_flits + ceil(payload_bytes / flit_bytes)
// flits, into an unbounded source queue. Patterns (destinations):
//   uniform    any node, itself included, with equal probability
//   transpose  (x, y) -> (y, x) on a square mesh (diagonal nodes send to themselves)
//   hotspot    hotspot_node with probability hotspot_fraction, else uniform
//   to_memory  only the compute nodes inject, each to a uniformly chosen memory node: the
//              nodes of the west and east columns of a mesh (HBM PHYs on two die edges), nodes
//              0 and N/2 of a ring or crossbar
// Measurement: packets created in [warmup, warmup + measure) are measured; the run goes on
// (still injecting) until all of them are delivered, or gives up drain_cycles after the window.
// Latency = tail delivery - creation (source queueing included).
// Accepted throughput = flits delivered in the window / (injecting nodes x window cycles).
// Saturated: the flits delivered in the window fall short of those offered (created) in it by
// more than kSaturationShortfall of them plus one packet per injecting node -- the backlog in
// the source queues and the network grew by that much through the window, as it does without
// limit past saturation --, or (drain_cycles > 0) measured packets are still undelivered at
// the give-up cycle.
// Below saturation the window's deliveries match its creations to within the backlog's
// fluctuation (measured on an 8x8 mesh, 10,000-cycle window: under 0.06 % up to the load where
// latency reaches 3 x zero-load, 0.5 % offered exactly the bound, and 1-3 % offered 4-5 %
// beyond the bound, where the backlog grows only at the bottleneck).
// Link utilisation: flits that crossed a link in the window's cycles / window cycles (at most 1
// in both models; network.h, port_flits()).
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "sim/core/config.h"

namespace llmsim::driver {

// Limits, checked before the run (UserError naming the option): they keep a run to minutes.
//   payload_bytes                  0 (header flits only) to kMaxNoctestPayloadBytes
//   mesh_width x mesh_height       1 to kMaxMeshSide each (the limit of noc.mesh_width/height)
//   warmup + measure + drain       at most kMaxNoctestCycles network cycles
//   offered flits                  injecting nodes x rate x (warmup + measure + drain), at
//                                  most kMaxNoctestFlits (about a minute of simulation)
//   rate in (0, 1]; hotspot_node < nodes and hotspot_fraction in [0, 1] (hotspot)
inline constexpr std::uint64_t kMaxNoctestPayloadBytes = 65536;
inline constexpr std::uint64_t kMaxMeshSide = 64;
inline constexpr std::uint64_t kMaxNoctestCycles = 100'000'000;
inline constexpr std::uint64_t kMaxNoctestFlits = 100'000'000;

struct NoctestOptions {
  std::string pattern = "uniform";  // uniform transpose hotspot to_memory
  double rate = 0.1;                // offered flits per injecting node per cycle, in (0, 1]
  std::uint32_t mesh_width = 0;     // --mesh WxH; 0 keeps the config's mesh
  std::uint32_t mesh_height = 0;
  std::uint64_t payload_bytes = 64;
  std::uint64_t warmup_cycles = 2000;
  std::uint64_t measure_cycles = 10000;
  // After the window, to deliver the measured packets; 0 measures accepted throughput only
  // (latencies then cover only the packets delivered by the window's end).
  std::uint64_t drain_cycles = 40000;
  double hotspot_fraction = 0.2;
  std::uint32_t hotspot_node = 0;
  std::uint64_t seed = 1;
};

struct NoctestResult {
  std::string topology, pattern;
  std::uint32_t nodes = 0, injecting_nodes = 0, packet_flits = 0;
  double offered_flits_per_node_cycle = 0, accepted_flits_per_node_cycle = 0;
  // The channel-load bound of this pattern under this routing: 1 / the largest expected load
  // (flits per cycle per unit injection rate) of any link, ejection port or injection port.
  double ideal_throughput_flits_per_node_cycle = 0;
  double avg_latency_cycles = 0;
  std::uint64_t p99_latency_cycles = 0;
  double avg_zero_load_latency_cycles = 0, avg_contention_latency_cycles = 0;
  std::uint64_t packets_measured = 0;
  // The flits created in the window (offered).
  std::uint64_t offered_flits_in_window = 0;
  // The rate at which the pattern itself gets through: the offered rate x the fraction of the
  // window's offered flits routed through the bottleneck channels (those whose load sets the
  // ideal bound) that are delivered in the window, the smallest over those channels. A
  // bottleneck channel carries at most one flit per cycle, so this is at most the ideal bound
  // (up to the window's edges). A network whose sources stall when their packets queue (the
  // flit model's full buffers; both models' cap on a node's packets in flight,
  // noc.max_outstanding_packets) keeps the offered mix, and this is about the accepted
  // throughput; without a cap, the packet model's unbounded buffers deliver in full the flows
  // that avoid the overloaded channels, so past saturation its accepted throughput can pass
  // the bound while this does not.
  double pattern_throughput_flits_per_node_cycle = 0;
  // See the header comment; a fraction of the window's offered flits.
  static constexpr double kSaturationShortfall = 0.01;
  bool saturated = false;
  // Past saturation: saturated (above), or an average latency above 3 x zero-load (the
  // criterion of --sweep-rate and of the saturation tests).
  bool past_saturation() const {
    return saturated || avg_latency_cycles > 3 * avg_zero_load_latency_cycles;
  }
  std::uint64_t cycles = 0;
  double max_link_utilisation = 0;  // the busiest link, over the measurement window
  double energy_pj_per_flit = 0;    // per delivered flit, whole run
  double wall_seconds = 0;
  config::Json stats;  // the network's stats tree

  config::Json to_json() const;
};

NoctestResult run_noctest(const config::Json& arch, const std::vector<std::string>& overrides,
                          const NoctestOptions& o);

// One run per offered rate step, 2 x step, ... up to 1, stopping after the first point whose
// average latency exceeds 3 x its zero-load latency or that is saturated.
std::vector<NoctestResult> run_noctest_sweep(const config::Json& arch,
                                             const std::vector<std::string>& overrides,
                                             const NoctestOptions& o, double rate_step);

// The first rate of a sweep whose average latency exceeds 3 x zero-load (or that saturated);
// 0 if none did.
double saturation_rate(const std::vector<NoctestResult>& sweep);

void print_noctest(std::ostream& os, const NoctestResult& r);
void print_noctest_sweep_csv(std::ostream& os, const std::vector<NoctestResult>& sweep);

}  // namespace llmsim::driver
