#include "sim/driver/serve.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <iostream>
#include <memory>

#include "sim/core/error.h"
#include "sim/driver/fork_pool.h"
#include "sim/driver/iteration_cost.h"
#include "sim/driver/run.h"
#include "workloads/serving/generator.h"
#include "workloads/serving/iteration_workload.h"
#include "workloads/serving/simulate.h"

namespace llmsim::driver {

namespace {

using workloads::IterationSeq;
using workloads::IterationShape;

serving::SchedulerParams scheduler_params(const ServeSpec& spec) {
  const config::Json doc = config::with_overrides(spec.arch, spec.overrides);
  config::Json resolved;
  config::Reader root(doc, "", resolved);
  return root.parse_child<serving::SchedulerParams>("serving");
}

// Every request must fit the model's positions: its longest KV is input + output - 1 tokens.
void check_positions(const ServeSpec& spec) {
  const std::uint64_t max = spec.model.max_position_embeddings;
  if (max == 0) return;
  for (const serving::Request& r : spec.requests) {
    const std::uint64_t longest = r.input_tokens + r.output_tokens - 1;
    if (longest > max) {
      throw WorkloadError(spec.requests_source + ": request " + std::to_string(r.id) +
                          " (input " + std::to_string(r.input_tokens) + " + output " +
                          std::to_string(r.output_tokens) + " tokens) reaches position " +
                          std::to_string(longest) + ", past " + spec.model.name +
                          "'s max_position_embeddings " + std::to_string(max));
    }
  }
}

// The bytes of one token's K and V over every layer.
std::uint64_t kv_bytes_per_token(const workloads::ModelConfig& m, isa::DType dtype) {
  return 2 * m.num_hidden_layers * m.num_key_value_heads * m.head_dim * isa::size_bytes(dtype);
}

IterationShape shape_of(const serving::Iteration& it, const serving::SchedulerParams& p,
                        isa::DType dtype) {
  IterationShape s;
  s.dtype = dtype;
  s.block_size = p.block_size;
  s.num_blocks = *p.num_kv_blocks;
  for (const serving::ScheduledSeq& q : it.seqs) {
    IterationSeq seq;
    seq.tokens = q.num_tokens;
    seq.kv_len = q.kv_len_before;
    seq.blocks.assign(q.blocks.begin(), q.blocks.end());
    seq.emits_token = q.emits_token;
    s.seqs.push_back(std::move(seq));
  }
  return s;
}

// Resolves the KV cache's blocks: what the memory holds after the weights and the largest
// iteration's activations: a budget of prompts each attending to the longest KV (its own KV
// pool excluded), and the scores of a full batch of decodes at the longest KV.
std::uint64_t resolve_blocks(const ServeSpec& spec, const serving::SchedulerParams& p,
                             std::uint64_t max_kv, std::uint64_t all, double& clock_mhz) {
  // The budget's tokens (at most `all`, the requests' tokens), as prompts of at most max_kv
  // tokens: the most activations an iteration makes.
  IterationShape big;
  big.dtype = spec.dtype;
  big.block_size = p.block_size;
  std::uint64_t next = 0;
  for (std::uint64_t left = std::min(p.max_num_batched_tokens, all); left > 0;) {
    IterationSeq q;
    q.tokens = std::min(left, max_kv);
    q.kv_len = max_kv - q.tokens;  // each attends to the longest KV: the largest scores
    q.blocks.resize((max_kv + p.block_size - 1) / p.block_size);
    for (std::uint64_t& b : q.blocks) b = next++;
    big.seqs.push_back(q);
    left -= q.tokens;
  }
  big.num_blocks = next;
  const MemoryFit fit = memory_fit(RunSpec{spec.arch_name, spec.arch, spec.overrides,
                                           workloads::build_iteration(spec.model, big),
                                           spec.mapping});
  clock_mhz = fit.clock_mhz;
  const std::uint64_t per_token = kv_bytes_per_token(spec.model, spec.dtype);
  const std::uint64_t own_pool = per_token * p.block_size * big.num_blocks;
  const std::uint64_t other = fit.footprint_bytes - std::min(fit.footprint_bytes, own_pool);
  // The scores of up to min(max_num_seqs, budget) decodes at the longest KV, in 4-byte
  // elements: attention's largest activations besides the prompts'.
  const std::uint64_t decodes = std::min(p.max_num_seqs, p.max_num_batched_tokens);
  const std::uint64_t margin = decodes * max_kv * spec.model.num_attention_heads * 4;
  // Each layer's K and V pools start at a multiple of the memory's period (dram_buffers.h):
  // up to a period of padding before each.
  const std::uint64_t padding = 2 * spec.model.num_hidden_layers * fit.period_bytes;
  const std::uint64_t reserved = other + margin + padding;
  const std::uint64_t available =
      fit.capacity_bytes > reserved ? fit.capacity_bytes - reserved : 0;
  return p.resolve_num_kv_blocks(per_token, available);
}

// Costs each shape exactly, up to `width` at once in child processes (fork_pool.h).
std::vector<IterationCost> exact_costs(ChipRunner& runner, const std::vector<IterationShape>& shapes,
                                       unsigned width) {
  std::vector<bool> forked;
  const std::vector<std::string> bytes = run_in_children(
      shapes.size(),
      [&](std::size_t i) {
        ExactCost e(runner);
        const IterationCost c = e.cost(shapes[i]);
        const double v[2] = {double(c.cycles), c.energy_pj};
        return std::string(reinterpret_cast<const char*>(v), sizeof v);
      },
      width, &forked);
  std::vector<IterationCost> out;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    double v[2];
    LLMSIM_CHECK(bytes[i].size() == sizeof v, "a malformed result from a child process");
    std::memcpy(v, bytes[i].data(), sizeof v);
    out.push_back({std::uint64_t(v[0]), v[1]});
    if (forked[i]) runner.count(out.back().cycles);  // a child's simulation, not yet counted
  }
  return out;
}

std::uint64_t ns_of(std::uint64_t cycles, double clock_mhz) {
  return std::uint64_t(std::ceil(double(cycles) * 1000.0 / clock_mhz));
}

}  // namespace

ServeResult serve(const ServeSpec& spec) {
  const auto wall_start = std::chrono::steady_clock::now();
  const auto log = [&](const std::string& line) {
    if (spec.log) spec.log(line);
  };
  if (spec.cost != "exact" && spec.cost != "table") {
    throw UserError("cost " + spec.cost + ": must be exact or table");
  }
  if (spec.calibration_layers == 0) {
    throw UserError("calibration layers: must be at least 1, got 0");
  }
  serving::validate_requests(spec.requests, spec.requests_source);
  check_positions(spec);
  ServeResult r;
  r.arch_name = spec.arch_name, r.model_name = spec.model.name;
  r.dtype = isa::to_string(spec.dtype), r.cost = spec.cost, r.slo = spec.slo;
  r.scheduler = scheduler_params(spec);
  // The longest KV a sequence reaches, and all the requests' tokens.
  std::uint64_t max_kv = 1, all = 0;
  for (const serving::Request& q : spec.requests) {
    max_kv = std::max(max_kv, q.input_tokens + q.output_tokens - 1);
    all += q.input_tokens + q.output_tokens;
  }
  r.kv_bytes_per_token = kv_bytes_per_token(spec.model, spec.dtype);
  r.scheduler.num_kv_blocks = resolve_blocks(spec, r.scheduler, max_kv, all, r.clock_mhz);
  log("serve: " + std::to_string(spec.requests.size()) + " requests, KV cache of " +
      std::to_string(*r.scheduler.num_kv_blocks) + " blocks of " +
      std::to_string(r.scheduler.block_size) + " tokens");

  ChipRunner runner(spec.arch_name, spec.arch, spec.overrides, spec.model, spec.mapping);
  runner.log = spec.log;
  std::unique_ptr<IterationCoster> coster;
  ExactCost* exact = nullptr;
  if (spec.cost == "exact") {
    auto e = std::make_unique<ExactCost>(runner);
    exact = e.get();
    coster = std::move(e);
  } else {
    TableOptions o;
    o.calibration_layers = spec.calibration_layers;
    const std::uint64_t blocks = *r.scheduler.num_kv_blocks;
    o.max_tokens = std::min({r.scheduler.max_num_batched_tokens, all,
                             blocks * r.scheduler.block_size});
    o.max_kv = max_kv;
    o.max_emits = std::min<std::uint64_t>(
        {r.scheduler.max_num_seqs, spec.requests.size(), o.max_tokens, blocks});
    o.block_size = r.scheduler.block_size;
    o.num_blocks = *r.scheduler.num_kv_blocks;
    o.dtype = spec.dtype;
    const workloads::ModelConfig& m = spec.model;
    const workloads::MappingOptions& mp = spec.mapping;
    std::string key = spec.arch.dump() + "|";
    for (const std::string& s : spec.overrides) key += s + ";";
    // Every field of the model that build_iteration reads.
    for (const std::uint64_t v :
         {m.num_hidden_layers, m.hidden_size, m.intermediate_size, m.num_attention_heads,
          m.num_key_value_heads, m.head_dim, m.vocab_size, m.max_position_embeddings,
          m.type_vocab_size, m.num_labels, std::uint64_t(m.head), std::uint64_t(m.family),
          std::uint64_t(m.activation), std::uint64_t(m.norm), std::uint64_t(m.learned_positions),
          std::uint64_t(m.rope), std::uint64_t(m.embedding_layer_norm),
          std::uint64_t(m.pre_norm), std::uint64_t(m.causal), std::uint64_t(m.gated_ffn),
          std::uint64_t(m.attention_bias), std::uint64_t(m.mlp_bias),
          std::uint64_t(m.scale_attention)}) {
      key += std::to_string(v) + ",";
    }
    key += m.name + "|" + m.model_type + "|" + std::to_string(mp.automatic) +
           std::to_string(mp.split ? int(*mp.split) : -1) + std::to_string(mp.fuses()) +
           std::to_string(mp.tiles_weights());
    if (mp.tiles) {
      for (const std::uint64_t t : *mp.tiles) key += "," + std::to_string(t);
    }
    auto table = std::make_unique<TableCost>(runner, o, key);
    table->calibrate(available_cores());
    coster = std::move(table);
  }

  // Reservoir sampling (seeded) of the iterations to check: each of the n iterations is kept
  // with probability k / n, without storing them all.
  serving::Rng rng(spec.check_seed);
  const std::uint64_t k = spec.cost == "table" ? spec.check_iterations : 0;
  std::vector<std::pair<std::uint64_t, IterationShape>> sample;
  std::uint64_t seen = 0;
  std::vector<IterationCost> costs;  // by iteration
  const serving::CostFn cost = [&](const serving::Iteration& it) {
    const IterationShape shape = shape_of(it, r.scheduler, spec.dtype);
    const IterationCost c = coster->cost(shape);
    costs.push_back(c);
    if (k > 0) {
      if (sample.size() < k) {
        sample.emplace_back(it.index, shape);
      } else {
        const std::uint64_t j = std::uint64_t(rng.uniform() * double(seen + 1));
        if (j < k) sample[j] = {it.index, shape};
      }
    }
    ++seen;
    if (seen % 100 == 0) {
      log("serve: iteration " + std::to_string(seen) + " at " +
          std::to_string(double(it.start_ns) / 1e6) + " ms, " + std::to_string(it.seqs.size()) +
          " sequences, " + std::to_string(it.num_tokens()) + " tokens; " +
          std::to_string(runner.simulations()) + " simulations so far");
    }
    return ns_of(c.cycles, r.clock_mhz);
  };
  serving::SimulationResult sim = serving::simulate(spec.requests, r.scheduler, cost);
  r.requests = std::move(sim.requests);
  r.iterations = std::move(sim.iterations);
  LLMSIM_CHECK(costs.size() == r.iterations.size(), "an iteration without its cost");
  for (std::size_t i = 0; i < costs.size(); ++i) {
    r.iterations[i].cycles = costs[i].cycles, r.iterations[i].energy_pj = costs[i].energy_pj;
    r.energy_pj += costs[i].energy_pj;
  }
  r.summary = serving::summarize(r.requests, r.iterations, spec.slo);

  std::uint64_t busy_ns = 0;
  for (const serving::IterationRecord& i : r.iterations) busy_ns += i.end_ns - i.start_ns;
  if (r.summary.output_tokens) r.energy_per_output_token_pj = r.energy_pj / double(r.summary.output_tokens);
  if (busy_ns) r.average_power_w = r.energy_pj * 1e-12 / (double(busy_ns) * 1e-9);

  // The approximation's error on the sampled iterations, against full simulation.
  const auto check_start = std::chrono::steady_clock::now();
  std::sort(sample.begin(), sample.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<IterationShape> shapes;
  for (const auto& s : sample) shapes.push_back(s.second);
  const unsigned width = available_cores();
  log("serve: checking " + std::to_string(shapes.size()) +
      " sampled iterations by full simulation, " + std::to_string(width) + " at a time");
  const std::vector<IterationCost> full = exact_costs(runner, shapes, width);
  for (std::size_t i = 0; i < sample.size(); ++i) {
    const auto& [index, shape] = sample[i];
    const IterationCost& e = full[i];
    CostCheck c;
    c.iteration = index;
    c.seqs = shape.seqs.size();
    for (const IterationSeq& q : shape.seqs) c.tokens += q.tokens;
    c.table_cycles = costs.at(index).cycles, c.table_pj = costs.at(index).energy_pj;
    c.exact_cycles = e.cycles, c.exact_pj = e.energy_pj;
    r.checks.push_back(c);
  }
  r.check_wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - check_start).count();
  r.simulations = runner.simulations();
  r.simulated_cycles = runner.simulated_cycles();
  if (exact) r.reused_iterations = exact->reused();
  r.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return r;
}

}  // namespace llmsim::driver
