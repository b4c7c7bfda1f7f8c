// Benchmark: wall time and simulated cycles per wall second of a whole BERT-base inference
// (sequence 128, batch 1) on every preset -- issue 5's figure is the datacenter line. Prints
// figures; asserts nothing (speed is checked by reading them).
#include <cstdio>
#include <cstdlib>

#include <systemc>

#include "sim/driver/presets.h"
#include "sim/driver/run.h"
#include "workloads/transformer.h"

int sc_main(int, char*[]) {
  return 1;
}  // required by libsystemc; never called

int main() {
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
  using namespace llmsim;
  workloads::TraceOptions o;
  o.seq = 128;
  const workloads::Workload bert =
      workloads::build_trace(workloads::load_model("bert-base-uncased"), o);
  std::printf("%-12s %-22s %14s %12s %18s %14s\n", "preset", "workload", "sim cycles", "wall ms",
              "sim cycles/wall s", "DRAM MiB");
  for (const driver::Preset& p : driver::presets()) {
    driver::RunSpec spec{p.name, driver::load_arch(p.name), {}, bert, {}};
    const driver::RunResult r = driver::run(spec);
    std::printf("%-12s %-22s %14llu %12.1f %18.3e %14.1f\n", p.name.c_str(),
                "bert-base seq 128", static_cast<unsigned long long>(r.total_cycles),
                r.wall_seconds * 1e3, double(r.total_cycles) / r.wall_seconds,
                double(r.dram_read_bytes + r.dram_written_bytes) / (1 << 20));
  }
  return 0;
}
