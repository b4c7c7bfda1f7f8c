#include "sim/core/energy.h"

#include "sim/core/config.h"

namespace llmsim::energy {

std::optional<double> read_leakage_mw(config::Reader& r, bool with_model) {
  if (!with_model && !r.has("leakage_mw")) return std::nullopt;
  return r.non_negative("leakage_mw", 0.0);
}

UnitEnergy::UnitEnergy(stats::Group& group, const std::string& dynamic_desc,
                       std::function<double()> dynamic_pj, double leakage_mw,
                       std::function<double()> elapsed_seconds)
    : m_dynamic(group, "dynamic_energy_pj", "pJ", dynamic_desc, std::move(dynamic_pj)),
      m_leakage(group, "leakage_energy_pj", "pJ", "leakage_mw x simulated time",
                [leakage_mw, t = std::move(elapsed_seconds)] {
                  return energy::leakage_pj(leakage_mw, t());
                }),
      m_total(group, "energy_pj", "pJ", "dynamic_energy_pj + leakage_energy_pj: the unit's total",
              [this] { return m_dynamic.value() + m_leakage.value(); }) {}

}  // namespace llmsim::energy
