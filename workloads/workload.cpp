#include "workloads/workload.h"

#include <algorithm>
#include <filesystem>

#include "sim/core/error.h"

namespace llmsim::workloads {

namespace fs = std::filesystem;

namespace {

MatmulOp parse_matmul(config::Reader& r, const std::vector<MatmulOp>& earlier, std::size_t index) {
  MatmulOp op;
  op.name = r.string("name", "op" + std::to_string(index));
  op.m = r.count("m");
  op.k = r.count("k");
  op.n = r.count("n");
  op.dtype =
      *isa::parse_dtype(r.choice("dtype", {"int8", "fp16", "bf16", "fp32"}, std::string("int8")));
  if (r.has("a")) {
    const std::string from = r.string("a");
    auto it = std::find_if(earlier.begin(), earlier.end(),
                           [&](const MatmulOp& o) { return o.name == from; });
    if (it == earlier.end()) r.fail("a", "names no earlier op, got \"" + from + "\"");
    if (it->m != op.m || it->n != op.k) {
      r.fail("a", "op \"" + from + "\" produces " + std::to_string(it->m) + "x" +
                      std::to_string(it->n) + ", but A must be m x k = " + std::to_string(op.m) +
                      "x" + std::to_string(op.k));
    }
    op.a_from = int(it - earlier.begin());
  }
  return op;
}

}  // namespace

Workload parse_workload(const config::Json& doc, const std::string& name) {
  // The strict config reader serves workloads too; its errors become WorkloadErrors.
  try {
    Workload w;
    w.name = name;
    config::Json resolved;
    config::Reader root(doc, "", resolved);
    root.ignore("description");
    if (!doc.contains("ops") || !doc["ops"].is_array() || doc["ops"].empty()) {
      root.fail("ops", "must be a non-empty list of ops");
    }
    root.ignore("ops");
    root.finish();
    const auto& ops = doc["ops"];
    for (std::size_t i = 0; i < ops.size(); ++i) {
      config::Json op_resolved;
      config::Reader r(ops[i], "ops[" + std::to_string(i) + "]", op_resolved);
      const std::string kind = r.choice("op", {"matmul"});
      if (kind == "matmul") w.ops.push_back(parse_matmul(r, w.ops, i));
      r.finish();
      for (std::size_t j = 0; j < i; ++j) {
        if (w.ops[j].name == w.ops[i].name)
          r.fail("name", "duplicate op name \"" + w.ops[i].name + "\"");
      }
    }
    return w;
  } catch (const ConfigError& e) {
    throw WorkloadError(name + ": " + e.what());
  }
}

Workload load_workload(const std::string& name_or_path) {
  fs::path p(name_or_path);
  if (!fs::exists(p)) {
    const fs::path bundled =
        fs::path(LLMSIM_DATA_DIR) / "workloads" / "gemm" / (name_or_path + ".json");
    if (!fs::exists(bundled)) {
      std::string names;
      for (const auto& n : bundled_workloads()) names += (names.empty() ? "" : ", ") + n;
      throw WorkloadError("--workload " + name_or_path +
                          ": no such file and no bundled workload of that name; bundled: " + names);
    }
    p = bundled;
  }
  try {
    return parse_workload(config::load_json_file(p.string()), p.stem().string());
  } catch (const ConfigError& e) {
    throw WorkloadError(e.what());
  }
}

std::vector<std::string> bundled_workloads() {
  std::vector<std::string> out;
  const fs::path dir = fs::path(LLMSIM_DATA_DIR) / "workloads" / "gemm";
  if (fs::is_directory(dir)) {
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.path().extension() == ".json") out.push_back(e.path().stem().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace llmsim::workloads
