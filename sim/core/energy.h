#pragma once
// The energy stats every unit with an energy model registers in its stats group (DESIGN.md,
// "Statistics and energy"):
//   dynamic_energy_pj   per-action counts x per-action energies (a formula the unit gives)
//   leakage_energy_pj   leakage_mw x the simulated time elapsed in the unit's clock domain
//   energy_pj           dynamic + leakage: a node's energy_pj is its total, so a consumer of
//                       the stats tree takes a node's energy_pj and does not descend below it
// A unit has an energy model when its config gives its per-action energies or `leakage_mw`
// (both optional; read_leakage_mw reads the latter); a unit without one registers none of
// these stats, so "not modelled" is never reported as 0 pJ.
#include <functional>
#include <optional>
#include <string>

#include "sim/core/stats.h"

namespace llmsim {
namespace config {
class Reader;
}
}  // namespace llmsim

namespace llmsim::energy {

// mW x s = 1e-3 J = 1e9 pJ.
constexpr double leakage_pj(double leakage_mw, double seconds) {
  return leakage_mw * seconds * 1e9;
}

// The optional "leakage_mw" key of a unit's config object: static power in mW, >= 0.
// `with_model`: the unit's per-action energies are given, so leakage_mw defaults to 0 (and is
// written out); otherwise an absent key gives nullopt.
std::optional<double> read_leakage_mw(config::Reader& r, bool with_model);

class UnitEnergy {
 public:
  // Registers the three stats in `group`. `dynamic_pj` and `elapsed_seconds` are evaluated at
  // dump; what they refer to must outlive this object.
  UnitEnergy(stats::Group& group, const std::string& dynamic_desc,
             std::function<double()> dynamic_pj, double leakage_mw,
             std::function<double()> elapsed_seconds);

  double dynamic_pj() const { return m_dynamic.value(); }
  double leakage_pj() const { return m_leakage.value(); }
  double total_pj() const { return m_total.value(); }

 private:
  stats::Formula m_dynamic;
  stats::Formula m_leakage;
  stats::Formula m_total;
};

}  // namespace llmsim::energy
