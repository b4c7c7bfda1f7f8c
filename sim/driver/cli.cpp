#include "sim/driver/cli.h"

#include <boost/program_options.hpp>
#include <cctype>

#include "arch/isa/dump.h"
#include "sim/core/error.h"
#include "sim/driver/html_report.h"
#include "sim/driver/memtest.h"
#include "sim/driver/noctest.h"
#include "sim/driver/presets.h"
#include "sim/driver/report.h"
#include "sim/driver/run.h"
#include "workloads/model_config.h"
#include "workloads/transformer.h"

namespace llmsim::driver {

namespace po = boost::program_options;

namespace {

constexpr const char* kUsage =
    "usage: llmsim <command> [options]\n"
    "commands:\n"
    "  run       --arch PRESET|FILE (--workload NAME|FILE | --model NAME|FILE [model options])\n"
    "            [--mapping auto|fixed] [--split tiles|rows|cols|batch] [--fusion on|off]\n"
    "            [--weights tiled|row_major]\n"
    "            [--set key=value]...\n"
    "            [--out DIR] [--timeline FILE [--timeline-max-events N]]\n"
    "            simulate and print a summary and a per-layer table; with --out, write\n"
    "            stats.json, config.json, ops.csv; with --timeline, a Chrome trace-event JSON\n"
    "            file for ui.perfetto.dev (at most N spans, default 1000000)\n"
    "  compile   the same arguments as run (without --out, --timeline): print the ISA program\n"
    "            of every core\n"
    "  report    RUN_DIR\n"
    "            write RUN_DIR/report.html (totals, layer and op tables, cycle breakdown and\n"
    "            roofline plots) for a directory written by run --out\n"
    "  validate  --arch PRESET|FILE [--set key=value]...\n"
    "            check an arch config and print it resolved (every default written out)\n"
    "  memtest   --arch PRESET|FILE (--pattern P | --trace FILE) [--requests N] [--bytes B]\n"
    "            [--rate GB_PER_S] [--stride B] [--read-fraction F] [--seed S] [--json]\n"
    "            drive the HBM memory alone; patterns: seq_read seq_write mixed random_read\n"
    "            random_write strided; --rate 0 (default) offers requests as fast as accepted\n"
    "  noctest   --arch PRESET|FILE [--pattern P] [--rate R | --sweep-rate [--rate-step S]]\n"
    "            [--mesh WxH] [--payload B] [--warmup N] [--cycles N] [--seed S] [--json]\n"
    "            drive the NoC alone with synthetic traffic at R flits/node/cycle; patterns:\n"
    "            uniform transpose hotspot to_memory; --sweep-rate prints latency vs load CSV\n"
    "  trace     --model NAME|FILE [model options]\n"
    "            model options: [--batch B] [--seq S] [--phase prefill|decode] [--kv-len L]\n"
    "            [--dtype int8|fp16|bf16|fp32] [--layers N]\n"
    "            print the layer trace of a model (a Hugging Face config.json) as JSON; prefill\n"
    "            (default) runs seq tokens (default 128), decode one token after kv-len cached\n"
    "  presets   list the architecture presets\n"
    "  workloads list the bundled workloads\n"
    "  models    list the bundled models\n";

// A model and the shape to run it at (trace, run, compile).
struct ModelArgs {
  std::string model, batch, seq, kv_len, phase = "prefill", dtype = "int8", layers;

  void add(po::options_description& desc) {
    desc.add_options()("model", po::value(&model), "bundled model name or config.json")(
        "batch", po::value(&batch), "sequences (default 1)")(
        "seq", po::value(&seq), "tokens per sequence: prefill 128 by default; decode 1")(
        "phase", po::value(&phase), "prefill (default) or decode")(
        "kv-len", po::value(&kv_len), "decode: tokens already in the KV cache")(
        "dtype", po::value(&dtype), "dtype of every op (default int8)")(
        "layers", po::value(&layers), "only the first N transformer layers");
  }
  workloads::Workload trace() const;
};

struct Options {
  std::string arch, workload, out, mapping = "auto", split, fusion, weights, timeline,
      timeline_max_events;
  std::vector<std::string> sets;
  ModelArgs model;

  workloads::Workload load_workload() const {
    if (!workload.empty() && !model.model.empty()) {
      throw UserError("--workload and --model: give one of them, not both");
    }
    if (workload.empty() && model.model.empty()) {
      throw UserError("the option '--workload' or '--model' is required");
    }
    return workload.empty() ? model.trace() : workloads::load_workload(workload);
  }
  workloads::MappingOptions mapping_options() const {
    return driver::mapping_options(mapping, split, fusion, weights);
  }
};

Options parse(const std::string& cmd, const std::vector<std::string>& args, bool need_workload) {
  po::options_description desc("llmsim " + cmd);
  Options o;
  desc.add_options()("arch", po::value(&o.arch)->required(), "preset name or arch JSON file")(
      "set", po::value(&o.sets)->composing(), "override a config key: path.to.key=value");
  if (need_workload) {
    desc.add_options()("workload", po::value(&o.workload), "workload name or JSON file")(
        "mapping", po::value(&o.mapping), "auto (default) or fixed")(
        "split", po::value(&o.split), "multi-core split of every matmul")(
        "fusion", po::value(&o.fusion), "on or off: element-wise ops in matmul epilogues")(
        "weights", po::value(&o.weights), "tiled or row_major: the weights' layout in DRAM");
    o.model.add(desc);
  }
  if (cmd == "run") {
    desc.add_options()("out", po::value(&o.out), "directory for the output files")(
        "timeline", po::value(&o.timeline), "write a Chrome trace-event JSON timeline")(
        "timeline-max-events", po::value(&o.timeline_max_events), "cap of timeline spans");
  }
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).run(), vm);
  po::notify(vm);
  return o;
}

int memtest(const std::vector<std::string>& args, std::ostream& out) {
  po::options_description desc("llmsim memtest");
  std::string arch;
  std::vector<std::string> sets;
  MemtestOptions o;
  bool json = false;
  desc.add_options()("arch", po::value(&arch)->required(), "preset name or arch JSON file")(
      "set", po::value(&sets)->composing(), "override a config key: path.to.key=value")(
      "pattern", po::value(&o.pattern), "synthetic pattern")(
      "trace", po::value(&o.trace_file), "request trace: ADDRESS R|W [CYCLE] per line")(
      "requests", po::value(&o.requests), "number of requests")(
      "bytes", po::value(&o.request_bytes), "bytes per request")(
      "rate", po::value(&o.rate_gb_per_s), "offered load in GB/s; 0 = as fast as accepted")(
      "stride", po::value(&o.stride_bytes), "bytes between requests of `strided`")(
      "read-fraction", po::value(&o.read_fraction), "reads among `mixed` requests")(
      "seed", po::value(&o.seed), "seed of the random patterns")("json", po::bool_switch(&json),
                                                                 "print JSON instead of a table");
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).run(), vm);
  po::notify(vm);
  const MemtestResult r = run_memtest(load_arch(arch), sets, o);
  if (json) {
    out << r.to_json().dump(2) << "\n";
  } else {
    print_memtest(out, r);
  }
  return 0;
}

int noctest(const std::vector<std::string>& args, std::ostream& out) {
  po::options_description desc("llmsim noctest");
  std::string arch, mesh;
  std::vector<std::string> sets;
  NoctestOptions o;
  bool json = false, sweep = false;
  double rate_step = 0.05;
  desc.add_options()("arch", po::value(&arch)->required(), "preset name or arch JSON file")(
      "set", po::value(&sets)->composing(), "override a config key: path.to.key=value")(
      "pattern", po::value(&o.pattern), "uniform, transpose, hotspot or to_memory")(
      "rate", po::value(&o.rate), "offered load in flits per node per cycle, in (0, 1]")(
      "mesh", po::value(&mesh), "resize the mesh: WxH")(
      "payload", po::value(&o.payload_bytes), "payload bytes per packet (plus header flits)")(
      "warmup", po::value(&o.warmup_cycles), "cycles before the measurement window")(
      "cycles", po::value(&o.measure_cycles), "cycles of the measurement window")(
      "hotspot-node", po::value(&o.hotspot_node), "destination node of `hotspot`")(
      "hotspot-fraction", po::value(&o.hotspot_fraction), "share of `hotspot` traffic to it")(
      "seed", po::value(&o.seed), "seed of the traffic generator")(
      "sweep-rate", po::bool_switch(&sweep), "print latency vs offered load as CSV")(
      "rate-step", po::value(&rate_step), "offered-load step of --sweep-rate")(
      "json", po::bool_switch(&json), "print JSON instead of a table");
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).run(), vm);
  po::notify(vm);
  if (!mesh.empty()) {
    const auto x = mesh.find('x');
    try {
      if (x == std::string::npos) throw std::invalid_argument(mesh);
      std::size_t wn = 0, hn = 0;
      o.mesh_width = static_cast<std::uint32_t>(std::stoul(mesh.substr(0, x), &wn));
      o.mesh_height = static_cast<std::uint32_t>(std::stoul(mesh.substr(x + 1), &hn));
      if (wn != x || hn != mesh.size() - x - 1) throw std::invalid_argument(mesh);
    } catch (const std::exception&) {
      throw UserError("--mesh " + mesh + ": expected WxH, e.g. 8x8");
    }
    if (o.mesh_width == 0 || o.mesh_height == 0) {
      throw UserError("--mesh " + mesh + ": width and height must be positive");
    }
  }
  const config::Json doc = load_arch(arch);
  if (sweep) {
    print_noctest_sweep_csv(out, run_noctest_sweep(doc, sets, o, rate_step));
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

// A positive integer option, strictly (boost would read "-1" as 2^64 - 1).
std::uint64_t count_option(const std::string& option, const std::string& text) {
  std::size_t used = 0;
  unsigned long long x = 0;
  try {
    if (!text.empty() && std::isdigit(static_cast<unsigned char>(text[0])))
      x = std::stoull(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || x == 0) {
    throw UserError("--" + option + " " + text + ": must be a positive integer");
  }
  return x;
}

workloads::Workload ModelArgs::trace() const {
  workloads::TraceOptions o;
  if (!batch.empty()) o.batch = count_option("batch", batch);
  if (!seq.empty()) o.seq = count_option("seq", seq);
  if (!kv_len.empty()) o.kv_len = count_option("kv-len", kv_len);
  if (!layers.empty()) o.layers = count_option("layers", layers);
  if (phase != "prefill" && phase != "decode") {
    throw UserError("--phase " + phase + ": must be prefill or decode");
  }
  o.phase = workloads::parse_phase(phase);
  const auto dt = isa::parse_dtype(dtype);
  if (!dt) throw UserError("--dtype " + dtype + ": must be one of " + isa::kDTypeNames);
  o.dtype = *dt;
  return workloads::build_trace(workloads::load_model(model), o);
}

int trace(const std::vector<std::string>& args, std::ostream& out) {
  po::options_description desc("llmsim trace");
  ModelArgs m;
  m.add(desc);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).run(), vm);
  po::notify(vm);
  if (m.model.empty()) throw UserError("the option '--model' is required but missing");
  out << workloads::format_trace(workloads::to_json(m.trace()));
  return 0;
}

int dispatch(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    out << kUsage;
    return args.empty() ? 2 : 0;
  }
  const std::string cmd = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (cmd == "presets") {
    for (const Preset& p : presets()) out << p.name << "\n    " << p.description << "\n";
    return 0;
  }
  if (cmd == "workloads") {
    for (const auto& w : workloads::bundled_workloads()) out << w << "\n";
    return 0;
  }
  if (cmd == "models") {
    for (const auto& name : workloads::bundled_models()) {
      const workloads::ModelConfig m = workloads::load_model(name);
      out << name << "\n    " << m.architecture << ": " << m.num_hidden_layers
          << (m.num_hidden_layers == 1 ? " layer" : " layers") << ", hidden " << m.hidden_size
          << ", " << m.num_attention_heads << " heads";
      if (m.num_key_value_heads != m.num_attention_heads) {
        out << " (" << m.num_key_value_heads << " KV heads)";
      }
      out << ", FFN " << m.intermediate_size << ", vocab " << m.vocab_size << "\n";
    }
    return 0;
  }
  if (cmd == "trace") return trace(rest, out);
  if (cmd == "validate") {
    const Options o = parse(cmd, rest, false);
    out << validate(load_arch(o.arch), o.sets).dump(2) << "\n";
    return 0;
  }
  if (cmd == "run" || cmd == "compile") {
    const Options o = parse(cmd, rest, true);
    RunSpec spec{o.arch, load_arch(o.arch), o.sets, o.load_workload(), o.mapping_options()};
    if (cmd == "compile") {
      isa::dump(out, compile(spec));
      return 0;
    }
    if (!o.timeline_max_events.empty() && o.timeline.empty()) {
      throw UserError("--timeline-max-events: needs --timeline FILE");
    }
    if (!o.timeline.empty()) {
      spec.timeline = timeline::TimelineOptions{o.timeline};
      if (!o.timeline_max_events.empty()) {
        spec.timeline->max_events = count_option("timeline-max-events", o.timeline_max_events);
      }
    }
    const RunResult r = run(spec);
    if (r.timeline_dropped > 0) {
      err << "warning: --timeline " << o.timeline << ": truncated at " << spec.timeline->max_events
          << " spans (" << r.timeline_dropped
          << " later spans dropped; raise --timeline-max-events)\n";
    }
    print_summary(out, r);
    if (!o.out.empty()) write_outputs(r, o.out);
    return 0;
  }
  if (cmd == "memtest") return memtest(rest, out);
  if (cmd == "noctest") return noctest(rest, out);
  if (cmd == "report") {
    if (rest.size() != 1 || rest[0].rfind("-", 0) == 0) throw po::error("report takes RUN_DIR");
    return html_report(rest[0], out, err);
  }
  throw po::error("unknown command \"" + cmd +
                  "\"; commands: run, compile, report, validate, trace, memtest, noctest, presets, "
                  "workloads, models");
}

}  // namespace

int cli_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  try {
    return dispatch(args, out, err);
  } catch (const UserError& e) {
    err << "error: " << e.what() << "\n";
    return 2;
  } catch (const po::error& e) {
    err << "error: " << e.what() << "\n" << kUsage;
    return 2;
  } catch (const std::exception& e) {
    err << "llmsim: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace llmsim::driver
