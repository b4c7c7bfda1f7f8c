#include "arch/hbm/hbm_system.h"

#include <algorithm>

#include "sim/core/config.h"

namespace llmsim::hbm {

HbmParams HbmParams::parse(config::Reader& memory) {
  HbmParams p;
  p.spec = parse_device(memory);
  p.controller = memory.parse_child<ControllerParams>("controller");
  p.address_mapping = memory.string("address_mapping", std::string("ro_ba_bg_co_pc_ch"));
  p.interface_hash =
      memory.choice("interface_hash", {"none", "rotate"}, std::string("none")) == "rotate"
          ? InterfaceHash::rotate
          : InterfaceHash::none;
  // Validated here so the error names the key, before anything is built.
  AddressMapping(p.address_mapping, p.spec.org, memory.key_path("address_mapping"));
  return p;
}

HbmSystem::HbmSystem(const HbmParams& p, stats::Group& group, const std::string& key_path)
    : m_params(p),
      m_mapping(p.address_mapping, p.spec.org, key_path + ".address_mapping", p.interface_hash),
      m_group(group),
      m_read_bytes(group, "read_bytes", "byte", "bytes read, all interfaces",
                   [this] { return double(sum("read_bytes")); }),
      m_written_bytes(group, "written_bytes", "byte", "bytes written, all interfaces",
                      [this] { return double(sum("written_bytes")); }),
      m_bandwidth(group, "achieved_bandwidth_gb_per_s", "GB/s",
                  "bytes moved / time the controllers have advanced to",
                  [this] {
                    double cycles = 0;
                    for (const auto& c : m_controllers) cycles = std::max(cycles, double(c->now()));
                    const double s = cycles / (m_params.spec.timing.clock_mhz * 1e6);
                    return s > 0 ? double(read_bytes() + written_bytes()) / s / 1e9 : 0.0;
                  }),
      m_row_hit_rate(group, "row_hit_rate", "ratio", "row hits / column commands",
                     [this] { return row_hit_rate(); }),
      m_energy(group, "energy_pj", "pJ", "DRAM energy, all interfaces",
               [this] { return energy_pj(); }) {
  const Organization& o = p.spec.org;
  // One timing table for every pseudo channel of the device.
  const std::shared_ptr<const BankTiming::Table> table = BankTiming::table_for(p.spec);
  for (std::uint32_t ch = 0; ch < o.stacks * o.channels_per_stack; ++ch) {
    for (std::uint32_t pc = 0; pc < o.pseudo_channels; ++pc) {
      m_names.push_back("ch" + std::to_string(ch) + "_pc" + std::to_string(pc));
      m_controllers.push_back(std::make_unique<ChannelController>(p.spec, p.controller, group,
                                                                  m_names.back(), table));
    }
  }
}

std::uint64_t HbmSystem::sum(const std::string& counter) const {
  std::uint64_t s = 0;
  for (const auto& n : m_names) s += m_group.counter_value(n + "." + counter);
  return s;
}

std::uint64_t HbmSystem::read_bytes() const {
  return sum("read_bytes");
}
std::uint64_t HbmSystem::written_bytes() const {
  return sum("written_bytes");
}

double HbmSystem::row_hit_rate() const {
  const std::uint64_t hits = sum("row_hits");
  const std::uint64_t all = hits + sum("row_misses") + sum("row_conflicts");
  return all ? double(hits) / double(all) : 0.0;
}

double HbmSystem::energy_pj() const {
  double e = 0;
  for (const auto& n : m_names) {
    const auto* s = dynamic_cast<const stats::Formula*>(m_group.find(n + ".energy_pj"));
    if (s) e += s->value();
  }
  return e;
}

}  // namespace llmsim::hbm
