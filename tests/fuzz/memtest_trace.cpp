// Fuzz entry: a memtest request trace, as `llmsim memtest --arch hbm2-stack --trace FILE`
// reads it.
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "sim/core/error.h"
#include "sim/driver/memtest.h"
#include "sim/driver/memtest_trace.h"
#include "sim/driver/presets.h"
#include "tests/fuzz/fuzz_entries.h"

namespace llmsim::fuzz {

namespace {

[[noreturn]] void broken(const char* what, std::size_t k) {
  std::fprintf(stderr, "read_memtest_trace broke its contract at request %zu: %s\n", k, what);
  std::abort();
}

}  // namespace

void memtest_trace(const std::uint8_t* data, std::size_t size) {
  // The hbm2-stack preset's memory: 8 GiB in 32-byte bursts.
  constexpr std::uint64_t kCapacity = std::uint64_t(8) << 30, kBurst = 32;
  const driver::MemtestTraceLimits limits;
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  std::vector<driver::MemtestOffer> offers;
  try {
    offers = driver::read_memtest_trace(in, "fuzz", kCapacity, kBurst, limits);
  } catch (const UserError&) {
    return;
  }
  if (offers.empty()) broken("no requests", 0);
  std::uint64_t last_cycle = 0, max_cycle = 0;
  for (std::size_t k = 0; k < offers.size(); ++k) {
    const driver::MemtestOffer& o = offers[k];
    if (o.addr > kCapacity - kBurst) broken("address beyond the memory", k);
    if (o.cycle) {
      if (*o.cycle < last_cycle) broken("cycles decrease", k);
      if (*o.cycle > limits.max_cycle) broken("cycle beyond the limit", k);
      last_cycle = max_cycle = *o.cycle;
    }
  }
  // A short trace over a short time is simulated too: every accepted request must complete.
  if (offers.size() > 64 || max_cycle > (1 << 16)) return;
  const MemoryFile file(data, size);
  driver::MemtestOptions options;
  options.trace_file = file.path();
  try {
    driver::run_memtest(driver::load_arch("hbm2-stack"), {}, options);
  } catch (const UserError&) {
  }
}

}  // namespace llmsim::fuzz
