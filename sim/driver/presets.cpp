#include "sim/driver/presets.h"

#include <algorithm>
#include <filesystem>

#include "sim/core/data_dir.h"
#include "sim/core/error.h"

namespace llmsim::driver {

namespace fs = std::filesystem;

std::vector<Preset> presets() {
  std::vector<Preset> out;
  const fs::path dir = data_dir() / "configs";
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

std::string python_package_dir() {
  const auto share = installed_share_dir();
  if (!share) return LLMSIM_PYTHON_DIR;
  const fs::path marker = *share / kInstallMarker;
  const config::Json j = config::load_json_file(marker.string());
  if (!j.is_object() || !j.contains("python_dir") || !j["python_dir"].is_string()) {
    throw UserError(marker.string() + ": no \"python_dir\" string; reinstall llmsim");
  }
  // share/llmsim/ is PREFIX/share/llmsim/.
  return (share->parent_path().parent_path() / j["python_dir"].get<std::string>()).string();
}

}  // namespace llmsim::driver
