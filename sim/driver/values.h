#pragma once
// Value mode in the run driver (issue 21): the DRAM image's initial contents, and each op's
// output read back after the run. The semantics of the instructions are arch/values/.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "arch/values/machine.h"
#include "workloads/lowering.h"
#include "workloads/workload.h"

namespace llmsim::driver {

// Which values a run keeps for its result (RunResult::values and tensors): `all`, every op's
// output and every external operand, decoded to float (what --out's values/, --check and
// Python's Result.values read); `none`, neither, and the machine records no op's stores: the
// programs still compute every value at the same cycles, in the DRAM image alone (memory: the
// image, which the lowering's footprint bounds, instead of a float copy of every op's output).
enum class KeepValues { all, none };

struct ValuesSpec {
  std::uint64_t seed = 0;  // of the external operands' values
  KeepValues keep = KeepValues::all;
  // --values-params DIR: a directory whose index.json maps state-dict names to .npy files,
  // {"params": {"layers.0.linear1.weight": "00001.npy", ...}} (file names relative to DIR);
  // empty: none. `params_label` starts its error messages (default "--values-params DIR";
  // "params": a state dict Python wrote to a temporary directory).
  std::string params_dir{};
  std::string params_label{};
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
  std::string role;                                         // workloads::DramTensor::role
  std::vector<std::pair<std::string, std::string>> params;  // key -> name that filled it
  std::uint64_t rows = 0, cols = 0;
  std::vector<float> data;
};

// Writes every external operand the lowering placed (Lowered::tensors) into the machine's
// DRAM image, element (r, c) at the tensor's address for it. Element i (row-major) of tensor
// t is a hash of (seed, t, i) (SplitMix64): uniform in [-1, 1), and for a matmul's weight and
// bias in [-1/sqrt(k), 1/sqrt(k)) as torch.nn.Linear initialises them; an int8 tensor, and an
// int8 matmul's int32 bias, holds the same real value quantised at its step
// (workloads::tensor_scale): round_half_even(value / step), saturated. Then, with
// spec.params_dir, the rows a named parameter covers (DramTensor::params) take that array's
// values from the directory; the tensors without a name keep the seeded ones. Every value is
// rounded to the tensor's format as stored. Throws UserError naming the tensor, the op and
// the expected shape for a name the directory lacks, a wrong shape or a file that cannot be
// read as numbers -- before the simulation starts.
// Returns them, in the order of Lowered::tensors; none with spec.keep none (each tensor's float
// copy is freed once its bytes are in DRAM).
std::vector<TensorValues> fill_tensors(values::Machine& m, const workloads::Workload& w,
                                       const workloads::Lowered& lowered, const ValuesSpec& spec);

// Reads DIR/index.json of a parameter directory (ValuesSpec::params_dir): name -> file path.
// UserError "<label>: ..." when the directory or its index is missing or malformed.
std::vector<std::pair<std::string, std::string>> read_param_index(const std::string& dir,
                                                                  const std::string& label);

// Every op's output (Lowered::outputs), from the bytes its writer's stores wrote.
std::vector<OpValues> read_outputs(const values::Machine& m, const workloads::Workload& w,
                                   const workloads::Lowered& lowered);

// Writes DIR/values/index.json ("outputs": per op its name, shape, stored and file; "tensors":
// per external operand its op, role, shape, file and, if named, "params" {key: name}; and with
// token ids given, "tokens": {"op": the embedding's index, "ids": [...]}) and one NumPy .npy
// file of float32 per stored output (NNNNN.npy, by op index) and per tensor (tensor_NNNNN.npy,
// in order).
void write_values(const std::vector<OpValues>& outputs, const std::vector<TensorValues>& tensors,
                  const std::string& dir, int token_op = -1,
                  const std::vector<std::uint64_t>& token_ids = {});

}  // namespace llmsim::driver
