#pragma once
// A workload: a list of ops, read from JSON (format in README.md, "Workload format").
//   {"description": "...",
//    "ops": [{"op": "matmul", "name": "fc1", "m": 1024, "k": 1024, "n": 1024, "dtype": "int8"},
//            {"op": "matmul", "name": "fc2", "m": 1024, "k": 1024, "n": 256, "dtype": "int8",
//             "a": "fc1"}]}
// A matmul multiplies A (m x k) by B (k x n). `a` names an earlier op whose output (m x k) is
// this op's A: the ops then form a chain, and the second waits for the first's results in DRAM.
// Without `a`, A is an input in DRAM and the op is independent of the others.
#include <cstdint>
#include <string>
#include <vector>

#include "arch/isa/dtype.h"
#include "sim/core/config.h"

namespace llmsim::workloads {

struct MatmulOp {
  std::string name;
  std::uint64_t m = 0, k = 0, n = 0;
  isa::DType dtype = isa::DType::int8;
  int a_from = -1;  // index of the op producing A, or -1 if A is an input

  std::uint64_t macs() const { return m * k * n; }
};

struct Workload {
  std::string name;
  std::vector<MatmulOp> ops;
};

// Throws WorkloadError naming the op and the key ("ops[1].m: must be a positive integer, got -3").
Workload parse_workload(const config::Json& doc, const std::string& name);

// A path to a JSON file, or the name of a file in workloads/gemm/ (without ".json").
Workload load_workload(const std::string& name_or_path);

// Names of the bundled workloads.
std::vector<std::string> bundled_workloads();

}  // namespace llmsim::workloads
