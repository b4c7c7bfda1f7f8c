#include "sim/driver/run.h"

#include <chrono>
#include <memory>

#include "arch/chip/chip.h"
#include "arch/systolic/timing.h"
#include "sim/core/error.h"
#include "sim/driver/kernel_session.h"

namespace llmsim::driver {

namespace {

// A chip elaborated in the current kernel session, with what the frontend needs to know of it.
struct Built {
  config::Json resolved;
  chip::ChipParams params;
  std::unique_ptr<chip::Chip> chip;
  workloads::Target target;
};

Built build(const config::Json& arch, const std::vector<std::string>& overrides) {
  Built b;
  config::Json doc = config::with_overrides(arch, overrides);
  config::Reader root(doc, "", b.resolved);
  root.ignore("description");
  b.params = chip::ChipParams::parse(root);
  config::Reader mem = root.child("memory");
  root.finish();
  b.chip = std::make_unique<chip::Chip>("chip", b.params, mem);

  const core::CoreParams& c = b.params.core;
  workloads::Target& t = b.target;
  t.num_cores = b.params.num_cores;
  t.array_rows = c.systolic.shape.rows;
  t.array_cols = c.systolic.shape.cols;
  t.scratchpad_bytes = c.scratchpad.capacity_bytes;
  t.accumulator_bytes = c.accumulator.capacity_bytes;
  t.dma_bytes_per_cycle = double(c.dma.bytes_per_cycle);
  t.dram_bytes_per_cycle = b.chip->memory().peak_bytes_per_second() / (c.clock_mhz * 1e6);
  t.dtypes = c.systolic.dtypes;
  const auto df = c.systolic.dataflow;
  const auto shape = c.systolic.shape;
  t.gemm_cycles = [df, shape](std::uint64_t m, std::uint64_t k, std::uint64_t n) {
    return systolic::gemm_timing(df, shape, {m, k, n}).cycles.count();
  };
  return b;
}

std::uint64_t sum_counters(const stats::Group& chip, std::uint32_t cores, const std::string& path) {
  std::uint64_t s = 0;
  for (std::uint32_t i = 0; i < cores; ++i)
    s += chip.counter_value("core" + std::to_string(i) + "." + path);
  return s;
}

}  // namespace

config::Json to_json(const OpResult& o) {
  return {{"name", o.name},
          {"m", o.m},
          {"k", o.k},
          {"n", o.n},
          {"dtype", o.dtype},
          {"tiling",
           {{"mt", o.tiling.mt},
            {"kt", o.tiling.kt},
            {"nt", o.tiling.nt},
            {"estimate_cycles", o.tiling.estimate_cycles}}},
          {"start_cycle", o.start_cycle},
          {"end_cycle", o.end_cycle},
          {"cycles", o.cycles},
          {"macs", o.macs},
          {"dram_read_bytes", o.dram_read_bytes},
          {"dram_written_bytes", o.dram_written_bytes},
          {"utilisation", o.utilisation}};
}

config::Json validate(const config::Json& arch, const std::vector<std::string>& overrides) {
  KernelSession session;
  return build(arch, overrides).resolved;
}

isa::Program compile(const RunSpec& spec) {
  KernelSession session;
  Built b = build(spec.arch, spec.overrides);
  return workloads::lower(spec.workload, b.target).program;
}

RunResult run(const RunSpec& spec) {
  const auto wall_start = std::chrono::steady_clock::now();
  KernelSession session;
  Built b = build(spec.arch, spec.overrides);
  workloads::Lowered lowered = workloads::lower(spec.workload, b.target);
  b.chip->load(std::move(lowered.program), spec.workload.ops.size());
  sc_core::sc_start();
  b.chip->finish();

  RunResult r;
  r.arch_name = spec.arch_name;
  r.workload_name = spec.workload.name;
  r.resolved_config = b.resolved;
  const ClockDomain& clk = b.chip->core(0).clock();
  r.clock_mhz = clk.clock_mhz();
  r.total_cycles = clk.now().count();
  r.seconds = clk.seconds(Cycles(r.total_cycles));
  const std::uint32_t cores = b.params.num_cores;
  const stats::Group& st = b.chip->stats();
  r.macs = sum_counters(st, cores, "systolic.macs");
  r.peak_macs_per_cycle = b.params.core.systolic.pes() * cores;
  r.array_utilisation =
      r.total_cycles ? double(r.macs) / (double(r.peak_macs_per_cycle) * double(r.total_cycles))
                     : 0;
  r.dram_read_bytes = sum_counters(st, cores, "dma.loaded_bytes");
  r.dram_written_bytes = sum_counters(st, cores, "dma.stored_bytes");
  r.achieved_bandwidth_gb_per_s =
      r.seconds > 0 ? double(r.dram_read_bytes + r.dram_written_bytes) / r.seconds / 1e9 : 0;
  r.peak_bandwidth_gb_per_s = b.chip->memory().peak_bytes_per_second() / 1e9;
  r.row_hit_rate = b.chip->memory().row_hit_rate();

  for (std::size_t i = 0; i < spec.workload.ops.size(); ++i) {
    const workloads::MatmulOp& op = spec.workload.ops[i];
    const core::OpRecord& rec = b.chip->ops()[i];
    OpResult o;
    o.name = op.name;
    o.m = op.m, o.k = op.k, o.n = op.n;
    o.dtype = isa::to_string(op.dtype);
    o.tiling = lowered.tilings[i];
    o.start_cycle = rec.started() ? rec.first_start.count() : 0;
    o.end_cycle = rec.last_end.count();
    o.cycles = rec.span().count();
    o.macs = rec.macs;
    o.dram_read_bytes = rec.dram_read_bytes;
    o.dram_written_bytes = rec.dram_written_bytes;
    o.utilisation =
        o.cycles ? double(o.macs) / (double(o.cycles) * double(r.peak_macs_per_cycle)) : 0;
    r.ops.push_back(o);
  }

  config::Json& s = r.stats;
  s["total_cycles"] = r.total_cycles;
  s["seconds"] = r.seconds;
  s["core_clock_mhz"] = r.clock_mhz;
  s["arch"] = r.arch_name;
  s["workload"] = r.workload_name;
  s["macs"] = r.macs;
  s["array_utilisation"] = r.array_utilisation;
  s["dram_read_bytes"] = r.dram_read_bytes;
  s["dram_written_bytes"] = r.dram_written_bytes;
  s["achieved_bandwidth_gb_per_s"] = r.achieved_bandwidth_gb_per_s;
  s["peak_bandwidth_gb_per_s"] = r.peak_bandwidth_gb_per_s;
  if (r.row_hit_rate) s["row_hit_rate"] = *r.row_hit_rate;
  s["ops"] = config::Json::array();
  for (const OpResult& o : r.ops) s["ops"].push_back(to_json(o));
  s["chip"] = st.values_json();
  s["stat_info"] = config::Json::object();
  st.describe(s["stat_info"]);
  r.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return r;
}

}  // namespace llmsim::driver
