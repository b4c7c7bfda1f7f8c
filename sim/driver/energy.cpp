#include "sim/driver/energy.h"

#include <algorithm>

#include "sim/core/error.h"

namespace llmsim::driver {

namespace {

double formula_value(const stats::Group& g, const std::string& name) {
  const auto* f = dynamic_cast<const stats::Formula*>(g.find(name));
  LLMSIM_CHECK(f, g.path() + "." + name + ": expected an energy formula");
  return f->value();
}

void add(std::vector<std::pair<std::string, double>>& to, const std::string& unit, double pj) {
  auto it = std::find_if(to.begin(), to.end(), [&](const auto& e) { return e.first == unit; });
  if (it == to.end()) {
    to.emplace_back(unit, pj);
  } else {
    it->second += pj;
  }
}

void walk(const stats::Group& g, RunEnergy& e) {
  if (g.find("energy_pj")) {
    add(e.by_unit, g.name(), formula_value(g, "energy_pj"));
    // Units of sim/core/energy.h split out their leakage; HBM's total (background power
    // included) has no such part.
    if (g.find("leakage_energy_pj")) {
      add(e.leakage_by_unit, g.name(), formula_value(g, "leakage_energy_pj"));
    }
    return;
  }
  for (const stats::Group* c : g.children()) walk(*c, e);
}

}  // namespace

std::optional<std::uint64_t> tokens_of(const workloads::TraceMeta& meta) {
  const std::uint64_t batch = meta.batch.value_or(1);
  if (meta.seq) return batch * *meta.seq;
  if (meta.phase == "decode") return batch;
  return std::nullopt;
}

RunEnergy collect_energy(const stats::Group& chip, double seconds,
                         std::optional<std::uint64_t> tokens) {
  RunEnergy e;
  walk(chip, e);
  e.reported = !e.by_unit.empty();
  for (const auto& [unit, pj] : e.by_unit) e.total_pj += pj;
  for (const auto& [unit, pj] : e.leakage_by_unit) e.leakage_pj += pj;
  e.tokens = tokens;
  if (tokens && *tokens > 0) e.per_token_pj = e.total_pj / double(*tokens);
  // pJ / s = 1e-12 W.
  e.average_power_w = seconds > 0 ? e.total_pj * 1e-12 / seconds : 0.0;
  return e;
}

config::Json to_json(const RunEnergy& e) {
  config::Json j = {{"total_pj", e.total_pj},
                    {"leakage_pj", e.leakage_pj},
                    {"by_unit", config::Json::object()},
                    {"leakage_by_unit", config::Json::object()},
                    {"average_power_w", e.average_power_w}};
  for (const auto& [unit, pj] : e.by_unit) j["by_unit"][unit] = pj;
  for (const auto& [unit, pj] : e.leakage_by_unit) j["leakage_by_unit"][unit] = pj;
  if (e.tokens) j["tokens"] = *e.tokens;
  if (e.per_token_pj) j["per_token_pj"] = *e.per_token_pj;
  return j;
}

}  // namespace llmsim::driver
