// Every timing constraint of the pseudo-channel controller (arch/hbm/bank_timing.h), gated at
// t - 1 and t with ChannelController::can_issue() after a command sequence issued with issue().
// The device has a distinct value for every timing parameter, so using one parameter in place
// of another moves a gate and fails the test.
#include <cstdint>
#include <string>

#include <catch2/catch.hpp>

#include "arch/hbm/channel_controller.h"
#include "sim/core/error.h"
#include "sim/core/stats.h"
#include "tests/support/hbm_spec.h"

namespace llmsim::hbm {
namespace {

using test::distinct_spec;

ControllerParams no_refresh() {
  ControllerParams p;
  p.refresh = RefreshMode::off;
  return p;
}

BankAddress at(std::uint32_t bank_group, std::uint32_t bank, std::uint32_t row = 5) {
  BankAddress a;
  a.bank_group = bank_group;
  a.bank = bank;
  a.row = row;
  return a;
}

struct Rig {
  explicit Rig(const DramSpec& spec = distinct_spec())
      : root("chip"), ctl(spec, no_refresh(), root, "hbm") {}
  stats::Group root;
  ChannelController ctl;
};

// `cmd` to `a` is blocked at t - 1 and allowed at t.
void require_gate(const ChannelController& c, Command cmd, const BankAddress& a, std::uint64_t t) {
  INFO(to_string(cmd) << " to bank group " << a.bank_group << " bank " << a.bank << " at " << t);
  REQUIRE_FALSE(c.can_issue(cmd, a, t - 1));
  REQUIRE(c.can_issue(cmd, a, t));
}

}  // namespace

TEST_CASE("ACT -> RD waits tRCDRD and ACT -> WR waits tRCDWR", "[hbm]") {
  Rig r;
  r.ctl.issue(Command::act, at(0, 0), 0);
  // ACT at 0; RD needs tRCDRD = 15: blocked at 14, allowed at 15.
  require_gate(r.ctl, Command::rd, at(0, 0), 15);
  // WR needs tRCDWR = 11: blocked at 10, allowed at 11.
  require_gate(r.ctl, Command::wr, at(0, 0), 11);
}

TEST_CASE("ACT -> PRE waits tRAS", "[hbm]") {
  Rig r;
  r.ctl.issue(Command::act, at(2, 1), 0);
  // ACT at 0; PRE needs tRAS = 31.
  require_gate(r.ctl, Command::pre, at(2, 1), 31);
}

TEST_CASE("ACT -> ACT of the same bank waits tRC, PRE -> ACT waits tRP", "[hbm]") {
  SECTION("tRC binds") {
    Rig r;
    r.ctl.issue(Command::act, at(1, 0), 0);
    r.ctl.issue(Command::pre, at(1, 0), 31);
    // ACT at 0, PRE at 31 (tRAS): next ACT at max(tRC = 47, 31 + tRP = 44) = 47.
    require_gate(r.ctl, Command::act, at(1, 0, 9), 47);
  }
  SECTION("tRP binds") {
    Rig r;
    r.ctl.issue(Command::act, at(1, 0), 0);
    r.ctl.issue(Command::pre, at(1, 0), 40);
    // ACT at 0, PRE at 40: next ACT at max(tRC = 47, 40 + tRP = 53) = 53.
    require_gate(r.ctl, Command::act, at(1, 0, 9), 53);
  }
}

TEST_CASE("RD -> PRE waits tRTP, WR -> PRE waits tCWL + tBL + tWR", "[hbm]") {
  SECTION("read") {
    Rig r;
    r.ctl.issue(Command::act, at(0, 1), 0);
    r.ctl.issue(Command::rd, at(0, 1), 30);
    // RD at 30: PRE at max(tRAS = 31, 30 + tRTP = 38) = 38.
    require_gate(r.ctl, Command::pre, at(0, 1), 38);
  }
  SECTION("write") {
    Rig r;
    r.ctl.issue(Command::act, at(0, 1), 0);
    r.ctl.issue(Command::wr, at(0, 1), 11);
    // WR at 11: PRE at max(tRAS = 31, 11 + tCWL 5 + tBL 2 + tWR 19 = 37) = 37.
    require_gate(r.ctl, Command::pre, at(0, 1), 37);
  }
}

TEST_CASE("ACT -> ACT of other banks waits tRRD_S, or tRRD_L in the same bank group", "[hbm]") {
  Rig r;
  r.ctl.issue(Command::act, at(0, 0), 0);
  // Other bank group: tRRD_S = 4.
  require_gate(r.ctl, Command::act, at(1, 0), 4);
  require_gate(r.ctl, Command::act, at(3, 1), 4);
  // Same bank group, other bank: tRRD_L = 6.
  require_gate(r.ctl, Command::act, at(0, 1), 6);
}

TEST_CASE("At most four ACTs in any tFAW window", "[hbm]") {
  Rig r;
  r.ctl.issue(Command::act, at(0, 0), 0);
  r.ctl.issue(Command::act, at(1, 0), 4);
  r.ctl.issue(Command::act, at(2, 0), 8);
  r.ctl.issue(Command::act, at(3, 0), 12);
  // The fifth ACT: tRRD_S allows 16, tRRD_L (after bank group 0's ACT at 0) 6, but the first
  // ACT leaves the window only at 0 + tFAW = 23.
  require_gate(r.ctl, Command::act, at(0, 1), 23);
  require_gate(r.ctl, Command::act, at(1, 1), 23);
  r.ctl.issue(Command::act, at(0, 1), 30);
  // Sliding: the last four ACTs are now 4, 8, 12, 30; the next waits for max(4 + tFAW = 27,
  // 30 + tRRD_S = 34) = 34 -- the window no longer binds once ACTs are spread out.
  require_gate(r.ctl, Command::act, at(1, 1), 34);
}

TEST_CASE("tFAW counts from the oldest of the last four ACTs", "[hbm]") {
  Rig r;
  r.ctl.issue(Command::act, at(0, 0), 0);
  r.ctl.issue(Command::act, at(1, 0), 10);
  r.ctl.issue(Command::act, at(2, 0), 14);
  r.ctl.issue(Command::act, at(3, 0), 18);
  // Fifth ACT: max(0 + tFAW = 23, 18 + tRRD_S = 22) = 23.
  r.ctl.issue(Command::act, at(0, 1), 23);
  // Sixth: the last four are 10, 14, 18, 23: max(10 + 23 = 33, 23 + tRRD_S = 27) = 33.
  require_gate(r.ctl, Command::act, at(1, 1), 33);
}

TEST_CASE("RD -> RD waits tCCD_S, or tCCD_L in the same bank group", "[hbm]") {
  Rig r;
  r.ctl.issue(Command::act, at(0, 0), 0);
  r.ctl.issue(Command::act, at(1, 0), 4);
  r.ctl.issue(Command::act, at(0, 1), 10);
  r.ctl.issue(Command::rd, at(0, 0), 30);
  // RD at 30. Other bank group: 30 + tCCD_S 3 = 33.
  require_gate(r.ctl, Command::rd, at(1, 0), 33);
  // Same bank group, other bank, and the same bank: 30 + tCCD_L 7 = 37.
  require_gate(r.ctl, Command::rd, at(0, 1), 37);
  require_gate(r.ctl, Command::rd, at(0, 0), 37);
}

TEST_CASE("WR -> WR waits tCCD_S, or tCCD_L in the same bank group", "[hbm]") {
  Rig r;
  r.ctl.issue(Command::act, at(0, 0), 0);
  r.ctl.issue(Command::act, at(1, 0), 4);
  r.ctl.issue(Command::act, at(0, 1), 10);
  r.ctl.issue(Command::wr, at(0, 0), 30);
  require_gate(r.ctl, Command::wr, at(1, 0), 33);  // 30 + tCCD_S 3
  require_gate(r.ctl, Command::wr, at(0, 1), 37);  // 30 + tCCD_L 7
  require_gate(r.ctl, Command::wr, at(0, 0), 37);
}

TEST_CASE("WR -> RD waits for the write data plus tWTR_S, or tWTR_L in the bank group", "[hbm]") {
  Rig r;
  r.ctl.issue(Command::act, at(0, 0), 0);
  r.ctl.issue(Command::act, at(1, 0), 4);
  r.ctl.issue(Command::act, at(0, 1), 10);
  r.ctl.issue(Command::wr, at(0, 0), 30);
  // WR at 30, data until 30 + tCWL 5 + tBL 2 = 37. Other bank group: 37 + tWTR_S 9 = 46.
  require_gate(r.ctl, Command::rd, at(1, 0), 46);
  // Same bank group (other bank, and the same bank): 37 + tWTR_L 12 = 49.
  require_gate(r.ctl, Command::rd, at(0, 1), 49);
  require_gate(r.ctl, Command::rd, at(0, 0), 49);
}

TEST_CASE("RD -> WR waits tCL + tBL + tRTW - tCWL in any bank", "[hbm]") {
  Rig r;
  r.ctl.issue(Command::act, at(0, 0), 0);
  r.ctl.issue(Command::act, at(1, 0), 4);
  r.ctl.issue(Command::rd, at(0, 0), 30);
  // RD at 30, read data on the bus over [47, 49); the write data (tCWL 5 after its WR) may
  // start tRTW 1 later, at 50: WR at 30 + 17 + 2 + 1 - 5 = 45, whatever the bank group.
  require_gate(r.ctl, Command::wr, at(1, 0), 45);
  require_gate(r.ctl, Command::wr, at(0, 0), 45);
  r.ctl.issue(Command::wr, at(1, 0), 45);  // its burst [50, 52) follows the read's
}

TEST_CASE("RD -> WR never closer than tCCD_S, even with a long write latency", "[hbm]") {
  DramSpec s = distinct_spec();
  s.timing.tCWL = 20;  // tCL + tBL + tRTW - tCWL = 17 + 2 + 1 - 20 = 0
  Rig r(s);
  r.ctl.issue(Command::act, at(0, 0), 0);
  r.ctl.issue(Command::act, at(1, 0), 4);
  r.ctl.issue(Command::rd, at(0, 0), 30);
  // The turnaround term allows 30, the command bus 31; column commands keep tCCD_S = 3: 33.
  require_gate(r.ctl, Command::wr, at(1, 0), 33);
}

TEST_CASE("REFab needs every bank closed and tRP since the last PRE, and blocks for tRFC",
          "[hbm]") {
  SECTION("tRP after the last PRE binds") {
    Rig r;
    r.ctl.issue(Command::act, at(0, 0), 0);
    r.ctl.issue(Command::act, at(2, 1), 4);
    REQUIRE_FALSE(r.ctl.can_issue(Command::refab, BankAddress{}, 1000));  // banks open
    r.ctl.issue(Command::pre, at(0, 0), 40);
    REQUIRE_FALSE(r.ctl.can_issue(Command::refab, BankAddress{}, 1000));  // bank (2, 1) open
    r.ctl.issue(Command::pre, at(2, 1), 45);
    // Last PRE at 45: REFab at max(45 + tRP 13 = 58, ACTs + tRC = 47 / 51) = 58.
    require_gate(r.ctl, Command::refab, BankAddress{}, 58);
    r.ctl.issue(Command::refab, BankAddress{}, 58);
    // REFab at 58 blocks ACT to every bank, and the next refresh, for tRFC = 101: 159.
    require_gate(r.ctl, Command::act, at(0, 0), 159);
    require_gate(r.ctl, Command::act, at(3, 1), 159);
    require_gate(r.ctl, Command::refab, BankAddress{}, 159);
    require_gate(r.ctl, Command::refpb, at(1, 1), 159);
  }
  SECTION("tRC after the last ACT binds") {
    Rig r;
    r.ctl.issue(Command::act, at(1, 0), 0);
    r.ctl.issue(Command::pre, at(1, 0), 31);
    // REFab at max(31 + tRP = 44, 0 + tRC = 47) = 47.
    require_gate(r.ctl, Command::refab, BankAddress{}, 47);
  }
}

TEST_CASE("REFpb needs its bank closed, blocks it tRFCpb and the others tRREFD", "[hbm]") {
  SECTION("blocking") {
    Rig r;
    r.ctl.issue(Command::refpb, at(0, 0), 0);
    // REFpb to bank (0, 0) at 0: its ACT and next REFpb wait tRFCpb = 53.
    require_gate(r.ctl, Command::act, at(0, 0), 53);
    require_gate(r.ctl, Command::refpb, at(0, 0), 53);
    // Other banks (same or other bank group): ACT and REFpb wait tRREFD = 10.
    require_gate(r.ctl, Command::act, at(0, 1), 10);
    require_gate(r.ctl, Command::act, at(3, 0), 10);
    require_gate(r.ctl, Command::refpb, at(2, 1), 10);
    // REFab waits until the refreshing bank is done: tRFCpb = 53.
    require_gate(r.ctl, Command::refab, BankAddress{}, 53);
  }
  SECTION("needs the bank closed and precharged") {
    Rig r;
    r.ctl.issue(Command::act, at(1, 1), 0);
    REQUIRE_FALSE(r.ctl.can_issue(Command::refpb, at(1, 1), 500));
    // Another bank may refresh meanwhile: only the command bus (1 cycle) constrains it.
    require_gate(r.ctl, Command::refpb, at(1, 0), 1);
    r.ctl.issue(Command::pre, at(1, 1), 40);
    // PRE at 40: REFpb at max(40 + tRP = 53, 0 + tRC = 47) = 53.
    require_gate(r.ctl, Command::refpb, at(1, 1), 53);
  }
}

TEST_CASE("One command per cycle on the command bus", "[hbm]") {
  Rig r;
  r.ctl.issue(Command::act, at(0, 0), 0);
  // ACT (1, 0) is timing-legal from 4 (tRRD_S), but the RD at 15 holds the bus at 15.
  r.ctl.issue(Command::rd, at(0, 0), 15);
  REQUIRE(r.ctl.can_issue(Command::act, at(1, 0), 16));
  REQUIRE_FALSE(r.ctl.can_issue(Command::act, at(1, 0), 15));
  REQUIRE_FALSE(r.ctl.can_issue(Command::refpb, at(1, 0), 15));
}

TEST_CASE("The bank state gates commands whatever the time", "[hbm]") {
  Rig r;
  const std::uint64_t late = 100000;
  REQUIRE_FALSE(r.ctl.can_issue(Command::rd, at(0, 0), late));  // bank closed
  REQUIRE_FALSE(r.ctl.can_issue(Command::wr, at(0, 0), late));
  REQUIRE_FALSE(r.ctl.can_issue(Command::pre, at(0, 0), late));  // nothing to close
  r.ctl.issue(Command::act, at(0, 0, 7), 0);
  REQUIRE_FALSE(r.ctl.can_issue(Command::rd, at(0, 0, 8), late));   // another row is open
  REQUIRE_FALSE(r.ctl.can_issue(Command::act, at(0, 0, 8), late));  // bank already open
  REQUIRE(r.ctl.can_issue(Command::rd, at(0, 0, 7), late));
}

TEST_CASE("Issuing an illegal command is an internal error", "[hbm]") {
  Rig r;
  r.ctl.issue(Command::act, at(0, 0), 0);
  REQUIRE_THROWS_AS(r.ctl.issue(Command::rd, at(0, 0), 14), InternalError);     // tRCDRD = 15
  REQUIRE_THROWS_AS(r.ctl.issue(Command::rd, at(0, 0, 6), 20), InternalError);  // wrong row
  r.ctl.issue(Command::rd, at(0, 0), 20);
  REQUIRE_THROWS_AS(r.ctl.issue(Command::act, at(1, 0), 19), InternalError);  // before now()
  BankAddress bad = at(4, 0);                                                 // only 4 bank groups
  REQUIRE_THROWS_AS(r.ctl.issue(Command::act, bad, 30), InternalError);
}

TEST_CASE("Bursts that would overlap on the data bus are a configuration error", "[hbm]") {
  DramSpec s = distinct_spec();
  s.timing.tCCD_S = 1;  // < tBL = 2: back-to-back reads would overlap
  stats::Group root("chip");
  REQUIRE_THROWS_AS(ChannelController(s, no_refresh(), root, "hbm"), ConfigError);
}

}  // namespace llmsim::hbm
