#include "sim/driver/run.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <memory>
#include <unordered_map>

#include "arch/chip/chip.h"
#include "arch/chip/noc_memory.h"
#include "arch/systolic/timing.h"
#include "arch/vector/timing.h"
#include "sim/core/error.h"
#include "sim/driver/dram_bandwidth.h"
#include "sim/driver/heap.h"
#include "sim/driver/kernel_session.h"
#include "sim/driver/version.h"
#include "workloads/serving/scheduler_params.h"

namespace llmsim::driver {

namespace {

// A chip elaborated in the current kernel session, with what the frontend needs to know of it.
struct Built {
  config::Json resolved;
  chip::ChipParams params;
  std::unique_ptr<chip::Chip> chip;
  workloads::Target target;
};

// The NoC's zero-load round trip of one access (a request header there, the access's data back),
// averaged over every pair of a core and a memory port, in core cycles; 0 without a NoC.
double noc_round_trip_cycles(const chip::Chip& chip, double core_mhz) {
  const chip::NocFabric* fabric = chip.noc();
  if (fabric == nullptr) return 0;
  const noc::NocParams& p = fabric->params();
  const noc::Placement& place = chip.placement();
  const std::uint32_t req_flits = p.packet_flits(0);
  const std::uint32_t data_flits = p.packet_flits(chip.memory().access_bytes());
  double sum = 0;
  for (const std::uint32_t c : place.core_node) {
    for (const std::uint32_t m : place.memory_node) {
      sum += double(fabric->network().zero_load_latency(c, m, req_flits) +
                    fabric->network().zero_load_latency(m, c, data_flits));
    }
  }
  const double pairs = double(place.core_node.size() * place.memory_node.size());
  return pairs > 0 ? sum / pairs * core_mhz / p.clock_mhz : 0;
}

Built build(const config::Json& arch, const std::vector<std::string>& overrides) {
  Built b;
  config::Json doc = config::with_overrides(arch, overrides);
  config::Reader root(doc, "", b.resolved);
  root.ignore("description");
  b.params = chip::ChipParams::parse(root);
  // The serving section (llmsim serve, serve.h) is the deployment's, not the chip's; checked
  // here too so that a mistake in it is caught by every command.
  if (root.has("serving")) root.parse_child<serving::SchedulerParams>("serving");
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
  t.dma_max_outstanding_blocks = std::uint32_t(c.dma.max_outstanding_blocks);
  t.dram_latency_cycles = b.chip->memory().idle_read_latency_seconds() * c.clock_mhz * 1e6 +
                          noc_round_trip_cycles(*b.chip, c.clock_mhz);
  t.dtypes = c.systolic.dtypes;
  t.dram_capacity_bytes = b.chip->memory().capacity_bytes();
  t.dram_period_bytes = b.chip->memory().interleave_period_bytes();
  // Measured on the memory model, lazily, per quantised pattern (dram_bandwidth.h).
  const auto table = std::make_shared<const DramBandwidthTable>(
      b.resolved["memory"], c.dma.max_outstanding_blocks, t.num_cores);
  const double core_hz = c.clock_mhz * 1e6;
  t.dram_bandwidth = [table, core_hz](const workloads::Target::DramPattern& p) {
    return table->bytes_per_second(p) / core_hz;
  };
  const auto shape = c.systolic.shape;
  t.array_pipelined = c.systolic.pipelining != systolic::Pipelining::none;
  const vector::VectorTimingParams vt = c.vector.timing;
  t.vector_cycles = [vt](const isa::VectorOp& v) {
    return vector::vector_timing(vt, v).cycles.count();
  };
  // The tiler charges every GEMM its latency on an idle array, pipelined or not (target.h).
  t.dataflows = c.systolic.dataflows;
  const auto pipelining = c.systolic.pipelining;
  t.gemm_cost = [shape, pipelining](isa::Dataflow d, std::uint64_t m, std::uint64_t k,
                                    std::uint64_t n) {
    workloads::Target::GemmCost g;
    g.latency = systolic::gemm_timing(d, shape, {m, k, n}).cycles.count();
    // The second of two back-to-back identical GEMMs: what each adds to a chain.
    systolic::ArrayPipeline p(d, shape, pipelining);
    const std::uint64_t first = p.run({m, k, n}, Cycles(0)).end.count();
    g.period = p.run({m, k, n}, Cycles(0)).end.count() - first;
    return g;
  };
  return b;
}

std::uint64_t sum_counters(const stats::Group& chip, std::uint32_t cores, const std::string& path) {
  std::uint64_t s = 0;
  for (std::uint32_t i = 0; i < cores; ++i)
    s += chip.counter_value("core" + std::to_string(i) + "." + path);
  return s;
}

void add_json(config::Json& j, const CoreCycles& c) {
  j["cores"] = c.cores;
  j["compute_cycles"] = c.compute_cycles;
  j["memory_stall_cycles"] = c.memory_stall_cycles;
  j["sync_cycles"] = c.sync_cycles;
}

// The breakdown of [begin, end) over the cores `ran` names.
CoreCycles core_cycles(const chip::Chip& chip, std::uint64_t begin, std::uint64_t end,
                       const std::vector<bool>& ran) {
  CoreCycles c;
  for (std::size_t i = 0; i < ran.size(); ++i) {
    if (!ran[i]) continue;
    const core::CycleBreakdown b = chip.core(i).activity().breakdown(Cycles(begin), Cycles(end));
    ++c.cores;
    c.compute_cycles += b.compute.count();
    c.memory_stall_cycles += b.memory_stall.count();
    c.sync_cycles += b.sync.count();
  }
  return c;
}

}  // namespace

workloads::MappingOptions mapping_options(const std::string& mapping, const std::string& split,
                                          const std::string& fusion, const std::string& weights,
                                          const std::string& tiles) {
  workloads::MappingOptions m;
  if (mapping != "auto" && mapping != "fixed") {
    throw UserError("--mapping " + mapping + ": must be auto or fixed");
  }
  m.automatic = mapping == "auto";
  if (!split.empty()) {
    m.split = workloads::parse_split(split);
    if (!m.split) throw UserError("--split " + split + ": must be tiles, rows, cols or batch");
  }
  if (!fusion.empty()) {
    if (fusion != "on" && fusion != "off") {
      throw UserError("--fusion " + fusion + ": must be on or off");
    }
    m.fusion = fusion == "on";
  }
  if (!weights.empty()) {
    if (weights != "tiled" && weights != "row_major") {
      throw UserError("--weights " + weights + ": must be tiled or row_major");
    }
    m.tiled_weights = weights == "tiled";
  }
  if (!tiles.empty()) {
    // MxKxN, three positive integers below 2^32.
    std::array<std::uint64_t, 3> v{};
    std::size_t at = 0;
    bool ok = true;
    for (std::size_t d = 0; d < 3 && ok; ++d) {
      const std::size_t end = d < 2 ? tiles.find('x', at) : tiles.size();
      const std::string part =
          tiles.substr(at, end == std::string::npos ? std::string::npos : end - at);
      ok = end != std::string::npos && !part.empty() && part.size() <= 10 &&
           part.find_first_not_of("0123456789") == std::string::npos;
      if (ok) v[d] = std::stoull(part);
      ok = ok && v[d] >= 1 && v[d] < (std::uint64_t(1) << 32);
      at = end + 1;
    }
    if (!ok) {
      throw UserError("--tiles " + config::printable(tiles) +
                      ": must be MxKxN, three integers from 1 to 4294967295 (e.g. 256x128x128)");
    }
    m.tiles = v;
  }
  return m;
}

config::Json to_json(const OpResult& o) {
  config::Json j = {{"name", o.name},
                    {"layer", o.layer},
                    {"kind", o.kind},
                    {"shape", o.shape},
                    {"dtype", o.dtype},
                    {"start_cycle", o.start_cycle},
                    {"end_cycle", o.end_cycle},
                    {"cycles", o.cycles},
                    {"macs", o.macs},
                    {"dram_read_bytes", o.dram_read_bytes},
                    {"dram_written_bytes", o.dram_written_bytes},
                    {"compulsory_bytes", o.plan.compulsory_bytes},
                    {"utilisation", o.utilisation}};
  // The mapping's cost model, for calibration (0: not predicted, a fused op).
  j["predicted_cycles"] = o.plan.predicted_cycles;
  if (o.kind == "matmul") {
    j["m"] = o.m, j["k"] = o.k, j["n"] = o.n, j["batch"] = o.batch;
    j["tiling"] = {{"mt", o.plan.tiling.mt},
                   {"kt", o.plan.tiling.kt},
                   {"nt", o.plan.tiling.nt},
                   {"estimate_cycles", o.plan.tiling.estimate_cycles},
                   {"a_resident", o.plan.tiling.a_resident}};
    j["split"] = workloads::to_string(o.plan.tiling.split);
    j["dataflow"] = isa::to_string(o.plan.tiling.dataflow);
  } else {
    j["chunk_rows"] = o.plan.chunk_rows;
  }
  // A vector op run in a matmul's epilogue (--mapping auto): that matmul's op index.
  if (o.plan.fused_into >= 0) j["fused_into"] = o.plan.fused_into;
  j["pieces"] = o.plan.pieces;
  add_json(j, o.breakdown);
  return j;
}

config::Json to_json(const LayerResult& l) {
  config::Json j = {{"name", l.name},
                    {"ops", l.ops},
                    {"start_cycle", l.start_cycle},
                    {"end_cycle", l.end_cycle},
                    {"cycles", l.cycles},
                    {"macs", l.macs},
                    {"dram_bytes", l.dram_bytes},
                    {"compulsory_bytes", l.compulsory_bytes},
                    {"utilisation", l.utilisation},
                    {"compute_bound_cycles", l.compute_bound_cycles},
                    {"memory_bound_cycles", l.memory_bound_cycles},
                    {"bound", l.bound()}};
  add_json(j, l.breakdown);
  return j;
}

namespace {

std::string shape_of(const workloads::Op& op) {
  using namespace workloads;
  const auto x = [](std::uint64_t v) { return std::to_string(v); };
  if (const auto* m = op.get_if<MatmulOp>()) {
    return (m->batch > 1 ? x(m->batch) + "x(" : "") + x(m->m) + "x" + x(m->k) + "x" + x(m->n) +
           (m->batch > 1 ? ")" : "");
  }
  if (const auto* v = op.get_if<VectorOp>()) return x(v->rows) + "x" + x(v->cols);
  if (const auto* e = op.get_if<EmbeddingOp>()) return x(e->tokens) + "x" + x(e->hidden);
  if (const auto* k = op.get_if<KvWriteOp>()) {
    return x(k->batch * k->tokens) + "x" + x(k->heads * k->head_dim);
  }
  return "?";
}

}  // namespace

config::Json validate(const config::Json& arch, const std::vector<std::string>& overrides) {
  KernelSession session;
  return build(arch, overrides).resolved;
}

isa::Program compile(const RunSpec& spec) {
  KernelSession session;
  Built b = build(spec.arch, spec.overrides);
  return workloads::lower(spec.workload, b.target, spec.mapping).program;
}

MemoryFit memory_fit(const RunSpec& spec) {
  KernelSession session;
  Built b = build(spec.arch, spec.overrides);
  const workloads::Lowered l = workloads::lower(spec.workload, b.target, spec.mapping);
  return {l.dram_footprint_bytes, b.target.dram_capacity_bytes.value_or(0),
          b.params.core.clock_mhz, b.target.dram_period_bytes};
}

RunResult run(const RunSpec& spec) {
  const auto wall_start = std::chrono::steady_clock::now();
  prefer_huge_pages();
  KernelSession session;
  Built b = build(spec.arch, spec.overrides);
  // Checks the workload's size against the instruction limit and the memory's capacity
  // (workloads/limits.h) before and while lowering.
  const auto map_start = std::chrono::steady_clock::now();
  const std::uint64_t measured_before = dram_bandwidth_measurements();
  workloads::Lowered lowered = workloads::lower(spec.workload, b.target, spec.mapping);
  const double mapping_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - map_start).count();
  const std::uint64_t measured_before_end = dram_bandwidth_measurements();
  if (spec.edit_program) spec.edit_program(lowered.program);
  b.chip->load(std::move(lowered.program), spec.workload.ops.size());
  std::unique_ptr<values::Machine> machine;
  std::vector<TensorValues> tensors;
  if (spec.values) {
    std::vector<isa::DType> dtypes;
    for (const workloads::Op& op : spec.workload.ops) dtypes.push_back(op.dtype());
    machine = std::make_unique<values::Machine>(
        b.params.num_cores, b.params.core.scratchpad.capacity_bytes,
        b.params.core.accumulator.capacity_bytes, std::move(dtypes),
        spec.values->keep == KeepValues::all);
    tensors = fill_tensors(*machine, spec.workload, lowered, *spec.values);
    b.chip->set_values(machine.get());
  }
  std::unique_ptr<timeline::Timeline> tl;
  if (spec.timeline) {
    spec.timeline->check();
    tl = std::make_unique<timeline::Timeline>(spec.timeline->max_events);
    std::vector<std::string> names;
    for (const workloads::Op& op : spec.workload.ops) names.push_back(op.name());
    tl->set_op_names(std::move(names));
    b.chip->trace_to(*tl);
  }
  if (spec.elaborated) spec.elaborated();
  sc_core::sc_start();
  b.chip->finish();

  RunResult r;
  if (machine && spec.values->keep == KeepValues::all) {
    r.values = read_outputs(*machine, spec.workload, lowered);
    r.tensors = std::move(tensors);
  }
  // Names from file paths may hold any bytes; stats.json is UTF-8.
  r.arch_name = config::printable(spec.arch_name);
  r.workload_name = config::printable(spec.workload.name);
  r.dram_footprint_bytes = lowered.dram_footprint_bytes;
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

  const double dram_bytes_per_cycle = b.target.dram_bytes_per_cycle;
  std::vector<std::vector<bool>> layer_ran;  // per layer: the cores that ran one of its ops
  std::unordered_map<std::string, std::size_t> layer_index;
  for (std::size_t i = 0; i < spec.workload.ops.size(); ++i) {
    const workloads::Op& op = spec.workload.ops[i];
    const core::OpRecord& rec = b.chip->ops()[i];
    OpResult o;
    o.name = op.name();
    o.layer = op.layer();
    o.kind = op.kind();
    o.shape = shape_of(op);
    if (const auto* mm = op.get_if<workloads::MatmulOp>()) {
      o.m = mm->m, o.k = mm->k, o.n = mm->n, o.batch = mm->batch;
    }
    o.dtype = isa::to_string(op.dtype());
    o.plan = lowered.plans[i];
    o.start_cycle = rec.started() ? rec.first_start.count() : 0;
    o.end_cycle = rec.last_end.count();
    o.cycles = rec.span().count();
    o.macs = rec.macs;
    std::vector<bool> ran(cores);
    for (std::uint32_t c = 0; c < cores; ++c) ran[c] = b.chip->core(c).activity().ran_op(i);
    o.breakdown = core_cycles(*b.chip, o.start_cycle, o.end_cycle, ran);
    o.dram_read_bytes = rec.dram_read_bytes;
    o.dram_written_bytes = rec.dram_written_bytes;
    o.utilisation =
        o.cycles ? double(o.macs) / (double(o.cycles) * double(r.peak_macs_per_cycle)) : 0;
    r.compulsory_bytes += o.plan.compulsory_bytes;
    r.ops.push_back(o);

    // A hand-written trace may give every op its own layer: find layers by hash.
    const auto [found, added] = layer_index.emplace(o.layer, r.layers.size());
    auto it = r.layers.begin() + std::ptrdiff_t(found->second);
    if (added) {
      r.layers.push_back(LayerResult{o.layer});
      it = r.layers.end() - 1;
      it->start_cycle = o.start_cycle;
      layer_ran.emplace_back(cores, false);
    }
    LayerResult& l = *it;
    std::vector<bool>& l_ran = layer_ran[std::size_t(it - r.layers.begin())];
    for (std::uint32_t c = 0; c < cores; ++c) l_ran[c] = l_ran[c] || ran[c];
    ++l.ops;
    l.start_cycle = std::min(l.start_cycle, o.start_cycle);
    l.end_cycle = std::max(l.end_cycle, o.end_cycle);
    l.macs += o.macs;
    l.dram_bytes += o.dram_read_bytes + o.dram_written_bytes;
    l.compulsory_bytes += o.plan.compulsory_bytes;
  }
  for (std::size_t i = 0; i < r.layers.size(); ++i) {
    LayerResult& l = r.layers[i];
    l.cycles = l.end_cycle - l.start_cycle;
    l.breakdown = core_cycles(*b.chip, l.start_cycle, l.end_cycle, layer_ran[i]);
    l.utilisation =
        l.cycles ? double(l.macs) / (double(l.cycles) * double(r.peak_macs_per_cycle)) : 0;
    l.compute_bound_cycles = double(l.macs) / double(r.peak_macs_per_cycle);
    l.memory_bound_cycles = double(l.compulsory_bytes) / dram_bytes_per_cycle;
  }
  r.compute_bound_cycles = double(r.macs) / double(r.peak_macs_per_cycle);
  r.memory_bound_cycles = double(r.compulsory_bytes) / dram_bytes_per_cycle;

  config::Json& s = r.stats;
  s["total_cycles"] = r.total_cycles;
  s["seconds"] = r.seconds;
  s["core_clock_mhz"] = r.clock_mhz;
  s["arch"] = r.arch_name;
  s["workload"] = r.workload_name;
  s["llmsim_version"] = version();
  s["git_commit"] = git_commit();
  s["macs"] = r.macs;
  s["array_utilisation"] = r.array_utilisation;
  s["dram_read_bytes"] = r.dram_read_bytes;
  s["dram_written_bytes"] = r.dram_written_bytes;
  s["achieved_bandwidth_gb_per_s"] = r.achieved_bandwidth_gb_per_s;
  s["peak_bandwidth_gb_per_s"] = r.peak_bandwidth_gb_per_s;
  if (r.row_hit_rate) s["row_hit_rate"] = *r.row_hit_rate;
  s["compute_bound_cycles"] = r.compute_bound_cycles;
  s["memory_bound_cycles"] = r.memory_bound_cycles;
  s["compulsory_bytes"] = r.compulsory_bytes;
  s["dram_footprint_bytes"] = r.dram_footprint_bytes;
  r.energy = collect_energy(st, r.seconds, tokens_of(spec.workload.meta));
  s["energy"] = to_json(r.energy);
  s["ops"] = config::Json::array();
  for (const OpResult& o : r.ops) s["ops"].push_back(to_json(o));
  s["layers"] = config::Json::array();
  for (const LayerResult& l : r.layers) s["layers"].push_back(to_json(l));
  s["chip"] = st.values_json();
  s["stat_info"] = config::Json::object();
  st.describe(s["stat_info"]);
  if (tl) {
    tl->write_file(spec.timeline->path);
    r.timeline_spans = tl->spans();
    r.timeline_dropped = tl->dropped();
  }
  r.mapping_seconds = mapping_seconds;
  r.dram_patterns_measured = measured_before_end - measured_before;
  r.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return r;
}

}  // namespace llmsim::driver
