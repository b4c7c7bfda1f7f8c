// Fuzz entry: a layer trace, as `llmsim compile --arch edge --workload FILE` reads it.
#include <cstdio>
#include <cstdlib>

#include "sim/core/error.h"
#include "sim/driver/presets.h"
#include "sim/driver/run.h"
#include "tests/fuzz/fuzz_entries.h"
#include "workloads/workload.h"

namespace llmsim::fuzz {

void workload(const std::uint8_t* data, std::size_t size) {
  const MemoryFile file(data, size);
  driver::RunSpec spec;
  try {
    spec.workload = workloads::load_workload(file.path());
  } catch (const UserError&) {
    return;
  }
  // workload.h: parse_workload(to_json(w)) == w, every default written out.
  const config::Json written = workloads::to_json(spec.workload);
  const config::Json again = workloads::to_json(workloads::parse_workload(written, "again"));
  if (again != written) {
    std::fprintf(stderr, "to_json round trip differs:\n%s\n%s\n", written.dump().c_str(),
                 again.dump().c_str());
    std::abort();
  }
  workloads::format_trace(written);
  spec.arch_name = "edge";
  spec.arch = driver::load_arch("edge");
  try {
    driver::compile(spec);
  } catch (const UserError&) {
  }
}

}  // namespace llmsim::fuzz
