#pragma once
// Where llmsim finds its data (the presets configs/*.json, the bundled workloads/gemm/*.json
// and workloads/models/*.json): in an installed tree, PREFIX/share/llmsim/, found from the
// file that holds this code (PREFIX/bin/llmsim, or the Python extension under PREFIX/lib/...);
// otherwise the source tree the build was configured from (LLMSIM_DATA_DIR).
#include <filesystem>
#include <optional>

namespace llmsim {

// PREFIX/share/llmsim/ when this code runs from an installed llmsim: of the directory of the
// executable or shared object that holds this code and the four above it (PREFIX/bin/llmsim,
// PREFIX/lib/python3.11/dist-packages/llmsim/_llmsim*.so), the first whose share/llmsim/ has
// the marker file `cmake --install` writes (kInstallMarker); nullopt in a build tree.
std::optional<std::filesystem::path> installed_share_dir();

// The marker file of an installed share/llmsim/, a JSON object; its "python_dir" is where the
// Python package was installed, relative to PREFIX.
inline constexpr const char* kInstallMarker = "install.json";

// installed_share_dir() if installed, else LLMSIM_DATA_DIR. configs/ and workloads/ are here.
std::filesystem::path data_dir();

}  // namespace llmsim
