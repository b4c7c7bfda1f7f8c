// Energy of whole runs (sim/core/energy.h, sim/driver/energy.h): every unit's energy_pj is its
// per-action counts x energies plus leakage_mw x simulated time, the run's total is their sum,
// config errors name the key, and the summary prints it.
#include <sstream>

#include <catch2/catch.hpp>

#include "sim/core/error.h"
#include "sim/driver/presets.h"
#include "sim/driver/report.h"
#include "sim/driver/run.h"

namespace {

using namespace llmsim;
using Catch::Matchers::Contains;
using Catch::Matchers::Message;

// `tiles`: --tiles ("": the search's).
driver::RunResult run_trace(const std::string& arch, const config::Json& trace,
                            std::vector<std::string> overrides = {},
                            const std::string& tiles = "") {
  return driver::run({arch, driver::load_arch(arch), std::move(overrides),
                      workloads::parse_workload(trace, "trace"),
                      driver::mapping_options("auto", "", "", "", tiles)});
}

// One 32x32x32 int8 GEMM: one tile on edge's 32x32 array, with round energies.
const config::Json kGemm32 = {
    {"batch", 1},
    {"seq", 32},
    {"phase", "prefill"},
    {"ops", {{{"op", "matmul"}, {"name", "g"}, {"m", 32}, {"k", 32}, {"n", 32}}}}};
const std::vector<std::string> kRoundEnergies = {
    R"(core.systolic.energy_pj_per_mac={"int8": 0.25, "fp16": 1, "bf16": 1})",
    "core.systolic.leakage_mw=8",
    R"(core.scratchpad.energy_pj_per_byte={"read": 1, "write": 2})",
    "core.scratchpad.leakage_mw=16",
    R"(core.accumulator.energy_pj_per_byte={"read": 0.5, "write": 0.75})",
    "core.accumulator.leakage_mw=4",
    "core.vector.leakage_mw=2",
    "core.dma.energy_pj_per_byte=0.125",
    "core.dma.leakage_mw=1"};

double stat(const driver::RunResult& r, const char* unit, const char* name) {
  return r.stats["chip"]["core0"][unit][name].get<double>();
}

}  // namespace

TEST_CASE("energy: a 32x32x32 GEMM on edge, every unit derived by hand", "[energy]") {
  // One 32x32x32 tile, as derived below (--tiles; the search may cut the GEMM otherwise).
  const auto r = run_trace("edge", kGemm32, kRoundEnergies, "32x32x32");
  // Actions (one tile: A and B of 1 KiB int8 each, C of 32 x 32 int32 = 4 KiB):
  //  systolic    32^3 = 32768 int8 MACs x 0.25 pJ                                 =  8192 pJ
  //  scratchpad  DMA writes A + B (2048 B) x 2 pJ, the GEMM reads them once x 1 pJ =  6144 pJ
  //  accumulator the GEMM writes C (4096 B) x 0.75, the store reads it x 0.5       =  5120 pJ
  //  dma         2048 B loaded + 1024 B stored (int32 -> int8) = 3072 B x 0.125   =   384 pJ
  //  vector      no vector op                                                      =     0 pJ
  CHECK(stat(r, "systolic", "int8_macs") == 32768);
  CHECK(stat(r, "systolic", "dynamic_energy_pj") == 8192.0);
  CHECK(stat(r, "scratchpad", "dynamic_energy_pj") == 6144.0);
  CHECK(stat(r, "accumulator", "dynamic_energy_pj") == 5120.0);
  CHECK(stat(r, "dma", "dynamic_energy_pj") == 384.0);
  CHECK(stat(r, "vector", "dynamic_energy_pj") == 0.0);
  // Leakage: mW x total_cycles / 800 MHz x 1e9 pJ per mJ = 1.25 pJ per mW and cycle.
  const double pj_per_mw = 1.25 * double(r.total_cycles);
  CHECK(stat(r, "systolic", "leakage_energy_pj") == Approx(8 * pj_per_mw));
  CHECK(stat(r, "scratchpad", "leakage_energy_pj") == Approx(16 * pj_per_mw));
  CHECK(stat(r, "accumulator", "leakage_energy_pj") == Approx(4 * pj_per_mw));
  CHECK(stat(r, "vector", "leakage_energy_pj") == Approx(2 * pj_per_mw));
  CHECK(stat(r, "dma", "leakage_energy_pj") == Approx(1 * pj_per_mw));
  // Total: 19840 pJ dynamic + 31 mW of leakage; the simple memory reports none.
  const driver::RunEnergy& e = r.energy;
  REQUIRE(e.reported);
  CHECK(e.total_pj == Approx(19840 + 31 * pj_per_mw));
  CHECK(e.leakage_pj == Approx(31 * pj_per_mw));
  REQUIRE(e.by_unit.size() == 5);
  CHECK(e.by_unit[0].first == "scratchpad");  // stats-tree order
  CHECK(e.by_unit[0].second == Approx(6144 + 16 * pj_per_mw));
  // 32 tokens (batch 1 x seq 32); W = pJ x 1e-12 / s.
  REQUIRE(e.tokens);
  CHECK(*e.tokens == 32);
  CHECK(*e.per_token_pj == Approx(e.total_pj / 32));
  CHECK(e.average_power_w == Approx(e.total_pj * 1e-12 / r.seconds));
  // stats.json keeps the same numbers.
  CHECK(r.stats["energy"]["total_pj"].get<double>() == e.total_pj);
  CHECK(r.stats["energy"]["by_unit"]["dma"].get<double>() == Approx(384 + pj_per_mw));
  CHECK(r.stats["energy"]["tokens"].get<std::uint64_t>() == 32);
}

TEST_CASE("energy: leakage alone, and units without energies report none", "[energy]") {
  // Only the DMA gets a leakage_mw; the others drop their energies.
  auto arch = driver::load_arch("edge");
  for (const char* unit : {"scratchpad", "accumulator"}) {
    arch["core"][unit].erase("energy_pj_per_byte");
    arch["core"][unit].erase("leakage_mw");
  }
  arch["core"]["systolic"].erase("energy_pj_per_mac");
  arch["core"]["systolic"].erase("leakage_mw");
  arch["core"]["vector"].erase("energy_pj_per_element_op");
  arch["core"]["vector"].erase("leakage_mw");
  arch["core"]["dma"].erase("energy_pj_per_byte");
  arch["core"]["dma"]["leakage_mw"] = 2;
  const auto r = driver::run({"edge", arch, {}, workloads::parse_workload(kGemm32, "trace")});
  CHECK_FALSE(r.stats["chip"]["core0"]["systolic"].contains("energy_pj"));
  REQUIRE(r.energy.by_unit.size() == 1);
  CHECK(r.energy.by_unit[0].first == "dma");
  // 2 mW x total_cycles x 1.25 pJ per mW and cycle; no dynamic energy without its key.
  CHECK(r.energy.total_pj == Approx(2 * 1.25 * double(r.total_cycles)));
  CHECK(stat(r, "dma", "dynamic_energy_pj") == 0.0);

  arch["core"]["dma"].erase("leakage_mw");
  const auto none = driver::run({"edge", arch, {}, workloads::parse_workload(kGemm32, "trace")});
  CHECK_FALSE(none.energy.reported);
  CHECK(none.energy.total_pj == 0.0);
  std::ostringstream os;
  driver::print_summary(os, none);
  CHECK_THAT(os.str(), Contains("energy                not modelled"));
}

TEST_CASE("energy: config errors name the key", "[energy]") {
  const auto validate = [](const std::string& arch, const std::string& set) {
    driver::validate(driver::load_arch(arch), {set});
  };
  // edge's array has no fp32: its energy is an unknown key.
  CHECK_THROWS_MATCHES(
      validate("edge",
               R"(core.systolic.energy_pj_per_mac={"int8": 1, "fp16": 1, "bf16": 1, "fp32": 2})"),
      ConfigError,
      Message("core.systolic.energy_pj_per_mac.fp32: unknown key (did you mean \"fp16\"?); "
              "allowed here: int8, fp16, bf16"));
  // Every supported dtype needs its energy.
  CHECK_THROWS_MATCHES(validate("edge", R"(core.systolic.energy_pj_per_mac={"int8": 1})"),
                       ConfigError,
                       Message("core.systolic.energy_pj_per_mac.fp16: is required (a "
                               "non-negative number)"));
  CHECK_THROWS_MATCHES(validate("edge", "core.scratchpad.leakage_mw=-1"), ConfigError,
                       Message("core.scratchpad.leakage_mw: must be a non-negative number, "
                               "got -1"));
  CHECK_THROWS_MATCHES(
      validate("edge", R"(core.accumulator.energy_pj_per_byte={"read": 1, "writ": 2})"),
      ConfigError,
      Message("core.accumulator.energy_pj_per_byte.write: is required (a non-negative number); "
              "found \"writ\": a misspelling?"));
  CHECK_THROWS_MATCHES(validate("edge", R"(core.dma.energy_pj_per_byte="x")"), ConfigError,
                       Message("core.dma.energy_pj_per_byte: must be a non-negative number, "
                               "got \"x\""));
  CHECK_THROWS_MATCHES(validate("datacenter", "noc.leakage_mw_per_router=-5"), ConfigError,
                       Message("noc.leakage_mw_per_router: must be a non-negative number, "
                               "got -5"));
}

TEST_CASE("energy: the summary prints per inference, per token, power and every unit", "[energy]") {
  const auto r = run_trace("edge", kGemm32, kRoundEnergies);
  std::ostringstream os;
  driver::print_summary(os, r);
  const std::string s = os.str();
  CHECK_THAT(s, Contains("  energy per inference  " + driver::fixed(r.energy.total_pj / 1000, 3) +
                         " nJ  (leakage "));
  CHECK_THAT(s, Contains("  energy per token      "));
  CHECK_THAT(s, Contains(" nJ  (32 tokens)\n"));
  CHECK_THAT(s, Contains("  average power         " + driver::fixed(r.energy.average_power_w, 3) +
                         " W\n"));
  for (const char* unit : {"scratchpad", "accumulator", "systolic", "vector", "dma"}) {
    CHECK_THAT(s, Contains(std::string("    ") + unit));
  }
  // A trace without token counts (a plain GEMM workload) prints no per-token line.
  config::Json gemm = kGemm32;
  gemm.erase("seq");
  gemm.erase("batch");
  gemm.erase("phase");
  std::ostringstream os2;
  driver::print_summary(os2, run_trace("edge", gemm, kRoundEnergies));
  CHECK_THAT(os2.str(), !Contains("energy per token"));
}

TEST_CASE("energy: tokens of a trace", "[energy]") {
  using workloads::TraceMeta;
  CHECK(driver::tokens_of(TraceMeta{"m", 8, 128, std::nullopt, "prefill"}) == 1024u);
  CHECK(driver::tokens_of(TraceMeta{"m", 8, 1, 512, "decode"}) == 8u);
  CHECK(driver::tokens_of(TraceMeta{"m", 4, std::nullopt, 512, "decode"}) == 4u);
  CHECK(driver::tokens_of(TraceMeta{"m", std::nullopt, 16, std::nullopt, ""}) == 16u);
  CHECK_FALSE(driver::tokens_of(TraceMeta{}).has_value());
}
