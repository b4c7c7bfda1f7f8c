#pragma once
// A workload is a layer trace: a list of ops with shapes, dtypes and the operands they read,
// read from JSON (format in docs/workloads.md, "Layer trace format"), written by hand, by the
// transformer frontend (transformer.h) or by the torch.fx exporter (python/llmsim/fx_export.py).
//   {"description": "...", "model": "bert-base-uncased", "batch": 1, "seq": 128,
//    "phase": "prefill",
//    "ops": [{"op": "matmul", "name": "fc1", "m": 1024, "k": 1024, "n": 1024, "dtype": "int8"},
//            {"op": "gelu", "name": "act", "rows": 1024, "cols": 1024, "inputs": ["fc1"]},
//            {"op": "matmul", "name": "fc2", "m": 1024, "k": 1024, "n": 256, "a": "act"}]}
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/config.h"
#include "workloads/ops.h"

namespace llmsim::workloads {

// Optional top-level metadata: what the trace was made from. Informative only; the ops carry
// every shape.
struct TraceMeta {
  std::string model;
  std::optional<std::uint64_t> batch, seq, kv_len;
  std::string phase;  // "prefill", "decode" or empty
};

struct Workload {
  std::string name;  // for reports: the file stem, the model name or "<dict>"
  std::string description;
  TraceMeta meta;
  std::vector<Op> ops;

  int index_of(const std::string& op_name) const;  // -1 if absent; linear in the op count
};

// Throws WorkloadError naming the op and the key ("ops[1].m: must be a positive integer, got
// -3"), prefixed with `name`.
Workload parse_workload(const config::Json& doc, const std::string& name);

// Checks that an op's sizes stay within the limits of workloads/limits.h: every dimension in
// [1, 2^32], every operand, output and table at most kMaxElements, the MACs within 64 bits.
// Throws WorkloadError "<key or operand>: <what>" (the trace parser adds the op's path).
void check_sizes(const Op& op);

// The trace as JSON, every default written out; parse_workload(to_json(w)) == w.
config::Json to_json(const Workload& w);

// A trace document as text: top-level keys first, then one op per line.
std::string format_trace(const config::Json& trace);

// A path to a JSON file, or the name of a file in workloads/gemm/ (without ".json").
Workload load_workload(const std::string& name_or_path);

// Names of the bundled workloads.
std::vector<std::string> bundled_workloads();

}  // namespace llmsim::workloads
