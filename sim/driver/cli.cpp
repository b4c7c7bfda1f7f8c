#include "sim/driver/cli.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "arch/isa/dump.h"
#include "sim/core/error.h"
#include "sim/core/json_input.h"
#include "sim/driver/cli_args.h"
#include "sim/driver/html_report.h"
#include "sim/driver/presets.h"
#include "sim/driver/report.h"
#include "sim/driver/run.h"
#include "sim/driver/version.h"
#include "workloads/model_config.h"
#include "workloads/transformer.h"

namespace llmsim::driver {

namespace {

const std::vector<std::string> kModelOptions = {"batch",  "seq",   "phase",
                                                "kv-len", "dtype", "layers"};

// A model and the shape to run it at (trace, run, compile).
struct ModelArgs {
  std::string model, batch, seq, kv_len, phase = "prefill", dtype = "int8", layers;

  void add(po::options_description& desc) {
    desc.add_options()("model", po::value(&model)->value_name("NAME|FILE"),
                       "bundled model name or a Hugging Face config.json")(
        "batch", po::value(&batch)->value_name("B"), "sequences (default 1)")(
        "seq", po::value(&seq)->value_name("S"),
        "tokens per sequence: prefill 128 by default; decode 1")(
        "phase", po::value(&phase)->value_name("P"), "prefill (default) or decode")(
        "kv-len", po::value(&kv_len)->value_name("L"), "decode: tokens already in the KV cache")(
        "dtype", po::value(&dtype)->value_name("T"),
        "dtype of every op: int8 (default), fp16, "
        "bf16 or fp32")("layers", po::value(&layers)->value_name("N"),
                        "only the first N transformer layers");
  }

  // The trace options, parsed strictly (before any model is loaded).
  workloads::TraceOptions options() const {
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
    return o;
  }
};

// --check: the run's values and trace into `dir` (a temporary directory when empty, removed
// after), then `python -m llmsim.check DIR DIR/trace.json`, its table on `out`. Exit code 0,
// 3 (an op out of tolerance), 2 (the checker's user error) or 1 (the checker failed: a bug).
int check_values(const RunResult& r, const workloads::Workload& w,
                 const std::vector<std::uint64_t>& token_ids, const std::string& out_dir,
                 std::ostream& out, std::ostream& err) {
  namespace fs = std::filesystem;
  std::string dir = out_dir;
  if (dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = (fs::path(tmp && *tmp ? tmp : "/tmp") / "llmsim-check-XXXXXX").string();
    if (mkdtemp(templ.data()) == nullptr) {
      throw UserError("--check: cannot create a temporary directory " + templ + ": " +
                      std::strerror(errno) + " (give --out DIR)");
    }
    dir = templ;
    write_values(r.values, r.tensors, dir, workloads::token_embedding(w), token_ids);
  }
  const std::string trace = (fs::path(dir) / "trace.json").string();
  {
    std::ofstream f(trace);
    f << workloads::format_trace(workloads::to_json(w));
    if (!f) throw UserError("--check: cannot write " + trace);
  }
  out << "\nvalue check against PyTorch (python -m llmsim.check " << dir << " " << trace << "):\n";
  out.flush();
  const int code = run_python_module("llmsim.check", {dir, trace}, out, err);
  if (out_dir.empty()) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  if (code < 0) {
    err << "llmsim: internal error: python -m llmsim.check ended by signal " << -code << "\n";
    return 1;
  }
  return code == 0 || code == 2 || code == 3 ? code : 1;
}

// The options of run and compile.
struct RunArgs {
  std::string arch, workload, out, mapping = "auto", split, fusion, weights, tiles, timeline,
                                   timeline_max_events, values_seed, values_params, values_keep,
                                   tokens;
  bool values = false, check = false;
  std::vector<std::string> sets;
  ModelArgs model;
};

int run_or_compile(const std::string& cmd, const std::vector<std::string>& args, std::ostream& out,
                   std::ostream& err) {
  po::options_description desc("options", 100);
  RunArgs a;
  add_arch_options(desc, a.arch, a.sets);
  desc.add_options()("workload", po::value(&a.workload)->value_name("NAME|FILE"),
                     "workload name or JSON file (or --model)")(
      "mapping", po::value(&a.mapping)->value_name("M"), "auto (default) or fixed")(
      "split", po::value(&a.split)->value_name("S"),
      "multi-core split of every matmul: tiles, rows, cols or batch")(
      "fusion", po::value(&a.fusion)->value_name("on|off"), "element-wise ops in matmul epilogues")(
      "weights", po::value(&a.weights)->value_name("LAYOUT"),
      "tiled or row_major: the weights' layout in DRAM")(
      "tiles", po::value(&a.tiles)->value_name("MxKxN"),
      "every matmul's tile sizes (at most its own); the mapping chooses the rest")(
      "tokens", po::value(&a.tokens)->value_name("IDS|@FILE"),
      "token ids of the first embedding op, e.g. 101,2023,102 (batch x seq of them, each below "
      "its vocab), or @FILE holding them; default: a fixed hash of the position");
  a.model.add(desc);
  if (cmd == "run") {
    desc.add_options()("out", po::value(&a.out)->value_name("DIR"),
                       "write stats.json, config.json and ops.csv here (created if missing)")(
        "timeline", po::value(&a.timeline)->value_name("FILE"),
        "write a Chrome trace-event JSON timeline")(
        "timeline-max-events", po::value(&a.timeline_max_events)->value_name("N"),
        "cap of timeline spans (default 1000000)")(
        "values", po::bool_switch(&a.values),
        "compute real values (same cycles); with --out, write each op's output to DIR/values/")(
        "values-seed", po::value(&a.values_seed)->value_name("N"),
        "seed of the weights' and inputs' values (default 0)")(
        "values-keep", po::value(&a.values_keep)->value_name("all|none"),
        "with --values: keep every op's output for --out's values/ and --check (all), or only "
        "compute them (none: less memory); default all with --out or --check, else none")(
        "values-params", po::value(&a.values_params)->value_name("DIR"),
        "with --values: the parameters the trace names (its ops' \"params\") from DIR/index.json "
        "and its .npy files (llmsim.write_params writes them from a state dict); the unnamed "
        "keep seeded values")(
        "check", po::bool_switch(&a.check),
        "with --values: check every op's output against PyTorch (python -m llmsim.check) and "
        "print the per-op table; exit 3 when an op is out of tolerance. Writes DIR/values/ and "
        "DIR/trace.json (a temporary directory, removed after, without --out)");
  }
  po::variables_map vm;
  if (!parse_command(cmd, desc, args, vm, out)) return 0;

  // Every argument is checked before anything is loaded, the outputs before simulating.
  if (!a.workload.empty() && !a.model.model.empty()) {
    throw UserError("--workload and --model: give one of them, not both");
  }
  if (a.workload.empty() && a.model.model.empty()) {
    throw UserError("llmsim " + cmd + ": the option '--workload' or '--model' is required");
  }
  for (const std::string& m : kModelOptions) {
    require_applies(vm, m, !a.model.model.empty(), "with --model (a model's shape)");
  }
  const workloads::TraceOptions trace_options = a.model.options();
  workloads::MappingOptions mapping =
      mapping_options(a.mapping, a.split, a.fusion, a.weights, a.tiles);
  if (vm.count("tokens")) mapping.token_ids = token_ids_option(a.tokens);
  std::optional<timeline::TimelineOptions> timeline;
  if (!a.timeline_max_events.empty() && a.timeline.empty()) {
    throw UserError("--timeline-max-events: needs --timeline FILE");
  }
  if (!a.timeline.empty()) {
    timeline = timeline::TimelineOptions{a.timeline};
    if (!a.timeline_max_events.empty()) {
      timeline->max_events = count_option("timeline-max-events", a.timeline_max_events);
    }
    timeline->check();
  }
  workloads::Workload workload =
      a.workload.empty()
          ? workloads::build_trace(workloads::load_model(a.model.model), trace_options)
          : workloads::load_workload(a.workload);
  RunSpec spec{a.arch, load_arch(a.arch), a.sets, std::move(workload), mapping};
  if (cmd == "compile") {
    isa::dump(out, compile(spec));
    return 0;
  }
  if (!a.values_seed.empty() && !a.values) throw UserError("--values-seed: needs --values");
  if (vm.count("values-params") && !a.values) throw UserError("--values-params: needs --values");
  if (a.values) {
    spec.values = ValuesSpec{};
    if (!a.values_seed.empty())
      spec.values->seed = integer_option("values-seed", a.values_seed, 0,
                                         std::numeric_limits<std::uint64_t>::max());
    if (vm.count("values-params")) {
      if (a.values_params.empty()) throw UserError("--values-params: needs a directory");
      spec.values->params_dir = a.values_params;
      spec.values->params_label = "--values-params " + config::printable(a.values_params);
      read_param_index(a.values_params, spec.values->params_label);  // fail before loading
    }
    // Nothing reads the outputs without --out or --check: keep none unless asked.
    spec.values->keep = a.out.empty() && !a.check ? KeepValues::none : KeepValues::all;
    if (vm.count("values-keep")) {
      if (a.values_keep == "all") {
        spec.values->keep = KeepValues::all;
      } else if (a.values_keep == "none") {
        spec.values->keep = KeepValues::none;
      } else {
        throw UserError("--values-keep " + config::printable(a.values_keep) +
                        ": must be all or none");
      }
    }
    if (a.check && spec.values->keep == KeepValues::none) {
      throw UserError("--values-keep none: --check needs every op's output (all)");
    }
  }
  if (vm.count("values-keep") && !a.values) throw UserError("--values-keep: needs --values");
  if (a.check && !a.values) throw UserError("--check: needs --values");
  if (a.check) {
    const std::filesystem::path module =
        std::filesystem::path(python_package_dir()) / "llmsim" / "check.py";
    if (!std::filesystem::is_regular_file(module)) {
      throw UserError("--check needs the Python package of this build, " + module.string() +
                      " is missing: build the llmsim_python_package target");
    }
  }
  if (!a.out.empty()) prepare_output_dir(a.out);
  spec.timeline = timeline;
  const RunResult r = run(spec);
  if (r.timeline_dropped > 0) {
    err << "warning: --timeline " << a.timeline << ": truncated at " << spec.timeline->max_events
        << " spans (" << r.timeline_dropped
        << " later spans dropped; raise --timeline-max-events)\n";
  }
  if (!a.out.empty()) write_outputs(r, a.out);
  if (!a.out.empty() && a.values && spec.values->keep == KeepValues::all) {
    write_values(r.values, r.tensors, a.out, workloads::token_embedding(spec.workload),
                 spec.mapping.token_ids);
  }
  print_summary(out, r);
  if (a.check) return check_values(r, spec.workload, spec.mapping.token_ids, a.out, out, err);
  return 0;
}

int trace(const std::vector<std::string>& args, std::ostream& out) {
  po::options_description desc("options", 100);
  ModelArgs m;
  m.add(desc);
  po::variables_map vm;
  if (!parse_command("trace", desc, args, vm, out)) return 0;
  if (m.model.empty()) throw UserError("llmsim trace: the option '--model' is required");
  const workloads::TraceOptions o = m.options();
  out << workloads::format_trace(
      workloads::to_json(workloads::build_trace(workloads::load_model(m.model), o)));
  return 0;
}

int validate_command(const std::vector<std::string>& args, std::ostream& out) {
  po::options_description desc("options", 100);
  std::string arch;
  std::vector<std::string> sets;
  add_arch_options(desc, arch, sets);
  po::variables_map vm;
  if (!parse_command("validate", desc, args, vm, out)) return 0;
  out << validate(load_arch(arch), sets).dump(2) << "\n";
  return 0;
}

// A command that takes no arguments but --help.
bool no_arguments(const std::string& cmd, const std::vector<std::string>& args, std::ostream& out) {
  po::options_description desc("options", 100);
  po::variables_map vm;
  return parse_command(cmd, desc, args, vm, out);
}

int list_models(std::ostream& out) {
  for (const auto& name : workloads::bundled_models()) {
    const workloads::ModelConfig m = workloads::load_model(name);
    out << name << "\n    " << m.architecture << ": " << m.num_hidden_layers
        << (m.num_hidden_layers == 1 ? " layer" : " layers") << ", hidden " << m.hidden_size << ", "
        << m.num_attention_heads << " heads";
    if (m.num_key_value_heads != m.num_attention_heads) {
      out << " (" << m.num_key_value_heads << " KV heads)";
    }
    out << ", FFN " << m.intermediate_size << ", vocab " << m.vocab_size << "\n";
  }
  return 0;
}

int dispatch(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty()) {
    err << usage();
    return 2;
  }
  const std::string cmd = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    if (!rest.empty()) throw UserError("llmsim " + cmd + ": takes no arguments");
    out << usage();
    return 0;
  }
  if (cmd == "--version") {
    if (!rest.empty()) throw UserError("llmsim --version: takes no arguments");
    out << "llmsim " << version() << " (git " << git_commit() << ")\n";
    return 0;
  }
  if (cmd == "presets") {
    if (!no_arguments(cmd, rest, out)) return 0;
    for (const Preset& p : presets()) out << p.name << "\n    " << p.description << "\n";
    return 0;
  }
  if (cmd == "workloads") {
    if (!no_arguments(cmd, rest, out)) return 0;
    for (const auto& w : workloads::bundled_workloads()) out << w << "\n";
    return 0;
  }
  if (cmd == "models") return no_arguments(cmd, rest, out) ? list_models(out) : 0;
  if (cmd == "trace") return trace(rest, out);
  if (cmd == "validate") return validate_command(rest, out);
  if (cmd == "run" || cmd == "compile") return run_or_compile(cmd, rest, out, err);
  if (cmd == "memtest") return memtest_command(rest, out);
  if (cmd == "noctest") return noctest_command(rest, out);
  if (cmd == "serve") return serve_command(rest, out, err);
  if (cmd == "report") {
    if (rest.size() == 1 && (rest[0] == "--help" || rest[0] == "-h")) {
      out << "usage: llmsim report RUN_DIR\n\n" << command_help("report").summary << "\n";
      return 0;
    }
    if (rest.size() != 1 || rest[0].rfind("-", 0) == 0) {
      throw UserError(
          "llmsim report takes RUN_DIR, one argument (a directory written by "
          "llmsim run --out)");
    }
    return html_report(rest[0], out, err);
  }
  std::string names;
  for (const CommandHelp& c : commands()) names += (names.empty() ? "" : ", ") + c.name;
  throw UserError("unknown command \"" + cmd + "\"; commands: " + names +
                  " (llmsim --help for usage)");
}

}  // namespace

int cli_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  int code = 0;
  try {
    code = dispatch(args, out, err);
  } catch (const UserError& e) {
    err << "error: " << e.what() << "\n";
    code = 2;
  } catch (const std::exception& e) {
    err << "llmsim: " << e.what() << "\n";
    code = 1;
  }
  // Results are lost if standard output cannot take them: say so. errno still holds the
  // failed write's error (nothing but formatting runs between a write and this check).
  const int write_errno = errno;
  if (!out.flush()) {
    const int e = errno != 0 ? errno : write_errno;
    err << "error: writing standard output: " << (e != 0 ? std::strerror(e) : "failed") << "\n";
    return code == 1 ? 1 : 2;
  }
  return code;
}

}  // namespace llmsim::driver
