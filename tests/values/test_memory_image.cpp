// DramImage (sparse, paged) and SramImage (dense, bounds-checked).
#include <cstdint>
#include <numeric>
#include <vector>

#include <catch2/catch.hpp>

#include "arch/values/memory_image.h"
#include "sim/core/error.h"

namespace llmsim::values {
namespace {

std::vector<std::uint8_t> iota_bytes(std::size_t n, std::uint8_t first) {
  std::vector<std::uint8_t> v(n);
  std::iota(v.begin(), v.end(), first);
  return v;
}

TEST_CASE("DramImage allocates a page on first write and reads unwritten bytes as zero",
          "[values]") {
  DramImage dram;
  std::vector<std::uint8_t> out(16, 0xaa);
  dram.read(123456789, out.data(), out.size());
  CHECK(out == std::vector<std::uint8_t>(16, 0));
  CHECK(dram.bytes_allocated() == 0);  // reading allocates nothing

  // 10 bytes at 4090 cross from page 0 (4090..4095) into page 1 (4096..4099): two pages.
  const auto in = iota_bytes(10, 1);
  dram.write(4090, in.data(), in.size());
  CHECK(dram.bytes_allocated() == 2 * 4096);
  std::vector<std::uint8_t> back(10);
  dram.read(4090, back.data(), back.size());
  CHECK(back == in);

  // A read over written and unwritten pages: 4 zeros, the 10 bytes, then a never-written page.
  std::vector<std::uint8_t> wide(4 + 10 + 4096);
  dram.read(4086, wide.data(), wide.size());
  std::vector<std::uint8_t> want(wide.size(), 0);
  std::copy(in.begin(), in.end(), want.begin() + 4);
  CHECK(wide == want);

  // Rewriting within allocated pages allocates nothing more; a page far away adds one.
  dram.write(0, in.data(), in.size());
  CHECK(dram.bytes_allocated() == 2 * 4096);
  dram.write(std::uint64_t(1) << 40, in.data(), 1);
  CHECK(dram.bytes_allocated() == 3 * 4096);
}

TEST_CASE("DramImage: a write spanning many pages, and the top of the address space", "[values]") {
  DramImage dram;
  const auto in = iota_bytes(3 * 4096 + 2, 7);  // from 4095: pages 0..4 (5 pages)
  dram.write(4095, in.data(), in.size());
  CHECK(dram.bytes_allocated() == 5 * 4096);
  std::vector<std::uint8_t> back(in.size());
  dram.read(4095, back.data(), back.size());
  CHECK(back == in);

  // The last 16 bytes of the 64-bit space are addressable; one more byte is a simulator bug.
  const std::uint64_t top = ~std::uint64_t(0) - 15;
  dram.write(top, in.data(), 16);
  std::vector<std::uint8_t> last(16);
  dram.read(top, last.data(), 16);
  CHECK(last == std::vector<std::uint8_t>(in.begin(), in.begin() + 16));
  CHECK_THROWS_AS(dram.write(top, in.data(), 17), InternalError);
  CHECK_THROWS_AS(dram.read(top + 1, last.data(), 16), InternalError);
  dram.read(top, last.data(), 0);  // an empty access anywhere is fine
}

TEST_CASE("SramImage is zeroed, dense and bounds-checked", "[values]") {
  SramImage sram(64);
  CHECK(sram.capacity_bytes() == 64);
  std::vector<std::uint8_t> out(64, 0xaa);
  sram.read(0, out.data(), 64);
  CHECK(out == std::vector<std::uint8_t>(64, 0));
  const auto in = iota_bytes(8, 1);
  sram.write(56, in.data(), 8);  // the last 8 bytes
  CHECK(sram.span(56, 8)[7] == 8);
  std::vector<std::uint8_t> back(8);
  sram.read(56, back.data(), 8);
  CHECK(back == in);
  CHECK_NOTHROW(sram.span(64, 0));
  CHECK_THROWS_AS(sram.write(57, in.data(), 8), InternalError);
  CHECK_THROWS_AS(sram.read(60, back.data(), 8), InternalError);
  CHECK_THROWS_AS(sram.span(65, 0), InternalError);
  // addr + n wrapping around 2^64 must not pass the check.
  CHECK_THROWS_AS(sram.span(8, ~std::uint64_t(0) - 3), InternalError);
}

}  // namespace
}  // namespace llmsim::values
