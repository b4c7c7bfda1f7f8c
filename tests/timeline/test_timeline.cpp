// The timeline (sim/core/timeline.h): the trace-event JSON it writes, its cap, and the spans the
// units record in a run, checked against the units' own stats.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "sim/core/timeline.h"
#include "sim/core/units.h"
#include "sim/driver/cli.h"
#include "sim/driver/kernel_session.h"
#include "sim/driver/presets.h"
#include "sim/driver/run.h"

namespace {

using llmsim::config::Json;
namespace timeline = llmsim::timeline;

Json written(const timeline::Timeline& tl) {
  std::ostringstream s;
  tl.write(s);
  return Json::parse(s.str());
}

std::vector<Json> events(const Json& doc, const std::string& ph) {
  std::vector<Json> out;
  for (const Json& e : doc.at("traceEvents")) {
    if (e.at("ph") == ph) out.push_back(e);
  }
  return out;
}

// "M" events of one kind: {pid or tid: args.name or args.sort_index}.
std::map<std::uint64_t, Json> metadata(const Json& doc, const std::string& name, const char* id) {
  std::map<std::uint64_t, Json> out;
  for (const Json& e : events(doc, "M")) {
    if (e.at("name") != name) continue;
    const Json& args = e.at("args");
    out[e.at(id).get<std::uint64_t>()] = args.contains("name") ? args["name"] : args["sort_index"];
  }
  return out;
}

// A 128x128x128 int8 matmul and a GELU of its output.
const Json kMatmulGelu = Json::parse(R"({"ops": [
  {"op": "matmul", "name": "fc", "m": 128, "k": 128, "n": 128, "dtype": "int8"},
  {"op": "gelu", "name": "act", "rows": 128, "cols": 128, "inputs": ["fc"]}]})");

std::filesystem::path temp_file(const std::string& name) {
  return std::filesystem::temp_directory_path() / name;
}

llmsim::driver::RunResult run_with_timeline(const std::string& arch, const Json& workload,
                                            const std::filesystem::path& path,
                                            std::uint64_t max_events) {
  using namespace llmsim;
  driver::RunSpec spec{
      arch, driver::load_arch(arch), {}, workloads::parse_workload(workload, "test")};
  spec.timeline = timeline::TimelineOptions{path.string(), max_events};
  return driver::run(spec);
}

Json read_json(const std::filesystem::path& path) {
  std::ifstream f(path);
  return Json::parse(f);
}

// Sum over the "X" events of the tracks named `track` (of any process) of `what`(event).
template <class F>
double sum_spans(const Json& doc, const std::string& track, const std::string& span_name, F what) {
  const auto names = metadata(doc, "thread_name", "tid");
  double s = 0;
  for (const Json& e : events(doc, "X")) {
    if (names.at(e.at("tid").get<std::uint64_t>()) == track && e.at("name") == span_name)
      s += what(e);
  }
  return s;
}

// Perfetto shows the X events of a track only if they nest; ours must not overlap at all.
// Times are exact decimals of femtoseconds, read as doubles: 1e-9 us (1 fs) of slack.
void check_no_overlap(const Json& doc) {
  std::map<std::uint64_t, std::vector<std::pair<double, double>>> by_track;
  for (const Json& e : events(doc, "X")) {
    by_track[e.at("tid").get<std::uint64_t>()].emplace_back(e.at("ts"), e.at("dur"));
  }
  for (auto& [tid, spans] : by_track) {
    std::sort(spans.begin(), spans.end());
    for (std::size_t i = 1; i < spans.size(); ++i) {
      INFO("track " << tid << ", span at " << spans[i].first << " us");
      CHECK(spans[i].first >= spans[i - 1].first + spans[i - 1].second - 1e-9);
    }
  }
}

}  // namespace

TEST_CASE("timeline: complete events in exact microseconds, tracks and processes named",
          "[timeline]") {
  llmsim::driver::KernelSession session;  // 1 fs resolution, as in a run
  timeline::Timeline tl(10);
  const auto core = tl.process("core0");
  const auto mem = tl.process("memory");
  const auto sys = tl.track(core, "systolic");
  tl.track(mem, "ch0_pc0");
  const auto pc1 = tl.track(mem, "ch0_pc1");
  const auto gemm = tl.kind("gemm", {"m", "k", "n", "cycles"});
  const auto busy = tl.kind("busy", {"read_bytes"});
  tl.set_op_names({"fc", "act \"1\""});
  // 1200 MHz: a period of 833,333 fs (rounded to the resolution), so cycles 3 to 10 are
  // 2,499,999 fs to 8,333,330 fs: ts 0.002499999 us, dur 7 x 833,333 fs = 0.005833331 us.
  const llmsim::ClockDomain clk(1200);
  tl.span(sys, gemm, clk.to_time(llmsim::Cycles(3)), clk.to_time(llmsim::Cycles(10)), 1,
          {32, 64, 16, 7});
  tl.span(pc1, busy, sc_core::sc_time(2, sc_core::SC_US), sc_core::sc_time(2.5, sc_core::SC_US), -1,
          {4096});
  std::ostringstream text;
  tl.write(text);
  CHECK_THAT(text.str(),
             Catch::Contains(R"({"name":"gemm","ph":"X","ts":0.002499999,"dur":0.005833331,)"
                             R"("pid":1,"tid":1,"args":{"m":32,"k":64,"n":16,"cycles":7,)"
                             R"("op_index":1,"op":"act \"1\""}})"));
  CHECK_THAT(text.str(), Catch::Contains(R"({"name":"busy","ph":"X","ts":2,"dur":0.5,"pid":2,)"
                                         R"("tid":3,"args":{"read_bytes":4096}})"));

  const Json doc = Json::parse(text.str());
  CHECK(doc.at("displayTimeUnit") == "ns");
  CHECK(doc.at("otherData").at("truncated") == false);
  CHECK(events(doc, "X").size() == 2);
  CHECK(events(doc, "i").empty());
  // Processes by pid, tracks by tid (unique over the trace), each with its sort index.
  CHECK(metadata(doc, "process_name", "pid") ==
        std::map<std::uint64_t, Json>{{1, "core0"}, {2, "memory"}});
  CHECK(metadata(doc, "process_sort_index", "pid") ==
        std::map<std::uint64_t, Json>{{1, 0}, {2, 1}});
  CHECK(metadata(doc, "thread_name", "tid") ==
        std::map<std::uint64_t, Json>{{1, "systolic"}, {2, "ch0_pc0"}, {3, "ch0_pc1"}});
  // Within the memory: ch0_pc0 first, ch0_pc1 second.
  CHECK(metadata(doc, "thread_sort_index", "tid") ==
        std::map<std::uint64_t, Json>{{1, 0}, {2, 0}, {3, 1}});
  for (const Json& e : events(doc, "M")) {
    if (e.at("name") == "thread_name" && e.at("tid") == 2) CHECK(e.at("pid") == 2);
  }
}

TEST_CASE("timeline: the cap keeps the first N spans and marks the truncation", "[timeline]") {
  llmsim::driver::KernelSession session;
  timeline::Timeline tl(3);
  const auto t = tl.track(tl.process("core0"), "dma");
  const auto k = tl.kind("load", {"bytes"});
  for (std::uint64_t i = 0; i < 5; ++i) {
    tl.span(t, k, sc_core::sc_time(10.0 * double(i), sc_core::SC_NS),
            sc_core::sc_time(10.0 * double(i) + 5, sc_core::SC_NS), -1, {i});
  }
  CHECK(tl.spans() == 3);
  CHECK(tl.dropped() == 2);
  const Json doc = written(tl);
  const auto spans = events(doc, "X");
  REQUIRE(spans.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) CHECK(spans[i].at("args").at("bytes") == i);
  const auto marks = events(doc, "i");
  REQUIRE(marks.size() == 1);
  CHECK(marks[0].at("name") == "timeline truncated");
  CHECK(marks[0].at("s") == "g");
  CHECK(marks[0].at("ts") == 0.03);  // the first dropped span starts at 30 ns
  CHECK(marks[0].at("args") == Json{{"max_events", 3}, {"dropped_events", 2}});
  CHECK(doc.at("otherData") == Json{{"time_unit", "us"},
                                    {"max_events", 3},
                                    {"spans", 3},
                                    {"dropped_events", 2},
                                    {"truncated", true}});
}

TEST_CASE("timeline of a matmul and a GELU on edge: every span accounted for by the stats",
          "[timeline]") {
  const auto path = temp_file("llmsim_timeline_edge.json");
  const auto r = run_with_timeline("edge", kMatmulGelu, path, timeline::kDefaultMaxEvents);
  const Json doc = read_json(path);
  CHECK(r.timeline_dropped == 0);
  REQUIRE(r.timeline_spans == events(doc, "X").size());
  REQUIRE(r.timeline_spans > 0);
  for (const Json& e : doc.at("traceEvents")) {
    for (const char* key : {"name", "ph", "ts", "pid", "tid"}) CHECK(e.contains(key));
    if (e.at("ph") == "X") CHECK(e.at("dur").get<double>() >= 0);
  }
  check_no_overlap(doc);
  // Edge: one core (tracks dma, systolic, vector) on the simple memory (no timeline of its own).
  CHECK(metadata(doc, "process_name", "pid") == std::map<std::uint64_t, Json>{{1, "core0"}});
  CHECK(metadata(doc, "thread_name", "tid") ==
        std::map<std::uint64_t, Json>{{1, "dma"}, {2, "systolic"}, {3, "vector"}});

  const Json& core = r.stats.at("chip").at("core0");
  const auto arg = [](const char* key) {
    return [key](const Json& e) { return e.at("args").at(key).get<double>(); };
  };
  // 800 MHz: 1.25 ns a cycle, so a span of c cycles lasts c / 800 us.
  const auto cycles = [](const Json& e) { return e.at("dur").get<double>() * 800; };
  const double gemm_busy = core.at("systolic").at("busy_cycles").get<double>();
  CHECK(sum_spans(doc, "systolic", "gemm", arg("cycles")) == gemm_busy);
  CHECK(sum_spans(doc, "systolic", "gemm", cycles) == Approx(gemm_busy).epsilon(1e-9));
  CHECK(sum_spans(doc, "systolic", "gemm", [](const Json&) { return 1.0; }) ==
        core.at("systolic").at("gemms").get<double>());
  const double gelu_busy = core.at("vector").at("busy_cycles").get<double>();
  CHECK(sum_spans(doc, "vector", "gelu", arg("cycles")) == gelu_busy);
  CHECK(sum_spans(doc, "vector", "gelu", cycles) == Approx(gelu_busy).epsilon(1e-9));
  // The DMA datapath: busy_cycles over the blocks, and every DRAM byte moved.
  const double dma_busy = core.at("dma").at("busy_cycles").get<double>();
  CHECK(sum_spans(doc, "dma", "load", cycles) + sum_spans(doc, "dma", "store", cycles) ==
        Approx(dma_busy).epsilon(1e-9));
  CHECK(sum_spans(doc, "dma", "load", arg("bytes")) == double(r.dram_read_bytes));
  CHECK(sum_spans(doc, "dma", "store", arg("bytes")) == double(r.dram_written_bytes));
  // Ops by name: the GEMMs belong to "fc" (op 0), the GELUs to "act" (op 1).
  for (const Json& e : events(doc, "X")) {
    const std::string name = e.at("name");
    if (name == "gemm") CHECK(e.at("args").at("op") == "fc");
    if (name == "gelu") CHECK(e.at("args").at("op") == "act");
  }
  // Tracing does not change the simulation.
  using namespace llmsim;
  const auto plain = driver::run(
      {"edge", driver::load_arch("edge"), {}, workloads::parse_workload(kMatmulGelu, "test")});
  CHECK(plain.total_cycles == r.total_cycles);
  CHECK(plain.stats.at("chip") == r.stats.at("chip"));
}

TEST_CASE("timeline of a matmul on datacenter: HBM pseudo channels as busy periods", "[timeline]") {
  const auto path = temp_file("llmsim_timeline_datacenter.json");
  const Json gemm = Json::parse(R"({"ops": [
    {"op": "matmul", "name": "fc", "m": 512, "k": 512, "n": 512, "dtype": "int8"}]})");
  const auto r = run_with_timeline("datacenter", gemm, path, timeline::kDefaultMaxEvents);
  const Json doc = read_json(path);
  const auto processes = metadata(doc, "process_name", "pid");
  REQUIRE(processes.size() == 5);  // core0 .. core3, memory
  CHECK(processes.at(5) == "memory");
  // Three HBM2E stacks x 8 channels x 2 pseudo channels, named as their stats groups.
  const auto tracks = metadata(doc, "thread_name", "tid");
  std::size_t memory_tracks = 0;
  for (const Json& e : events(doc, "M")) {
    if (e.at("name") == "thread_name" && e.at("pid") == 5) ++memory_tracks;
  }
  CHECK(memory_tracks == 48);
  CHECK(tracks.at(4 * 3 + 1) == "ch0_pc0");
  CHECK(tracks.at(4 * 3 + 48) == "ch23_pc1");

  check_no_overlap(doc);
  // Every byte the controllers moved is in a busy period, and the data-bus cycles of a period
  // (DRAM clock) fit in it.
  const Json& memory = r.stats.at("chip").at("memory");
  double read = 0, written = 0;
  std::size_t busy = 0;
  const double mhz = r.resolved_config.at("memory").at("device").at("clock_mhz").get<double>();
  for (const Json& e : events(doc, "X")) {
    if (e.at("pid") != 5) continue;
    ++busy;
    CHECK(e.at("name") == "busy");
    const Json& a = e.at("args");
    read += a.at("read_bytes").get<double>();
    written += a.at("written_bytes").get<double>();
    CHECK(a.at("data_cycles").get<double>() <= e.at("dur").get<double>() * mhz + 1e-6);
  }
  CHECK(busy > 0);
  CHECK(read == memory.at("read_bytes").get<double>());
  CHECK(written == memory.at("written_bytes").get<double>());
}

TEST_CASE("timeline cap in a run: exactly the cap of spans, a marker, a warning on stderr",
          "[timeline]") {
  const auto path = temp_file("llmsim_timeline_capped.json");
  const auto r = run_with_timeline("edge", kMatmulGelu, path, 5);
  const Json doc = read_json(path);
  CHECK(events(doc, "X").size() == 5);
  CHECK(events(doc, "i").size() == 1);
  CHECK(r.timeline_spans == 5);
  CHECK(r.timeline_dropped > 0);
  CHECK(doc.at("otherData").at("dropped_events") == r.timeline_dropped);

  const auto cli_path = temp_file("llmsim_timeline_cli.json");
  std::filesystem::remove(cli_path);
  std::ostringstream out, err;
  const int code =
      llmsim::driver::cli_main({"run", "--arch", "edge", "--workload", "mlp", "--timeline",
                                cli_path.string(), "--timeline-max-events", "7"},
                               out, err);
  CHECK(code == 0);
  CHECK_THAT(err.str(), Catch::StartsWith("warning: --timeline " + cli_path.string() +
                                          ": truncated at 7 spans ("));
  CHECK(events(read_json(cli_path), "X").size() == 7);
}

TEST_CASE("timeline options: errors before simulating", "[timeline]") {
  const auto cli = [](std::vector<std::string> extra) {
    std::vector<std::string> args = {"run", "--arch", "edge", "--workload", "mlp"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::ostringstream out, err;
    const int code = llmsim::driver::cli_main(args, out, err);
    return std::make_pair(code, err.str());
  };
  CHECK(cli({"--timeline", "/nonexistent-dir/t.json"}) ==
        std::make_pair(2, std::string("error: timeline /nonexistent-dir/t.json: not a file in "
                                      "an existing directory\n")));
  CHECK(cli({"--timeline", "t.json", "--timeline-max-events", "0"}) ==
        std::make_pair(2, std::string("error: --timeline-max-events 0: must be a positive "
                                      "integer\n")));
  CHECK(cli({"--timeline-max-events", "5"}) ==
        std::make_pair(2, std::string("error: --timeline-max-events: needs --timeline FILE\n")));
}
