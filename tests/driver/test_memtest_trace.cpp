#include <catch2/catch.hpp>
#include <sstream>

#include "sim/core/error.h"
#include "sim/driver/memtest_trace.h"

namespace llmsim::driver {

namespace {

// A 4 KiB memory in 32-byte requests: the last request starts at 4064.
constexpr std::uint64_t kCapacity = 4096, kRequest = 32;

std::vector<MemtestOffer> read(const std::string& text, const MemtestTraceLimits& limits = {}) {
  std::istringstream in(text);
  return read_memtest_trace(in, "t.txt", kCapacity, kRequest, limits);
}

}  // namespace

TEST_CASE("memtest trace: requests, with and without cycles", "[memtest][trace]") {
  const auto t = read(
      "# address R|W [cycle]\n"
      "0x0 R 0\n"
      "\n"
      "  32 W 0x10   # hex cycle, comment\n"
      "0XfE0 R\r\n"  // a CRLF line; 0xfe0 = 4064, the last 32-byte request of 4096 bytes
      "4064 W 16");  // no final newline
  REQUIRE(t.size() == 4);
  CHECK(t[0].addr == 0);
  CHECK_FALSE(t[0].write);
  CHECK(t[0].cycle == 0u);
  CHECK(t[1].addr == 32);
  CHECK(t[1].write);
  CHECK(t[1].cycle == 16u);
  CHECK(t[2].addr == 4064);
  CHECK_FALSE(t[2].cycle);
  CHECK(t[3].cycle == 16u);  // equal to the last cycle given (line 4): not decreasing
}

TEST_CASE("memtest trace: each mistake names the line, the value and what is allowed",
          "[memtest][trace]") {
  // A negative cycle was read by stoull as 2^64 - 1, and the run never ended.
  CHECK_THROWS_WITH(read("0 R -1\n"),
                    "t.txt:1: cycle -1: must be an integer from 0 to 4294967296 (decimal or "
                    "0x-hex)");
  CHECK_THROWS_WITH(read("0 R 1e3\n"), Catch::StartsWith("t.txt:1: cycle 1e3: must be an"));
  CHECK(read("0 R 4294967296\n")[0].cycle == 4294967296u);  // 2^32
  CHECK_THROWS_WITH(read("0 R 0x100000001\n"),                // 2^32 + 1
                    Catch::StartsWith("t.txt:1: cycle 0x100000001: must be an integer from 0"));
  CHECK_THROWS_WITH(read("0 R 5\n0 R 4\n"),
                    "t.txt:2: cycle 4: cycles must not decrease (an earlier request is offered "
                    "at cycle 5)");
  // Without a cycle in between, the comparison is still with the last cycle given.
  CHECK_THROWS_WITH(read("0 R 5\n0 R\n0 R 4\n"), Catch::StartsWith("t.txt:3: cycle 4: cycles"));
  // 4064 is the last address where a 32-byte request fits; an address at the very top of the
  // 64-bit space was "a request never completed" (its end wrapped to 0).
  CHECK_THROWS_WITH(read("# x\n4065 R\n"),
                    "t.txt:2: address 4065: a request of 32 bytes must lie within the memory's "
                    "4096 bytes (address at most 4064)");
  CHECK_THROWS_WITH(read("0xffffffffffffffff R\n"),
                    Catch::StartsWith("t.txt:1: address 0xffffffffffffffff: a request of 32"));
  CHECK_THROWS_WITH(read("18446744073709551616 R\n"),  // 2^64
                    "t.txt:1: address 18446744073709551616: must be an unsigned integer "
                    "(decimal or 0x-hex)");
  CHECK_THROWS_WITH(read("-32 R\n"), Catch::StartsWith("t.txt:1: address -32: must be an"));
  CHECK_THROWS_WITH(read("0x R\n"), Catch::StartsWith("t.txt:1: address 0x: must be an"));
  CHECK_THROWS_WITH(read("0 X\n"), "t.txt:1: expected \"ADDRESS R|W [CYCLE]\", got \"0 X\"");
  CHECK_THROWS_WITH(read("0\n"), "t.txt:1: expected \"ADDRESS R|W [CYCLE]\", got \"0\"");
  CHECK_THROWS_WITH(read("0 R 1 2\n"),
                    "t.txt:1: expected \"ADDRESS R|W [CYCLE]\", got \"0 R 1 2\"");
  CHECK_THROWS_WITH(read("# only a comment\n\n"), "t.txt: no requests in trace");
  CHECK_THROWS_WITH(read(""), "t.txt: no requests in trace");
}

TEST_CASE("memtest trace: the file's size is bounded", "[memtest][trace]") {
  MemtestTraceLimits limits;
  limits.max_lines = 3;
  limits.max_line_chars = 16;
  CHECK(read("0 R\n0 R\n# third line\n", limits).size() == 2);
  CHECK_THROWS_WITH(read("0 R\n0 R\n0 R\n\n", limits),
                    "t.txt: more than 3 lines (the limit of a memtest trace)");
  CHECK(read("0 R # 16 chars..\n", limits).size() == 1);
  CHECK_THROWS_WITH(read("0 R\n0 R # 17 chars...\n", limits),
                    "t.txt:2: line longer than 16 characters");
  // No newline at all: the reader stops at the limit instead of reading the input whole.
  CHECK_THROWS_WITH(read(std::string(1 << 20, '0'), limits),
                    "t.txt:1: line longer than 16 characters");
}

}  // namespace llmsim::driver
