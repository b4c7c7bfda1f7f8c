// Default quantisation steps and the step of each operand (quant.h).
//
// The magnitude rule: each op's output has an expected rms r, propagated in op order from value
// mode's seeded fill (sim/driver/values.cpp): an external input (uniform in [-1, 1]) r =
// 1/sqrt(3); a weight of a matmul of depth k (uniform in +-1/sqrt(k)) 1/sqrt(3k); a
// parameter row or table 1/sqrt(3). Then
//   matmul     sqrt(k) r_a r_b, with a bias sqrt(that^2 + 1/(3k)) (independent zero-mean
//              terms: the variances add); r_b when A is a softmax's output (attention's
//              context: a convex combination of B's rows);
//   add        sqrt(r0^2 + r1^2); mul r0 r1; scale r0 |scalar|; relu r0 / sqrt(2);
//   mask, gelu, silu, rope, copy, quantize, dequantize  r0 (gelu and silu shrink it: a bound);
//   tanh       min(r0, 1);
//   layernorm, rmsnorm  1 (unit variance; gamma and beta of the fill give sqrt(2/3) and
//              sqrt(1/3), below it);
//   softmax    its largest probability is about exp(4 r0) / cols (a row of cols logits of rms
//              r0: the largest about 4 r0 above the others' mean), at most 1; r = max(1 / cols,
//              that / 4);
//   embedding  1/sqrt(3); kv_write its input's.
// The step is 4 r / 127 (kClipRms: an int8 clips at 4 rms, beyond which a Gaussian puts
// 6e-5 of its mass), except where a bound is known: an input, parameter or table 1/127, a
// matmul's weight (1/sqrt(k)) / 127, an embedding's table (its output) 1/127, softmax its
// largest probability / 127, tanh min(4 r, 1) / 127; a copy or a kv_write keeps its input's
// step (a copy of bytes). Steps are clamped to [kMinScale, kMaxScale].
#include "workloads/quant.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <variant>

#include "sim/core/error.h"

namespace llmsim::workloads {

namespace {

const double kExternalRms = 1.0 / std::sqrt(3.0);

OpInfo& info_of(Op& op) {
  return std::visit([](auto& b) -> OpInfo& { return b; }, op.body());
}

double clamp_scale(double s) {
  return std::clamp(s, kMinScale, kMaxScale);
}

}  // namespace

double output_scale(const Op& op) {
  return op.info().scale.value_or(1.0);
}

double operand_scale(const Workload& w, int i, const Operand& x) {
  const Op& op = w.ops.at(std::size_t(i));
  if (x.is_op()) return output_scale(w.ops.at(std::size_t(x.op)));
  if (op.get_if<KvWriteOp>() || op.get_if<EmbeddingOp>()) return output_scale(op);
  return (x.source == Source::weight ? op.info().weight_scale : op.info().input_scale)
      .value_or(1.0);
}

double accumulator_scale(const Workload& w, int i) {
  const auto& mm = std::get<MatmulOp>(w.ops.at(std::size_t(i)).body());
  return operand_scale(w, i, mm.a) * operand_scale(w, i, mm.b);
}

double tensor_scale(const Workload& w, const DramTensor& t) {
  const Op& op = w.ops.at(std::size_t(t.op));
  if (const auto* mm = op.get_if<MatmulOp>()) {
    if (t.role == "a") return operand_scale(w, t.op, mm->a);
    if (t.role == "b") return operand_scale(w, t.op, mm->b);
    return accumulator_scale(w, t.op);  // the bias
  }
  if (t.role == "param" || t.role == "rope_table") {
    return op.info().weight_scale.value_or(1.0);
  }
  if (t.role == "input" && op.get_if<VectorOp>()) return op.info().input_scale.value_or(1.0);
  return output_scale(op);  // an embedding's table, a kv_write's input and cache
}

void default_scales(Workload& w) {
  std::vector<double> rms(w.ops.size(), kExternalRms);
  for (std::size_t i = 0; i < w.ops.size(); ++i) {
    Op& op = w.ops[i];
    const auto in_rms = [&](const Operand& x) {
      return x.is_op() ? rms[std::size_t(x.op)] : kExternalRms;
    };
    double r = kExternalRms;
    std::optional<double> step;  // a known bound / 127, or the input's step
    std::optional<double> weight_step;
    if (const auto* mm = op.get_if<MatmulOp>()) {
      const double k = double(mm->k);
      const double rb = mm->b.is_op()                    ? rms[std::size_t(mm->b.op)]
                        : mm->b.source == Source::weight ? 1.0 / std::sqrt(3.0 * k)
                                                         : kExternalRms;
      const VectorOp* pa =
          mm->a.is_op() ? w.ops[std::size_t(mm->a.op)].get_if<VectorOp>() : nullptr;
      // Attention's context: each row a convex combination of B's rows (the probabilities sum
      // to 1), at most B's magnitude; the rows of V share components (the bias, the token
      // type), so they do not average out as independent rows would.
      r = pa && pa->kind == VectorKind::softmax ? rb : std::sqrt(k) * in_rms(mm->a) * rb;
      if (mm->bias) r = std::sqrt(r * r + 1.0 / (3.0 * k));
      if (mm->b.source == Source::weight) weight_step = 1.0 / std::sqrt(k) / 127.0;
    } else if (const auto* v = op.get_if<VectorOp>()) {
      const double r0 = v->inputs.empty() ? kExternalRms : in_rms(v->inputs[0]);
      const double r1 = v->inputs.size() > 1 ? in_rms(v->inputs[1]) : kExternalRms;
      r = r0;
      switch (v->kind) {
        case VectorKind::add:
          r = std::sqrt(r0 * r0 + r1 * r1);
          break;
        case VectorKind::mul:
          r = r0 * r1;
          break;
        case VectorKind::scale:
          r = r0 * std::abs(v->scalar);
          break;
        case VectorKind::relu:
          r = r0 / std::sqrt(2.0);
          break;
        case VectorKind::tanh:
          r = std::min(r0, 1.0);
          step = std::min(kClipRms * r, 1.0) / 127.0;
          break;
        case VectorKind::layernorm:
        case VectorKind::rmsnorm:
          r = 1.0;
          break;
        case VectorKind::softmax: {
          const double top = std::min(1.0, std::exp(kClipRms * r0) / double(v->cols));
          r = std::max(1.0 / double(v->cols), top / 4.0);
          step = top / 127.0;
          break;
        }
        case VectorKind::copy:
          if (v->inputs[0].is_op()) step = output_scale(w.ops[std::size_t(v->inputs[0].op)]);
          break;
        default:
          break;
      }
    } else if (const auto* kv = op.get_if<KvWriteOp>()) {
      r = in_rms(kv->input);
      if (kv->input.is_op()) {
        const double in = output_scale(w.ops[std::size_t(kv->input.op)]);
        const OpInfo& info = op.info();
        if (info.dtype == isa::DType::int8 && info.scale && *info.scale != in) {
          throw WorkloadError("ops[" + std::to_string(i) + "] (" + info.name +
                              "): scale: a kv_write copies its input's bytes, so its step must be "
                              "its input's " +
                              std::to_string(in) + ", got " + std::to_string(*info.scale));
        }
        step = in;
      }
    } else {  // embedding: its table's step
      step = 1.0 / 127.0;
    }
    rms[i] = r;
    OpInfo& info = info_of(op);
    if (info.dtype != isa::DType::int8) continue;
    if (!info.scale) info.scale = clamp_scale(step.value_or(kClipRms * r / 127.0));
    if (op.get_if<MatmulOp>() || op.get_if<VectorOp>()) {
      if (!info.input_scale) info.input_scale = 1.0 / 127.0;
      if (!info.weight_scale) info.weight_scale = weight_step.value_or(1.0 / 127.0);
    }
  }
}

}  // namespace llmsim::workloads
