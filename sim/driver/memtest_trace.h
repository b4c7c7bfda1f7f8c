#pragma once
// The request trace of `llmsim memtest --trace FILE`, read and validated in full before any
// simulation. Format, one request per line ('#' starts a comment, blank lines are skipped):
//   ADDRESS R|W [CYCLE]
// ADDRESS and CYCLE are unsigned integers, decimal or 0x-hex. A request covers
// `request_bytes` from ADDRESS, all within the memory (ADDRESS <= capacity - request_bytes).
// CYCLE is the DRAM clock cycle the request is offered, at most `max_cycle`, never below an
// earlier line's; without CYCLE a request is offered as soon as its queue accepts it.
// Every mistake is a UserError "NAME:LINE: <what>, got <value>", or "NAME: <what>" for the
// file as a whole (no requests, too many lines, a line too long).
#include <cstddef>
#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <vector>

namespace llmsim::driver {

// One request of memtest's generator (synthetic or from a trace).
struct MemtestOffer {
  std::uint64_t addr = 0;
  bool write = false;
  std::optional<std::uint64_t> cycle;  // from a trace
};

struct MemtestTraceLimits {
  // Lines of the file (comments and blank lines included): 2^24, about 16.8 million; a
  // request costs 32 bytes here and a few hundred nanoseconds to simulate.
  std::size_t max_lines = std::size_t(1) << 24;
  // Characters per line (a file without newlines must not be read whole into one string).
  std::size_t max_line_chars = 4096;
  // The latest CYCLE: 2^32 (4.3e9 cycles, seconds of DRAM time). The memory is simulated up to
  // the last request's cycle, refreshes included, at about 3.6e9 idle cycles per second of
  // wall time (hbm2-stack, Release build): a later cycle is work in proportion to it, not to
  // the requests.
  std::uint64_t max_cycle = std::uint64_t(1) << 32;
};

// Reads the whole trace from `in`; `name` (the file name) prefixes every message.
std::vector<MemtestOffer> read_memtest_trace(std::istream& in, const std::string& name,
                                             std::uint64_t capacity_bytes,
                                             std::uint64_t request_bytes,
                                             const MemtestTraceLimits& limits = {});

}  // namespace llmsim::driver
