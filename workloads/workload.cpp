#include "workloads/workload.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <unordered_map>
#include <unordered_set>

#include "sim/core/data_dir.h"
#include "sim/core/error.h"
#include "sim/core/json_input.h"
#include "workloads/limits.h"
#include "workloads/quant.h"

namespace llmsim::workloads {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kDTypes = {"int8", "fp16", "bf16", "fp32"};
const std::vector<VectorKind> kVectorKinds = {
    VectorKind::add,      VectorKind::mul,        VectorKind::scale,   VectorKind::mask,
    VectorKind::relu,     VectorKind::gelu,       VectorKind::silu,    VectorKind::tanh,
    VectorKind::softmax,  VectorKind::layernorm,  VectorKind::rmsnorm, VectorKind::rope,
    VectorKind::quantize, VectorKind::dequantize, VectorKind::copy};
constexpr const char* kOperandHelp = "an earlier op's name, \"input\", \"weight\" or \"kv_cache\"";

std::vector<std::string> op_kinds() {
  std::vector<std::string> out = {"matmul", "embedding", "kv_write"};
  for (VectorKind k : kVectorKinds) out.push_back(to_string(k));
  return out;
}

std::string n2s(std::uint64_t x) {
  return std::to_string(x);
}

// The shape an op's output has as its producer writes it, for messages ("12x128x64").
std::string shape_of(const Op& op) {
  if (const auto* m = op.get_if<MatmulOp>()) {
    return (m->batch > 1 ? n2s(m->batch) + "x" : "") + n2s(m->m) + "x" + n2s(m->n);
  }
  if (const auto* v = op.get_if<VectorOp>()) return n2s(v->rows) + "x" + n2s(v->cols);
  if (const auto* e = op.get_if<EmbeddingOp>()) return n2s(e->tokens) + "x" + n2s(e->hidden);
  const auto& kv = std::get<KvWriteOp>(op.body());
  return n2s(kv.batch) + "x" + n2s(kv.heads) + "x" + n2s(kv.kv_len + kv.tokens) + "x" +
         n2s(kv.head_dim);
}

using NameIndex = std::unordered_map<std::string, int>;

// The paged KV pools named so far (KvWriteOp::pool): what their kv_writes must agree on, and
// which op holds each block.
struct Pool {
  int first_op = -1;
  std::uint64_t pool_blocks = 0, block_size = 0, heads = 0, head_dim = 0;
  isa::DType dtype = isa::DType::int8;
  std::unordered_map<std::uint64_t, int> owner;  // block id -> the kv_write holding it
};
struct Pools {
  std::unordered_map<std::string, Pool> by_name;
  std::unordered_set<int> continued;  // matmuls another continues (append_to)
};

constexpr std::uint64_t kMaxDim() {
  return config::kMaxInteger;
}

// Reads the ops of one trace in order; each op may refer to the ones before it.
class OpParser {
 public:
  OpParser(const Workload& w, const NameIndex& names, Pools& pools, config::Reader& r,
           const config::Json& node)
      : m_w(w), m_names(names), m_pools(pools), m_r(r), m_node(node) {}

  // Reads operand `text` written under `key` (e.g. "a" or "inputs[1]"); for an op-produced
  // operand, checks it has `elements` elements (0: any multiple of `multiple_of`) and `dtype`.
  Operand operand(const std::string& key, const config::Json& text, std::uint64_t elements,
                  std::uint64_t multiple_of, const std::string& what, bool check_dtype,
                  isa::DType dtype) const {
    if (!text.is_string())
      fail(key, "must be " + std::string(kOperandHelp) + ", got " + config::short_dump(text));
    const std::string s = text.get<std::string>();
    if (s == "input") return {Source::input, -1};
    if (s == "weight") return {Source::weight, -1};
    if (s == "kv_cache") return {Source::kv_cache, -1};
    const auto it = m_names.find(s);
    const int from = it == m_names.end() ? -1 : it->second;
    if (from < 0) fail(key, "names no earlier op, got \"" + s + "\"; must be " + kOperandHelp);
    const Op& p = m_w.ops[std::size_t(from)];
    const std::uint64_t got = p.output_elements();
    const bool ok = elements ? got == elements : got % multiple_of == 0;
    if (!ok) {
      fail(key, "op \"" + s + "\" produces " + shape_of(p) + " = " + n2s(got) + " elements, but " +
                    what);
    }
    if (check_dtype && p.dtype() != dtype) {
      fail(key, "op \"" + s + "\" produces " + isa::to_string(p.dtype()) + ", but this op is " +
                    isa::to_string(dtype) + " (convert with quantize or dequantize)");
    }
    return Operand::from_op(from);
  }

  MatmulOp matmul(OpInfo info) {
    MatmulOp op;
    static_cast<OpInfo&>(op) = std::move(info);
    op.m = m_r.count("m");
    op.k = m_r.count("k");
    op.n = m_r.count("n");
    op.batch = m_r.count("batch", 1);
    sizes(op);
    const std::string bmk = "A needs batch x m x k = " + n2s(op.batch) + "x" + n2s(op.m) + "x" +
                            n2s(op.k) + " = " + n2s(op.batch * op.m * op.k);
    const std::string bkn = "B needs batch x k x n = " + n2s(op.batch) + "x" + n2s(op.k) + "x" +
                            n2s(op.n) + " = " + n2s(op.batch * op.k * op.n);
    op.a_offset = m_r.uint("a_offset", 0, kMaxElements);
    if (!m_r.has("a_offset")) {
      op.a = read_operand("a", "input", op.batch * op.m * op.k, bmk, op.dtype);
    } else {
      m_r.ignore("a");
      if (!m_r.has("a")) fail("a", "is required with a_offset (an earlier op's name)");
      op.a = operand("a", m_node.at("a"), 0, 1, "", true, op.dtype);
      if (!op.a.is_op()) fail("a_offset", "applies to an op-produced A only");
      const std::uint64_t got = m_w.ops[std::size_t(op.a.op)].output_elements();
      if (got < op.batch * op.m * op.k || got - op.batch * op.m * op.k < op.a_offset) {
        fail("a_offset", "A from element " + n2s(op.a_offset) + " needs " + bmk.substr(8) +
                             " elements, but op \"" + m_w.ops[std::size_t(op.a.op)].name() +
                             "\" produces " + n2s(got));
      }
    }
    op.b = read_operand("b", "weight", op.batch * op.k * op.n, bkn, op.dtype);
    op.transpose_b = m_r.boolean("transpose_b", false);
    op.bias = m_r.boolean("bias", false);
    if (m_r.has("append_to")) {
      const std::string to = m_r.string("append_to");
      const auto it = m_names.find(to);
      const auto* prev = it == m_names.end() ? nullptr : m_w.ops[std::size_t(it->second)].get_if<MatmulOp>();
      if (prev == nullptr) fail("append_to", "must name an earlier matmul, got \"" + to + "\"");
      if (prev->dtype != op.dtype) {
        fail("append_to", "op \"" + to + "\" is " + isa::to_string(prev->dtype) +
                              ", this op is " + isa::to_string(op.dtype));
      }
      if (!m_pools.continued.insert(it->second).second) {
        fail("append_to", "another op already continues op \"" + to +
                              "\" (the outputs of a run form a chain)");
      }
      op.append_to = it->second;
      op.prefix_elements = prev->output_elements();
      limit("append_to", [&] { elements({op.prefix_elements + op.own_elements()}, "output with append_to"); });
    }
    if (m_r.has("dataflow")) {
      const std::string df = m_r.choice("dataflow", {"ws", "os", "is"});
      op.dataflow = df == "ws"   ? isa::Dataflow::ws
                    : df == "os" ? isa::Dataflow::os
                                 : isa::Dataflow::is;
    }
    return op;
  }

  VectorOp vector(OpInfo info, VectorKind kind) {
    VectorOp op;
    static_cast<OpInfo&>(op) = std::move(info);
    op.kind = kind;
    op.rows = m_r.count("rows");
    op.cols = m_r.count("cols");
    if (kind == VectorKind::copy) {
      op.row_offset = m_r.uint("row_offset", 0);
      op.row_stride = m_r.count("row_stride", 1);
    }
    if (kind == VectorKind::scale) op.scalar = finite("scalar", 1.0);
    if (kind == VectorKind::copy && m_r.has("row_indices")) {
      op.row_indices = m_r.uint_list("row_indices", config::kMaxInteger);
      if (op.row_indices.size() != op.rows) {
        fail("row_indices", "must list rows = " + n2s(op.rows) + " rows, got " +
                                n2s(op.row_indices.size()));
      }
      if (m_r.has("row_offset") || m_r.has("row_stride")) {
        fail("row_indices", "replaces row_offset and row_stride; give one or the other");
      }
    }
    if (kind == VectorKind::mask && (m_r.has("tokens") || m_r.has("kv_len"))) {
      op.tokens = m_r.count("tokens", op.cols);
      op.kv_len = m_r.uint("kv_len", 0);
      if (op.rows % op.tokens != 0) {
        fail("tokens", "must divide rows = " + n2s(op.rows) +
                           " (rows are blocks of tokens queries), got " + n2s(op.tokens));
      }
      if (op.kv_len > op.cols || op.cols - op.kv_len != op.tokens) {
        fail("tokens", "kv_len + tokens must be cols = " + n2s(op.cols) +
                           " (the keys: the cached ones, then the queries' own), got " +
                           n2s(op.kv_len) + " + " + n2s(op.tokens));
      }
    }
    if (kind == VectorKind::rope) {
      op.head_dim = m_r.count("head_dim", op.cols);
      op.tokens = m_r.count("tokens", op.rows);
      op.kv_len = m_r.uint("kv_len", 0);
      op.row_offset = m_r.uint("row_offset", 0);
    }
    sizes(op);
    if (kind == VectorKind::rope) {
      if (op.head_dim % 2 != 0 || op.cols % op.head_dim != 0) {
        fail("head_dim",
             "rope rotates pairs within each head, so head_dim (default cols) must "
             "be even and divide cols = " +
                 n2s(op.cols) + ", got " + n2s(op.head_dim));
      }
      if (op.rows % op.tokens != 0) {
        fail("tokens", "must divide rows = " + n2s(op.rows) +
                           " (rows are whole sequences of tokens), got " + n2s(op.tokens));
      }
    }
    const std::size_t n = arity(kind);
    const std::string need = "a list of " + std::to_string(n) +
                             (n == 1 ? " operand" : " operands") + ", each " + kOperandHelp;
    m_r.ignore("inputs");
    if (!m_r.has("inputs")) fail("inputs", "is required (" + need + ")");
    const config::Json& list = m_node.at("inputs");
    if (!list.is_array() || list.size() != n) {
      fail("inputs", "must be " + need + ", got " + config::short_dump(list));
    }
    const bool converts = kind == VectorKind::quantize || kind == VectorKind::dequantize;
    std::uint64_t last_row = op.row_offset + (op.rows - 1) * op.row_stride;
    if (!op.row_indices.empty()) {
      last_row = *std::max_element(op.row_indices.begin(), op.row_indices.end());
    }
    const bool selects =
        kind == VectorKind::copy || (kind == VectorKind::rope && m_r.has("row_offset"));
    for (std::size_t i = 0; i < n; ++i) {
      const std::string key = "inputs[" + std::to_string(i) + "]";
      const Operand in =
          selects
              ? operand(key, list[i], 0, op.cols,
                        std::string(to_string(kind)) + " needs a multiple of cols = " + n2s(op.cols),
                        true, op.dtype)
              : operand(key, list[i], op.rows * op.cols, 0,
                        "this op needs rows x cols = " + n2s(op.rows) + "x" + n2s(op.cols) + " = " +
                            n2s(op.rows * op.cols),
                        !converts, op.dtype);
      if (selects && in.is_op()) {
        const std::uint64_t in_rows = m_w.ops[std::size_t(in.op)].output_elements() / op.cols;
        if (last_row >= in_rows) {
          fail(key, std::string(to_string(kind)) + " reads row " + n2s(last_row) +
                        (op.row_indices.empty() ? " (row_offset + (rows - 1) x row_stride)"
                                                : " (row_indices)") +
                        ", but the input has " + n2s(in_rows) + " rows of cols = " + n2s(op.cols));
        }
      }
      op.inputs.push_back(in);
    }
    return op;
  }

  EmbeddingOp embedding(OpInfo info) {
    EmbeddingOp op;
    static_cast<OpInfo&>(op) = std::move(info);
    op.tokens = m_r.count("tokens");
    op.vocab = m_r.count("vocab");
    op.hidden = m_r.count("hidden");
    sizes(op);
    return op;
  }

  KvWriteOp kv_write(OpInfo info) {
    KvWriteOp op;
    static_cast<OpInfo&>(op) = std::move(info);
    op.batch = m_r.count("batch");
    op.heads = m_r.count("heads");
    op.head_dim = m_r.count("head_dim");
    op.tokens = m_r.count("tokens");
    op.kv_len = m_r.uint("kv_len", 0);
    op.row_offset = m_r.uint("row_offset", 0);
    sizes(op);
    const std::uint64_t e = op.written_elements();
    const std::string need = "the new rows need batch x tokens x heads x head_dim = " + n2s(e);
    if (!m_r.has("row_offset")) {
      op.input = read_operand("input", std::nullopt, e, need, op.dtype);
    } else {
      const std::uint64_t row = op.heads * op.head_dim;
      m_r.ignore("input");
      if (!m_r.has("input")) fail("input", std::string("is required (") + kOperandHelp + ")");
      op.input = operand("input", m_node.at("input"), 0, row,
                         "kv_write with row_offset needs a multiple of heads x head_dim = " +
                             n2s(row),
                         true, op.dtype);
      if (!op.input.is_op()) fail("row_offset", "applies to an op-produced input only");
      const std::uint64_t rows = m_w.ops[std::size_t(op.input.op)].output_elements() / row;
      if (rows < op.batch * op.tokens || rows - op.batch * op.tokens < op.row_offset) {
        fail("row_offset", "the new rows are input rows " + n2s(op.row_offset) + " .. " +
                               n2s(op.row_offset + op.batch * op.tokens - 1) +
                               ", but the input has " + n2s(rows) + " rows of heads x head_dim");
      }
    }
    if (m_r.has("pool")) paged(op);
    return op;
  }

  // The paged fields of a kv_write (ops.h), checked against the pool's other kv_writes.
  void paged(KvWriteOp& op) {
    op.pool = m_r.string("pool");
    if (op.pool.empty()) fail("pool", "must name a pool, got \"\"");
    if (op.batch != 1) fail("batch", "a paged kv_write writes one sequence, so batch must be 1, got " + n2s(op.batch));
    op.pool_blocks = m_r.count("pool_blocks");
    op.block_size = m_r.count("block_size");
    limit("pool_blocks", [&] {
      elements({op.pool_blocks, op.heads, op.block_size, op.head_dim},
               "pool: pool_blocks x heads x block_size x head_dim");
    });
    const std::uint64_t need = (op.kv_len + op.tokens + op.block_size - 1) / op.block_size;
    op.blocks = m_r.uint_list("blocks", op.pool_blocks);
    if (op.blocks.size() != need) {
      fail("blocks", "must hold ceil((kv_len + tokens) / block_size) = ceil(" +
                         n2s(op.kv_len + op.tokens) + " / " + n2s(op.block_size) + ") = " +
                         n2s(need) + " block ids, got " + n2s(op.blocks.size()));
    }
    const int self = int(m_w.ops.size());
    auto [it, fresh] = m_pools.by_name.try_emplace(op.pool);
    Pool& p = it->second;
    if (fresh) {
      p = {self, op.pool_blocks, op.block_size, op.heads, op.head_dim, op.dtype, {}};
    } else {
      const std::string first = "op \"" + m_w.ops[std::size_t(p.first_op)].name() + "\"";
      const auto agree = [&](const char* key, std::uint64_t mine, std::uint64_t theirs) {
        if (mine != theirs) {
          fail(key, "pool \"" + op.pool + "\" has " + key + " " + n2s(theirs) + " (from " + first +
                        "), this op " + n2s(mine));
        }
      };
      agree("pool_blocks", op.pool_blocks, p.pool_blocks);
      agree("block_size", op.block_size, p.block_size);
      agree("heads", op.heads, p.heads);
      agree("head_dim", op.head_dim, p.head_dim);
      if (op.dtype != p.dtype) {
        fail("dtype", "pool \"" + op.pool + "\" holds " + isa::to_string(p.dtype) + " (from " +
                          first + "), this op is " + isa::to_string(op.dtype));
      }
    }
    for (std::size_t k = 0; k < op.blocks.size(); ++k) {
      const auto [o, mine] = p.owner.emplace(op.blocks[k], self);
      if (mine) continue;
      const std::string who = o->second == self ? "this op" : "op \"" + m_w.ops[std::size_t(o->second)].name() + "\"";
      fail("blocks[" + std::to_string(k) + "]",
           "block " + n2s(op.blocks[k]) + " of pool \"" + op.pool + "\" is already held by " +
               who + "; a block holds the tokens of one sequence");
    }
  }

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    m_r.fail(key, what);
  }

  // A finite real number, of any sign (a scale factor).
  double finite(const std::string& key, double def) {
    m_r.ignore(key);
    if (!m_r.has(key)) return def;
    const config::Json& v = m_node.at(key);
    if (!v.is_number() || !std::isfinite(v.get<double>())) {
      fail(key, "must be a finite number, got " + config::short_dump(v));
    }
    return v.get<double>();
  }

 private:
  // Runs a size check (limits.h) whose WorkloadError becomes this op's error at `key`.
  template <class F>
  void limit(const std::string& key, F check) const {
    try {
      check();
    } catch (const WorkloadError& e) {
      fail(key, e.what());
    }
  }

  // The op's sizes multiply without overflow and within the limits (check_sizes).
  void sizes(const Op& op) const {
    try {
      check_sizes(op);
    } catch (const WorkloadError& e) {
      throw ConfigError(m_r.path() + ": " + e.what());
    }
  }

  Operand read_operand(const std::string& key, std::optional<std::string> def,
                       std::uint64_t elements, const std::string& what, isa::DType dtype) {
    m_r.ignore(key);
    if (!m_r.has(key)) {
      if (!def) fail(key, std::string("is required (") + kOperandHelp + ")");
      return operand(key, *def, elements, 0, what, true, dtype);
    }
    return operand(key, m_node.at(key), elements, 0, what, true, dtype);
  }

  const Workload& m_w;
  const NameIndex& m_names;
  Pools& m_pools;
  config::Reader& m_r;
  const config::Json& m_node;
};

// The keys an op's "params" may name (ParamRef): its parameter tensors.
std::vector<std::string> param_keys(const Op& op) {
  if (const auto* m = op.get_if<MatmulOp>()) {
    std::vector<std::string> keys;
    if (!m->b.is_op()) keys.push_back("b");
    if (m->bias) keys.push_back("bias");
    return keys;
  }
  if (op.get_if<EmbeddingOp>()) return {"table"};
  if (op.get_if<KvWriteOp>()) return {"cache"};  // its kv_len cached rows (decode)
  if (const auto* v = op.get_if<VectorOp>()) {
    if (v->kind == VectorKind::layernorm) return {"gamma", "beta"};
    if (v->kind == VectorKind::rmsnorm) return {"gamma"};
    for (const Operand& x : v->inputs) {
      if (x.source == Source::weight) return {"weight"};
    }
  }
  return {};
}

// "params": {key: "name" | {"name": "...", "transpose": bool, "rows": [begin, end]}}, of an op
// with parameters (param_keys not empty).
std::vector<ParamRef> parse_params(const Op& op, const config::Reader& r, const config::Json& j) {
  const std::vector<std::string> keys = param_keys(op);
  std::string allowed;
  for (const auto& k : keys) allowed += (allowed.empty() ? "" : ", ") + k;
  if (!j.is_object()) {
    r.fail("params", "must be an object {key: state-dict name}, got " + config::short_dump(j));
  }
  std::vector<ParamRef> out;
  for (const std::string& key : keys) {  // in key order, whatever the JSON order
    if (!j.contains(key)) continue;
    const config::Json& v = j.at(key);
    const std::string where = "params." + key;
    ParamRef p;
    p.key = key;
    const config::Json* name = &v;
    if (v.is_object()) {
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (it.key() != "name" && it.key() != "transpose" && it.key() != "rows") {
          r.fail(where + "." + config::printable(it.key()),
                 "unknown key; allowed: name, transpose, rows");
        }
      }
      if (!v.contains("name")) r.fail(where + ".name", "is required (the state-dict name)");
      name = &v.at("name");
      if (v.contains("transpose")) {
        if (!v.at("transpose").is_boolean()) {
          r.fail(where + ".transpose",
                 "must be true or false, got " + config::short_dump(v.at("transpose")));
        }
        p.transpose = v.at("transpose").get<bool>();
        if (p.transpose && key != "b") {
          r.fail(where + ".transpose", "only a matmul's b (a matrix) may be transposed");
        }
      }
      if (v.contains("rows")) {
        const config::Json& rows = v.at("rows");
        const auto uint_at = [&](std::size_t i) {
          return rows[i].is_number_unsigned() && rows[i].get<std::uint64_t>() <= kMaxDim();
        };
        if (!rows.is_array() || rows.size() != 2 || !uint_at(0) || !uint_at(1) ||
            rows[0].get<std::uint64_t>() >= rows[1].get<std::uint64_t>()) {
          r.fail(where + ".rows",
                 "must be [begin, end] with 0 <= begin < end <= " + std::to_string(kMaxDim()) +
                     " (rows of the array's first dimension), got " + config::short_dump(rows));
        }
        p.row_begin = rows[0].get<std::uint64_t>();
        p.row_end = rows[1].get<std::uint64_t>();
      }
    }
    if (!name->is_string() || name->get<std::string>().empty()) {
      r.fail(v.is_object() ? where + ".name" : where,
             "must be a non-empty string (a state-dict name) or an object {\"name\", "
             "\"transpose\", \"rows\"}, got " +
                 config::short_dump(*name));
    }
    p.name = name->get<std::string>();
    if (const auto* kv = op.get_if<KvWriteOp>(); kv && kv->kv_len == 0) {
      r.fail(where,
             "this kv_write has no cached rows to name (kv_len 0): a prefill's cache is "
             "its own output");
    }
    out.push_back(std::move(p));
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (std::find(keys.begin(), keys.end(), it.key()) == keys.end()) {
      r.fail("params." + config::printable(it.key()),
             "this op has no such parameter; its parameters: " + allowed);
    }
  }
  return out;
}

// The quantisation steps of an int8 op (quant.h): each in [kMinScale, kMaxScale]; unset ones
// get default_scales' after the whole trace is read.
void read_scales(config::Reader& r, const config::Json& node, const std::string& kind,
                 OpInfo& info) {
  const bool gather = kind == "embedding" || kind == "kv_write";
  for (const char* key : {"scale", "input_scale", "weight_scale"}) {
    if (!r.has(key)) continue;
    r.ignore(key);
    if (info.dtype != isa::DType::int8) {
      r.fail(key, std::string("is a quantisation step, for int8 ops only; this op is ") +
                      isa::to_string(info.dtype));
    }
    if (gather && std::string(key) != "scale") {
      r.fail(key, "this op (" + kind +
                      ") has no such operand (its table, input and output share "
                      "\"scale\")");
    }
    const config::Json& v = node.at(key);
    if (!v.is_number() || !(v.get<double>() >= kMinScale && v.get<double>() <= kMaxScale)) {
      r.fail(key,
             "must be a number in [1e-12, 1e12] (a quantisation step: real value = int8 x "
             "step), got " +
                 config::short_dump(v));
    }
    (std::string(key) == "scale"         ? info.scale
     : std::string(key) == "input_scale" ? info.input_scale
                                         : info.weight_scale) = v.get<double>();
  }
}

Op parse_op(const Workload& w, const NameIndex& names, Pools& pools, const config::Json& node,
            std::size_t i) {
  config::Json resolved;
  config::Reader r(node, "ops[" + std::to_string(i) + "]", resolved);
  const std::string kind = r.choice("op", op_kinds());
  OpInfo info;
  info.name = r.string("name", "op" + std::to_string(i));
  if (info.name == "input" || info.name == "weight" || info.name == "kv_cache") {
    r.fail("name", "\"" + info.name + "\" is reserved for an operand; choose another name");
  }
  if (names.count(info.name)) r.fail("name", "duplicate op name \"" + info.name + "\"");
  info.layer = r.string("layer", info.name);
  info.dtype = *isa::parse_dtype(r.choice("dtype", kDTypes, std::string("int8")));
  read_scales(r, node, kind, info);
  OpParser p(w, names, pools, r, node);
  std::optional<Op> op;
  if (kind == "matmul") {
    op.emplace(p.matmul(std::move(info)));
  } else if (kind == "embedding") {
    op.emplace(p.embedding(std::move(info)));
  } else if (kind == "kv_write") {
    op.emplace(p.kv_write(std::move(info)));
  } else {
    for (VectorKind k : kVectorKinds) {
      if (kind == to_string(k)) op.emplace(p.vector(std::move(info), k));
    }
  }
  LLMSIM_CHECK(op.has_value(), "op kind \"" + kind + "\" has no parser");
  // "params" is a key of the ops with parameters only (an unknown key of the others).
  if (!param_keys(*op).empty()) r.ignore("params");
  if (!param_keys(*op).empty() && r.has("params")) {
    std::vector<ParamRef> refs = parse_params(*op, r, node.at("params"));
    std::visit([&](auto& body) { body.params = std::move(refs); }, op->body());
  }
  r.finish();
  return *op;
}

}  // namespace

void check_sizes(const Op& op) {
  constexpr std::uint64_t kMaxDim = config::kMaxInteger;
  const auto dims = [](std::initializer_list<std::pair<const char*, std::uint64_t>> ds) {
    for (const auto& [key, v] : ds) {
      if (v < 1 || v > kMaxDim) {
        throw WorkloadError(std::string(key) + ": must be in [1, " + std::to_string(kMaxDim) +
                            "], got " + std::to_string(v));
      }
    }
  };
  if (const auto* m = op.get_if<MatmulOp>()) {
    dims({{"m", m->m}, {"k", m->k}, {"n", m->n}, {"batch", m->batch}});
    elements({m->batch, m->m, m->k}, "A: batch x m x k");
    elements({m->batch, m->k, m->n}, "B: batch x k x n");
    elements({m->batch, m->m, m->n}, "output: batch x m x n");
    checked_mul(m->batch * m->m * m->k, m->n, "MACs: batch x m x k x n");
  } else if (const auto* v = op.get_if<VectorOp>()) {
    dims({{"rows", v->rows}, {"cols", v->cols}, {"row_stride", v->row_stride}});
    if (v->row_offset > kMaxDim) dims({{"row_offset", v->row_offset}});
    elements({v->rows, v->cols}, "rows x cols");
    const std::uint64_t last = checked_add(
        v->row_offset, checked_mul(v->rows - 1, v->row_stride, "(rows - 1) x row_stride"),
        "row_offset + (rows - 1) x row_stride");
    elements({checked_add(last, 1, "rows read"), v->cols}, "rows read x cols");
    if (v->kind == VectorKind::rope) {
      dims({{"head_dim", v->rope_head_dim()}, {"tokens", v->rope_tokens()}});
      if (v->kv_len > kMaxDim) dims({{"kv_len", v->kv_len}});
      elements({v->kv_len + v->rope_tokens(), v->rope_head_dim()},
               "table: (kv_len + tokens) x head_dim");
    }
  } else if (const auto* e = op.get_if<EmbeddingOp>()) {
    dims({{"tokens", e->tokens}, {"vocab", e->vocab}, {"hidden", e->hidden}});
    elements({e->tokens, e->hidden}, "output: tokens x hidden");
    elements({e->vocab, e->hidden}, "table: vocab x hidden");
  } else if (const auto* kv = op.get_if<KvWriteOp>()) {
    dims({{"batch", kv->batch},
          {"heads", kv->heads},
          {"head_dim", kv->head_dim},
          {"tokens", kv->tokens}});
    if (kv->kv_len > kMaxDim) dims({{"kv_len", kv->kv_len}});
    elements({kv->batch, kv->heads, kv->kv_len + kv->tokens, kv->head_dim},
             "cache: batch x heads x (kv_len + tokens) x head_dim");
  }
}

int Workload::index_of(const std::string& op_name) const {
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].name() == op_name) return int(i);
  }
  return -1;
}

Workload parse_workload(const config::Json& doc, const std::string& name) {
  // The strict config reader serves workloads too; its errors become WorkloadErrors.
  try {
    Workload w;
    w.name = name;
    config::Json resolved;
    config::Reader root(doc, "", resolved);
    w.description = root.string("description", "");
    if (root.has("model")) w.meta.model = root.string("model");
    if (root.has("batch")) w.meta.batch = root.count("batch");
    if (root.has("seq")) w.meta.seq = root.count("seq");
    if (root.has("phase")) w.meta.phase = root.choice("phase", {"prefill", "decode"});
    if (root.has("kv_len")) w.meta.kv_len = root.uint("kv_len");
    if (!doc.contains("ops") || !doc["ops"].is_array() || doc["ops"].empty()) {
      root.fail("ops", "must be a non-empty list of ops");
    }
    root.ignore("ops");
    root.finish();
    const auto& ops = doc["ops"];
    if (ops.size() > kMaxTraceOps) {
      root.fail("ops", "has " + std::to_string(ops.size()) + " ops, more than the " +
                           std::to_string(kMaxTraceOps) + " a trace may have");
    }
    // Operands name earlier ops: a hash index keeps the parse linear in the op count.
    NameIndex names;
    Pools pools;
    names.reserve(ops.size());
    w.ops.reserve(ops.size());
    for (std::size_t i = 0; i < ops.size(); ++i) {
      w.ops.push_back(parse_op(w, names, pools, ops[i], i));
      names.emplace(w.ops.back().name(), int(i));
    }
    try {
      default_scales(w);
    } catch (const WorkloadError& e) {
      throw WorkloadError(name + ": " + e.what());
    }
    return w;
  } catch (const ConfigError& e) {
    throw WorkloadError(name + ": " + e.what());
  }
}

Workload load_workload(const std::string& name_or_path) {
  fs::path p(name_or_path);
  if (!fs::exists(p)) {
    const fs::path bundled = data_dir() / "workloads" / "gemm" / (name_or_path + ".json");
    if (!fs::exists(bundled)) {
      std::string names;
      for (const auto& n : bundled_workloads()) names += (names.empty() ? "" : ", ") + n;
      throw WorkloadError("--workload " + config::printable(name_or_path) +
                          ": no such file and no bundled workload of that name; bundled: " + names);
    }
    p = bundled;
  }
  try {
    // The name goes into reports (UTF-8); a path may hold any bytes.
    return parse_workload(config::load_json_file(p.string()), config::printable(p.stem().string()));
  } catch (const ConfigError& e) {
    throw WorkloadError(e.what());
  }
}

std::vector<std::string> bundled_workloads() {
  std::vector<std::string> out;
  const fs::path dir = data_dir() / "workloads" / "gemm";
  if (fs::is_directory(dir)) {
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.path().extension() == ".json") out.push_back(e.path().stem().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace llmsim::workloads
