// The pseudo-channel controller as a whole (arch/hbm/channel_controller.h): lazy catch-up gives
// the command schedule of a controller asked every cycle, under every policy; its stats and
// energy; and the parsing of memory.controller.
#include <algorithm>
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

namespace llmsim::hbm {
namespace {

using Catch::Matchers::Contains;

// 4 bank groups x 2 banks, HBM2-like timing with tREFI short enough to refresh often.
DramSpec small_spec() {
  DramSpec s;
  s.name = "small";
  s.org.bank_groups = 4;
  s.org.banks_per_group = 2;
  s.org.rows = 64;
  s.org.columns = 32;
  s.timing.tRFCpb = 53;
  s.timing.tRREFD = 6;
  s.timing.tREFI = 1200;
  s.timing.tRTW = 1;
  return s;
}

using Logged = std::tuple<Command, std::uint64_t, std::uint32_t, std::uint32_t, std::uint32_t>;
using Done = std::pair<std::uint64_t, std::uint64_t>;  // id, done

struct Trace {
  std::vector<Request> requests;  // arrival = earliest cycle it is offered
};

// A deterministic pseudo-random sequence (Knuth's MMIX LCG): next(mod) is in [0, mod).
struct Lcg {
  std::uint64_t x;
  std::uint64_t operator()(std::uint64_t mod) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return (x >> 33) % mod;
  }
};

// A deterministic mix: bursts of close arrivals with a few long idle gaps (several tREFI), one
// in `write_one_in` a write, rows from a small set so that hits, misses and conflicts occur.
Trace make_trace(std::uint32_t n, std::uint64_t seed, std::uint64_t write_one_in) {
  Trace t;
  Lcg next{seed};
  std::uint64_t arrival = 0;
  for (std::uint32_t i = 0; i < n; ++i) {
    arrival += next(50) == 0 ? 2500 + next(3000) : next(4) == 0 ? next(40) : 0;
    Request r;
    r.id = i;
    r.write = next(write_one_in) == 0;
    r.addr = BankAddress{static_cast<std::uint32_t>(next(4)), static_cast<std::uint32_t>(next(2)),
                         static_cast<std::uint32_t>(next(3)), static_cast<std::uint32_t>(next(32))};
    r.arrival = arrival;
    t.requests.push_back(r);
  }
  return t;
}

// Streams: runs of consecutive columns of one row (as a sequential reader produces), each run
// to a bank chosen at random, now and then a run of writes or a run to another row of a bank
// that is still open (a conflict). Requests arrive in quick succession, so queues stay full
// and most requests are added to a scheduler that has already decided.
Trace make_stream_trace(std::uint32_t n, std::uint64_t seed) {
  Trace t;
  Lcg next{seed};
  std::uint64_t arrival = 0;
  while (t.requests.size() < n) {
    const auto bg = static_cast<std::uint32_t>(next(4)), bank = static_cast<std::uint32_t>(next(2));
    const auto row = static_cast<std::uint32_t>(next(4));
    const bool write = next(5) == 0;
    const std::uint32_t run = 1 + static_cast<std::uint32_t>(next(16));
    for (std::uint32_t c = 0; c < run && t.requests.size() < n; ++c) {
      arrival += next(8) == 0 ? next(12) : 0;
      if (next(200) == 0) arrival += 2000;  // an idle gap with a refresh in it
      Request r;
      r.id = t.requests.size();
      r.write = write;
      r.addr = BankAddress{bg, bank, row, c % 32};
      r.arrival = arrival;
      t.requests.push_back(r);
    }
  }
  return t;
}

struct Result {
  std::vector<Logged> commands;
  std::vector<Done> done;
};

ControllerParams small_queues(SchedulerKind s, PagePolicy p, RefreshMode m) {
  ControllerParams c;
  c.read_queue_depth = 8;
  c.write_queue_depth = 8;
  c.scheduler = s;
  c.page_policy = p;
  c.refresh = m;
  return c;
}

// Requests are offered in trace order; a request that finds its queue full waits (and so do
// the ones behind it) and enters at the first cycle with room. Every driver runs to `horizon`.

Result observe(ChannelController& ctl) {
  Result res;
  ctl.set_observer([&res](const IssuedCommand& c) {
    res.commands.emplace_back(c.cmd, c.cycle, c.bank_group, c.bank, c.row);
  });
  return res;
}

// A per-cycle reference of the scheduling policy (command_scheduler.h), written independently
// of it: at every cycle it walks the priority list and issues the first legal command. A
// ChannelController serves only as the device (can_issue / issue), so this checks the
// scheduler's jumps from decision to decision, its refresh handling and its bookkeeping.
class ReferenceController {
 public:
  ReferenceController(const DramSpec& spec, const ControllerParams& p)
      : m_spec(spec),
        m_p(p),
        m_root("ref"),
        m_dev(spec, device_params(), m_root, "device"),
        m_open(spec.org.banks(), kClosed) {
    m_dev.set_observer([this](const IssuedCommand& c) {
      m_res.commands.emplace_back(c.cmd, c.cycle, c.bank_group, c.bank, c.row);
    });
  }

  Result run(const Trace& trace, std::uint64_t horizon) {
    std::size_t i = 0;
    for (std::uint64_t t = 0; t < horizon; ++t) {
      while (i < trace.requests.size() && trace.requests[i].arrival <= t &&
             queue(trace.requests[i].write).size() <
                 (trace.requests[i].write ? m_p.write_queue_depth : m_p.read_queue_depth)) {
        Request r = trace.requests[i++];
        r.arrival = t;
        queue(r.write).push_back(r);
      }
      const std::size_t writes = m_writes.size();
      if (!m_drain && writes >= m_p.write_drain_high_count()) m_drain = true;
      if (m_drain && writes <= m_p.write_drain_low_count()) m_drain = false;
      step(t);
    }
    return m_res;
  }

 private:
  static constexpr std::uint32_t kClosed = 0xffffffffu;
  static constexpr std::uint32_t kNone = 0xffffffffu;

  static ControllerParams device_params() {
    ControllerParams p;
    p.refresh = RefreshMode::off;
    return p;
  }
  std::vector<Request>& queue(bool write) { return write ? m_writes : m_reads; }
  std::uint32_t bank(const Request& r) const {
    return r.addr.bank_group * m_spec.org.banks_per_group + r.addr.bank;
  }
  BankAddress addr(std::uint32_t b, std::uint32_t row) const {
    return BankAddress{b / m_spec.org.banks_per_group, b % m_spec.org.banks_per_group, row, 0};
  }
  bool hit(const Request& r) const { return m_open[bank(r)] == r.addr.row; }
  bool any_hit(const std::vector<Request>& q, std::uint32_t b) const {
    for (const Request& r : q) {
      if (bank(r) == b && hit(r)) return true;
    }
    return false;
  }
  bool try_issue(Command c, std::uint32_t b, std::uint32_t row, std::uint64_t t) {
    const BankAddress a = addr(b, row);
    if (!m_dev.can_issue(c, a, t)) return false;
    m_dev.issue(c, a, t);
    if (c == Command::act) m_open[b] = row;
    if (c == Command::pre) m_open[b] = kClosed;
    return true;
  }
  void complete(std::vector<Request>& q, std::size_t k, std::uint64_t t) {
    Request r = q[k];
    r.done = t + (r.write ? m_spec.timing.tCWL : m_spec.timing.tCL) + m_spec.timing.tBL;
    m_res.done.emplace_back(r.id, r.done);
    q.erase(q.begin() + static_cast<std::ptrdiff_t>(k));
  }
  std::uint64_t due() const {
    const std::uint64_t k = m_refreshes + 1;
    return m_p.refresh == RefreshMode::all_bank ? k * m_spec.timing.tREFI
                                                : k * m_spec.timing.tREFI / m_spec.org.banks();
  }

  void step(std::uint64_t t) {
    const std::uint32_t banks = m_spec.org.banks();
    std::uint32_t skip = kNone;
    if (m_p.refresh != RefreshMode::off && due() <= t) {
      if (m_p.refresh == RefreshMode::all_bank) {
        for (std::uint32_t b = 0; b < banks; ++b) {
          if (m_open[b] != kClosed) {
            if (try_issue(Command::pre, b, m_open[b], t)) return;
          }
        }
        bool all_closed = true;
        for (std::uint32_t b = 0; b < banks; ++b) all_closed = all_closed && m_open[b] == kClosed;
        if (all_closed && try_issue(Command::refab, 0, 0, t)) ++m_refreshes;
        return;  // requests wait
      }
      const std::uint32_t b = m_refresh_bank;
      if (m_open[b] != kClosed) {
        if (try_issue(Command::pre, b, m_open[b], t)) return;
      } else if (try_issue(Command::refpb, b, 0, t)) {
        ++m_refreshes;
        m_refresh_bank = (b + 1) % banks;
        return;
      }
      skip = b;
    }
    const bool writes = m_drain || m_reads.empty();
    std::vector<Request>& q = queue(writes);
    const Command column = writes ? Command::wr : Command::rd;
    const bool closed_page = m_p.page_policy == PagePolicy::closed;
    // Closed-page precharge of an open bank nobody hits.
    auto close_pages = [&](std::uint32_t also_skip) {
      if (!closed_page) return false;
      for (std::uint32_t b = 0; b < banks; ++b) {
        if (b == skip || b == also_skip || m_open[b] == kClosed) continue;
        if (any_hit(m_reads, b) || any_hit(m_writes, b)) continue;
        if (try_issue(Command::pre, b, m_open[b], t)) return true;
      }
      return false;
    };
    if (m_p.scheduler == SchedulerKind::fcfs) {
      if (q.empty() || bank(q.front()) == skip) {
        close_pages(kNone);
        return;
      }
      const Request& o = q.front();
      const std::uint32_t b = bank(o);
      if (hit(o)) {
        if (try_issue(column, b, o.addr.row, t)) {
          complete(q, 0, t);
        } else {
          close_pages(b);
        }
        return;
      }
      if (close_pages(b)) return;
      try_issue(m_open[b] == kClosed ? Command::act : Command::pre, b,
                m_open[b] == kClosed ? o.addr.row : m_open[b], t);
      return;
    }
    for (std::size_t k = 0; k < q.size(); ++k) {  // oldest row hit
      const std::uint32_t b = bank(q[k]);
      if (b != skip && hit(q[k]) && try_issue(column, b, q[k].addr.row, t)) {
        complete(q, k, t);
        return;
      }
    }
    if (close_pages(kNone)) return;
    for (const Request& r : q) {  // oldest ACT, or PRE of a row nobody in q hits
      const std::uint32_t b = bank(r);
      if (b == skip) continue;
      if (m_open[b] == kClosed) {
        if (try_issue(Command::act, b, r.addr.row, t)) return;
      } else if (!any_hit(q, b)) {
        if (try_issue(Command::pre, b, m_open[b], t)) return;
      }
    }
  }

  DramSpec m_spec;
  ControllerParams m_p;
  stats::Group m_root;
  ChannelController m_dev;
  std::vector<std::uint32_t> m_open;
  std::vector<Request> m_reads, m_writes;  // in arrival order
  bool m_drain = false;
  std::uint64_t m_refreshes = 0;
  std::uint32_t m_refresh_bank = 0;
  Result m_res;
};

// Per-cycle driver of the real controller: advance(t) and offer at every cycle t.
Result run_ticking(const ControllerParams& p, const Trace& trace, std::uint64_t horizon) {
  stats::Group root("chip");
  ChannelController ctl(small_spec(), p, root, "hbm");
  Result res = observe(ctl);
  std::vector<Request> done;
  std::size_t i = 0;
  for (std::uint64_t t = 0; t < horizon; ++t) {
    ctl.advance(t, done);
    while (i < trace.requests.size() && trace.requests[i].arrival <= t &&
           ctl.can_accept(trace.requests[i].write)) {
      Request r = trace.requests[i++];
      r.arrival = t;
      ctl.enqueue(r);
    }
  }
  ctl.advance(horizon, done);
  for (const Request& r : done) res.done.emplace_back(r.id, r.done);
  return res;
}

// Lazy driver: enqueue at arrival without advancing first (the controller catches up), and
// when a queue is full sleep until the next command.
Result run_lazy(const ControllerParams& p, const Trace& trace, std::uint64_t horizon) {
  stats::Group root("chip");
  ChannelController ctl(small_spec(), p, root, "hbm");
  Result res = observe(ctl);
  std::vector<Request> done;
  for (std::size_t i = 0; i < trace.requests.size();) {
    Request r = trace.requests[i];
    if (ctl.can_accept(r.write)) {
      r.arrival = std::max(r.arrival, ctl.now());
      ctl.enqueue(r);
      ++i;
    } else {
      ctl.advance(*ctl.next_command_cycle() + 1, done);
    }
  }
  ctl.advance(horizon, done);
  for (const Request& r : done) res.done.emplace_back(r.id, r.done);
  return res;
}

// Offering driver, as HbmMemory drives a controller: every request is offered at its arrival
// (a full queue holds it, and the ones behind it, in the FIFO in front), and the controller is
// asked for completions only now and then -- at the cycle before the earliest `done` it
// announced, or later still. Checks that earliest_done() is a true lower bound: a request
// completes no earlier than the bound the controller announced last before its RD/WR issued.
Result run_offering(const ControllerParams& p, const Trace& trace, std::uint64_t horizon) {
  const DramSpec spec = small_spec();
  stats::Group root("chip");
  ChannelController ctl(spec, p, root, "hbm");
  Result res = observe(ctl);
  constexpr std::uint64_t kNone = ~std::uint64_t{0};
  // (now(), earliest_done()) after every change from outside, in order of now().
  std::vector<std::pair<std::uint64_t, std::uint64_t>> announced;
  auto announce = [&] { announced.emplace_back(ctl.now(), ctl.earliest_done().value_or(kNone)); };
  std::vector<Request> done;
  auto collect = [&](std::uint64_t until) {
    const std::size_t before = done.size();
    ctl.advance(until, done);
    for (std::size_t k = before; k < done.size(); ++k) {
      const Request& r = done[k];
      const std::uint64_t issued =
          r.done - (r.write ? spec.timing.tCWL : spec.timing.tCL) - spec.timing.tBL;
      const auto last = std::upper_bound(announced.begin(), announced.end(),
                                         std::make_pair(issued, kNone));
      REQUIRE(last != announced.begin());
      INFO("request " << r.id << " issued at " << issued);
      REQUIRE(r.done >= std::prev(last)->second);
    }
    announce();
  };
  Lcg next{trace.requests.size()};
  for (const Request& r : trace.requests) {
    // Now and then ask for the completions at the cycle before the announced bound.
    const std::uint64_t bound = announced.empty() ? kNone : announced.back().second;
    if (next(3) == 0 && bound != kNone && bound - 1 < r.arrival && bound - 1 >= ctl.now()) {
      collect(bound - 1);
    }
    const std::size_t before = done.size();
    ctl.offer(r);  // catches up to r.arrival first; its completions come with the next advance
    REQUIRE(done.size() == before);
    announce();
  }
  collect(horizon);
  REQUIRE(ctl.waiting() == 0);
  for (const Request& r : done) res.done.emplace_back(r.id, r.done);
  return res;
}

// "" if the logs are equal, else the first difference, readable.
std::string first_difference(const std::vector<Logged>& got, const std::vector<Logged>& want) {
  auto show = [](const std::vector<Logged>& v, std::size_t i) {
    if (i >= v.size()) return std::string("(end)");
    const auto& [cmd, cycle, bg, bank, row] = v[i];
    return std::string(to_string(cmd)) + " at " + std::to_string(cycle) + " to bank group " +
           std::to_string(bg) + " bank " + std::to_string(bank) + " row " + std::to_string(row);
  };
  for (std::size_t i = 0; i < std::max(got.size(), want.size()); ++i) {
    if (i >= got.size() || i >= want.size() || got[i] != want[i]) {
      return "command " + std::to_string(i) + ": got " + show(got, i) + ", want " + show(want, i) +
             (i > 0 ? " (after " + show(want, i - 1) + ")" : "");
    }
  }
  return "";
}

std::vector<Done> sorted(std::vector<Done> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// The reference, the per-cycle driver, the lazy driver and the offering driver give the same
// commands and completions for `trace` under every policy.
void require_equivalent(const Trace& trace) {
  for (const SchedulerKind s : {SchedulerKind::frfcfs, SchedulerKind::fcfs}) {
    for (const PagePolicy p : {PagePolicy::open, PagePolicy::closed}) {
      for (const RefreshMode m : {RefreshMode::all_bank, RefreshMode::per_bank, RefreshMode::off}) {
        INFO(to_string(s) << " " << to_string(p) << " " << to_string(m) << " "
                          << trace.requests.size() << " requests");
        const std::uint64_t horizon = trace.requests.back().arrival + 20000;
        const ControllerParams params = small_queues(s, p, m);
        const Result reference = ReferenceController(small_spec(), params).run(trace, horizon);
        const Result ticking = run_ticking(params, trace, horizon);
        const Result lazy = run_lazy(params, trace, horizon);
        const Result offering = run_offering(params, trace, horizon);
        REQUIRE(reference.done.size() == trace.requests.size());
        REQUIRE(first_difference(offering.commands, reference.commands) == "");
        REQUIRE(sorted(offering.done) == sorted(reference.done));
        REQUIRE(first_difference(ticking.commands, reference.commands) == "");
        REQUIRE(first_difference(lazy.commands, reference.commands) == "");
        // Requests completed during an enqueue catch-up are handed out by the next advance():
        // compare as sets.
        REQUIRE(sorted(ticking.done) == sorted(reference.done));
        REQUIRE(sorted(lazy.done) == sorted(reference.done));
      }
    }
  }
}

}  // namespace

TEST_CASE("Event-driven, lazy and per-cycle controllers issue the same commands", "[hbm]") {
  // Read-heavy (a third writes) and write-heavy (half), each through every policy.
  require_equivalent(make_trace(400, 12345, 3));
  require_equivalent(make_trace(1000, 99, 2));
}

TEST_CASE("Event-driven and per-cycle controllers agree on more seeds and on streams", "[hbm]") {
  // The scheduler memoises per bank and folds new requests into its last decision: more
  // random mixes, and column streams that keep queues full (most new requests join a bank
  // whose candidate they leave unchanged).
  for (const std::uint64_t seed : {1u, 7u, 2024u, 31337u}) {
    INFO("seed " << seed);
    require_equivalent(make_trace(600, seed, 2 + seed % 4));
    require_equivalent(make_stream_trace(800, seed));
  }
}

TEST_CASE("Stats: requests, bytes, row outcomes, commands, latency and energy", "[hbm]") {
  DramSpec s = small_spec();  // tRCDRD 14, tCL 14, tBL 2; 32-byte bursts
  s.energy.act_pre_pj = 100;
  s.energy.read_pj_per_bit = 2;
  s.energy.write_pj_per_bit = 3;
  s.energy.refresh_pj = 1000;
  s.energy.background_mw = 10;
  ControllerParams p;
  p.refresh = RefreshMode::off;
  stats::Group root("chip");
  ChannelController ctl(s, p, root, "hbm");
  std::vector<Request> done;
  Request r;
  r.addr = BankAddress{1, 1, 3, 0};
  ctl.enqueue(r);  // read: ACT 0, RD 14, done 14 + 14 + 2 = 30: latency 30
  r.id = 1;
  r.write = true;
  ctl.enqueue(r);  // write, a row hit once the read is out of the way
  ctl.advance(1000, done);
  REQUIRE(done.size() == 2);
  REQUIRE(root.counter_value("hbm.reads") == 1);
  REQUIRE(root.counter_value("hbm.writes") == 1);
  REQUIRE(root.counter_value("hbm.read_bytes") == 32);
  REQUIRE(root.counter_value("hbm.written_bytes") == 32);
  REQUIRE(root.counter_value("hbm.row_misses") == 1);
  REQUIRE(root.counter_value("hbm.row_hits") == 1);
  REQUIRE(root.counter_value("hbm.row_conflicts") == 0);
  REQUIRE(root.counter_value("hbm.act_commands") == 1);
  REQUIRE(root.counter_value("hbm.rd_commands") == 1);
  REQUIRE(root.counter_value("hbm.wr_commands") == 1);
  REQUIRE(root.counter_value("hbm.pre_commands") == 0);

  const nlohmann::json v = root.values_json()["hbm"];
  REQUIRE(v["read_latency_cycles"]["count"] == 1);
  REQUIRE(v["read_latency_cycles"]["sum"] == 30);
  REQUIRE(v["row_hit_rate"].get<double>() == Approx(0.5));
  REQUIRE(v["read_queue_occupancy"]["max"] == 1);
  REQUIRE(v["elapsed_cycles"].get<double>() == 1000);
  // 1 ACT x 100 + 256 bits x 2 + 256 bits x 3 + 10 mW x 1000 ns (= 10,000 pJ) = 11,380 pJ.
  REQUIRE(v["energy_pj"].get<double>() == Approx(11380));
}

TEST_CASE("Refresh energy counts a REFpb as one bank's share of a REFab", "[hbm]") {
  DramSpec s = small_spec();  // 8 banks, tREFI 1200: REFpb every 150 cycles
  s.energy.refresh_pj = 800;
  ControllerParams p;
  p.refresh = RefreshMode::per_bank;
  stats::Group root("chip");
  ChannelController ctl(s, p, root, "hbm");
  std::vector<Request> done;
  ctl.advance(1201, done);  // 8 REFpb: 8 x 800 / 8 = 800 pJ
  REQUIRE(root.counter_value("hbm.refpb_commands") == 8);
  REQUIRE(root.values_json()["hbm"]["energy_pj"].get<double>() == Approx(800));
}

TEST_CASE("memory.controller parses with defaults and validates", "[hbm]") {
  auto parse = [](const nlohmann::json& node) {
    nlohmann::json resolved;
    config::Reader r(node, "memory.controller", resolved);
    ControllerParams p = ControllerParams::parse(r);
    r.finish();
    return p;
  };
  SECTION("defaults") {
    const ControllerParams p = parse(nlohmann::json::object());
    REQUIRE(p.read_queue_depth == 32);
    REQUIRE(p.write_queue_depth == 32);
    REQUIRE(p.scheduler == SchedulerKind::frfcfs);
    REQUIRE(p.page_policy == PagePolicy::open);
    REQUIRE(p.refresh == RefreshMode::all_bank);
    REQUIRE(p.write_drain_high_count() == 24);
    REQUIRE(p.write_drain_low_count() == 8);
  }
  SECTION("values") {
    const ControllerParams p = parse({{"read_queue_depth", 16u},
                                      {"write_queue_depth", 10u},
                                      {"scheduler", "fcfs"},
                                      {"page_policy", "closed"},
                                      {"write_drain_high", 0.5},
                                      {"write_drain_low", 0.1},
                                      {"refresh", "per_bank"}});
    REQUIRE(p.read_queue_depth == 16);
    REQUIRE(p.scheduler == SchedulerKind::fcfs);
    REQUIRE(p.page_policy == PagePolicy::closed);
    REQUIRE(p.refresh == RefreshMode::per_bank);
    REQUIRE(p.write_drain_high_count() == 5);  // ceil(0.5 x 10)
    REQUIRE(p.write_drain_low_count() == 1);   // floor(0.1 x 10)
  }
  SECTION("errors name the key") {
    REQUIRE_THROWS_WITH(parse({{"scheduler", "lru"}}), Contains("memory.controller.scheduler"));
    REQUIRE_THROWS_WITH(parse({{"write_drain_high", 1.5}}),
                        Contains("memory.controller.write_drain_high") && Contains("(0, 1]"));
    REQUIRE_THROWS_WITH(parse({{"write_drain_high", 0.3}, {"write_drain_low", 0.3}}),
                        Contains("memory.controller.write_drain_low"));
    REQUIRE_THROWS_WITH(parse({{"read_queue_depth", 0u}}),
                        Contains("memory.controller.read_queue_depth"));
    REQUIRE_THROWS_WITH(parse({{"refresh", "sometimes"}}), Contains("memory.controller.refresh"));
    REQUIRE_THROWS_WITH(parse({{"page_polcy", "open"}}), Contains("page_polcy"));
  }
}

TEST_CASE("Per-bank refresh needs a device with tRFCpb", "[hbm]") {
  DramSpec s = small_spec();
  s.timing.tRFCpb = 0;
  ControllerParams p;
  p.refresh = RefreshMode::per_bank;
  stats::Group root("chip");
  REQUIRE_THROWS_AS(ChannelController(s, p, root, "hbm"), ConfigError);
  REQUIRE_THROWS_WITH(ChannelController(s, p, root, "hbm"),
                      Contains("memory.controller.refresh") && Contains("tRFCpb"));
  p.refresh = RefreshMode::all_bank;
  s.timing.tREFI = s.timing.tRFC;  // would refresh all the time
  REQUIRE_THROWS_AS(ChannelController(s, p, root, "hbm2"), ConfigError);
}

TEST_CASE("Enqueue checks its contract", "[hbm]") {
  ControllerParams p;
  p.read_queue_depth = 1;
  p.refresh = RefreshMode::off;
  stats::Group root("chip");
  ChannelController ctl(small_spec(), p, root, "hbm");
  Request r;
  ctl.enqueue(r);
  REQUIRE_FALSE(ctl.can_accept(false));
  REQUIRE(ctl.can_accept(true));
  REQUIRE_THROWS_AS(ctl.enqueue(r), InternalError);  // full
  std::vector<Request> done;
  ctl.advance(100, done);
  r.arrival = 50;  // before now()
  REQUIRE_THROWS_AS(ctl.enqueue(r), InternalError);
  r.arrival = 100;
  r.addr.row = 64;  // rows = 64
  REQUIRE_THROWS_AS(ctl.enqueue(r), InternalError);
}

}  // namespace llmsim::hbm
