#pragma once
// Architecture presets (configs/*.json) and loading an arch config by preset name or path.
#include <string>
#include <vector>

#include "sim/core/config.h"

namespace llmsim::driver {

struct Preset {
  std::string name;
  std::string description;
  std::string path;
};

std::vector<Preset> presets();

// A path to a JSON file, or a preset name. Throws ConfigError listing the presets if neither.
config::Json load_arch(const std::string& preset_or_path);

}  // namespace llmsim::driver
