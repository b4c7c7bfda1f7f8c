#include "sim/driver/values.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <sys/mman.h>

#include "sim/core/config.h"
#include "sim/core/error.h"
#include "sim/core/json_input.h"
#include "sim/driver/npy.h"
#include "workloads/quant.h"

namespace llmsim::driver {

namespace {

// v.resize(n), asking the kernel for transparent huge pages for the new block first: a fresh
// block is otherwise faulted in 4 KiB at a time, and page faults are dear on this VM (a
// tensor's values are hundreds of MiB on the bigger models). Advice only: no effect where the
// kernel has no THP.
template <class T>
void resize_huge(std::vector<T>& v, std::size_t n) {
  if (v.capacity() < n) {
    std::vector<T> fresh;
    fresh.reserve(n);
    constexpr std::uintptr_t kHuge = std::uintptr_t{2} << 20;
    const auto first = reinterpret_cast<std::uintptr_t>(fresh.data());
    const std::uintptr_t begin = (first + kHuge - 1) & ~(kHuge - 1);
    const std::uintptr_t end = (first + n * sizeof(T)) & ~(kHuge - 1);
    if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
    fresh.assign(v.begin(), v.end());
    v.swap(fresh);
  }
  v.resize(n);
}

// The bound of a tensor's uniform values (above).
double bound(const workloads::Workload& w, const workloads::DramTensor& t) {
  if (t.role == "b" || t.role == "bias") {
    if (const auto* mm = w.ops.at(std::size_t(t.op)).get_if<workloads::MatmulOp>()) {
      return 1.0 / std::sqrt(double(mm->k));
    }
  }
  return 1.0;
}

std::string dims(const std::vector<std::uint64_t>& shape) {
  std::string out;
  for (const std::uint64_t d : shape) out += (out.empty() ? "" : "x") + std::to_string(d);
  return out.empty() ? "()" : out;
}

// Lays the named arrays of tensor t into `data` (t.rows x t.cols, row-major).
void fill_params(const workloads::Workload& w, const workloads::DramTensor& t,
                 const std::vector<std::pair<std::string, std::string>>& index,
                 const ValuesSpec& spec, const std::string& label, std::vector<float>& data) {
  namespace fs = std::filesystem;
  for (const workloads::TensorParam& tp : t.params) {
    const workloads::ParamRef& ref = tp.ref;
    const std::string what =
        label + ": '" + config::printable(ref.name) + "' (op '" +
        config::printable(w.ops.at(std::size_t(t.op)).name()) + "' (ops[" + std::to_string(t.op) +
        "]) " + ref.key + ", expected shape " + dims(tp.shape) +
        (ref.row_end ? " in rows " + std::to_string(ref.row_begin) + ".." +
                           std::to_string(ref.row_end) + " of its first dimension"
                     : std::string()) +
        (ref.transpose ? ", transposed" : "") + ")";
    const auto it = std::find_if(index.begin(), index.end(),
                                 [&](const auto& e) { return e.first == ref.name; });
    if (it == index.end()) {
      // Python's run(params=state_dict) labels its temporary directory "params".
      throw UserError(
          what + ": no such name in " +
          (spec.params_label == "params"
               ? std::string("the state dict")
               : config::printable((fs::path(spec.params_dir) / "index.json").string())));
    }
    NpyFile f((fs::path(spec.params_dir) / it->second).string(), what);
    std::vector<std::uint64_t> got = f.shape();
    if (ref.row_end) {
      if (got.empty() || got[0] < ref.row_end) {
        throw UserError(what + ": shape " + dims(got) + " in " + config::printable(it->second) +
                        " has no rows " + std::to_string(ref.row_begin) + ".." +
                        std::to_string(ref.row_end));
      }
      got[0] = ref.row_end - ref.row_begin;
    }
    // Leading dimensions of 1 are ignored: a (1, 768) gain is the vector of 768.
    while (got.size() > tp.shape.size() && got[0] == 1) got.erase(got.begin());
    if (got != tp.shape) {
      throw UserError(what + ": shape " + dims(f.shape()) + " in " + config::printable(it->second));
    }
    const std::vector<float> a = f.read(ref.row_begin, ref.row_end);
    float* dst = data.data() + tp.first_row * t.cols;
    LLMSIM_CHECK(tp.first_row * t.cols + a.size() <= data.size(),
                 "a parameter overruns its tensor");
    if (tp.block_rows) {  // block i of block_rows rows at tensor row first_row + i * stride
      const std::uint64_t n = tp.block_rows * t.cols;
      for (std::uint64_t i = 0; i < a.size() / n; ++i) {
        LLMSIM_CHECK((tp.first_row + i * tp.block_stride) * t.cols + n <= data.size(),
                     "a parameter block overruns its tensor");
        std::copy_n(a.begin() + std::ptrdiff_t(i * n), n,
                    data.begin() + std::ptrdiff_t((tp.first_row + i * tp.block_stride) * t.cols));
      }
      continue;
    }
    if (!ref.transpose) {
      std::copy(a.begin(), a.end(), dst);
      continue;
    }
    // Item by item, the array's r x c (the last two dimensions) is the tensor's c x r.
    const std::uint64_t r = tp.shape[tp.shape.size() - 2], c = tp.shape.back();
    for (std::uint64_t item = 0; item < a.size() / (r * c); ++item) {
      const float* src = a.data() + item * r * c;
      float* out = dst + item * r * c;
      for (std::uint64_t i = 0; i < r; ++i) {
        for (std::uint64_t j = 0; j < c; ++j) out[j * r + i] = src[i * c + j];
      }
    }
  }
}

}  // namespace

std::vector<std::pair<std::string, std::string>> read_param_index(const std::string& dir,
                                                                  const std::string& label) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw UserError(label + ": no such directory");
  const fs::path file = fs::path(dir) / "index.json";
  if (!fs::is_regular_file(file, ec)) {
    throw UserError(label +
                    ": no index.json in it (write it with llmsim.write_params, or by "
                    "hand: {\"params\": {\"state-dict name\": \"file.npy\", ...}})");
  }
  config::Json doc;
  try {
    doc = config::load_json_file(file.string());
  } catch (const UserError& e) {
    throw UserError(label + ": " + e.what());
  }
  if (!doc.is_object() || !doc.contains("params") || !doc.at("params").is_object()) {
    throw UserError(label + ": index.json must be {\"params\": {name: file.npy, ...}}");
  }
  std::vector<std::pair<std::string, std::string>> out;
  for (auto it = doc.at("params").begin(); it != doc.at("params").end(); ++it) {
    if (!it.value().is_string() || it.value().get<std::string>().empty()) {
      throw UserError(label + ": index.json params." + config::printable(it.key()) +
                      ": must be a file name (a .npy file in the directory), got " +
                      config::short_dump(it.value()));
    }
    out.emplace_back(it.key(), it.value().get<std::string>());
  }
  return out;
}

// SplitMix64's finaliser (Steele, Lea, Flood 2014): a counter-based generator, so element i of
// tensor t has the same value whatever else the workload holds, and no state runs through.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

std::vector<TensorValues> fill_tensors(values::Machine& m, const workloads::Workload& w,
                                       const workloads::Lowered& lowered, const ValuesSpec& spec) {
  std::vector<TensorValues> out;
  const std::uint64_t key = mix(spec.seed);
  const std::string label =
      spec.params_label.empty() ? "--values-params " + spec.params_dir : spec.params_label;
  std::vector<std::pair<std::string, std::string>> index;
  if (!spec.params_dir.empty()) index = read_param_index(spec.params_dir, label);
  // One byte buffer for all tensors, and with keep none one float buffer: each tensor's fresh
  // pages would cost a page fault per 4 KiB (about a tenth of an int8 BERT-base run).
  std::vector<std::uint8_t> bytes;
  std::vector<float> scratch;
  for (std::size_t ti = 0; ti < lowered.tensors.size(); ++ti) {
    const workloads::DramTensor& t = lowered.tensors[ti];
    TensorValues tv;
    tv.op = t.op, tv.role = t.role, tv.rows = t.rows, tv.cols = t.cols;
    if (spec.keep == KeepValues::none) tv.data.swap(scratch);
    resize_huge(tv.data, t.rows * t.cols);
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
    for (const workloads::TensorParam& tp : t.params)
      tv.params.emplace_back(tp.ref.key, tp.ref.name);
    if (!spec.params_dir.empty()) fill_params(w, t, index, spec, label, tv.data);
    // As stored: rounded to the format, then decoded back.
    resize_huge(bytes, tv.data.size() * t.elem_bytes);
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
    if (spec.keep == KeepValues::all) {
      out.push_back(std::move(tv));
    } else {
      scratch.swap(tv.data);
    }
  }
  return out;
}

std::vector<OpValues> read_outputs(const values::Machine& m, const workloads::Workload& w,
                                   const workloads::Lowered& lowered) {
  std::vector<OpValues> out(w.ops.size());
  std::vector<std::uint8_t> bytes;  // reused (fill_tensors)
  for (std::size_t i = 0; i < w.ops.size(); ++i) {
    const workloads::DramOutput& o = lowered.outputs.at(i);
    OpValues& v = out[i];
    v.name = w.ops[i].name();
    v.rows = o.rows, v.cols = o.cols, v.stored = o.stored;
    if (!o.stored) continue;
    const values::Format f = m.format(int(i), std::uint32_t(o.elem_bytes));
    resize_huge(bytes, o.rows * o.cols * o.elem_bytes);
    m.stored_by(o.writer).read(o.addr, bytes.data(), bytes.size());
    resize_huge(v.data, o.rows * o.cols);
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
                  const std::string& dir, int token_op,
                  const std::vector<std::uint64_t>& token_ids) {
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
    config::Json e{{"op", t.op},
                   {"role", t.role},
                   {"shape", {t.rows, t.cols}},
                   {"file", numbered("tensor_", i)}};
    for (const auto& [k, name] : t.params) e["params"][k] = config::printable(name);
    index["tensors"].push_back(e);
    write_npy(root / numbered("tensor_", i), t.rows, t.cols, t.data, dir);
  }
  if (!token_ids.empty()) index["tokens"] = {{"op", token_op}, {"ids", token_ids}};
  std::ofstream f(root / "index.json");
  f << index.dump(1) << "\n";
  if (!f) throw UserError("--out " + dir + ": cannot write values/index.json");
}

}  // namespace llmsim::driver
