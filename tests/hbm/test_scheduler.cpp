// The pseudo-channel controller's scheduling (arch/hbm/command_scheduler.h,
// channel_controller.h): exact command cycles of small scenarios worked by hand, on a device
// with a distinct value for every timing parameter, plus the equivalence of lazy catch-up and
// per-cycle driving, the stats and the config parsing.
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "arch/hbm/channel_controller.h"
#include "sim/core/config.h"
#include "sim/core/error.h"
#include "sim/core/stats.h"
#include "tests/support/hbm_spec.h"

namespace llmsim::hbm {
namespace {

DramSpec distinct_spec() {
  return test::distinct_spec(1000);
}

ControllerParams params(RefreshMode refresh = RefreshMode::off) {
  ControllerParams p;
  p.refresh = refresh;
  return p;
}

Request read(std::uint64_t id, std::uint32_t bg, std::uint32_t bank, std::uint32_t row,
             std::uint64_t arrival, std::uint32_t column = 0) {
  Request r;
  r.id = id;
  r.addr = BankAddress{bg, bank, row, column};
  r.arrival = arrival;
  return r;
}

Request write(std::uint64_t id, std::uint32_t bg, std::uint32_t bank, std::uint32_t row,
              std::uint64_t arrival) {
  Request r = read(id, bg, bank, row, arrival);
  r.write = true;
  return r;
}

using Cmd =
    std::tuple<Command, std::uint64_t, std::uint32_t, std::uint32_t>;  // cmd, cycle, bg, bank

// A controller with its stats root, logging every command it issues.
struct Rig {
  explicit Rig(const ControllerParams& p = params(), const DramSpec& spec = distinct_spec())
      : root("chip"), ctl(spec, p, root, "hbm") {
    ctl.set_observer(
        [this](const IssuedCommand& c) { log.emplace_back(c.cmd, c.cycle, c.bank_group, c.bank); });
  }
  // Advances to `until` and returns the requests completed on the way.
  std::vector<Request> run(std::uint64_t until) {
    std::vector<Request> done;
    ctl.advance(until, done);
    return done;
  }
  // Cycles of the logged commands of kind `c`.
  std::vector<std::uint64_t> cycles(Command c) const {
    std::vector<std::uint64_t> v;
    for (const Cmd& x : log) {
      if (std::get<0>(x) == c) v.push_back(std::get<1>(x));
    }
    return v;
  }
  std::uint64_t counter(const std::string& name) const { return root.counter_value("hbm." + name); }

  stats::Group root;
  ChannelController ctl;
  std::vector<Cmd> log;
};

std::uint64_t done_of(const std::vector<Request>& v, std::uint64_t id) {
  for (const Request& r : v) {
    if (r.id == id) return r.done;
  }
  FAIL("request " << id << " did not complete");
  return 0;
}

}  // namespace

TEST_CASE("A read to a closed bank: ACT at arrival, RD tRCDRD later, data tCL + tBL after",
          "[hbm]") {
  Rig r;
  r.run(7);
  r.ctl.enqueue(read(1, 0, 0, 5, 7));
  REQUIRE(r.ctl.next_command_cycle() == 7u);  // ACT at arrival
  REQUIRE(r.run(8).empty());
  REQUIRE(r.ctl.next_command_cycle() == 22u);  // RD at 7 + tRCDRD 15
  REQUIRE(r.run(22).empty());                  // RD at 22 is not < 22
  const std::vector<Request> done = r.run(23);
  REQUIRE(done.size() == 1);
  // done = RD 22 + tCL 17 + tBL 2 = 41, although the controller is only at 23.
  REQUIRE(done[0].done == 41);
  REQUIRE(done[0].id == 1);
  REQUIRE(r.ctl.now() == 23);
  REQUIRE_FALSE(r.ctl.next_command_cycle().has_value());
  REQUIRE(r.log == std::vector<Cmd>{{Command::act, 7, 0, 0}, {Command::rd, 22, 0, 0}});
  REQUIRE(r.counter("row_misses") == 1);
  REQUIRE(r.counter("read_bytes") == 32);
}

TEST_CASE("A row hit after it needs only its RD", "[hbm]") {
  Rig r;
  r.ctl.enqueue(read(1, 0, 0, 5, 0));
  r.run(40);
  r.ctl.enqueue(read(2, 0, 0, 5, 40));
  const std::vector<Request> done = r.run(100);
  // First: ACT 0, RD 15, done 34. Second arrives at 40 to the open row: RD at 40 (tCCD_L from
  // 15 long passed), done 40 + 19 = 59.
  REQUIRE(r.cycles(Command::rd) == std::vector<std::uint64_t>{15, 40});
  REQUIRE(done_of(done, 2) == 59);
  REQUIRE(r.counter("row_hits") == 1);
  REQUIRE(r.counter("row_misses") == 1);
  REQUIRE(r.counter("act_commands") == 1);
}

TEST_CASE("Two hits to one bank queued together are tCCD_L apart", "[hbm]") {
  Rig r;
  r.ctl.enqueue(read(1, 0, 0, 5, 0));
  r.ctl.enqueue(read(2, 0, 0, 5, 0, 1));
  const std::vector<Request> done = r.run(100);
  // ACT 0; RD 15; the second RD in the same bank group waits tCCD_L: 22, done 41.
  REQUIRE(r.cycles(Command::rd) == std::vector<std::uint64_t>{15, 22});
  REQUIRE(done_of(done, 2) == 41);
  // The first request needed the ACT (miss); the second found the row open (hit).
  REQUIRE(r.counter("row_misses") == 1);
  REQUIRE(r.counter("row_hits") == 1);
}

TEST_CASE("FR-FCFS serves a younger row hit before an older conflict; FCFS does not", "[hbm]") {
  // Row 5 of bank (0, 0) is opened by request 1: ACT 0, RD 15. At 20 request 2 (row 9, a
  // conflict) arrives, then request 3 (row 5, a hit).
  auto scenario = [](SchedulerKind kind, Rig& r) {
    r.ctl.enqueue(read(1, 0, 0, 5, 0));
    r.run(20);
    r.ctl.enqueue(read(2, 0, 0, 9, 20));
    r.ctl.enqueue(read(3, 0, 0, 5, 20));
    return r.run(200);
  };
  SECTION("FR-FCFS") {
    ControllerParams p = params();
    p.scheduler = SchedulerKind::frfcfs;
    Rig r(p);
    const std::vector<Request> done = scenario(p.scheduler, r);
    // Request 3 hits: RD at 15 + tCCD_L 7 = 22, done 41. Request 2: PRE at max(tRAS 31,
    // 22 + tRTP 8 = 30) = 31; ACT at max(31 + tRP 13 = 44, 0 + tRC 47) = 47; RD at 47 + 15 =
    // 62, done 81.
    REQUIRE(r.log == std::vector<Cmd>{{Command::act, 0, 0, 0},
                                      {Command::rd, 15, 0, 0},
                                      {Command::rd, 22, 0, 0},
                                      {Command::pre, 31, 0, 0},
                                      {Command::act, 47, 0, 0},
                                      {Command::rd, 62, 0, 0}});
    REQUIRE(done_of(done, 3) == 41);
    REQUIRE(done_of(done, 2) == 81);
    REQUIRE(r.counter("row_hits") == 1);
    REQUIRE(r.counter("row_conflicts") == 1);
    REQUIRE(r.counter("row_misses") == 1);
  }
  SECTION("FCFS") {
    ControllerParams p = params();
    p.scheduler = SchedulerKind::fcfs;
    Rig r(p);
    const std::vector<Request> done = scenario(p.scheduler, r);
    // Request 2 first: PRE at max(31, 15 + 8 = 23) = 31, ACT 47, RD 62, done 81. Then
    // request 3 needs row 5 back: PRE at max(47 + tRAS 31 = 78, 62 + tRTP 8 = 70) = 78; ACT
    // at max(78 + 13 = 91, 47 + tRC 47 = 94) = 94; RD at 94 + 15 = 109, done 128.
    REQUIRE(r.log == std::vector<Cmd>{{Command::act, 0, 0, 0},
                                      {Command::rd, 15, 0, 0},
                                      {Command::pre, 31, 0, 0},
                                      {Command::act, 47, 0, 0},
                                      {Command::rd, 62, 0, 0},
                                      {Command::pre, 78, 0, 0},
                                      {Command::act, 94, 0, 0},
                                      {Command::rd, 109, 0, 0}});
    REQUIRE(done_of(done, 2) == 81);
    REQUIRE(done_of(done, 3) == 128);
    REQUIRE(r.counter("row_conflicts") == 2);
  }
}

TEST_CASE("Closed page precharges after the last queued hit", "[hbm]") {
  ControllerParams p = params();
  p.page_policy = PagePolicy::closed;
  Rig r(p);
  for (std::uint64_t i = 0; i < 3; ++i) r.ctl.enqueue(read(i, 0, 0, 5, 0, i));
  r.ctl.enqueue(read(9, 1, 0, 7, 0));
  r.run(300);
  // Bank (0, 0): ACT 0; RDs at 15, 22, 29 (tCCD_L); no PRE while a queued request hits row 5;
  // then PRE at max(tRAS 31, 29 + tRTP 8 = 37) = 37. Bank (1, 0): ACT at tRRD_S 4, RD at
  // max(4 + 15 = 19, tCCD_S after 15 = 18) = 19, PRE at max(4 + 31 = 35, 19 + 8 = 27) = 35.
  REQUIRE(r.log == std::vector<Cmd>{{Command::act, 0, 0, 0},
                                    {Command::act, 4, 1, 0},
                                    {Command::rd, 15, 0, 0},
                                    {Command::rd, 19, 1, 0},
                                    {Command::rd, 22, 0, 0},
                                    {Command::rd, 29, 0, 0},
                                    {Command::pre, 35, 1, 0},
                                    {Command::pre, 37, 0, 0}});
  // The next read to row 5 is a miss, not a hit: ACT at its arrival.
  r.ctl.enqueue(read(10, 0, 0, 5, 300));
  r.run(400);
  REQUIRE(r.cycles(Command::act).back() == 300);
  REQUIRE(r.counter("row_misses") == 3);
  REQUIRE(r.counter("row_hits") == 2);
}

TEST_CASE("Closed-page precharges in an idle period are caught up at their cycles", "[hbm]") {
  ControllerParams p = params();
  p.page_policy = PagePolicy::closed;
  Rig r(p);
  r.ctl.enqueue(read(1, 2, 1, 5, 0));
  r.run(16);
  // Nothing queued: no wake-up needed, although the PRE is still to come.
  REQUIRE_FALSE(r.ctl.next_command_cycle().has_value());
  r.run(1000);
  // PRE at max(tRAS 31, 15 + tRTP 8 = 23) = 31.
  REQUIRE(r.cycles(Command::pre) == std::vector<std::uint64_t>{31});
}

TEST_CASE("Writes wait below the high watermark and drain down to the low one", "[hbm]") {
  ControllerParams p = params();
  p.write_queue_depth = 4;  // high: ceil(0.75 * 4) = 3 writes, low: floor(0.25 * 4) = 1
  Rig r(p);
  r.ctl.enqueue(write(100, 1, 0, 1, 0));
  r.ctl.enqueue(write(101, 2, 0, 1, 0));
  for (std::uint64_t i = 0; i < 4; ++i) r.ctl.enqueue(read(i, 0, 0, 1, 0, i));
  REQUIRE_FALSE(r.ctl.draining_writes());  // 2 writes < 3
  r.run(20);
  // Reads: ACT (0, 0) at 0, RD at 15; the next RD would be at 22.
  r.ctl.enqueue(write(102, 3, 0, 1, 20));
  REQUIRE(r.ctl.draining_writes());  // 3 writes
  const std::vector<Request> done = r.run(200);
  // Drain from 20: ACTs oldest first, tRRD_S 4 apart: 20, 24, 28. WR 100 at 20 + tRCDWR 11 =
  // 31; WR 101 at max(24 + 11 = 35, 31 + tCCD_S 3 = 34) = 35, leaving 1 write = low: reads
  // again. RD after the WR at 35 in another bank group: 35 + tCWL 5 + tBL 2 + tWTR_S 9 = 51,
  // then tCCD_L apart: 58, 65. No read left: WR 102 at 65 + (tCL 17 + tBL 2 + tRTW 1 - tCWL
  // 5 = 15) = 80, done 80 + 5 + 2 = 87.
  REQUIRE(r.log == std::vector<Cmd>{{Command::act, 0, 0, 0},
                                    {Command::rd, 15, 0, 0},
                                    {Command::act, 20, 1, 0},
                                    {Command::act, 24, 2, 0},
                                    {Command::act, 28, 3, 0},
                                    {Command::wr, 31, 1, 0},
                                    {Command::wr, 35, 2, 0},
                                    {Command::rd, 51, 0, 0},
                                    {Command::rd, 58, 0, 0},
                                    {Command::rd, 65, 0, 0},
                                    {Command::wr, 80, 3, 0}});
  REQUIRE_FALSE(r.ctl.draining_writes());
  REQUIRE(done_of(done, 102) == 87);
  REQUIRE(done_of(done, 100) == 38);  // 31 + 5 + 2
  REQUIRE(r.counter("writes") == 3);
  REQUIRE(r.counter("written_bytes") == 96);
}

TEST_CASE("Drain mode is evaluated once per cycle, after that cycle's arrivals", "[hbm]") {
  // The drain of the previous test: WR 100 at 31, WR 101 at 35 leaves 1 write (= low). A write
  // arriving at 36 is counted before the mode is re-evaluated at 36: 2 writes > low, the drain
  // goes on. Arriving at 37 it is too late: at 36 the mode left, and 2 < high does not re-enter.
  ControllerParams p = params();
  p.write_queue_depth = 4;  // high 3, low 1
  Rig r(p);
  r.ctl.enqueue(write(100, 1, 0, 1, 0));
  r.ctl.enqueue(write(101, 2, 0, 1, 0));
  for (std::uint64_t i = 0; i < 3; ++i) r.ctl.enqueue(read(i, 0, 0, 1, 0, i));
  r.run(20);
  r.ctl.enqueue(write(102, 3, 0, 1, 20));
  const std::vector<Cmd> common{{Command::act, 0, 0, 0},  {Command::rd, 15, 0, 0},
                                {Command::act, 20, 1, 0}, {Command::act, 24, 2, 0},
                                {Command::act, 28, 3, 0}, {Command::wr, 31, 1, 0},
                                {Command::wr, 35, 2, 0}};
  SECTION("arrival at 36") {
    r.run(36);
    r.ctl.enqueue(write(103, 3, 1, 1, 36));
    REQUIRE(r.ctl.draining_writes());
    r.run(200);
    // Still draining at 36: ACT (3, 1) at 36 (tRRD_L after 28: 34; tFAW: 0 + 23); WR 102 at
    // 28 + tRCDWR 11 = 39, leaving 1 write: reads from 40. RD after the WR at 39 (bank group
    // 3): 39 + 5 + 2 + tWTR_S 9 = 55, then 62; WR 103 at 62 + 15 = 77.
    std::vector<Cmd> expected = common;
    expected.insert(expected.end(), {{Command::act, 36, 3, 1},
                                     {Command::wr, 39, 3, 0},
                                     {Command::rd, 55, 0, 0},
                                     {Command::rd, 62, 0, 0},
                                     {Command::wr, 77, 3, 1}});
    REQUIRE(r.log == expected);
  }
  SECTION("arrival at 37") {
    r.run(37);
    r.ctl.enqueue(write(103, 3, 1, 1, 37));
    REQUIRE_FALSE(r.ctl.draining_writes());
    r.run(200);
    // Reads from 36: RD at 35 + 16 = 51, 58. Then the writes: ACT (3, 1) at 59 (command bus
    // after 58); WR 102 (row open since 28) at 58 + 15 = 73; WR 103 at max(59 + 11 = 70,
    // 73 + tCCD_L 7 = 80) = 80.
    std::vector<Cmd> expected = common;
    expected.insert(expected.end(), {{Command::rd, 51, 0, 0},
                                     {Command::rd, 58, 0, 0},
                                     {Command::act, 59, 3, 1},
                                     {Command::wr, 73, 3, 0},
                                     {Command::wr, 80, 3, 1}});
    REQUIRE(r.log == expected);
  }
}

TEST_CASE("Writes are served whenever no read is pending", "[hbm]") {
  Rig r;
  r.ctl.enqueue(write(1, 0, 0, 3, 0));
  r.run(100);
  // One write, far below the high watermark (24 of 32), but no reads: ACT 0, WR at tRCDWR 11.
  REQUIRE(r.log == std::vector<Cmd>{{Command::act, 0, 0, 0}, {Command::wr, 11, 0, 0}});
}

TEST_CASE("A refresh in an idle gap delays the next request by tRFC", "[hbm]") {
  // tREFI 1000: REFab due at 1000. Request 1: ACT 0, RD 15, row 5 of bank (0, 0) stays open.
  // At 1000 the refresh closes it (PRE at 1000, tRAS long passed) and REFab issues at 1000 +
  // tRP 13 = 1013; the bank is busy until 1013 + tRFC 101 = 1114. Request 2 (row 5 again) is
  // then a miss: ACT 1114, RD 1129, done 1148 -- whenever it arrived in [1000, 1114]: arriving
  // exactly at the due cycle, or lazily after a refresh nobody woke the controller for.
  const std::vector<Cmd> expected{{Command::act, 0, 0, 0},    {Command::rd, 15, 0, 0},
                                  {Command::pre, 1000, 0, 0}, {Command::refab, 1013, 0, 0},
                                  {Command::act, 1114, 0, 0}, {Command::rd, 1129, 0, 0}};
  for (const std::uint64_t arrival : {1000u, 1050u, 1114u}) {
    INFO("second request arrives at " << arrival);
    Rig r(params(RefreshMode::all_bank));
    r.ctl.enqueue(read(1, 0, 0, 5, 0));
    r.run(16);
    // Nothing queued, so the controller needs no wake-up for the refresh: it is caught up when
    // the next request arrives.
    REQUIRE_FALSE(r.ctl.next_command_cycle().has_value());
    r.ctl.enqueue(read(2, 0, 0, 5, arrival));
    const std::vector<Request> done = r.run(1200);
    REQUIRE(r.log == expected);
    REQUIRE(done_of(done, 2) == 1148);
    REQUIRE(r.counter("row_misses") == 2);
  }
}

TEST_CASE("A request just before the refresh is due is still a hit", "[hbm]") {
  Rig r(params(RefreshMode::all_bank));
  r.ctl.enqueue(read(1, 0, 0, 5, 0));
  r.run(999);
  r.ctl.enqueue(read(2, 0, 0, 5, 999));
  r.run(1200);
  // RD at 999; the refresh, due at 1000, then closes the bank: PRE at max(1000, 999 + tRTP 8
  // = 1007) = 1007; REFab at 1007 + tRP 13 = 1020.
  REQUIRE(r.log == std::vector<Cmd>{{Command::act, 0, 0, 0},
                                    {Command::rd, 15, 0, 0},
                                    {Command::rd, 999, 0, 0},
                                    {Command::pre, 1007, 0, 0},
                                    {Command::refab, 1020, 0, 0}});
}

TEST_CASE("A due refresh stops new ACTs and waits for open banks to close", "[hbm]") {
  Rig r(params(RefreshMode::all_bank));
  r.run(990);
  r.ctl.enqueue(read(1, 0, 0, 5, 990));
  r.ctl.enqueue(read(2, 1, 0, 5, 990));
  r.run(1300);
  // ACT (0, 0) 990, ACT (1, 0) 994 (tRRD_S). At 1000 the refresh is due: no RD any more; PRE
  // (0, 0) at 990 + tRAS 31 = 1021, PRE (1, 0) at 994 + 31 = 1025; REFab at max(1025 + tRP 13
  // = 1038, 994 + tRC 47 = 1041) = 1041; then ACTs at 1041 + tRFC 101 = 1142 and 1146
  // (tRRD_S), RDs at 1157 and 1161.
  REQUIRE(r.log == std::vector<Cmd>{{Command::act, 990, 0, 0},
                                    {Command::act, 994, 1, 0},
                                    {Command::pre, 1021, 0, 0},
                                    {Command::pre, 1025, 1, 0},
                                    {Command::refab, 1041, 0, 0},
                                    {Command::act, 1142, 0, 0},
                                    {Command::act, 1146, 1, 0},
                                    {Command::rd, 1157, 0, 0},
                                    {Command::rd, 1161, 1, 0}});
}

TEST_CASE("An idle controller refreshes at every k * tREFI", "[hbm]") {
  Rig r(params(RefreshMode::all_bank));
  r.run(4500);
  REQUIRE(r.cycles(Command::refab) == std::vector<std::uint64_t>{1000, 2000, 3000, 4000});
  REQUIRE(r.counter("refab_commands") == 4);
}

TEST_CASE("Per-bank refresh: one bank every tREFI / banks, round robin", "[hbm]") {
  Rig r(params(RefreshMode::per_bank));
  r.run(1002);
  // tREFI 1000 over 8 banks: the k-th REFpb is due at floor(k * 1000 / 8) = 125 k, to bank
  // index k - 1 (bank group (k - 1) / 2, bank (k - 1) % 2).
  std::vector<Cmd> expected;
  for (std::uint32_t k = 1; k <= 8; ++k) {
    expected.emplace_back(Command::refpb, 125 * k, (k - 1) / 2, (k - 1) % 2);
  }
  REQUIRE(r.log == expected);
  REQUIRE(r.counter("refpb_commands") == 8);
}

TEST_CASE("Per-bank refresh due times do not accumulate rounding", "[hbm]") {
  DramSpec s = distinct_spec();
  s.timing.tREFI = 1001;  // 125.125 per bank
  Rig r(params(RefreshMode::per_bank), s);
  r.run(1002);
  // floor(k * 1001 / 8) for k = 1..8.
  REQUIRE(r.cycles(Command::refpb) ==
          std::vector<std::uint64_t>{125, 250, 375, 500, 625, 750, 875, 1001});
}

TEST_CASE("Per-bank refresh blocks only its bank", "[hbm]") {
  Rig r(params(RefreshMode::per_bank));
  r.run(125);
  r.ctl.enqueue(read(1, 0, 0, 5, 125));  // the bank being refreshed at 125
  r.ctl.enqueue(read(2, 1, 0, 5, 125));  // another bank
  const std::vector<Request> done = r.run(300);
  // REFpb bank (0, 0) at 125 (due, and first in priority). Bank (1, 0): ACT after tRREFD 10 =
  // 135, RD 150. Bank (0, 0): ACT after tRFCpb 53 = 178, RD 193.
  // The next REFpb, to bank (0, 1), is due at 250 and issues then.
  REQUIRE(r.log == std::vector<Cmd>{{Command::refpb, 125, 0, 0},
                                    {Command::act, 135, 1, 0},
                                    {Command::rd, 150, 1, 0},
                                    {Command::act, 178, 0, 0},
                                    {Command::rd, 193, 0, 0},
                                    {Command::refpb, 250, 0, 1}});
  REQUIRE(done_of(done, 1) == 212);
  REQUIRE(done_of(done, 2) == 169);
}

TEST_CASE("Sequential reads over four bank groups issue one RD per tCCD_S", "[hbm]") {
  // 32 reads to row 0 of bank 0 of each bank group in turn (request i: bank group i % 4,
  // column i / 4), all queued at 0. ACTs at 0, 4, 8, 12 (tRRD_S; four fit in tFAW). RDs: the
  // first at 15 (tRCDRD); bank group 1 at 4 + 15 = 19; from then the column bus is the limit:
  // consecutive RDs to different bank groups are tCCD_S = 3 apart, and each bank group is
  // revisited only every 4 x 3 = 12 >= tCCD_L = 7 cycles, so 19, 22, ..., 19 + 30 x 3 = 109
  // (the oldest ready hit first: 15 R0, 19 R1, 22 R4, 25 R2, 28 R3, 31 R5, ...). The last
  // data beat leaves at 109 + tCL 17 + tBL 2 = 128. Steady state: one 32-byte burst per
  // tCCD_S = 3 cycles (the bus is busy tBL = 2 of every 3).
  Rig r;
  for (std::uint32_t i = 0; i < 32; ++i) r.ctl.enqueue(read(i, i % 4, 0, 0, 0, i / 4));
  const std::vector<Request> done = r.run(1000);
  std::vector<std::uint64_t> expected{15};
  for (std::uint64_t k = 0; k <= 30; ++k) expected.push_back(19 + 3 * k);
  REQUIRE(r.cycles(Command::act) == std::vector<std::uint64_t>{0, 4, 8, 12});
  REQUIRE(r.cycles(Command::rd) == expected);
  REQUIRE(done.size() == 32);
  REQUIRE(done_of(done, 4) == 22 + 19);
  REQUIRE(done_of(done, 31) == 128);
  REQUIRE(r.counter("row_hits") == 28);
  REQUIRE(r.counter("row_misses") == 4);
}

TEST_CASE("Sequential reads within one bank group issue one RD per tCCD_L", "[hbm]") {
  // 16 reads alternating between the two banks of bank group 0: ACTs at 0 and 6 (tRRD_L);
  // RDs at 15, then every tCCD_L = 7: 15 + 7 k up to 15 + 105 = 120.
  Rig r;
  for (std::uint32_t i = 0; i < 16; ++i) r.ctl.enqueue(read(i, 0, i % 2, 0, 0, i / 2));
  r.run(1000);
  std::vector<std::uint64_t> expected;
  for (std::uint64_t k = 0; k < 16; ++k) expected.push_back(15 + 7 * k);
  REQUIRE(r.cycles(Command::act) == std::vector<std::uint64_t>{0, 6});
  REQUIRE(r.cycles(Command::rd) == expected);
}

}  // namespace llmsim::hbm
