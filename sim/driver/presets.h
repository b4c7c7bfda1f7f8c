#pragma once
// Architecture presets (configs/*.json) and loading an arch config by preset name or path;
// where the presets and the Python package are found (an installed tree or this build).
#include <string>
#include <vector>

#include "sim/core/config.h"

namespace llmsim::driver {

struct Preset {
  std::string name;
  std::string description;
  std::string path;
};

// The presets in data_dir()/configs (sim/core/data_dir.h), sorted by name.
std::vector<Preset> presets();

// A path to a JSON file, or a preset name. Throws ConfigError listing the presets if neither.
config::Json load_arch(const std::string& preset_or_path);

// The directory that holds the Python package `llmsim` (for `llmsim report`): in an installed
// tree, PREFIX/<python_dir> as recorded by `cmake --install` in share/llmsim/install.json;
// otherwise this build's python/ directory (LLMSIM_PYTHON_DIR).
std::string python_package_dir();

}  // namespace llmsim::driver
