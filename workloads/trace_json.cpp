// Writing a layer trace back to JSON (the inverse of parse_workload) and printing it.
#include <algorithm>
#include <sstream>

#include "workloads/workload.h"

namespace llmsim::workloads {

namespace {

using config::Json;

Json operand_json(const Workload& w, const Operand& o) {
  return o.is_op() ? Json(w.ops[std::size_t(o.op)].name()) : Json(to_string(o.source));
}

Json op_json(const Workload& w, const Op& op) {
  Json j;
  j["op"] = op.kind();
  j["name"] = op.name();
  j["layer"] = op.layer();
  j["dtype"] = isa::to_string(op.dtype());
  if (op.info().scale) j["scale"] = *op.info().scale;
  if (op.info().input_scale) j["input_scale"] = *op.info().input_scale;
  if (op.info().weight_scale) j["weight_scale"] = *op.info().weight_scale;
  if (const auto* m = op.get_if<MatmulOp>()) {
    j["m"] = m->m, j["k"] = m->k, j["n"] = m->n, j["batch"] = m->batch;
    j["a"] = operand_json(w, m->a);
    // Offsets are written when they select: nonzero, or a producer larger than the need.
    if (m->a_offset || (m->a.is_op() && w.ops[std::size_t(m->a.op)].output_elements() !=
                                            m->batch * m->m * m->k)) {
      j["a_offset"] = m->a_offset;
    }
    if (m->append_to >= 0) j["append_to"] = w.ops[std::size_t(m->append_to)].name();
    j["b"] = operand_json(w, m->b);
    j["transpose_b"] = m->transpose_b;
    j["bias"] = m->bias;
    if (m->dataflow) {
      j["dataflow"] = isa::to_string(*m->dataflow);
    }
  } else if (const auto* v = op.get_if<VectorOp>()) {
    j["rows"] = v->rows, j["cols"] = v->cols;
    j["inputs"] = Json::array();
    for (const Operand& in : v->inputs) j["inputs"].push_back(operand_json(w, in));
    if (v->kind == VectorKind::copy && v->row_indices.empty())
      j["row_offset"] = v->row_offset, j["row_stride"] = v->row_stride;
    if (!v->row_indices.empty()) j["row_indices"] = v->row_indices;
    if (v->kind == VectorKind::rope &&
        (v->row_offset || (v->inputs[0].is_op() &&
                           w.ops[std::size_t(v->inputs[0].op)].output_elements() != v->rows * v->cols))) {
      j["row_offset"] = v->row_offset;
    }
    if (v->kind == VectorKind::scale) j["scalar"] = v->scalar;
    if (v->kind == VectorKind::mask && (v->mask_tokens() != v->cols || v->kv_len)) {
      j["tokens"] = v->mask_tokens(), j["kv_len"] = v->kv_len;
    }
    if (v->kind == VectorKind::rope) {
      j["head_dim"] = v->rope_head_dim(), j["tokens"] = v->rope_tokens(), j["kv_len"] = v->kv_len;
    }
  } else if (const auto* e = op.get_if<EmbeddingOp>()) {
    j["tokens"] = e->tokens, j["vocab"] = e->vocab, j["hidden"] = e->hidden;
  } else {
    const auto& kv = std::get<KvWriteOp>(op.body());
    j["input"] = operand_json(w, kv.input);
    j["batch"] = kv.batch, j["heads"] = kv.heads, j["head_dim"] = kv.head_dim;
    j["tokens"] = kv.tokens, j["kv_len"] = kv.kv_len;
    if (kv.row_offset || (kv.input.is_op() && w.ops[std::size_t(kv.input.op)].output_elements() !=
                                                   kv.written_elements())) {
      j["row_offset"] = kv.row_offset;
    }
    if (kv.paged()) {
      j["pool"] = kv.pool, j["pool_blocks"] = kv.pool_blocks, j["block_size"] = kv.block_size;
      j["blocks"] = kv.blocks;
    }
  }
  if (!op.params().empty()) {
    Json& params = j["params"] = Json::object();
    for (const ParamRef& p : op.params()) {
      if (!p.transpose && p.row_end == 0) {
        params[p.key] = p.name;
        continue;
      }
      Json ref{{"name", p.name}};
      if (p.transpose) ref["transpose"] = true;
      if (p.row_end) ref["rows"] = {p.row_begin, p.row_end};
      params[p.key] = ref;
    }
  }
  return j;
}

// Key order of the printed trace: the common keys, then each kind's keys as documented.
const std::vector<std::string> kTopKeys = {"description", "model", "batch",
                                           "seq",         "phase", "kv_len"};
const std::vector<std::string> kOpKeys = {
    "op",          "name",       "layer",       "dtype",        "m",          "k",
    "n",           "batch",      "a",           "a_offset",     "b",          "transpose_b",
    "bias",        "append_to",  "dataflow",    "rows",         "cols",       "inputs",
    "row_offset",  "row_stride", "row_indices", "scalar",       "head_dim",   "tokens",
    "kv_len",      "vocab",      "hidden",      "scale",        "input_scale", "weight_scale",
    "params"};
const std::vector<std::string> kKvWriteKeys = {
    "op",       "name",   "layer",  "dtype", "input",       "row_offset", "batch",  "heads",
    "head_dim", "tokens", "kv_len", "pool",  "pool_blocks", "block_size", "blocks", "scale"};

// One object on one line, keys in `order` first and then the others alphabetically.
std::string one_line(const Json& obj, const std::vector<std::string>& order) {
  std::string out = "{";
  auto put = [&](const std::string& k, const Json& v) {
    out += (out.size() > 1 ? ", " : "") + Json(k).dump() + ": " + v.dump();
  };
  for (const auto& k : order) {
    if (obj.contains(k)) put(k, obj.at(k));
  }
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (std::find(order.begin(), order.end(), it.key()) == order.end()) put(it.key(), it.value());
  }
  return out + "}";
}

}  // namespace

Json to_json(const Workload& w) {
  Json j;
  j["description"] = w.description;
  if (!w.meta.model.empty()) j["model"] = w.meta.model;
  if (w.meta.batch) j["batch"] = *w.meta.batch;
  if (w.meta.seq) j["seq"] = *w.meta.seq;
  if (!w.meta.phase.empty()) j["phase"] = w.meta.phase;
  if (w.meta.kv_len) j["kv_len"] = *w.meta.kv_len;
  j["ops"] = Json::array();
  for (const Op& op : w.ops) j["ops"].push_back(op_json(w, op));
  return j;
}

std::string format_trace(const Json& trace) {
  std::ostringstream os;
  os << "{\n";
  bool first = true;
  auto sep = [&] {
    if (!first) os << ",\n";
    first = false;
  };
  for (const auto& k : kTopKeys) {
    if (trace.contains(k)) sep(), os << "  " << Json(k).dump() << ": " << trace.at(k).dump();
  }
  for (auto it = trace.begin(); it != trace.end(); ++it) {
    if (it.key() == "ops" ||
        std::find(kTopKeys.begin(), kTopKeys.end(), it.key()) != kTopKeys.end()) {
      continue;
    }
    sep(), os << "  " << Json(it.key()).dump() << ": " << it.value().dump();
  }
  if (trace.contains("ops")) {
    sep();
    os << "  \"ops\": [";
    const Json& ops = trace.at("ops");
    for (std::size_t i = 0; i < ops.size(); ++i) {
      os << (i ? ",\n    " : "\n    ")
         << (!ops[i].is_object()                    ? ops[i].dump()
             : ops[i].value("op", "") == "kv_write" ? one_line(ops[i], kKvWriteKeys)
                                                    : one_line(ops[i], kOpKeys));
    }
    os << "\n  ]";
  }
  os << "\n}\n";
  return os.str();
}

}  // namespace llmsim::workloads
