// `llmsim memtest`: its options, parsed strictly; run_memtest checks them against the memory.
#include <algorithm>
#include <limits>

#include "sim/core/error.h"
#include "sim/driver/cli_args.h"
#include "sim/driver/dram_bandwidth.h"
#include "sim/driver/memtest.h"
#include "sim/driver/presets.h"
#include "sim/driver/run.h"

namespace llmsim::driver {

int memtest_command(const std::vector<std::string>& args, std::ostream& out) {
  po::options_description desc("options", 100);
  std::string arch, pattern, trace, requests, bytes, rate, stride, read_fraction, seed;
  std::vector<std::string> sets;
  bool json = false, table = false;
  add_arch_options(desc, arch, sets);
  desc.add_options()("pattern", po::value(&pattern)->value_name("P"),
                     "synthetic pattern: seq_read (default), seq_write, mixed, random_read, "
                     "random_write or strided")(
      "trace", po::value(&trace)->value_name("FILE"),
      "request trace instead of a pattern: ADDRESS R|W [CYCLE] per line")(
      "requests", po::value(&requests)->value_name("N"),
      "number of requests, 1 to 1000000000 (default 65536)")(
      "bytes", po::value(&bytes)->value_name("B"),
      "bytes per request (default 64), at most the capacity (half of it for mixed)")(
      "rate", po::value(&rate)->value_name("GB_PER_S"),
      "offered load in GB/s; 0 (default) = as fast as accepted")(
      "stride", po::value(&stride)->value_name("B"), "strided: bytes between requests (4096)")(
      "read-fraction", po::value(&read_fraction)->value_name("F"),
      "mixed: share of reads, in [0, 1] (default 2/3)")(
      "seed", po::value(&seed)->value_name("S"), "random patterns and mixed: generator seed")(
      "pattern-table", po::bool_switch(&table),
      "print the DRAM bandwidth the mapper uses per access pattern (row bytes x stride x "
      "streams), measured on the memory (docs/timing.md)")("json", po::bool_switch(&json),
                                                           "print JSON instead of a table");
  po::variables_map vm;
  if (!parse_command("memtest", desc, args, vm, out)) return 0;

  if (table) {
    for (const char* other :
         {"pattern", "trace", "requests", "bytes", "rate", "stride", "read-fraction", "seed"}) {
      require_applies(vm, other, false, "without --pattern-table");
    }
    const config::Json resolved = validate(load_arch(arch), sets);
    const auto rows = dram_pattern_table(DramBandwidthTable::for_arch(resolved),
                                         resolved.at("num_cores").get<std::uint32_t>());
    if (json) {
      out << to_json(rows).dump(2) << "\n";
    } else {
      print_dram_pattern_table(out, rows);
    }
    return 0;
  }
  MemtestOptions o;
  if (!pattern.empty() && !trace.empty()) {
    throw UserError("--pattern " + pattern + " and --trace " + trace +
                    ": give one of them (a trace replaces the pattern)");
  }
  const bool traced = !trace.empty();
  if (!pattern.empty()) {
    const auto& names = memtest_patterns();
    if (std::find(names.begin(), names.end(), pattern) == names.end()) {
      throw UserError(
          "--pattern " + pattern +
          ": unknown; patterns: seq_read, seq_write, mixed, random_read, random_write, strided");
    }
    o.pattern = pattern;
  }
  o.trace_file = trace;
  const std::string synthetic = "to a synthetic --pattern (a trace request is one burst)";
  require_applies(vm, "requests", !traced,
                  "to a synthetic --pattern (a trace's lines are its "
                  "requests)");
  require_applies(vm, "bytes", !traced, synthetic);
  require_applies(vm, "stride", !traced && o.pattern == "strided", "to --pattern strided");
  require_applies(vm, "read-fraction", !traced && o.pattern == "mixed", "to --pattern mixed");
  require_applies(vm, "seed",
                  !traced && (o.pattern == "mixed" || o.pattern == "random_read" ||
                              o.pattern == "random_write"),
                  "to --pattern mixed, random_read or random_write");
  constexpr double kInf = std::numeric_limits<double>::infinity();
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  if (!requests.empty()) o.requests = integer_option("requests", requests, 1, kMaxMemtestRequests);
  if (!bytes.empty()) o.request_bytes = count_option("bytes", bytes);
  if (!rate.empty()) o.rate_gb_per_s = real_option("rate", rate, 0, kInf);
  if (!stride.empty()) o.stride_bytes = count_option("stride", stride);
  if (!read_fraction.empty()) o.read_fraction = real_option("read-fraction", read_fraction, 0, 1);
  if (!seed.empty()) o.seed = integer_option("seed", seed, 0, kMax);

  const MemtestResult r = run_memtest(load_arch(arch), sets, o);
  if (json) {
    out << r.to_json().dump(2) << "\n";
  } else {
    print_memtest(out, r);
  }
  return 0;
}

}  // namespace llmsim::driver
