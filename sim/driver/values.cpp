#include "sim/driver/values.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "sim/core/config.h"
#include "sim/core/error.h"
#include "sim/core/json_input.h"
#include "workloads/quant.h"

namespace llmsim::driver {

namespace {

// The bound of a tensor's uniform values (above).
double bound(const workloads::Workload& w, const workloads::DramTensor& t) {
  if (t.role == "b" || t.role == "bias") {
    if (const auto* mm = w.ops.at(std::size_t(t.op)).get_if<workloads::MatmulOp>()) {
      return 1.0 / std::sqrt(double(mm->k));
    }
  }
  return 1.0;
}

}  // namespace

// SplitMix64's finaliser (Steele, Lea, Flood 2014): a counter-based generator, so element i of
// tensor t has the same value whatever else the workload holds, and no state runs through.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

std::vector<TensorValues> fill_tensors(values::Machine& m, const workloads::Workload& w,
                                       const workloads::Lowered& lowered, std::uint64_t seed) {
  std::vector<TensorValues> out;
  const std::uint64_t key = mix(seed);
  for (std::size_t ti = 0; ti < lowered.tensors.size(); ++ti) {
    const workloads::DramTensor& t = lowered.tensors[ti];
    TensorValues& tv = out.emplace_back();
    tv.op = t.op, tv.role = t.role, tv.rows = t.rows, tv.cols = t.cols;
    tv.data.resize(t.rows * t.cols);
    const values::Format f = m.format(t.op, std::uint32_t(t.elem_bytes));
    const double b = bound(w, t);
    // An integer tensor (int8, a matmul's int32 bias) holds the same real values quantised at
    // its step (workloads/quant.h): the encoding below rounds half to even and saturates.
    const double step = values::is_integer(f) ? workloads::tensor_scale(w, t) : 1.0;
    const std::uint64_t stream = mix(key ^ mix(ti));
    for (std::size_t i = 0; i < tv.data.size(); ++i) {
      const std::uint64_t x = mix(stream + i);
      tv.data[i] = float(b * (double(x >> 11) * 0x1p-52 - 1.0) / step);
    }
    // As stored: rounded to the format, then decoded back.
    std::vector<std::uint8_t> bytes(tv.data.size() * t.elem_bytes);
    values::encode(f, tv.data.data(), tv.data.size(), bytes.data());
    values::decode(f, bytes.data(), tv.data.size(), tv.data.data());
    const std::uint64_t row = t.cols * t.elem_bytes;
    if (t.tile_rows == 0) {
      m.dram().write(t.address(0, 0), bytes.data(), bytes.size());  // dense, row-major
    } else {
      for (std::uint64_t r = 0; r < t.rows; ++r) {  // a tile's row is contiguous
        for (std::uint64_t c = 0; c < t.cols; c += t.tile_cols) {
          const std::uint64_t n = std::min(t.tile_cols, t.cols - c);
          m.dram().write(t.address(r, c), bytes.data() + r * row + c * t.elem_bytes,
                         n * t.elem_bytes);
        }
      }
    }
  }
  return out;
}

std::vector<OpValues> read_outputs(const values::Machine& m, const workloads::Workload& w,
                                   const workloads::Lowered& lowered) {
  std::vector<OpValues> out(w.ops.size());
  for (std::size_t i = 0; i < w.ops.size(); ++i) {
    const workloads::DramOutput& o = lowered.outputs.at(i);
    OpValues& v = out[i];
    v.name = w.ops[i].name();
    v.rows = o.rows, v.cols = o.cols, v.stored = o.stored;
    if (!o.stored) continue;
    const values::Format f = m.format(int(i), std::uint32_t(o.elem_bytes));
    std::vector<std::uint8_t> bytes(o.rows * o.cols * o.elem_bytes);
    m.stored_by(o.writer).read(o.addr, bytes.data(), bytes.size());
    v.data.resize(o.rows * o.cols);
    values::decode(f, bytes.data(), v.data.size(), v.data.data());
  }
  return out;
}

namespace {

// NumPy format 1.0: magic, version, header length, a dict padded to 64 bytes, float32 data.
void write_npy(const std::filesystem::path& file, std::uint64_t rows, std::uint64_t cols,
               const std::vector<float>& data, const std::string& dir) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" +
                       std::to_string(rows) + ", " + std::to_string(cols) + "), }";
  header.append(64 - (10 + header.size() + 1) % 64, ' ');
  header += '\n';
  std::ofstream f(file, std::ios::binary);
  const std::uint16_t len = std::uint16_t(header.size());
  f.write("\x93NUMPY\x01\x00", 8);
  f.put(char(len & 0xff)).put(char(len >> 8));
  f << header;
  f.write(reinterpret_cast<const char*>(data.data()), std::streamsize(data.size() * sizeof(float)));
  if (!f) throw UserError("--out " + dir + ": cannot write " + file.string());
}

std::string numbered(const char* prefix, std::size_t i) {
  char name[48];
  std::snprintf(name, sizeof name, "%s%05zu.npy", prefix, i);
  return name;
}

}  // namespace

void write_values(const std::vector<OpValues>& outputs, const std::vector<TensorValues>& tensors,
                  const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path root = fs::path(dir) / "values";
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) throw UserError("--out " + dir + ": cannot create values/: " + ec.message());
  config::Json index{{"outputs", config::Json::array()}, {"tensors", config::Json::array()}};
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const OpValues& v = outputs[i];
    config::Json e{{"op", i},
                   {"name", config::printable(v.name)},
                   {"shape", {v.rows, v.cols}},
                   {"stored", v.stored}};
    if (v.stored) {
      e["file"] = numbered("", i);
      write_npy(root / numbered("", i), v.rows, v.cols, v.data, dir);
    }
    index["outputs"].push_back(e);
  }
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const TensorValues& t = tensors[i];
    index["tensors"].push_back({{"op", t.op},
                                {"role", t.role},
                                {"shape", {t.rows, t.cols}},
                                {"file", numbered("tensor_", i)}});
    write_npy(root / numbered("tensor_", i), t.rows, t.cols, t.data, dir);
  }
  std::ofstream f(root / "index.json");
  f << index.dump(1) << "\n";
  if (!f) throw UserError("--out " + dir + ": cannot write values/index.json");
}

}  // namespace llmsim::driver
