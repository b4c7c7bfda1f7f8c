// Address mapping (arch/hbm/address_mapping.h): mixed-radix decomposition, field order, the
// interface hash, errors.
#include "arch/hbm/address_mapping.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "sim/core/error.h"

namespace llmsim::hbm {
namespace {

// 2 channels x 2 pseudo channels, 2 bank groups x 2 banks, 8 rows, 4 columns of 32 B bursts.
Organization small_org() {
  Organization o;
  o.stacks = 1;
  o.channels_per_stack = 2;
  o.pseudo_channels = 2;
  o.bank_groups = 2;
  o.banks_per_group = 2;
  o.rows = 8;
  o.columns = 4;
  o.bus_width_bits = 64;
  o.burst_length = 4;  // 32 B bursts
  return o;
}

// The datacenter preset's HBM2E: 3 stacks x 8 channels x 2 pseudo channels = 48 interfaces of
// 4 bank groups x 4 banks, 16384 rows of 32 columns of 32 B bursts.
Organization datacenter_org() {
  Organization o;
  o.stacks = 3;
  o.channels_per_stack = 8;
  o.pseudo_channels = 2;
  o.bank_groups = 4;
  o.banks_per_group = 4;
  o.rows = 16384;
  o.columns = 32;
  o.bus_width_bits = 64;
  o.burst_length = 4;
  return o;
}

}  // namespace

TEST_CASE("address mapping: default order puts consecutive bursts on consecutive channels",
          "[hbm][mapping]") {
  const AddressMapping m("ro_ba_bg_co_pc_ch", small_org(), "memory.address_mapping");
  CHECK(m.burst_bytes() == 32);
  // Burst index b = addr / 32; ch = b % 2, pc = (b / 2) % 2, co = (b / 4) % 4,
  // bg = (b / 16) % 2, ba = (b / 32) % 2, ro = b / 64.
  const DecodedAddress a0 = m.decode(0), a1 = m.decode(32), a2 = m.decode(64);
  CHECK(a0.interface == 0);
  CHECK(a1.interface == 2);            // channel 1, pseudo channel 0: interface 1 * 2 + 0
  CHECK(a2.interface == 1);            // channel 0, pseudo channel 1
  CHECK(m.decode(31).interface == 0);  // same burst
  const DecodedAddress b = m.decode(32 * (3 + 4 * 2 + 16 * 1 + 32 * 1 + 64 * 5));
  // b = 3 + 8 + 16 + 32 + 320: ch 1, pc 1, co 2, bg 1, ba 1, ro 5.
  CHECK(b.interface == 3);
  CHECK(b.column == 2);
  CHECK(b.bank_group == 1);
  CHECK(b.bank == 1);
  CHECK(b.row == 5);
}

TEST_CASE("address mapping: column-lowest order keeps a stream in one row", "[hbm][mapping]") {
  const AddressMapping m("ro_ba_bg_pc_ch_co", small_org(), "memory.address_mapping");
  for (std::uint64_t col = 0; col < 4; ++col) {
    const DecodedAddress d = m.decode(col * 32);
    CHECK(d.interface == 0);
    CHECK(d.row == 0);
    CHECK(d.column == col);
  }
  CHECK(m.decode(4 * 32).interface == 2);  // after the row's 4 columns: next channel
}

TEST_CASE("address mapping: non-power-of-two channel counts decompose exactly", "[hbm][mapping]") {
  Organization o = small_org();
  o.stacks = 3;  // 6 channels
  const AddressMapping m("ro_ba_bg_co_pc_ch", o, "memory.address_mapping");
  CHECK(m.decode(5 * 32).interface == 10);  // channel 5, pseudo channel 0
  CHECK(m.decode(6 * 32).interface == 1);   // wraps to channel 0, pseudo channel 1
}

TEST_CASE("address mapping: a burst cursor decodes as decode() does", "[hbm][mapping]") {
  Organization three_stacks = small_org();
  three_stacks.stacks = 3;  // 6 channels: mixed radix
  for (const Organization& o : {small_org(), three_stacks}) {
    for (const std::string& name : AddressMapping::presets()) {
     for (const InterfaceHash hash : {InterfaceHash::none, InterfaceHash::rotate}) {
      INFO(name << ", " << o.stacks << " stack(s), hash " << int(hash));
      const AddressMapping m(name, o, "memory.address_mapping", hash);
      // From an address inside a burst, through every later burst of the memory.
      BurstCursor c(m, 3 * 32 + 5);
      for (std::uint64_t a = 3 * 32; a < o.capacity_bytes(); a += 32) {
        const DecodedAddress want = m.decode(a);
        REQUIRE(c->interface == want.interface);
        REQUIRE(c->bank_group == want.bank_group);
        REQUIRE(c->bank == want.bank);
        REQUIRE(c->row == want.row);
        REQUIRE(c->column == want.column);
        if (a + 32 < o.capacity_bytes()) c.next();
      }
      CHECK_THROWS_AS(c.next(), WorkloadError);  // past the last burst
     }
    }
  }
}

TEST_CASE("address mapping: a burst cursor steps a fixed pitch as decode() does",
          "[hbm][mapping]") {
  Organization three_stacks = small_org();
  three_stacks.stacks = 3;  // 6 channels: mixed radix
  for (const Organization& o : {small_org(), three_stacks}) {
    const std::uint64_t bursts = o.capacity_bytes() / 32;
    for (const std::string& name : AddressMapping::presets()) {
      for (const InterfaceHash hash : {InterfaceHash::none, InterfaceHash::rotate}) {
        const AddressMapping m(name, o, "memory.address_mapping", hash);
        // Pitches below, at and above one field's wrap, up to the whole memory.
        for (const std::uint64_t pitch : {1ull, 3ull, 5ull, 24ull, 64ull, 97ull, 200ull}) {
          INFO(name << ", " << o.stacks << " stack(s), hash " << int(hash) << ", pitch " << pitch);
          const BurstCursor::Step step = BurstCursor::step(m, pitch);
          BurstCursor c(m, 2 * 32);
          std::uint64_t b = 2;
          for (; b + pitch < bursts; b += pitch) {
            c.advance(step);
            const DecodedAddress want = m.decode((b + pitch) * 32);
            REQUIRE(c->interface == want.interface);
            REQUIRE(c->bank_group == want.bank_group);
            REQUIRE(c->bank == want.bank);
            REQUIRE(c->row == want.row);
            REQUIRE(c->column == want.column);
          }
          CHECK_THROWS_AS(c.advance(step), WorkloadError);  // past the last burst
        }
        BurstCursor c(m, 0);
        CHECK_THROWS_AS(c.advance(BurstCursor::step(m, bursts)), WorkloadError);
      }
    }
  }
}

TEST_CASE("address mapping: the rotate hash moves interfaces by the higher fields, one to one",
          "[hbm][mapping]") {
  Organization three_stacks = small_org();
  three_stacks.stacks = 3;  // 12 interfaces: mixed radix
  for (const Organization& o : {small_org(), three_stacks}) {
    for (const std::string& name : AddressMapping::presets()) {
      INFO(name << ", " << o.stacks << " stack(s)");
      const AddressMapping plain(name, o, "memory.address_mapping");
      const AddressMapping hashed(name, o, "memory.address_mapping", InterfaceHash::rotate);
      const std::uint64_t n = o.interfaces(), bursts = o.capacity_bytes() / 32;
      std::vector<bool> seen(bursts, false);
      for (std::uint64_t b = 0; b < bursts; ++b) {
        const DecodedAddress p = plain.decode(b * 32), h = hashed.decode(b * 32);
        // Only the interface moves: by the number formed by bg, ba, ro, co, mod interfaces.
        REQUIRE(h.bank_group == p.bank_group);
        REQUIRE(h.bank == p.bank);
        REQUIRE(h.row == p.row);
        REQUIRE(h.column == p.column);
        // One to one: (interface, bg, ba, ro, co) names each burst once.
        const std::uint64_t key =
            (((std::uint64_t{h.interface} * o.bank_groups + h.bank_group) * o.banks_per_group +
              h.bank) * o.rows + h.row) * o.columns + h.column;
        REQUIRE(key < bursts);
        REQUIRE_FALSE(seen[key]);
        seen[key] = true;
        if (name == "ro_ba_bg_co_pc_ch") {
          // ch and pc least significant: r = burst index / interfaces.
          REQUIRE(h.interface == (p.interface + b / n) % n);
        }
      }
    }
  }
}

TEST_CASE("address mapping: the rotate hash spreads a tile's rows over every interface",
          "[hbm][mapping]") {
  // The datacenter preset's HBM2E: 3 stacks x 8 channels x 2 pseudo channels = 48 interfaces,
  // 32 B bursts. A 128 x 128 int8 tile of a 2048-wide matrix: 128 rows of 128 B (4 bursts) at
  // a pitch of 64 bursts. Without the hash burst b goes to channel b mod 24, pseudo channel
  // (b / 24) mod 2: row i = 3k + t (t = 0, 1, 2) starts at channel 0, 16 or 8 on pseudo channel
  // 0, 0 or 1 whatever k, so the tile only ever uses 3 x 4 = 12 of the 48 interfaces. Rotated by
  // b / 48, its rows cover all 48.
  const Organization o = datacenter_org();
  for (const InterfaceHash hash : {InterfaceHash::none, InterfaceHash::rotate}) {
    const AddressMapping m("ro_ba_bg_co_pc_ch", o, "memory.address_mapping", hash);
    std::set<std::uint32_t> used;
    for (std::uint64_t row = 0; row < 128; ++row) {
      for (std::uint64_t j = 0; j < 4; ++j) used.insert(m.decode((row * 64 + j) * 32).interface);
    }
    CHECK(used.size() == (hash == InterfaceHash::none ? 12u : 48u));
  }
}

TEST_CASE("address mapping: a shift by the period moves every burst's row and nothing else",
          "[hbm][mapping]") {
  // The datacenter preset's HBM2E: 48 interfaces x 32 columns x 16 banks x 32 B = 768 KiB below
  // the row field. A row step adds 4 x 4 x 32 = 512 to the rotate hash's number, 32 mod 48, so
  // the rotation comes round after 48 / gcd(48, 32) = 3 rows: 2.25 MiB.
  const Organization dc = datacenter_org();
  CHECK(AddressMapping("ro_ba_bg_co_pc_ch", dc, "m").period_bytes() == 786432);
  CHECK(AddressMapping("ro_ba_bg_co_pc_ch", dc, "m", InterfaceHash::rotate).period_bytes() ==
        2359296);
  // Rows below the column: the period is the span of the fields below the row alone.
  CHECK(AddressMapping("ba_bg_pc_ch_ro_co", dc, "m").period_bytes() == 32 * 32);
  // The property, on random addresses of several mappings (mixed radix among them): decode(a)
  // and decode(a + k x period) agree but for the row, which moves by the same amount for every a;
  // half a period breaks it.
  Organization three = small_org();
  three.stacks = 3;  // 6 channels: mixed radix
  std::uint64_t state = 12345;
  const auto next = [&state] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return state >> 11;
  };
  for (const Organization& o : {small_org(), three, dc}) {
    for (const char* order : {"ro_ba_bg_co_pc_ch", "ro_co_ba_bg_pc_ch", "ro_ch_pc_ba_bg_co"}) {
      for (const InterfaceHash hash : {InterfaceHash::none, InterfaceHash::rotate}) {
        const AddressMapping m(order, o, "m", hash);
        const std::uint64_t p = m.period_bytes();
        INFO(order << " hash " << int(hash) << " period " << p);
        REQUIRE(p > 0);
        REQUIRE(p % m.burst_bytes() == 0);
        REQUIRE(p < o.capacity_bytes());
        const std::uint64_t fits = o.capacity_bytes() / p - (o.capacity_bytes() % p ? 0 : 1);
        const std::uint64_t k = 1 + next() % std::min<std::uint64_t>(3, fits);
        std::int64_t row_shift = 0;
        bool half_differs = false;
        for (int i = 0; i < 200; ++i) {
          const std::uint64_t a = next() % (o.capacity_bytes() - k * p);
          const DecodedAddress x = m.decode(a), y = m.decode(a + k * p);
          CHECK(y.interface == x.interface);
          CHECK(y.bank_group == x.bank_group);
          CHECK(y.bank == x.bank);
          CHECK(y.column == x.column);
          const std::int64_t d = std::int64_t(y.row) - std::int64_t(x.row);
          if (i == 0) row_shift = d;
          CHECK(d == row_shift);
          if (a + p / 2 < o.capacity_bytes()) {
            const DecodedAddress h = m.decode(a + p / 2);
            half_differs = half_differs || h.interface != x.interface ||
                           h.bank_group != x.bank_group || h.bank != x.bank ||
                           h.column != x.column;
          }
        }
        CHECK(half_differs);
      }
    }
  }
}

TEST_CASE("address mapping: errors name the key", "[hbm][mapping]") {
  const Organization o = small_org();
  CHECK_THROWS_WITH(AddressMapping("ro_ba_bg_co_pc", o, "memory.address_mapping"),
                    "memory.address_mapping: \"ro_ba_bg_co_pc\" must name each of ch, pc, bg, "
                    "ba, ro, co exactly once");
  CHECK_THROWS_WITH(AddressMapping("ro_ba_bg_co_pc_pc", o, "memory.address_mapping"),
                    "memory.address_mapping: \"ro_ba_bg_co_pc_pc\" names \"pc\" twice");
  CHECK_THROWS_AS(AddressMapping("ro_ba_xx_co_pc_ch", o, "memory.address_mapping"), ConfigError);
  const AddressMapping m("ro_ba_bg_co_pc_ch", o, "memory.address_mapping");
  CHECK_THROWS_AS(m.decode(o.capacity_bytes()), WorkloadError);
}

}  // namespace llmsim::hbm
