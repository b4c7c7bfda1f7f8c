// Fuzz entry: an arch config, as `llmsim validate --arch FILE` reads it.
#include "sim/core/error.h"
#include "sim/driver/presets.h"
#include "sim/driver/run.h"
#include "tests/fuzz/fuzz_entries.h"

namespace llmsim::fuzz {

void arch_config(const std::uint8_t* data, std::size_t size) {
  const MemoryFile file(data, size);
  try {
    driver::validate(driver::load_arch(file.path()), {});
  } catch (const UserError&) {
  }
}

}  // namespace llmsim::fuzz
