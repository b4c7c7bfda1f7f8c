#include "sim/driver/memtest_trace.h"

#include <limits>
#include <sstream>

#include "sim/core/error.h"

namespace llmsim::driver {

namespace {

// An unsigned integer written in decimal or 0x-hex, all of `text`; nullopt for anything else
// (a sign, other characters, no digits, more than 64 bits).
std::optional<std::uint64_t> parse_unsigned(const std::string& text) {
  const bool hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
  const std::uint64_t base = hex ? 16 : 10;
  std::size_t i = hex ? 2 : 0;
  if (i == text.size()) return std::nullopt;
  std::uint64_t value = 0;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    std::uint64_t digit = 0;
    if (c >= '0' && c <= '9') {
      digit = std::uint64_t(c - '0');
    } else if (hex && c >= 'a' && c <= 'f') {
      digit = std::uint64_t(c - 'a' + 10);
    } else if (hex && c >= 'A' && c <= 'F') {
      digit = std::uint64_t(c - 'A' + 10);
    } else {
      return std::nullopt;
    }
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / base) return std::nullopt;
    value = value * base + digit;
  }
  return value;
}

// Reads one line of at most buf.size() - 1 characters (without its '\n') into `line`; false
// at the end of the input. A longer line is a UserError prefixed with `where` ("NAME:LINE: ").
bool read_line(std::istream& in, std::vector<char>& buf, std::string& line,
               const std::string& where) {
  in.getline(buf.data(), std::streamsize(buf.size()));
  const std::size_t n = std::size_t(in.gcount());
  if (in.eof()) {  // the last line, without a newline (or nothing at all)
    line.assign(buf.data(), n);
    return n > 0;
  }
  if (in.fail()) {
    if (in.bad()) throw UserError(where + "read error");
    throw UserError(where + "line longer than " + std::to_string(buf.size() - 1) + " characters");
  }
  line.assign(buf.data(), n - 1);  // the newline was extracted, not stored
  return true;
}

}  // namespace

std::vector<MemtestOffer> read_memtest_trace(std::istream& in, const std::string& name,
                                             std::uint64_t capacity_bytes,
                                             std::uint64_t request_bytes,
                                             const MemtestTraceLimits& limits) {
  LLMSIM_CHECK(request_bytes > 0 && request_bytes <= capacity_bytes,
               "memtest trace: request size outside the memory");
  const std::uint64_t last_addr = capacity_bytes - request_bytes;
  std::vector<MemtestOffer> out;
  std::optional<std::uint64_t> last_cycle;
  std::vector<char> buf(limits.max_line_chars + 1);
  std::string line;
  std::size_t no = 0;
  while (read_line(in, buf, line, name + ":" + std::to_string(no + 1) + ": ")) {
    if (++no > limits.max_lines) {
      throw UserError(name + ": more than " + std::to_string(limits.max_lines) +
                      " lines (the limit of a memtest trace)");
    }
    const std::string where = name + ":" + std::to_string(no) + ": ";
    std::istringstream ls(line.substr(0, line.find('#')));
    std::string addr, rw, cycle, extra;
    if (!(ls >> addr)) continue;
    ls >> rw >> cycle >> extra;
    if ((rw != "R" && rw != "W") || !extra.empty()) {
      throw UserError(where + "expected \"ADDRESS R|W [CYCLE]\", got \"" + line + "\"");
    }
    MemtestOffer o;
    o.write = rw == "W";
    const auto a = parse_unsigned(addr);
    if (!a) {
      throw UserError(where + "address " + addr +
                      ": must be an unsigned integer (decimal or 0x-hex)");
    }
    if (*a > last_addr) {
      throw UserError(where + "address " + addr + ": a request of " +
                      std::to_string(request_bytes) + " bytes must lie within the memory's " +
                      std::to_string(capacity_bytes) + " bytes (address at most " +
                      std::to_string(last_addr) + ")");
    }
    o.addr = *a;
    if (!cycle.empty()) {
      const auto c = parse_unsigned(cycle);
      if (!c || *c > limits.max_cycle) {
        throw UserError(where + "cycle " + cycle + ": must be an integer from 0 to " +
                        std::to_string(limits.max_cycle) + " (decimal or 0x-hex)");
      }
      if (last_cycle && *c < *last_cycle) {
        throw UserError(where + "cycle " + cycle + ": cycles must not decrease (an earlier " +
                        "request is offered at cycle " + std::to_string(*last_cycle) + ")");
      }
      o.cycle = last_cycle = *c;
    }
    out.push_back(o);
  }
  if (out.empty()) throw UserError(name + ": no requests in trace");
  return out;
}

}  // namespace llmsim::driver
