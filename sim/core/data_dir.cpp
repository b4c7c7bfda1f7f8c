#include "sim/core/data_dir.h"

#include <dlfcn.h>
#include <link.h>

#include <system_error>

namespace llmsim {

namespace fs = std::filesystem;

namespace {

// The file that holds this function: the shared object it is linked into (the Python
// extension), else the executable. The main program's link map has an empty name (dladdr
// would give argv[0]'s spelling); /proc/self/exe is exact.
fs::path code_file() {
  Dl_info info{};
  link_map* map = nullptr;
  std::error_code ec;
  if (dladdr1(reinterpret_cast<void*>(&code_file), &info, reinterpret_cast<void**>(&map),
              RTLD_DL_LINKMAP) != 0 &&
      map && map->l_name && *map->l_name) {
    fs::path file = fs::canonical(map->l_name, ec);
    if (!ec) return file;
  }
  fs::path self = fs::canonical("/proc/self/exe", ec);
  return ec ? fs::path() : self;
}

}  // namespace

std::optional<fs::path> installed_share_dir() {
  const fs::path file = code_file();
  if (file.empty()) return std::nullopt;
  fs::path dir = file.parent_path();
  std::error_code ec;
  for (int up = 0; up <= 4 && !dir.empty(); ++up, dir = dir.parent_path()) {
    const fs::path share = dir / "share" / "llmsim";
    if (fs::is_regular_file(share / kInstallMarker, ec)) return share;
    if (dir == dir.root_path()) break;
  }
  return std::nullopt;
}

fs::path data_dir() {
  if (auto share = installed_share_dir()) return *share;
  return LLMSIM_DATA_DIR;
}

}  // namespace llmsim
