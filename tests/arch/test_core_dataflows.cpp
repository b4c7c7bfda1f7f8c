// A core whose array offers several dataflows (core.systolic.dataflows): each Gemm runs in its
// own (none: the default), the array drains and reconfigures between two of different
// dataflows (arch/systolic/timing.h), the stats count the switches, a Gemm in a dataflow the
// array does not offer is a WorkloadError, and the config keys are checked. Cycles by hand.
#include <cstdint>
#include <exception>
#include <string>

#include <catch2/catch.hpp>
#include <systemc>

#include "arch/core/core.h"
#include "arch/systolic/systolic_array.h"
#include "sim/core/config.h"
#include "sim/core/error.h"
#include "sim/driver/kernel_session.h"
#include "tests/support/core_rig.h"

namespace llmsim::core {
namespace {

using systolic::Dataflow;

// test::rig_core() (tests/support/core_rig.h), pipelined, offering `dataflows` at `x` cycles
// a switch.
CoreParams core_params(std::vector<Dataflow> dataflows, std::uint64_t x) {
  CoreParams c = test::rig_core();
  c.systolic.pipelining = systolic::Pipelining::double_buffered;
  c.systolic.dataflows = std::move(dataflows);
  c.systolic.dataflow_switch_cycles = Cycles(x);
  return c;
}

isa::Gemm gemm(std::uint64_t b_addr, std::uint64_t c_addr, std::optional<Dataflow> d) {
  isa::Gemm g;
  g.a_addr = 0, g.b_addr = b_addr, g.c_addr = c_addr, g.m = g.k = g.n = 16;
  g.dataflow = d;
  return g;
}

// Loads A, B1, B2 (sem 0); the compute queue runs GEMM 1 (dataflow d1) and GEMM 2 (d2) with
// the same A and signals C (sem 1) after them; the store queue stores C once sem 1 comes.
isa::CoreProgram two_gemms(std::optional<Dataflow> d1, std::optional<Dataflow> d2) {
  isa::CoreProgram program;
  program.semaphore_init = {0, 0};
  program.queue(isa::QueueKind::load) = {{isa::DmaLoad{test::block16(0, 0)}, 0},
                                         {isa::DmaLoad{test::block16(0x1000, 0x100)}, 0},
                                         {isa::DmaLoad{test::block16(0x2000, 0x200)}, 0},
                                         {isa::SemSignal{0}, -1}};
  program.queue(isa::QueueKind::compute) = {{isa::SemWait{0}, -1},
                                            {gemm(0x100, 0, d1), 0},
                                            {gemm(0x200, 0x400, d2), 0},
                                            {isa::SemSignal{1}, -1}};
  program.queue(isa::QueueKind::store) = {{isa::SemWait{1}, -1},
                                          {isa::DmaStore{test::block16(0x4000, 0x400)}, 0}};
  return program;
}

}  // namespace

TEST_CASE("core with two dataflows: a GEMM in the other one waits for the drain and the switch",
          "[core][dataflows]") {
  driver::KernelSession session;
  test::CoreRig rig(core_params({Dataflow::ws, Dataflow::os}, 10));
  const isa::CoreProgram program = two_gemms(std::nullopt, Dataflow::os);
  rig.run(program);
  // Loads of 256 B each: A, B1, B2 done at 104, 108, 112; sem 0 at 112.
  // GEMM 1 (default WS, one fold, R = S = Nf = 16): preload 112-128, stream from 128, last
  // output out at 112 + 2R + Nf + M - 2 = 174; the array takes GEMM 2 at 128.
  // GEMM 2 (OS): the array drains at 174, reconfigures in 174..183 and starts it at 184 as on
  // an idle array: R + Mf + Nf + K - 2 = 62 cycles, done at 246. sem 1 at 246, the store of C
  // done at 246 + 4 + 100 = 350.
  CHECK(rig.ops[0].last_end == Cycles(350));
  CHECK(rig.systolic("busy_cycles") == (174 - 112) + (246 - 184));  // the switch is not busy
  CHECK(rig.systolic("dataflow_switches") == 1);
  CHECK(rig.systolic("switch_cycles") == 10);
  CHECK(rig.systolic("gemms") == 2);
}

TEST_CASE("core with two dataflows: GEMMs in the default (named or not) pipeline as before",
          "[core][dataflows]") {
  driver::KernelSession session;
  test::CoreRig rig(core_params({Dataflow::ws, Dataflow::os}, 10));
  const isa::CoreProgram program = two_gemms(std::nullopt, Dataflow::ws);
  rig.run(program);
  // As on a WS-only array (test_core_pipelined.cpp): GEMM 2's stream starts at
  // max(128 + R, 128 + S) = 144, done at 144 + 46 = 190; the store done at 190 + 104 = 294.
  CHECK(rig.ops[0].last_end == Cycles(294));
  CHECK(rig.systolic("dataflow_switches") == 0);
  CHECK(rig.systolic("switch_cycles") == 0);
}

TEST_CASE("core: a GEMM in a dataflow its array does not offer is a workload error",
          "[core][dataflows]") {
  driver::KernelSession session;
  test::CoreRig rig(core_params({Dataflow::ws, Dataflow::os}, 10));
  const isa::CoreProgram program = two_gemms(std::nullopt, Dataflow::is);
  REQUIRE_THROWS_AS(rig.run(program), WorkloadError);
}

TEST_CASE("SystolicParams::dataflow_of names the dataflow and what the array offers",
          "[systolic][dataflows]") {
  systolic::SystolicParams p;
  p.dataflows = {Dataflow::os, Dataflow::ws};
  isa::Gemm g;
  CHECK(p.dataflow_of(g) == Dataflow::os);  // none: the default, the first listed
  g.dataflow = Dataflow::ws;
  CHECK(p.dataflow_of(g) == Dataflow::ws);
  g.dataflow = Dataflow::is;
  REQUIRE_THROWS_WITH(p.dataflow_of(g),
                      "gemm in dataflow is: not offered by the systolic array, which offers os, "
                      "ws (core.systolic.dataflows)");
}

namespace {

// Parses `json` as core.systolic.
systolic::SystolicParams parse(const std::string& json) {
  const config::Json doc = config::Json::parse(json);
  config::Json resolved;
  config::Reader r(doc, "core.systolic", resolved);
  systolic::SystolicParams p = systolic::SystolicParams::parse(r);
  r.finish();
  return p;
}

const std::string kShape = R"("rows": 8, "cols": 8, )";

}  // namespace

TEST_CASE("core.systolic.dataflows: parsed, the first the default", "[systolic][dataflows]") {
  const auto p = parse("{" + kShape + R"("dataflows": ["os", "is"], "dataflow_switch_cycles": 7})");
  CHECK(p.dataflows == std::vector<Dataflow>{Dataflow::os, Dataflow::is});
  CHECK(p.dataflow_switch_cycles == Cycles(7));
  const auto one = parse("{" + kShape + R"("dataflow": "is"})");
  CHECK(one.dataflows == std::vector<Dataflow>{Dataflow::is});
  CHECK(one.dataflow_switch_cycles == Cycles(0));
  const auto listed_one = parse("{" + kShape + R"("dataflows": ["ws"]})");
  CHECK(listed_one.dataflows == std::vector<Dataflow>{Dataflow::ws});
  // null stands for absent (--set core.systolic.dataflow=null).
  const auto nulled =
      parse("{" + kShape +
            R"("dataflow": null, "dataflows": ["ws", "os"], "dataflow_switch_cycles": 0})");
  CHECK(nulled.dataflows == std::vector<Dataflow>{Dataflow::ws, Dataflow::os});
}

TEST_CASE("core.systolic.dataflows: errors name the key, the value and what is allowed",
          "[systolic][dataflows]") {
  using Catch::Matchers::Equals;
  auto err = [](const std::string& keys) {
    try {
      parse("{" + kShape + keys + "}");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK_THAT(err(R"("dataflows": [])"),
             Equals("core.systolic.dataflows: must be a non-empty list of ws, os, is, got []"));
  CHECK_THAT(err(R"("dataflows": ["ws", "xs"], "dataflow_switch_cycles": 1)"),
             Equals("core.systolic.dataflows: must be a non-empty list of ws, os, is, got "
                    "[\"ws\",\"xs\"]"));
  CHECK_THAT(err(R"("dataflows": ["ws", "os", "ws"], "dataflow_switch_cycles": 1)"),
             Equals("core.systolic.dataflows: names \"ws\" twice; each of ws, os, is may appear "
                    "once, got [\"ws\",\"os\",\"ws\"]"));
  CHECK_THAT(err(R"("dataflow": "ws", "dataflows": ["ws", "os"], "dataflow_switch_cycles": 1)"),
             Equals("core.systolic.dataflows: give either dataflow (one) or dataflows (a list), "
                    "not both; remove one (--set core.systolic.dataflow=null)"));
  CHECK_THAT(err(R"("dataflows": ["ws", "os"])"),
             Equals("core.systolic.dataflow_switch_cycles: is required with two or more "
                    "dataflows (an integer in [0, 1048576]: the cycles the array takes to "
                    "reconfigure after draining)"));
  CHECK_THAT(err(R"("dataflow": "os", "dataflow_switch_cycles": 4)"),
             Equals("core.systolic.dataflow_switch_cycles: only an array that lists two or more "
                    "dataflows (dataflows) switches; it offers one, os: remove the key"));
  CHECK_THAT(err(R"("dataflows": ["is"], "dataflow_switch_cycles": 4)"),
             Equals("core.systolic.dataflow_switch_cycles: only an array that lists two or more "
                    "dataflows (dataflows) switches; it offers one, is: remove the key"));
  CHECK_THAT(err(R"("dataflows": ["ws", "os"], "dataflow_switch_cycles": -1)"),
             Equals("core.systolic.dataflow_switch_cycles: must be a non-negative integer, "
                    "got -1"));
  CHECK_THAT(err(R"("dataflows": ["ws", "os"], "dataflow_switch_cycles": 1048577)"),
             Equals("core.systolic.dataflow_switch_cycles: must be in [0, 1048576], got "
                    "1048577"));
  CHECK_THAT(err(R"("dataflow": null)"),
             Equals("core.systolic.dataflow: is required: one of ws, os, is, or give dataflows "
                    "(a list of them), got null"));
}

}  // namespace llmsim::core
