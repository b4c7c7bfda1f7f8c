#include "sim/driver/presets.h"

#include <algorithm>
#include <filesystem>

#include "sim/core/error.h"

namespace llmsim::driver {

namespace fs = std::filesystem;

std::vector<Preset> presets() {
  std::vector<Preset> out;
  const fs::path dir = fs::path(LLMSIM_DATA_DIR) / "configs";
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".json") continue;
    const config::Json j = config::load_json_file(e.path().string());
    out.push_back(
        {e.path().stem().string(), j.value("description", std::string()), e.path().string()});
  }
  std::sort(out.begin(), out.end(),
            [](const Preset& a, const Preset& b) { return a.name < b.name; });
  return out;
}

config::Json load_arch(const std::string& preset_or_path) {
  if (fs::is_regular_file(preset_or_path)) return config::load_json_file(preset_or_path);
  for (const Preset& p : presets()) {
    if (p.name == preset_or_path) return config::load_json_file(p.path);
  }
  std::string names;
  for (const Preset& p : presets()) names += (names.empty() ? "" : ", ") + p.name;
  throw ConfigError("--arch " + preset_or_path +
                    ": no such file and no preset of that name; presets: " + names);
}

}  // namespace llmsim::driver
