#pragma once
// Quantisation of int8 traces (docs/workloads.md, "int8 quantisation"): symmetric, per tensor,
// as I-BERT, Q8BERT and TensorRT quantise: every int8 tensor has a step s > 0, its real value
// being int8 x s. A matmul accumulates int8 x int8 into int32 (at step s_a x s_b; its bias is
// int32 at that step) and its store requantises by s_a x s_b / s_out (isa::DmaStore::scale,
// Gemmini's acc_scale); a vector op dequantises its int8 inputs, computes in fp32 and
// quantises its result at its own step (isa::VectorOp's src_scale, src2_scale, dst_scale).
//
// Where each step comes from (OpInfo): `scale` is the op's output's (an embedding's table is
// stored at it too; a kv_write's cache and its input share it), `input_scale` that of its
// `input` and `kv_cache` operands, `weight_scale` that of its `weight` operands (one step per
// weight tensor: per-tensor, not per output channel). Steps are unset (std::nullopt) until the
// parser fills them in (default_scales); an op built in code without them computes on the
// integers (every step 1).
#include <cstdint>

#include "workloads/lowering.h"
#include "workloads/workload.h"

namespace llmsim::workloads {

// The clipping range of a default step, in multiples of the tensor's expected rms: 4 rms / 127.
inline constexpr double kClipRms = 4.0;
// Steps given in a trace must lie in [kMinScale, kMaxScale], so that every multiplier derived
// from three of them (s_a s_b / s_out) is a normal fp32 number.
inline constexpr double kMinScale = 1e-12, kMaxScale = 1e12;

// Fills in the unset steps of every int8 op (those of other dtypes stay unset) by the
// magnitude rule (quant.cpp), for value mode's seeded fill (uniform inputs in [-1, 1], weights
// in +-1/sqrt(k), parameters and tables in [-1, 1]). Throws WorkloadError "ops[i] (name):
// scale: ..." for a kv_write whose given step differs from its input's.
void default_scales(Workload& w);

// The step of op `op`'s output (1 when unset).
double output_scale(const Op& op);
// The step of operand `x` of op `i` (1 when unset).
double operand_scale(const Workload& w, int i, const Operand& x);
// The step of an external tensor the lowering placed (value mode's fill): its role's operand;
// a matmul's int32 bias is at s_a x s_b.
double tensor_scale(const Workload& w, const DramTensor& t);
// A matmul's accumulator step, s_a x s_b.
double accumulator_scale(const Workload& w, int i);

}  // namespace llmsim::workloads
