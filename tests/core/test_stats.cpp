#include "sim/core/stats.h"

#include <memory>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "sim/core/error.h"

using llmsim::ClockDomain;
using llmsim::Cycles;
using llmsim::InternalError;
namespace stats = llmsim::stats;

namespace {

// A component in gem5 style: its Group is declared first, the stats next to the state.
struct FakeArray {
  explicit FakeArray(stats::Group& parent)
      : stats_group(parent, "systolic"),
        busy_cycles(stats_group, "busy_cycles", "cycle", "cycles with a MAC in flight"),
        total_cycles(stats_group, "total_cycles", "cycle", "cycles observed"),
        utilisation_ratio(stats_group, "utilisation_ratio", "ratio", "busy / total", [this] {
          return total_cycles.value() == 0 ? 0.0
                                           : static_cast<double>(busy_cycles.value()) /
                                                 static_cast<double>(total_cycles.value());
        }) {}

  stats::Group stats_group;
  stats::Counter busy_cycles;
  stats::Counter total_cycles;
  stats::Formula utilisation_ratio;
};

}  // namespace

TEST_CASE("Counter counts exactly", "[stats]") {
  stats::Group root("chip");
  stats::Counter macs(root, "macs", "mac", "multiply-accumulates");
  REQUIRE(macs.value() == 0);
  macs += 5;
  ++macs;
  macs++;
  macs += 0;
  REQUIRE(macs.value() == 7);
  macs += 10'000'000'000ULL;  // beyond 32 bits
  REQUIRE(macs.value() == 10'000'000'007ULL);
  REQUIRE(root.counter_value("macs") == 10'000'000'007ULL);

  const nlohmann::json v = root.values_json();
  REQUIRE(v["macs"].is_number_unsigned());
  REQUIRE(v["macs"].get<std::uint64_t>() == 10'000'000'007ULL);
  REQUIRE(macs.name() == "macs");
  REQUIRE(macs.unit() == "mac");
  REQUIRE(macs.desc() == "multiply-accumulates");
}

TEST_CASE("Occupancy is the time-weighted mean level", "[stats]") {
  const ClockDomain clk(1000.0);
  stats::Group root("chip");
  stats::Occupancy depth(root, "queue_depth_count", "count", "entries in the queue", clk);

  // Level 2 over cycles [0, 10), then 0 over [10, 40):
  // mean = (2 * 10 + 0 * 30) / 40 = 20 / 40 = 0.5; max = 2.
  depth.set(Cycles(0), 2);
  depth.set(Cycles(10), 0);
  REQUIRE(depth.mean(Cycles(40)) == Approx(0.5));
  REQUIRE(depth.max() == 2);
  REQUIRE(depth.level() == 0);
  // Over [0, 10] only: mean = 20 / 10 = 2.
  REQUIRE(depth.mean(Cycles(10)) == Approx(2.0));
  REQUIRE_THROWS_AS(depth.mean(Cycles(9)), InternalError);
  REQUIRE_THROWS_AS(depth.set(Cycles(9), 1), InternalError);
}

TEST_CASE("Occupancy starts at level 0 and counts the open interval", "[stats]") {
  const ClockDomain clk(1000.0);
  stats::Group root("chip");
  stats::Occupancy buffers(root, "buffers_in_use_count", "count", "buffers held", clk);
  REQUIRE(buffers.mean(Cycles(0)) == 0.0);
  REQUIRE(buffers.mean(Cycles(100)) == 0.0);

  // Level 0 over [0, 5), 3 over [5, 15), 1 over [15, 25):
  // mean = (0 * 5 + 3 * 10 + 1 * 10) / 25 = 40 / 25 = 1.6; max = 3.
  buffers.set(Cycles(5), 3);
  buffers.set(Cycles(15), 1);
  REQUIRE(buffers.mean(Cycles(25)) == Approx(1.6));
  REQUIRE(buffers.max() == 3);

  // Without a simulation run the domain's now() is cycle 0, so the dump ends at the last
  // set(): level 0 over [0, 5), 3 over [5, 15) -> mean = 30 / 15 = 2.
  const nlohmann::json v = root.values_json()["buffers_in_use_count"];
  REQUIRE(v["mean"].get<double>() == Approx(2.0));
  REQUIRE(v["max"].get<std::uint64_t>() == 3);
}

TEST_CASE("Histogram statistics and bucket percentiles", "[stats]") {
  stats::Group root("chip");
  // Buckets [0,10) [10,20) [20,30) [30,40) [40,50), overflow >= 50.
  stats::Histogram lat(root, "latency_cycles", "cycle", "request latency", 10, 5);
  REQUIRE(lat.count() == 0);
  REQUIRE(lat.percentile(50) == 0);
  REQUIRE(lat.min() == 0);
  REQUIRE(lat.mean() == 0.0);

  for (std::uint64_t v = 0; v < 100; ++v) lat.sample(v);  // 10 per bucket, 50 overflow
  REQUIRE(lat.count() == 100);
  REQUIRE(lat.sum() == 4950);
  REQUIRE(lat.min() == 0);
  REQUIRE(lat.max() == 99);
  REQUIRE(lat.mean() == Approx(49.5));
  REQUIRE(lat.buckets() == std::vector<std::uint64_t>{10, 10, 10, 10, 10, 50});

  // The 50th smallest sample (49) lies in [40, 50): the bucket's largest value is 49.
  REQUIRE(lat.percentile(50) == 49);
  // The 10th smallest (9) lies in [0, 10) -> 9; the 1st (0) too -> 9, within a bucket width.
  REQUIRE(lat.percentile(10) == 9);
  REQUIRE(lat.percentile(0) == 9);
  // The 11th smallest (10) opens [10, 20) -> 19.
  REQUIRE(lat.percentile(11) == 19);
  // The 90th and 99th smallest are in the overflow bucket: the exact max is reported.
  REQUIRE(lat.percentile(90) == 99);
  REQUIRE(lat.percentile(99) == 99);
  REQUIRE(lat.percentile(100) == 99);
  REQUIRE_THROWS_AS(lat.percentile(-1), InternalError);
  REQUIRE_THROWS_AS(lat.percentile(100.5), InternalError);

  const nlohmann::json v = root.values_json()["latency_cycles"];
  REQUIRE(v["count"] == 100);
  REQUIRE(v["sum"] == 4950);
  REQUIRE(v["mean"].get<double>() == Approx(49.5));
  REQUIRE(v["min"] == 0);
  REQUIRE(v["max"] == 99);
  REQUIRE(v["p50"] == 49);
  REQUIRE(v["p90"] == 99);
  REQUIRE(v["p99"] == 99);
  REQUIRE(v["bucket_width"] == 10);
  REQUIRE(v["buckets"] == nlohmann::json::array({10, 10, 10, 10, 10}));
  REQUIRE(v["overflow"] == 50);
}

TEST_CASE("Histogram percentiles are capped at the max and exact for width 1", "[stats]") {
  stats::Group root("chip");
  stats::Histogram coarse(root, "coarse_bytes", "byte", "sizes", 10, 4);
  for (int i = 0; i < 3; ++i) coarse.sample(5);
  REQUIRE(coarse.percentile(50) == 5);  // bucket [0, 10) but max is 5
  REQUIRE(coarse.min() == 5);

  stats::Histogram fine(root, "fine_count", "count", "depths", 1, 16);
  for (std::uint64_t v : {3, 1, 4, 1, 5, 9, 2, 6, 5, 3}) fine.sample(v);
  // Sorted: 1 1 2 3 3 4 5 5 6 9. Nearest rank: p50 -> 5th = 3, p90 -> 9th = 6, p99 -> 10th.
  REQUIRE(fine.percentile(50) == 3);
  REQUIRE(fine.percentile(90) == 6);
  REQUIRE(fine.percentile(99) == 9);
  REQUIRE(fine.percentile(20) == 1);
  REQUIRE(fine.percentile(21) == 2);

  // A power-of-two width buckets by shifting: the same buckets as dividing.
  stats::Histogram pow2(root, "pow2_cycles", "cycle", "latencies", 8, 3);
  for (std::uint64_t v : {0, 7, 8, 15, 16, 23, 24, 1000}) pow2.sample(v);
  REQUIRE(pow2.buckets() == std::vector<std::uint64_t>{2, 2, 2, 2});  // [0,8) [8,16) [16,24) 24+

  REQUIRE_THROWS_AS(stats::Histogram(root, "bad_count", "count", "", 0, 4), InternalError);
  REQUIRE_THROWS_AS(stats::Histogram(root, "bad_count", "count", "", 4, 0), InternalError);
  REQUIRE(root.find("bad_count") == nullptr);  // a failed construction leaves no entry
}

TEST_CASE("Formula is evaluated only when dumped", "[stats]") {
  stats::Group root("chip");
  std::uint64_t bytes = 100;
  double seconds = 2.0;
  int evaluations = 0;
  stats::Formula bw(root, "read_bandwidth_byte_per_s", "byte/s", "bytes read per second", [&] {
    ++evaluations;
    return static_cast<double>(bytes) / seconds;
  });
  REQUIRE(evaluations == 0);
  bytes = 1000;
  seconds = 4.0;  // changed after the formula was built: the dump sees the new values
  REQUIRE(root.values_json()["read_bandwidth_byte_per_s"].get<double>() == Approx(250.0));
  REQUIRE(evaluations == 1);
  bytes = 2000;
  REQUIRE(bw.value() == Approx(500.0));

  FakeArray array(root);
  array.busy_cycles += 30;
  array.total_cycles += 40;
  REQUIRE(root.values_json()["systolic"]["utilisation_ratio"].get<double>() == Approx(0.75));
}

TEST_CASE("Nested groups: paths, lookup, values and descriptions", "[stats]") {
  stats::Group chip("chip");
  stats::Counter cycles(chip, "total_cycles", "cycle", "run length");
  stats::Group core0(chip, "core0");
  stats::Group core1(chip, "core1");
  FakeArray array(core0);
  array.busy_cycles += 7;
  cycles += 9;

  REQUIRE(chip.path() == "chip");
  REQUIRE(core0.path() == "chip.core0");
  REQUIRE(array.stats_group.path() == "chip.core0.systolic");
  REQUIRE(array.busy_cycles.path() == "chip.core0.systolic.busy_cycles");
  REQUIRE(chip.children() == std::vector<stats::Group*>{&core0, &core1});  // declaration order
  REQUIRE(array.stats_group.parent() == &core0);

  REQUIRE(chip.find("core0.systolic.busy_cycles") == &array.busy_cycles);
  REQUIRE(core0.find("systolic.busy_cycles") == &array.busy_cycles);
  REQUIRE(chip.find("total_cycles") == &cycles);
  REQUIRE(chip.find("core1.systolic.busy_cycles") == nullptr);
  REQUIRE(chip.find("core0.systolic") == nullptr);  // a group, not a stat
  REQUIRE(chip.find("") == nullptr);
  REQUIRE(chip.find_group("core0.systolic") == &array.stats_group);
  REQUIRE(chip.find_group("") == &chip);
  REQUIRE(chip.find_group("core2") == nullptr);
  REQUIRE(chip.counter_value("core0.systolic.busy_cycles") == 7);
  REQUIRE_THROWS_AS(chip.counter_value("core0.systolic.utilisation_ratio"), InternalError);
  REQUIRE_THROWS_AS(chip.counter_value("nope"), InternalError);

  const nlohmann::json v = chip.values_json();
  REQUIRE(v["total_cycles"] == 9);
  REQUIRE(v["core0"]["systolic"]["busy_cycles"] == 7);
  REQUIRE(v["core0"]["systolic"]["total_cycles"] == 0);
  REQUIRE(v["core1"] == nlohmann::json::object());

  nlohmann::json d = nlohmann::json::object();
  chip.describe(d);
  REQUIRE(d.size() == 4);
  REQUIRE(d["chip.total_cycles"]["unit"] == "cycle");
  REQUIRE(d["chip.core0.systolic.busy_cycles"]["unit"] == "cycle");
  REQUIRE(d["chip.core0.systolic.busy_cycles"]["desc"] == "cycles with a MAC in flight");
  REQUIRE(d["chip.core0.systolic.utilisation_ratio"]["unit"] == "ratio");
}

TEST_CASE("Duplicate and malformed names are rejected", "[stats]") {
  stats::Group chip("chip");
  stats::Counter a(chip, "reads_count", "count", "reads");
  REQUIRE_THROWS_AS(stats::Counter(chip, "reads_count", "count", "again"), InternalError);
  REQUIRE_THROWS_AS(stats::Group(chip, "reads_count"), InternalError);  // clashes with a stat
  stats::Group core0(chip, "core0");
  REQUIRE_THROWS_AS(stats::Group(chip, "core0"), InternalError);
  REQUIRE_THROWS_AS(stats::Counter(chip, "core0", "count", "clashes with a group"), InternalError);
  REQUIRE_THROWS_AS(stats::Counter(chip, "a.b", "count", ""), InternalError);
  REQUIRE_THROWS_AS(stats::Counter(chip, "", "count", ""), InternalError);
  REQUIRE_THROWS_AS(stats::Group("x.y"), InternalError);
  stats::Counter same_name_elsewhere(core0, "reads_count", "count", "fine in another group");
  REQUIRE(chip.stats().size() == 1);
  REQUIRE(chip.children().size() == 1);
}

TEST_CASE("Destruction unregisters in either order", "[stats]") {
  stats::Group chip("chip");
  {
    stats::Group tmp(chip, "tmp");
    stats::Counter c(chip, "tmp_count", "count", "");
    REQUIRE(chip.children().size() == 1);
    REQUIRE(chip.stats().size() == 1);
  }
  REQUIRE(chip.children().empty());
  REQUIRE(chip.stats().empty());
  stats::Group tmp_again(chip, "tmp");  // the name is free again

  auto root = std::make_unique<stats::Group>("root");
  auto child = std::make_unique<stats::Group>(*root, "child");
  auto counter = std::make_unique<stats::Counter>(*child, "n_count", "count", "");
  auto top = std::make_unique<stats::Counter>(*root, "m_count", "count", "");
  root.reset();  // parent first: children and stats are detached, not left dangling
  REQUIRE(child->parent() == nullptr);
  REQUIRE(child->path() == "child");
  REQUIRE(top->group() == nullptr);
  REQUIRE(top->path() == "m_count");
  child.reset();
  REQUIRE(counter->group() == nullptr);
  counter.reset();
  top.reset();
}
