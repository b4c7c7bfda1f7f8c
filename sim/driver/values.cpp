#include "sim/driver/values.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "sim/core/config.h"
#include "sim/core/error.h"
#include "sim/core/json_input.h"

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

std::vector<TensorValues> fill_tensors(values::Machine& m, const workloads::Workload& w,
                                       const workloads::Lowered& lowered, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<TensorValues> out;
  for (const workloads::DramTensor& t : lowered.tensors) {
    TensorValues& tv = out.emplace_back();
    tv.op = t.op, tv.role = t.role, tv.rows = t.rows, tv.cols = t.cols;
    tv.data.reserve(t.rows * t.cols);
    const values::Format f = m.format(t.op, std::uint32_t(t.elem_bytes));
    const double b = bound(w, t);
    std::uniform_real_distribution<double> real(-b, b);
    std::uniform_int_distribution<int> small(-8, 8), wide(-64, 64);
    std::vector<float> row(t.cols);
    std::vector<std::uint8_t> bytes(t.cols * t.elem_bytes);
    for (std::uint64_t r = 0; r < t.rows; ++r) {
      for (float& x : row) {
        x = f == values::Format::int8    ? float(small(rng))
            : f == values::Format::int32 ? float(wide(rng))
                                         : float(real(rng));
      }
      values::encode(f, row.data(), row.size(), bytes.data());
      std::vector<float> exact(row.size());  // as stored (rounded to the format)
      values::decode(f, bytes.data(), exact.size(), exact.data());
      tv.data.insert(tv.data.end(), exact.begin(), exact.end());
      if (t.tile_rows == 0) {
        m.dram().write(t.address(r, 0), bytes.data(), bytes.size());
      } else {
        for (std::uint64_t c = 0; c < t.cols; ++c) {
          m.dram().write(t.address(r, c), bytes.data() + c * t.elem_bytes, t.elem_bytes);
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
