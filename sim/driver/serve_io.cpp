// The outputs of `llmsim serve` (serve.h): summary.json, the CSV tables, the timeline and the
// printed summary.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <ostream>

#include "sim/core/error.h"
#include "sim/driver/serve.h"
#include "workloads/serving/metrics_io.h"

namespace llmsim::driver {

namespace {

std::ofstream open_out(const std::filesystem::path& p) {
  std::ofstream f(p);
  if (!f) throw UserError("cannot write " + p.string() + ": " + std::strerror(errno));
  return f;
}

void close_out(std::ofstream& f, const std::filesystem::path& p) {
  f.close();
  if (!f) throw UserError("cannot write " + p.string() + ": " + std::strerror(errno));
}

config::Json check_json(const CostCheck& c) {
  return {{"iteration", c.iteration},     {"seqs", c.seqs},
          {"tokens", c.tokens},           {"table_cycles", c.table_cycles},
          {"exact_cycles", c.exact_cycles}, {"error", c.error()},
          {"table_pj", c.table_pj},       {"exact_pj", c.exact_pj},
          {"energy_error", c.energy_error()}};
}

double max_abs_error(const ServeResult& r) {
  double m = 0;
  for (const CostCheck& c : r.checks) m = std::max(m, std::abs(c.error()));
  return m;
}

}  // namespace

config::Json summary_json(const ServeResult& r) {
  config::Json j = serving::summary_json(r.summary, r.slo);
  j["arch"] = r.arch_name;
  j["model"] = r.model_name;
  j["dtype"] = r.dtype;
  j["clock_mhz"] = r.clock_mhz;
  const serving::SchedulerParams& p = r.scheduler;
  j["serving"] = {{"max_num_seqs", p.max_num_seqs},
                  {"max_num_batched_tokens", p.max_num_batched_tokens},
                  {"block_size", p.block_size},
                  {"num_kv_blocks", p.num_kv_blocks.value_or(0)},
                  {"enable_chunked_prefill", p.enable_chunked_prefill},
                  {"long_prefill_token_threshold", p.long_prefill_token_threshold}};
  j["kv_bytes_per_token"] = r.kv_bytes_per_token;
  j["energy"] = {{"total_pj", r.energy_pj},
                 {"per_output_token_pj", r.energy_per_output_token_pj},
                 {"average_power_w", r.average_power_w}};
  config::Json checks = config::Json::array();
  for (const CostCheck& c : r.checks) checks.push_back(check_json(c));
  j["cost"] = {{"mode", r.cost},
               {"checks", checks},
               {"max_abs_error", r.checks.empty() ? config::Json(nullptr)
                                                  : config::Json(max_abs_error(r))},
               {"simulations", r.simulations},
               {"simulated_cycles", r.simulated_cycles},
               {"reused_iterations", r.reused_iterations},
               {"wall_seconds", r.wall_seconds},
               {"check_wall_seconds", r.check_wall_seconds}};
  return j;
}

void write_serve_outputs(const ServeResult& r, const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw UserError("--out " + dir + ": cannot create the directory: " + ec.message());
  const auto write = [&](const char* name, auto&& body) {
    const fs::path p = fs::path(dir) / name;
    std::ofstream f = open_out(p);
    body(f);
    close_out(f, p);
  };
  write("requests.csv", [&](std::ostream& o) { serving::write_requests_csv(o, r.requests); });
  write("tokens.csv", [&](std::ostream& o) { serving::write_tokens_csv(o, r.requests); });
  write("iterations.csv",
        [&](std::ostream& o) { serving::write_iterations_csv(o, r.iterations); });
  write("summary.json", [&](std::ostream& o) { o << summary_json(r).dump(2) << "\n"; });
}

void write_serve_timeline(const ServeResult& r, const std::string& file) {
  config::Json events = config::Json::array();
  events.push_back({{"ph", "M"}, {"pid", 0}, {"name", "process_name"},
                    {"args", {{"name", r.arch_name + ": " + r.model_name + " serving"}}}});
  events.push_back({{"ph", "M"}, {"pid", 0}, {"tid", 0}, {"name", "thread_name"},
                    {"args", {{"name", "iterations"}}}});
  for (const serving::IterationRecord& i : r.iterations) {
    const double ts = double(i.start_ns) / 1e3, dur = double(i.end_ns - i.start_ns) / 1e3;
    events.push_back({{"ph", "X"}, {"pid", 0}, {"tid", 0},
                      {"name", std::to_string(i.num_decode_seqs) + " decodes + " +
                                   std::to_string(i.num_prefill_tokens) + " prefill tokens"},
                      {"ts", ts}, {"dur", dur},
                      {"args", {{"index", i.index}, {"seqs", i.num_seqs},
                                {"tokens", i.num_tokens}, {"cycles", i.cycles},
                                {"energy_pj", i.energy_pj}, {"preempted", i.num_preempted}}}});
    events.push_back({{"ph", "C"}, {"pid", 0}, {"name", "batch"}, {"ts", ts},
                      {"args", {{"seqs", i.num_seqs}, {"tokens", i.num_tokens}}}});
    events.push_back({{"ph", "C"}, {"pid", 0}, {"name", "kv_blocks_used"}, {"ts", ts},
                      {"args", {{"blocks", i.kv_blocks_used}}}});
    events.push_back({{"ph", "C"}, {"pid", 0}, {"name", "waiting"}, {"ts", ts},
                      {"args", {{"requests", i.num_waiting}}}});
  }
  const std::filesystem::path p(file);
  std::ofstream f = open_out(p);
  f << config::Json{{"traceEvents", events}, {"displayTimeUnit", "ns"}}.dump() << "\n";
  close_out(f, p);
}

void print_serve_summary(std::ostream& out, const ServeResult& r) {
  const serving::Summary& s = r.summary;
  const auto ms = [](double ns) { return ns / 1e6; };
  out << std::fixed << std::setprecision(2);
  out << r.model_name << " (" << r.dtype << ") on " << r.arch_name << ": " << s.num_requests
      << " requests, " << s.num_iterations << " iterations, " << ms(double(s.duration_ns))
      << " ms\n";
  out << "  KV cache: " << r.scheduler.num_kv_blocks.value_or(0) << " blocks of "
      << r.scheduler.block_size << " tokens; at most " << s.max_kv_blocks_used << " used; "
      << s.preemptions << " preemptions\n";
  out << "  throughput: " << s.output_tokens_per_s << " output tokens/s, " << s.total_tokens_per_s
      << " tokens/s, " << s.requests_per_s << " requests/s; mean batch " << s.mean_batch_seqs
      << " sequences, " << s.mean_batch_tokens << " tokens\n";
  const auto dist = [&](const char* name, const serving::Distribution& d) {
    out << "  " << std::left << std::setw(10) << name << std::right << " mean " << std::setw(10)
        << ms(d.mean) << "  p50 " << std::setw(10) << ms(d.p50) << "  p90 " << std::setw(10)
        << ms(d.p90) << "  p99 " << std::setw(10) << ms(d.p99) << "  max " << std::setw(10)
        << ms(d.max) << " ms\n";
  };
  dist("TTFT", s.ttft_ns);
  dist("TPOT", s.tpot_ns);
  dist("ITL", s.itl_ns);
  dist("E2E", s.e2e_ns);
  dist("queueing", s.queueing_ns);
  if (r.slo.ttft_ns || r.slo.tpot_ns) {
    out << "  SLO met by " << s.slo_met << " of " << s.num_requests << " requests; goodput "
        << s.goodput_requests_per_s << " requests/s\n";
  }
  out << "  energy: " << r.energy_per_output_token_pj / 1e6 << " uJ per output token, "
      << r.average_power_w << " W while busy\n";
  out << "  cost: " << r.cost << ", " << r.simulations << " simulations ("
      << r.simulated_cycles << " cycles), " << r.wall_seconds << " s wall";
  if (r.cost == "exact") out << ", " << r.reused_iterations << " iterations reused";
  out << "\n";
  for (const CostCheck& c : r.checks) {
    out << "  check: iteration " << c.iteration << " (" << c.seqs << " sequences, " << c.tokens
        << " tokens): table " << c.table_cycles << " cycles, full simulation " << c.exact_cycles
        << ", error " << std::showpos << c.error() * 100 << std::noshowpos << " % (energy "
        << std::showpos << c.energy_error() * 100 << std::noshowpos << " %)\n";
  }
  if (!r.checks.empty()) {
    out << "  approximation error (table vs full simulation, " << r.checks.size()
        << " sampled iterations): at most " << max_abs_error(r) * 100 << " %\n";
  }
  out << std::defaultfloat;
}

}  // namespace llmsim::driver
