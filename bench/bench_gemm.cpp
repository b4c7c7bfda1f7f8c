// Benchmark: simulated cycles per wall second and wall time of a 4096x4096x4096 int8 matmul on
// every preset. Prints figures; asserts nothing (speed is checked by reading them).
#include <cstdio>
#include <cstdlib>

#include <systemc>

#include "sim/driver/presets.h"
#include "sim/driver/run.h"

int sc_main(int, char*[]) {
  return 1;
}  // required by libsystemc; never called

int main() {
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
  using namespace llmsim;
  std::printf("%-12s %-10s %16s %12s %18s\n", "preset", "workload", "sim cycles", "wall ms",
              "sim cycles/wall s");
  for (const driver::Preset& p : driver::presets()) {
    driver::RunSpec spec{
        p.name, driver::load_arch(p.name), {}, workloads::load_workload("gemm4096")};
    const driver::RunResult r = driver::run(spec);
    std::printf("%-12s %-10s %16llu %12.1f %18.3e\n", p.name.c_str(), "gemm4096",
                static_cast<unsigned long long>(r.total_cycles), r.wall_seconds * 1e3,
                double(r.total_cycles) / r.wall_seconds);
  }
  return 0;
}
