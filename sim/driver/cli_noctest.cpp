// `llmsim noctest`: its options, parsed strictly; run_noctest checks them against the network.
#include <limits>

#include "sim/core/error.h"
#include "sim/driver/cli_args.h"
#include "sim/driver/noctest.h"
#include "sim/driver/presets.h"

namespace llmsim::driver {

namespace {

// --mesh WxH: each side 1 to kMaxMeshSide, digits only.
void parse_mesh(const std::string& mesh, NoctestOptions& o) {
  const auto x = mesh.find('x');
  const std::string w = mesh.substr(0, x), h = x == std::string::npos ? "" : mesh.substr(x + 1);
  auto side = [&](const std::string& s) {
    bool digits = !s.empty() && s.size() <= 19;
    for (char c : s) digits = digits && c >= '0' && c <= '9';
    if (!digits) throw UserError("--mesh " + mesh + ": expected WxH, e.g. 8x8");
    const std::uint64_t v = std::stoull(s);
    if (v == 0 || v > kMaxMeshSide) {
      throw UserError("--mesh " + mesh + ": width and height must be from 1 to " +
                      std::to_string(kMaxMeshSide));
    }
    return static_cast<std::uint32_t>(v);
  };
  o.mesh_width = side(w);
  o.mesh_height = side(h);
}

}  // namespace

int noctest_command(const std::vector<std::string>& args, std::ostream& out) {
  po::options_description desc("options", 100);
  std::string arch, pattern, rate, mesh, payload, warmup, cycles, hotspot_node, hotspot_fraction,
      seed, rate_step;
  std::vector<std::string> sets;
  bool json = false, sweep = false;
  add_arch_options(desc, arch, sets);
  desc.add_options()("pattern", po::value(&pattern)->value_name("P"),
                     "uniform (default), transpose, hotspot or to_memory")(
      "rate", po::value(&rate)->value_name("R"),
      "offered load in flits per node per cycle, in (0, 1] (default 0.1)")(
      "mesh", po::value(&mesh)->value_name("WxH"), "resize the mesh: 1 to 64 routers per side")(
      "payload", po::value(&payload)->value_name("B"),
      "payload bytes per packet, 0 to 65536 (default 64; plus header flits)")(
      "warmup", po::value(&warmup)->value_name("N"),
      "cycles before the measurement window (default 2000)")(
      "cycles", po::value(&cycles)->value_name("N"),
      "cycles of the measurement window (default 10000); warmup + cycles + the 40000-cycle "
      "drain at most 100000000")("hotspot-node", po::value(&hotspot_node)->value_name("N"),
                                 "hotspot: its destination node (default 0)")(
      "hotspot-fraction", po::value(&hotspot_fraction)->value_name("F"),
      "hotspot: share of traffic to it, in [0, 1] (default 0.2)")(
      "seed", po::value(&seed)->value_name("S"), "seed of the traffic generator (default 1)")(
      "sweep-rate", po::bool_switch(&sweep), "print latency vs offered load as CSV")(
      "rate-step", po::value(&rate_step)->value_name("S"),
      "offered-load step of --sweep-rate, in (0, 1] (default 0.05)")(
      "json", po::bool_switch(&json), "print JSON instead of a table");
  po::variables_map vm;
  if (!parse_command("noctest", desc, args, vm, out)) return 0;

  NoctestOptions o;
  if (!pattern.empty()) o.pattern = pattern;
  require_applies(vm, "rate", !sweep, "without --sweep-rate (the sweep sets the rate)");
  require_applies(vm, "rate-step", sweep, "with --sweep-rate");
  require_applies(vm, "json", !sweep, "without --sweep-rate (the sweep prints CSV)");
  require_applies(vm, "hotspot-node", o.pattern == "hotspot", "to --pattern hotspot");
  require_applies(vm, "hotspot-fraction", o.pattern == "hotspot", "to --pattern hotspot");
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  if (!rate.empty()) o.rate = real_option("rate", rate, 0, 1, true);
  if (!mesh.empty()) parse_mesh(mesh, o);
  if (!payload.empty()) {
    o.payload_bytes = integer_option("payload", payload, 0, kMaxNoctestPayloadBytes, " bytes");
  }
  if (!warmup.empty()) o.warmup_cycles = integer_option("warmup", warmup, 0, kMaxNoctestCycles);
  if (!cycles.empty()) o.measure_cycles = integer_option("cycles", cycles, 1, kMaxNoctestCycles);
  if (!hotspot_node.empty()) {
    o.hotspot_node = static_cast<std::uint32_t>(
        integer_option("hotspot-node", hotspot_node, 0, std::numeric_limits<std::uint32_t>::max()));
  }
  if (!hotspot_fraction.empty()) {
    o.hotspot_fraction = real_option("hotspot-fraction", hotspot_fraction, 0, 1);
  }
  if (!seed.empty()) o.seed = integer_option("seed", seed, 0, kMax);
  double step = 0.05;
  if (!rate_step.empty()) step = real_option("rate-step", rate_step, 0, 1, true);

  const config::Json doc = load_arch(arch);
  if (sweep) {
    print_noctest_sweep_csv(out, run_noctest_sweep(doc, sets, o, step));
    return 0;
  }
  const NoctestResult r = run_noctest(doc, sets, o);
  if (json) {
    out << r.to_json().dump(2) << "\n";
  } else {
    print_noctest(out, r);
  }
  return 0;
}

}  // namespace llmsim::driver
