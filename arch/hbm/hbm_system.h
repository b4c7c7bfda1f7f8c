#pragma once
// The HBM memory system as plain C++: the device, the address mapping and one controller per
// interface (pseudo channel). Shared by the SystemC backend (hbm_memory.h) that serves the DMA
// engines and by `llmsim memtest`, which drives it without the SystemC kernel.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "arch/hbm/address_mapping.h"
#include "arch/hbm/channel_controller.h"
#include "arch/hbm/controller_params.h"
#include "arch/hbm/dram_spec.h"
#include "sim/core/stats.h"

namespace llmsim::hbm {

struct HbmParams {
  DramSpec spec;
  ControllerParams controller;
  std::string address_mapping = "ro_ba_bg_co_pc_ch";
  InterfaceHash interface_hash = InterfaceHash::none;

  // Keys of the `memory` object besides "type": device, controller, address_mapping,
  // interface_hash ("none" or "rotate", see address_mapping.h).
  static HbmParams parse(config::Reader& memory);
};

class HbmSystem {
 public:
  // Stats: one group per interface ("ch3_pc1") under `group`, plus totals in `group` itself.
  HbmSystem(const HbmParams& p, stats::Group& group, const std::string& key_path);

  const DramSpec& spec() const { return m_params.spec; }
  const AddressMapping& mapping() const { return m_mapping; }
  std::uint32_t interfaces() const { return std::uint32_t(m_controllers.size()); }
  // Interface i's name, as its stats group: "ch3_pc1".
  const std::string& interface_name(std::uint32_t i) const { return m_names.at(i); }
  ChannelController& controller(std::uint32_t i) { return *m_controllers[i]; }

  std::uint64_t read_bytes() const;
  std::uint64_t written_bytes() const;
  double row_hit_rate() const;  // row hits / column commands, all interfaces
  double energy_pj() const;

 private:
  std::uint64_t sum(const std::string& counter) const;

  HbmParams m_params;
  AddressMapping m_mapping;
  stats::Group& m_group;
  std::vector<std::string> m_names;
  std::vector<std::unique_ptr<ChannelController>> m_controllers;
  stats::Formula m_read_bytes;
  stats::Formula m_written_bytes;
  stats::Formula m_bandwidth;
  stats::Formula m_row_hit_rate;
  stats::Formula m_energy;
};

}  // namespace llmsim::hbm
