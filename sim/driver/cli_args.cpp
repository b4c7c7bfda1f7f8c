#include "sim/driver/cli_args.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>

#include "sim/core/error.h"
#include "sim/core/json_input.h"

namespace llmsim::driver {

namespace {

std::string number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", x);
  return buf;
}

// Lines after the first indented to the usage's description column.
std::string indent(const std::string& text, const std::string& pad) {
  std::string out;
  for (char c : text) {
    out += c;
    if (c == '\n') out += pad;
  }
  return out;
}

std::string option_list(const po::options_description& desc) {
  std::string names;
  for (const auto& o : desc.options()) {
    names +=
        (names.empty() ? "" : ", ") + o->canonical_display_name(po::command_line_style::allow_long);
  }
  return names;
}

}  // namespace

const std::vector<CommandHelp>& commands() {
  static const std::vector<CommandHelp> kCommands = {
      {"run",
       "--arch PRESET|FILE (--workload NAME|FILE | --model NAME|FILE [model options])\n"
       "[--mapping auto|fixed] [--split tiles|rows|cols|batch] [--fusion on|off]\n"
       "[--weights tiled|row_major] [--tokens IDS|@FILE] [--set key=value]...\n"
       "[--out DIR] [--timeline FILE [--timeline-max-events N]]\n"
       "[--values [--values-seed N] [--values-params DIR] [--check]]",
       "simulate and print a summary and a per-layer table; with --out, write stats.json,\n"
       "config.json, ops.csv; with --timeline, a Chrome trace-event JSON file for\n"
       "ui.perfetto.dev (at most N spans, default 1000000). --out and --timeline are checked\n"
       "before the simulation starts"},
      {"serve",
       "--arch PRESET|FILE --model NAME|FILE (--requests FILE | --rate R --num-requests N\n"
       "--input-len LEN --output-len LEN [--seed S]) [--dtype T] [--cost table|exact]\n"
       "[--calibration-layers K] [--check-iterations N] [--slo-ttft-ms X] [--slo-tpot-ms Y]\n"
       "[--set key=value]... [--out DIR] [--timeline FILE] [--json]",
       "serve requests on the chip with continuous batching (the `serving` config section:\n"
       "docs/serving.md); LEN is N, uniform:LO:HI or lognormal:MEAN:SIGMA[:MAX]. Prints\n"
       "TTFT, TPOT, throughput and energy; --out writes requests.csv, tokens.csv,\n"
       "iterations.csv, summary.json; --cost table (default) checks N sampled iterations\n"
       "(default 2) against full simulation and prints the error"},
      {"compile", "the same arguments as run, without --out and --timeline",
       "print the ISA program of every core"},
      {"report", "RUN_DIR",
       "write RUN_DIR/report.html (totals, layer and op tables, cycle breakdown and roofline\n"
       "plots) for a directory written by run --out"},
      {"validate", "--arch PRESET|FILE [--set key=value]...",
       "check an arch config and print it resolved (every default written out)"},
      {"memtest",
       "--arch PRESET|FILE (--pattern P | --trace FILE) [--requests N] [--bytes B]\n"
       "[--rate GB_PER_S] [--stride B] [--read-fraction F] [--seed S] [--json]",
       "drive the HBM memory alone; patterns: seq_read seq_write mixed random_read\n"
       "random_write strided; --rate 0 (default) offers requests as fast as accepted"},
      {"noctest",
       "--arch PRESET|FILE [--pattern P] [--rate R | --sweep-rate [--rate-step S]]\n"
       "[--mesh WxH] [--payload B] [--warmup N] [--cycles N] [--seed S] [--json]",
       "drive the NoC alone with synthetic traffic at R flits/node/cycle; patterns:\n"
       "uniform transpose hotspot to_memory; --sweep-rate prints latency vs load CSV"},
      {"trace", "--model NAME|FILE [model options]",
       "print the layer trace of a model (a Hugging Face config.json) as JSON; prefill\n"
       "(default) runs seq tokens (default 128), decode one token after kv-len cached.\n"
       "model options: [--batch B] [--seq S] [--phase prefill|decode] [--kv-len L]\n"
       "[--dtype int8|fp16|bf16|fp32] [--layers N]"},
      {"presets", "", "list the architecture presets"},
      {"workloads", "", "list the bundled workloads"},
      {"models", "", "list the bundled models"},
  };
  return kCommands;
}

const CommandHelp& command_help(const std::string& name) {
  for (const CommandHelp& c : commands()) {
    if (c.name == name) return c;
  }
  throw InternalError("no help for command " + name);
}

std::string usage() {
  std::string u =
      "usage: llmsim <command> [options]     (llmsim <command> --help: its options)\n"
      "       llmsim --help | --version\n"
      "commands:\n";
  const std::string pad(12, ' ');
  for (const CommandHelp& c : commands()) {
    std::string name = "  " + c.name;
    name.resize(pad.size(), ' ');
    if (!c.synopsis.empty()) u += name + indent(c.synopsis, pad) + "\n" + pad;
    if (c.synopsis.empty()) u += name;
    u += indent(c.summary, pad) + "\n";
  }
  return u;
}

bool parse_command(const std::string& cmd, po::options_description& desc,
                   const std::vector<std::string>& args, po::variables_map& vm, std::ostream& out) {
  desc.add_options()("help,h", "print this help");
  const std::string where = "llmsim " + cmd + ": ";
  const int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
  try {
    const po::parsed_options parsed =
        po::command_line_parser(args).options(desc).style(style).run();
    // boost skips positional arguments when no positional options are declared.
    for (const std::string& p : po::collect_unrecognized(parsed.options, po::include_positional)) {
      throw UserError(where + "unexpected argument \"" + p +
                      "\" (every argument is an option: --name value)");
    }
    po::store(parsed, vm);
    if (vm.count("help")) {
      const CommandHelp& h = command_help(cmd);
      out << "usage: llmsim " << cmd << " " << indent(h.synopsis, "         ") << "\n\n"
          << h.summary << "\n\n"
          << desc;
      return false;
    }
    po::notify(vm);
  } catch (const po::unknown_option& e) {
    throw UserError(where + "unknown option " + e.get_option_name() +
                    "; its options: " + option_list(desc));
  } catch (const po::error& e) {
    throw UserError(where + e.what());
  }
  return true;
}

void add_arch_options(po::options_description& desc, std::string& arch,
                      std::vector<std::string>& sets) {
  desc.add_options()("arch", po::value(&arch)->required()->value_name("PRESET|FILE"),
                     "preset name or arch JSON file")(
      "set", po::value(&sets)->composing()->value_name("KEY=VALUE"),
      "override a config key: path.to.key=value (repeatable)");
}

std::uint64_t integer_option(const std::string& name, const std::string& text, std::uint64_t lo,
                             std::uint64_t hi, const std::string& allowed_note) {
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t x = 0;
  bool ok = !text.empty() && text.size() <= 20;
  for (char c : text) ok = ok && std::isdigit(static_cast<unsigned char>(c));
  if (ok) {
    errno = 0;
    x = std::strtoull(text.c_str(), nullptr, 10);
    ok = errno == 0 && x >= lo && x <= hi;
  }
  if (!ok) {
    std::string allowed =
        lo == 1 && hi == kMax ? "a positive integer"
        : hi == kMax          ? "an integer >= " + std::to_string(lo)
                     : "an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
    throw UserError("--" + name + " " + text + ": must be " + allowed + allowed_note);
  }
  return x;
}

std::uint64_t count_option(const std::string& name, const std::string& text) {
  return integer_option(name, text, 1, std::numeric_limits<std::uint64_t>::max());
}

std::vector<std::uint64_t> token_ids_option(const std::string& text) {
  std::string list = text;
  std::string where = "--tokens";
  if (!text.empty() && text[0] == '@') {
    const std::string file = text.substr(1);
    where += " @" + config::printable(file);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) throw UserError(where + ": no such file");
    const std::uint64_t size = std::filesystem::file_size(file, ec);
    if (ec || size > kMaxTokenFileBytes) {
      throw UserError(where + ": " +
                      (ec ? "cannot read its size"
                          : "larger than " + std::to_string(kMaxTokenFileBytes) + " bytes"));
    }
    std::ifstream f(file, std::ios::binary);
    list.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    if (!f && !f.eof()) throw UserError(where + ": cannot be read");
  }
  std::vector<std::uint64_t> ids;
  std::size_t i = 0;
  const auto separator = [](char c) {
    return c == ',' || std::isspace(static_cast<unsigned char>(c));
  };
  while (i < list.size()) {
    while (i < list.size() && separator(list[i])) ++i;
    if (i == list.size()) break;
    std::size_t j = i;
    while (j < list.size() && !separator(list[j])) ++j;
    const std::string id = list.substr(i, j - i);
    bool ok = id.size() <= 20 && std::all_of(id.begin(), id.end(), [](char c) {
                return std::isdigit(static_cast<unsigned char>(c));
              });
    std::uint64_t x = 0;
    if (ok) {
      errno = 0;
      x = std::strtoull(id.c_str(), nullptr, 10);
      ok = errno == 0;
    }
    if (!ok) {
      throw UserError(where + ": id \"" + config::printable(id.substr(0, 40)) + "\" (position " +
                      std::to_string(ids.size()) +
                      ") must be a non-negative integer below 2^64 (ids are separated by commas "
                      "or spaces)");
    }
    ids.push_back(x);
    i = j;
  }
  if (ids.empty()) {
    throw UserError(where + ": no ids given (e.g. --tokens 101,2023,102 or --tokens @ids.txt)");
  }
  return ids;
}

double real_option(const std::string& name, const std::string& text, double lo, double hi,
                   bool lo_open) {
  char* end = nullptr;
  const bool starts = !text.empty() && !std::isspace(static_cast<unsigned char>(text[0]));
  const double x = starts ? std::strtod(text.c_str(), &end) : 0;
  const bool parsed = starts && end == text.c_str() + text.size() && std::isfinite(x);
  if (!parsed || x < lo || (lo_open && x == lo) || x > hi) {
    const std::string range = std::isinf(hi) ? (lo_open ? "> " : ">= ") + number(lo)
                                             : std::string(lo_open ? "in (" : "in [") + number(lo) +
                                                   ", " + number(hi) + "]";
    throw UserError("--" + name + " " + text + ": must be a finite number " + range);
  }
  return x;
}

void require_applies(const po::variables_map& vm, const std::string& name, bool applies,
                     const std::string& condition) {
  if (applies || !vm.count(name) || vm[name].defaulted()) return;
  std::string value;
  if (const auto* s = boost::any_cast<std::string>(&vm[name].value())) value = " " + *s;
  throw UserError("--" + name + value + ": applies only " + condition);
}

}  // namespace llmsim::driver
