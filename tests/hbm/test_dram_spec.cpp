// DRAM device descriptions (arch/hbm/dram_spec.h): the HBM2/HBM2E/HBM3 presets pass their own
// validation and have the published per-stack bandwidths; "memory.device" is read as a preset
// name, a refined preset or a custom device, is recorded in full in the resolved config, and
// every inconsistent device is a ConfigError naming the key, the bound and the value.
#include "arch/hbm/dram_spec.h"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "sim/core/config.h"
#include "sim/core/error.h"

namespace llmsim::hbm {
namespace {

using Catch::Matchers::Contains;
using Catch::Matchers::Message;
using Catch::Matchers::StartsWith;
using config::Json;
using config::Reader;

// A "memory" object, its resolved output and a Reader over both; the reader keeps pointers to
// the other two members, so they are declared first and the struct stays put.
struct Memory {
  explicit Memory(const Json& node_) : node(node_), reader(node, "memory", resolved) {}
  Memory(const Memory&) = delete;
  Memory& operator=(const Memory&) = delete;

  DramSpec parse() {
    DramSpec s = parse_device(reader);
    reader.finish();
    return s;
  }

  Json node;
  Json resolved;
  Reader reader;
};

DramSpec parse(const std::string& text) {
  return Memory(Json::parse(text)).parse();
}

// Every number of a spec, in declaration order, so two specs compare in one REQUIRE.
std::vector<double> numbers(const DramSpec& s) {
  const Organization& o = s.org;
  const Timing& t = s.timing;
  const Energy& e = s.energy;
  return {double(o.stacks),
          double(o.channels_per_stack),
          double(o.pseudo_channels),
          double(o.bank_groups),
          double(o.banks_per_group),
          double(o.rows),
          double(o.columns),
          double(o.bus_width_bits),
          double(o.burst_length),
          double(o.data_rate),
          t.clock_mhz,
          double(t.tBL),
          double(t.tRCDRD),
          double(t.tRCDWR),
          double(t.tRP),
          double(t.tRAS),
          double(t.tRC),
          double(t.tCL),
          double(t.tCWL),
          double(t.tCCD_S),
          double(t.tCCD_L),
          double(t.tRRD_S),
          double(t.tRRD_L),
          double(t.tFAW),
          double(t.tWR),
          double(t.tWTR_S),
          double(t.tWTR_L),
          double(t.tRTP),
          double(t.tRTW),
          double(t.tRFC),
          double(t.tRFCpb),
          double(t.tRREFD),
          double(t.tREFI),
          e.act_pre_pj,
          e.read_pj_per_bit,
          e.write_pj_per_bit,
          e.refresh_pj,
          e.background_mw};
}

const std::vector<std::string> kTimingKeys = {
    "tBL",    "tRCDRD", "tRCDWR", "tRP",    "tRAS",   "tRC",  "tCL",    "tCWL",
    "tCCD_S", "tCCD_L", "tRRD_S", "tRRD_L", "tFAW",   "tWR",  "tWTR_S", "tWTR_L",
    "tRTP",   "tRTW",   "tRFC",   "tRFCpb", "tRREFD", "tREFI"};

// The HBM2 preset as an object with one timing refined, for the error cases.
std::string hbm2_with(const std::string& timing_ck) {
  return R"({"device": {"preset": "HBM2", "timing_ck": )" + timing_ck + "}}";
}

}  // namespace

TEST_CASE("Every preset passes validation and reads back from its resolved config", "[hbm][spec]") {
  REQUIRE(preset_names() == std::vector<std::string>{"HBM2", "HBM2E", "HBM3"});
  for (const std::string& name : preset_names()) {
    INFO(name);
    Memory m(Json{{"device", name}});
    const DramSpec s = m.parse();
    REQUIRE(s.name == name);
    REQUIRE(s.source == preset(name).source);
    REQUIRE_FALSE(s.source.empty());
    REQUIRE(numbers(s) == numbers(preset(name)));

    // The resolved "device" is a complete custom device: without "preset" it parses to the
    // same numbers (so config.json reproduces the run), and as written it is a no-op refinement.
    Json device = m.resolved.at("device");
    REQUIRE(device.at("preset") == name);
    Memory again(Json{{"device", device}});
    REQUIRE(numbers(again.parse()) == numbers(s));
    REQUIRE(again.resolved == m.resolved);
    device.erase("preset");
    const DramSpec custom = Memory(Json{{"device", device}}).parse();
    REQUIRE(custom.name == "custom");
    REQUIRE(numbers(custom) == numbers(s));
  }
  REQUIRE_THROWS_AS(preset("HBM4"), InternalError);
}

TEST_CASE("Peak bandwidth, burst, page and capacity of one stack", "[hbm][spec]") {
  // HBM2: 8 channels x 128 bits = 16 pseudo channels x 64 bits; 2 beats per 1 GHz tCK
  // (2.0 Gb/s/pin): 8 ch x 128 bit x 2 Gb/s / 8 = 16 x 8 B x 2 x 1e9 = 256 GB/s.
  const DramSpec hbm2 = preset("HBM2");
  REQUIRE(hbm2.org.interfaces() == 16);
  REQUIRE(hbm2.org.banks() == 16);
  REQUIRE(hbm2.peak_bytes_per_second() == 256e9);
  REQUIRE(hbm2.org.burst_bytes() == 32);  // 64 bit x BL4 / 8
  REQUIRE(hbm2.org.row_bytes() == 1024);  // 32 columns x 32 B
  // 16 pseudo channels x 16 banks x 16384 rows x 1 KB = 4 GiB (4H of 8 Gb dies).
  REQUIRE(hbm2.org.capacity_bytes() == 4ull << 30);

  // HBM2E: the same interface at 1.6 GHz (3.2 Gb/s/pin): 16 x 8 B x 2 x 1.6e9 = 409.6 GB/s.
  const DramSpec hbm2e = preset("HBM2E");
  REQUIRE(hbm2e.peak_bytes_per_second() == 409.6e9);
  REQUIRE(hbm2e.org.burst_bytes() == 32);
  REQUIRE(hbm2e.org.capacity_bytes() == 16ull << 30);  // 16 x 16 x 65536 x 1 KB

  // HBM3: 16 channels x 2 pseudo channels x 32 bits, 4 beats per 1.6 GHz tCK (6.4 Gb/s/pin):
  // 32 x 4 B x 4 x 1.6e9 = 1024 bit x 6.4 Gb/s / 8 = 819.2 GB/s.
  const DramSpec hbm3 = preset("HBM3");
  REQUIRE(hbm3.org.interfaces() == 32);
  REQUIRE(hbm3.peak_bytes_per_second() == 819.2e9);
  REQUIRE(hbm3.org.burst_bytes() == 32);  // 32 bit x BL8 / 8
  REQUIRE(hbm3.timing.tBL == 2);          // BL8 / 4 beats per tCK
  REQUIRE(hbm3.org.row_bytes() == 1024);
  REQUIRE(hbm3.org.capacity_bytes() == 16ull << 30);  // 32 x 16 x 32768 x 1 KB

  // Two stacks double the bandwidth and the capacity.
  const DramSpec two = parse(R"({"device": {"preset": "HBM2", "organization": {"stacks": 2}}})");
  REQUIRE(two.peak_bytes_per_second() == 512e9);
  REQUIRE(two.org.capacity_bytes() == 8ull << 30);
}

TEST_CASE("Presets carry realistic refresh", "[hbm][spec]") {
  // HBM2 at 1 ns: REFab every 3.9 us blocks 260 ns (8 Gb dies); per-bank refresh exists.
  const Timing t2 = preset("HBM2").timing;
  REQUIRE(t2.tREFI == 3900);
  REQUIRE(t2.tRFC == 260);
  REQUIRE(t2.tRFCpb > 0);
  // HBM2E and HBM3 at 0.625 ns: 3.9 us = 6240 tCK; tRFC 450 ns = 720 and 350 ns = 560 tCK.
  REQUIRE(preset("HBM2E").timing.tREFI == 6240);
  REQUIRE(preset("HBM2E").timing.tRFC == 720);
  REQUIRE(preset("HBM3").timing.tREFI == 6240);
  REQUIRE(preset("HBM3").timing.tRFC == 560);
  REQUIRE(preset("HBM3").timing.tRFCpb == 320);
}

TEST_CASE("A refined preset changes only the refined value", "[hbm][spec]") {
  Memory m(Json::parse(hbm2_with(R"({"tRCDRD": 15})")));
  const DramSpec s = m.parse();
  REQUIRE(s.timing.tRCDRD == 15);
  REQUIRE(s.name == "HBM2");
  REQUIRE_THAT(s.source, Contains("Refined in the config: timing_ck.tRCDRD = 15."));

  DramSpec expected = preset("HBM2");
  expected.timing.tRCDRD = 15;
  REQUIRE(numbers(s) == numbers(expected));

  // The resolved config differs from the plain preset's in that one value.
  Memory plain(Json::parse(R"({"device": "HBM2"})"));
  plain.parse();
  Json want = plain.resolved;
  want["device"]["timing_ck"]["tRCDRD"] = 15;
  REQUIRE(m.resolved == want);
}

TEST_CASE("The resolved config records the whole device", "[hbm][spec]") {
  Memory m(Json::parse(R"({"device": "HBM3"})"));
  const DramSpec s = m.parse();
  const Json& device = m.resolved.at("device");
  REQUIRE(device.at("preset") == "HBM3");
  REQUIRE(device.at("clock_mhz") == 1600);
  const Json& timing = device.at("timing_ck");
  REQUIRE(timing.size() == kTimingKeys.size());
  for (const auto& key : kTimingKeys) {
    INFO(key);
    REQUIRE(timing.contains(key));
  }
  REQUIRE(timing.at("tRC") == s.timing.tRC);
  REQUIRE(timing.at("tREFI") == 6240);
  REQUIRE(device.at("organization").size() == 10);
  REQUIRE(device.at("organization").at("bus_width_bits") == 32);
  REQUIRE(device.at("energy_pj").size() == 5);
  REQUIRE(device.at("energy_pj").at("read_pj_per_bit") == s.energy.read_pj_per_bit);
}

TEST_CASE("A custom device needs every key but the derived and optional ones", "[hbm][spec]") {
  // The HBM2 preset written out by hand, leaving out tBL (derived: 4 / 2) and tRTW, tRFCpb,
  // tRREFD (0 = absent feature).
  Memory full(Json::parse(R"({"device": "HBM2"})"));
  full.parse();
  Json device = full.resolved.at("device");
  device.erase("preset");
  for (const char* key : {"tBL", "tRTW", "tRFCpb", "tRREFD"}) device["timing_ck"].erase(key);
  const DramSpec s = Memory(Json{{"device", device}}).parse();
  REQUIRE(s.name == "custom");
  REQUIRE(s.timing.tBL == 2);
  REQUIRE(s.timing.tRTW == 0);
  REQUIRE(s.timing.tRFCpb == 0);
  REQUIRE(s.timing.tRREFD == 0);

  Json missing = device;
  missing["timing_ck"].erase("tFAW");
  // (The reader's near-miss hint may point at a neighbouring key; the message starts the same.)
  REQUIRE_THROWS_WITH(Memory(Json{{"device", missing}}).parse(),
                      StartsWith("memory.device.timing_ck.tFAW: is required (a positive integer)"));
  REQUIRE_THROWS_MATCHES(
      parse(R"({"device": {"clock_mhz": 1000}})"), ConfigError,
      Message("memory.device.organization.stacks: is required (a positive integer)"));
}

TEST_CASE("Device errors name the key, the bound and the value", "[hbm][spec]") {
  SECTION("an unknown preset lists the presets") {
    REQUIRE_THROWS_MATCHES(
        parse(R"({"device": "HBM4"})"), ConfigError,
        Message("memory.device: must be one of HBM2, HBM2E, HBM3, got \"HBM4\""));
    REQUIRE_THROWS_MATCHES(
        parse(R"({"device": {"preset": "hbm2"}})"), ConfigError,
        Message("memory.device.preset: must be one of HBM2, HBM2E, HBM3, got \"hbm2\""));
    REQUIRE_THROWS_MATCHES(parse(R"({"device": 2})"), ConfigError,
                           Message("memory.device: must be one of HBM2, HBM2E, HBM3, got 2"));
    REQUIRE_THROWS_MATCHES(parse("{}"), ConfigError,
                           Message("memory.device: is required (one of HBM2, HBM2E, HBM3)"));
  }
  SECTION("tRC below tRAS + tRP") {
    REQUIRE_THROWS_MATCHES(
        parse(hbm2_with(R"({"tRC": 47})")), ConfigError,
        Message("memory.device.timing_ck.tRC: must be >= tRAS + tRP = 34 + 14 = 48 (ACT to "
                "ACT of one bank spans its open and precharge times), got 47"));
    REQUIRE(parse(hbm2_with(R"({"tRC": 48})")).timing.tRC == 48);  // the bound itself is fine
  }
  SECTION("unknown keys, at every level") {
    REQUIRE_THROWS_WITH(parse(hbm2_with(R"({"tRCDR": 15})")),
                        StartsWith("memory.device.timing_ck.tRCDR: unknown key (did "
                                   "you mean \"tRCDRD\"?); allowed here: tBL, "));
    REQUIRE_THROWS_WITH(
        parse(R"({"device": {"preset": "HBM2", "timing_ns": {}}})"),
        StartsWith("memory.device.timing_ns: unknown key (did you mean \"timing_ck\"?)"));
    REQUIRE_THROWS_WITH(parse(R"({"device": {"preset": "HBM2", "energy_pj": {"act_pj": 1}}})"),
                        StartsWith("memory.device.energy_pj.act_pj: unknown key"));
  }
  SECTION("other timing constraints") {
    const std::pair<const char*, const char*> cases[] = {
        {R"({"tBL": 4})",
         "memory.device.timing_ck.tBL: must equal burst_length / data_rate = 4 / 2 = 2 (data "
         "bus cycles of one burst), got 4"},
        {R"({"tRAS": 13})",
         "memory.device.timing_ck.tRAS: must be >= tRCDRD = 14 (a row is read before it may "
         "close), got 13"},
        {R"({"tCCD_S": 1})",
         "memory.device.timing_ck.tCCD_S: must be >= tBL = 2 (bursts may not overlap on the "
         "data bus), got 1"},
        {R"({"tCCD_L": 1})",
         "memory.device.timing_ck.tCCD_L: must be >= tCCD_S = 2 (the same bank group is never "
         "faster than another one), got 1"},
        {R"({"tRRD_L": 3})",
         "memory.device.timing_ck.tRRD_L: must be >= tRRD_S = 4 (the same bank group is never "
         "faster than another one), got 3"},
        {R"({"tWTR_L": 5})",
         "memory.device.timing_ck.tWTR_L: must be >= tWTR_S = 6 (the same bank group is never "
         "faster than another one), got 5"},
        {R"({"tFAW": 3})",
         "memory.device.timing_ck.tFAW: must be >= tRRD_S = 4 (the four-activate window holds "
         "at least two ACTs), got 3"},
        {R"({"tREFI": 260})",
         "memory.device.timing_ck.tREFI: must be > tRFC = 260 (refresh would occupy the whole "
         "interval), got 260"},
        {R"({"tRFCpb": 260})",
         "memory.device.timing_ck.tRFCpb: must be < tRFC = 260 (one bank refreshes faster than "
         "all), or 0 for no per-bank refresh, got 260"},
        {R"({"tRC": -1})", "memory.device.timing_ck.tRC: must be a positive integer, got -1"},
        // Timing constraints are at most config::kMaxLatencyCycles = 2^20.
        {R"({"tRTW": 4294967296})",
         "memory.device.timing_ck.tRTW: must be in [0, 1048576], got 4294967296"},
        {R"({"tRC": 1048577})",
         "memory.device.timing_ck.tRC: must be in [1, 1048576], got 1048577"},
    };
    for (const auto& [timing, message] : cases) {
      INFO(timing);
      REQUIRE_THROWS_MATCHES(parse(hbm2_with(timing)), ConfigError, Message(message));
    }
  }
  SECTION("organisation constraints") {
    const std::pair<const char*, const char*> cases[] = {
        {R"({"rows": 12000})",
         "memory.device.organization.rows: must be a power of two, got 12000"},
        {R"({"bank_groups": 3})",
         "memory.device.organization.bank_groups: must be a power of two, got 3"},
        {R"({"bus_width_bits": 4})",
         "memory.device.organization.bus_width_bits: must be at least 8 (a burst moves whole "
         "bytes), got 4"},
        {R"({"burst_length": 1})",
         "memory.device.organization.burst_length: must be a multiple of data_rate = 2 (a "
         "burst fills whole tCK), got 1"},
        {R"({"stacks": 0})",
         "memory.device.organization.stacks: must be a positive integer, got 0"},
        {R"({"stacks": 1000000})",
         "memory.device.organization.stacks: must be in [1, 64], got 1000000"},
    };
    for (const auto& [org, message] : cases) {
      INFO(org);
      REQUIRE_THROWS_MATCHES(
          parse(std::string(R"({"device": {"preset": "HBM2", "organization": )") + org + "}}"),
          ConfigError, Message(message));
    }
    // Each field within its bound, the capacity past 2^62: 64 x 256 x 2 x 4 x 4 x 2^24 rows x
    // 2^16 columns x 8 B x BL4 = 2^64 bytes.
    REQUIRE_THROWS_WITH(parse(R"({"device": {"preset": "HBM2", "organization": {"rows": 16777216,
                 "columns": 65536, "stacks": 64, "channels_per_stack": 256}}})"),
                        StartsWith("memory.device.organization.rows: the organization is "
                                   "too large"));
    // A refined burst length moves the derived tBL with it: BL8 at DDR is 4 tCK, so tCCD_S
    // (2) now fails against it rather than tBL against the preset's 2.
    REQUIRE_THROWS_WITH(
        parse(R"({"device": {"preset": "HBM2", "organization": {"burst_length": 8}}})"),
        StartsWith("memory.device.timing_ck.tCCD_S: must be >= tBL = 4"));
  }
  SECTION("clock and energy values") {
    REQUIRE_THROWS_MATCHES(parse(R"({"device": {"preset": "HBM2", "clock_mhz": 0}})"), ConfigError,
                           Message("memory.device.clock_mhz: must be a positive number, got 0"));
    REQUIRE_THROWS_MATCHES(
        parse(R"({"device": {"preset": "HBM2", "energy_pj": {"refresh_pj": -1}}})"), ConfigError,
        Message("memory.device.energy_pj.refresh_pj: must be a non-negative number, got -1"));
  }
}

TEST_CASE("Reader shorthand support: is_string, is_object, child_from", "[hbm][spec][config]") {
  const Json node = Json::parse(R"({"a": "x", "b": {"k": 1}, "c": 3})");
  Json resolved;
  Reader r(node, "top", resolved);
  REQUIRE(r.is_string("a"));
  REQUIRE_FALSE(r.is_object("a"));
  REQUIRE(r.is_object("b"));
  REQUIRE_FALSE(r.is_string("b"));
  REQUIRE_FALSE(r.is_string("c"));
  REQUIRE_FALSE(r.is_object("c"));
  REQUIRE_FALSE(r.is_string("absent"));
  REQUIRE_FALSE(r.is_object("absent"));
  // Asking does not consume: "a" is still unknown to finish().
  REQUIRE_THROWS_WITH(r.finish(), StartsWith("top.a: unknown key"));

  // child_from reads the stand-in object, under the key's path, and its values replace the
  // shorthand in the resolved config.
  REQUIRE(r.string("a") == "x");
  const Json expanded = {{"name", "x"}};
  Reader sub = r.child_from("a", expanded);
  REQUIRE(sub.path() == "top.a");
  REQUIRE(sub.string("name") == "x");
  REQUIRE(sub.count("size", 4) == 4);
  REQUIRE_NOTHROW(sub.finish());
  REQUIRE(r.child("b").count("k") == 1);
  REQUIRE(r.count("c") == 3);
  REQUIRE_NOTHROW(r.finish());
  REQUIRE(resolved == Json::parse(R"({"a": {"name": "x", "size": 4}, "b": {"k": 1}, "c": 3})"));
}

}  // namespace llmsim::hbm
