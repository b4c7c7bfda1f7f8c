// `llmsim serve`: its options, parsed strictly; serve.h does the work.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>

#include "sim/core/error.h"
#include "sim/driver/cli_args.h"
#include "sim/driver/presets.h"
#include "sim/driver/serve.h"
#include "workloads/serving/generator.h"

namespace llmsim::driver {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::size_t at = 0;
  while (true) {
    const std::size_t next = s.find(sep, at);
    parts.push_back(s.substr(at, next - at));
    if (next == std::string::npos) return parts;
    at = next + 1;
  }
}

// --input-len / --output-len: N, uniform:LO:HI or lognormal:MEAN:SIGMA[:MAX].
serving::LengthDist length_option(const std::string& name, const std::string& text) {
  const std::string form = ": must be N, uniform:LO:HI or lognormal:MEAN:SIGMA[:MAX]";
  const std::vector<std::string> p = split(text, ':');
  const std::string opt = name + " " + text;
  // A part's error names the whole spec and the part: "--input-len lognormal:512:9: SIGMA
  // must be a finite number in [0, 4]".
  const auto part = [&](const std::string& what, auto&& parse) {
    try {
      return parse();
    } catch (const UserError& e) {
      const std::string m = e.what();
      throw UserError("--" + opt + ": " + what + " " + m.substr(m.find(": ") + 2));
    }
  };
  const auto tokens = [&](const std::string& what, const std::string& v) {
    return part(what, [&] { return integer_option(name, v, 1, serving::kMaxTokens, " tokens"); });
  };
  const auto real = [&](const std::string& what, const std::string& v, double lo, double hi) {
    return part(what, [&] { return real_option(name, v, lo, hi); });
  };
  if (p.size() == 1) return serving::LengthDist::fixed(tokens("N", p[0]));
  if (p[0] == "uniform" && p.size() == 3) {
    const std::uint64_t lo = tokens("LO", p[1]), hi = tokens("HI", p[2]);
    if (lo > hi) throw UserError("--" + opt + ": LO must be at most HI");
    return serving::LengthDist::uniform(lo, hi);
  }
  if (p[0] == "lognormal" && (p.size() == 3 || p.size() == 4)) {
    const double mean = real("MEAN", p[1], 1, double(serving::kMaxTokens));
    const double sigma = real("SIGMA", p[2], 0, 4);
    const std::uint64_t max = p.size() == 4 ? tokens("MAX", p[3]) : serving::kMaxTokens;
    return serving::LengthDist::lognormal(mean, sigma, max);
  }
  throw UserError("--" + opt + form);
}

// An SLO in ms, as ns.
double slo_option(const std::string& name, const std::string& text) {
  return real_option(name, text, 0, 1e9, true) * 1e6;
}

}  // namespace

int serve_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  po::options_description desc("options", 100);
  std::string arch, model, dtype = "bf16", requests, rate, num_requests, input_len, output_len,
                    seed, cost = "table", calibration_layers, check_iterations, slo_ttft,
                    slo_tpot, out_dir, timeline;
  std::vector<std::string> sets;
  bool json = false, quiet = false;
  add_arch_options(desc, arch, sets);
  desc.add_options()("model", po::value(&model)->value_name("NAME|FILE"),
                     "bundled decoder model or a Hugging Face config.json")(
      "dtype", po::value(&dtype)->value_name("T"), "int8, fp16, bf16 (default) or fp32")(
      "requests", po::value(&requests)->value_name("FILE"),
      "a trace: .jsonl (arrival_time_ns, input_toks, output_toks) or .csv (arrived_at, "
      "num_prefill_tokens, num_decode_tokens)")(
      "rate", po::value(&rate)->value_name("R"), "generator: Poisson arrivals, requests per s")(
      "num-requests", po::value(&num_requests)->value_name("N"), "generator: requests")(
      "input-len", po::value(&input_len)->value_name("LEN"), "generator: prompt lengths")(
      "output-len", po::value(&output_len)->value_name("LEN"), "generator: output lengths")(
      "seed", po::value(&seed)->value_name("S"), "generator: seed (default 0)")(
      "cost", po::value(&cost)->value_name("C"),
      "table (default: calibrated tables, error checked) or exact (every iteration simulated)")(
      "calibration-layers", po::value(&calibration_layers)->value_name("K"),
      "table: layers of each calibration run (default 3)")(
      "check-iterations", po::value(&check_iterations)->value_name("N"),
      "table: sampled iterations simulated in full to measure the error (default 2)")(
      "slo-ttft-ms", po::value(&slo_ttft)->value_name("X"), "TTFT objective for goodput, ms")(
      "slo-tpot-ms", po::value(&slo_tpot)->value_name("Y"), "TPOT objective for goodput, ms")(
      "out", po::value(&out_dir)->value_name("DIR"),
      "write requests.csv, tokens.csv, iterations.csv, summary.json")(
      "timeline", po::value(&timeline)->value_name("FILE"),
      "write the iterations as Chrome trace-event JSON (ui.perfetto.dev)")(
      "json", po::bool_switch(&json), "print summary.json instead of the summary")(
      "quiet", po::bool_switch(&quiet), "no progress lines on stderr");
  po::variables_map vm;
  if (!parse_command("serve", desc, args, vm, out)) return 0;
  if (arch.empty()) throw UserError("serve: --arch is required");
  if (model.empty()) throw UserError("serve: --model is required");

  ServeSpec spec;
  const bool generated = !requests.empty() ? false : true;
  if (!requests.empty()) {
    for (const char* g : {"rate", "num-requests", "input-len", "output-len", "seed"}) {
      require_applies(vm, g, false, "without --requests (they describe generated requests)");
    }
  } else {
    for (const char* g : {"rate", "num-requests", "input-len", "output-len"}) {
      if (!vm.count(g)) {
        throw UserError(std::string("serve: --") + g +
                        " is required without --requests (or give --requests FILE)");
      }
    }
  }
  require_applies(vm, "calibration-layers", cost == "table", "with --cost table");
  require_applies(vm, "check-iterations", cost == "table", "with --cost table");
  if (cost != "table" && cost != "exact") {
    throw UserError("--cost " + cost + ": must be table or exact");
  }
  spec.cost = cost;
  const auto dt = isa::parse_dtype(dtype);
  if (!dt) throw UserError("--dtype " + dtype + ": must be one of " + isa::kDTypeNames);
  spec.dtype = *dt;
  if (!calibration_layers.empty()) {
    spec.calibration_layers = integer_option("calibration-layers", calibration_layers, 1, 1024);
  }
  if (!check_iterations.empty()) {
    spec.check_iterations = integer_option("check-iterations", check_iterations, 0, 1000);
  }
  if (!slo_ttft.empty()) spec.slo.ttft_ns = slo_option("slo-ttft-ms", slo_ttft);
  if (!slo_tpot.empty()) spec.slo.tpot_ns = slo_option("slo-tpot-ms", slo_tpot);

  if (generated) {
    serving::GeneratorParams g;
    g.rate_rps = real_option("rate", rate, 0, 1e9, true);
    g.num_requests = integer_option("num-requests", num_requests, 1, serving::kMaxRequests);
    g.input = length_option("input-len", input_len);
    g.output = length_option("output-len", output_len);
    if (!seed.empty()) {
      g.seed = integer_option("seed", seed, 0, std::numeric_limits<std::uint64_t>::max());
    }
    spec.requests = serving::generate_requests(g);
    spec.requests_source = "generated requests";
  } else {
    spec.requests = serving::read_requests(requests);
    spec.requests_source = requests;
  }

  // The outputs are checked before the run.
  if (!out_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(out_dir, ec);
    if (ec) throw UserError("--out " + out_dir + ": cannot create the directory: " + ec.message());
  }
  if (!timeline.empty()) {
    std::ofstream probe(timeline, std::ios::app);
    if (!probe) throw UserError("--timeline " + timeline + ": cannot write the file");
  }
  spec.arch_name = arch;
  spec.arch = load_arch(arch);
  spec.overrides = sets;
  spec.model = workloads::load_model(model);
  if (!quiet) spec.log = [&err](const std::string& line) { err << line << std::endl; };

  const ServeResult r = serve(spec);
  if (!out_dir.empty()) write_serve_outputs(r, out_dir);
  if (!timeline.empty()) write_serve_timeline(r, timeline);
  if (json) {
    out << summary_json(r).dump(2) << "\n";
  } else {
    print_serve_summary(out, r);
  }
  return 0;
}

}  // namespace llmsim::driver
