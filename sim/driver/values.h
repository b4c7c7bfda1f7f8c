#pragma once
// Value mode in the run driver (issue 21): the DRAM image's initial contents, and each op's
// output read back after the run. The semantics of the instructions are arch/values/.
#include <cstdint>
#include <string>
#include <vector>

#include "arch/values/machine.h"
#include "workloads/lowering.h"
#include "workloads/workload.h"

namespace llmsim::driver {

struct ValuesSpec {
  std::uint64_t seed = 0;  // of the external operands' values
};

// One op's output as its stores left it in DRAM: rows x cols, row-major, decoded to float.
// `stored` false: the op's output never reached DRAM (a matmul or an epilogue op before the
// last of its chain; their values are those of the chain's last op), and `data` is empty.
struct OpValues {
  std::string name;
  std::uint64_t rows = 0, cols = 0;
  bool stored = false;
  std::vector<float> data;
};

// An external operand's values as fill_tensors wrote them: rows x cols, row-major (whatever
// its layout in DRAM), decoded to float.
struct TensorValues {
  int op = -1;
  std::string role;  // workloads::DramTensor::role
  std::uint64_t rows = 0, cols = 0;
  std::vector<float> data;
};

// Writes every external operand the lowering placed (Lowered::tensors) into the machine's
// DRAM image, element (r, c) at the tensor's address for it. Element i (row-major) of tensor
// t is a hash of (seed, t, i) (SplitMix64): uniform in [-1, 1), and for a matmul's weight and
// bias in [-1/sqrt(k), 1/sqrt(k)) as torch.nn.Linear initialises them; an int8 tensor, and an
// int8 matmul's int32 bias, holds the same real value quantised at its step
// (workloads::tensor_scale): round_half_even(value / step), saturated.
// Returns them, in the order of Lowered::tensors.
std::vector<TensorValues> fill_tensors(values::Machine& m, const workloads::Workload& w,
                                       const workloads::Lowered& lowered, std::uint64_t seed);

// Every op's output (Lowered::outputs), from the bytes its writer's stores wrote.
std::vector<OpValues> read_outputs(const values::Machine& m, const workloads::Workload& w,
                                   const workloads::Lowered& lowered);

// Writes DIR/values/index.json ("outputs": per op its name, shape, stored and file; "tensors":
// per external operand its op, role, shape and file) and one NumPy .npy file of float32 per
// stored output (NNNNN.npy, by op index) and per tensor (tensor_NNNNN.npy, in order).
void write_values(const std::vector<OpValues>& outputs, const std::vector<TensorValues>& tensors,
                  const std::string& dir);

}  // namespace llmsim::driver
