// Vector-op semantics (semantics.h: vector()). Every kind works on a decoded rows x cols block
// of fp32 (an Eigen array), which is encoded to dst only once all of it is computed.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include <Eigen/Core>

#include "arch/isa/dump.h"
#include "arch/values/semantics.h"
#include "arch/vector/vector_op.h"
#include "sim/core/error.h"

namespace llmsim::values {

namespace {

using isa::VectorKind;
using Rows = Eigen::Array<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Strided = Eigen::Map<Rows, 0, Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>>;
using ConstStrided = Eigen::Map<const Rows, 0, Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>>;

SramImage& image(const isa::VectorOperand& o, SramImage& spad, SramImage& acc) {
  return o.sram == isa::Sram::scratchpad ? spad : acc;
}

// The operand's rows x cols block, decoded and rounded to the compute dtype.
Rows read(const isa::VectorOperand& o, Format f, float step, std::uint64_t rows, std::uint64_t cols,
          isa::DType compute, SramImage& spad, SramImage& acc) {
  LLMSIM_CHECK(width_bytes(f) == o.elem_bytes, std::string("vector operand format ") +
                                                   to_string(f) + " is not " +
                                                   std::to_string(o.elem_bytes) + " B wide");
  Rows x(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
  decode(f, image(o, spad, acc).span(o.addr, rows * cols * o.elem_bytes), x.size(), x.data());
  if (is_integer(f)) x *= step;  // dequantised: integer x step, in fp32
  if (compute == isa::DType::fp16) {
    x = x.unaryExpr([](float v) { return fp16_to_float(float_to_fp16(v)); });
  } else if (compute == isa::DType::bf16) {
    x = x.unaryExpr([](float v) { return bf16_to_float(float_to_bf16(v)); });
  }
  return x;
}

// Row r of the result is row r / (rows / src2_rows) of y (isa.h: src2_rows divides rows).
Rows broadcast(const Rows& y, Eigen::Index rows) {
  const Eigen::Index group = rows / y.rows();
  Rows out(rows, y.cols());
  for (Eigen::Index r = 0; r < rows; ++r) out.row(r) = y.row(r / group);
  return out;
}

// Per-row sum accumulated in double, rounded to fp32 once (semantics.h says why).
template <typename Expr>
Eigen::ArrayXf row_sums(const Expr& e) {
  return e.template cast<double>().rowwise().sum().template cast<float>();
}

float gelu(float x) {  // tanh approximation, in the order torch's CPU kernel evaluates it
  const float beta = float(0.7978845608028654);  // sqrt(2 / pi)
  const float kappa = 0.044715f;
  const float inner = beta * (x + kappa * (x * x * x));
  return 0.5f * x * (1.0f + std::tanh(inner));
}

void softmax(Rows& x) {
  Eigen::ArrayXf max(x.rows());  // NaN if the row holds one (torch propagates it too)
  for (Eigen::Index r = 0; r < x.rows(); ++r) max(r) = x.row(r).maxCoeff<Eigen::PropagateNaN>();
  x = (x.colwise() - max).unaryExpr([](float v) { return std::exp(v); });
  const Eigen::ArrayXf inv_sum = 1.0f / row_sums(x);
  x.colwise() *= inv_sum;
}

void layernorm(Rows& x, float epsilon) {
  const Eigen::ArrayXd mean_d = x.cast<double>().rowwise().mean();
  const Eigen::ArrayXf var =
      (x.cast<double>().colwise() - mean_d).square().rowwise().mean().cast<float>();
  const Eigen::ArrayXf inv_std = 1.0f / (var + epsilon).sqrt();
  x.colwise() -= mean_d.cast<float>();
  x.colwise() *= inv_std;
}

void rmsnorm(Rows& x, float epsilon) {
  const Eigen::ArrayXf mean_square = x.cast<double>().square().rowwise().mean().cast<float>();
  const Eigen::ArrayXf inv_rms = 1.0f / (mean_square + epsilon).sqrt();
  x.colwise() *= inv_rms;
}

// Pair i of a row is (a, b) = (i, i + cols/2) for halves, (2i, 2i + 1) for adjacent; the
// table's row holds cos at column i and sin at cols/2 + i.
Rows rope(const Rows& x, const Rows& table, isa::RopePairs pairs) {
  const Eigen::Index rows = x.rows(), cols = x.cols(), half = cols / 2;
  const bool halves = pairs == isa::RopePairs::halves;
  const Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic> stride(cols, halves ? 1 : 2);
  const Eigen::Index b_off = halves ? half : 1;
  Rows out(rows, cols);
  const ConstStrided a(x.data(), rows, half, stride), b(x.data() + b_off, rows, half, stride);
  Strided out_a(out.data(), rows, half, stride), out_b(out.data() + b_off, rows, half, stride);
  const auto cos = table.leftCols(half), sin = table.rightCols(half);
  out_a = a * cos - b * sin;
  out_b = a * sin + b * cos;
  return out;
}

void mask(Rows& x, const isa::CausalMask& m) {
  const auto cols = std::uint64_t(x.cols());
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    const std::uint64_t query = m.query_pos0 + std::uint64_t(r) / m.rows_per_query;
    // Keys key_pos0 .. query stay: the first `keep` columns.
    const std::uint64_t keep = query < m.key_pos0 ? 0 : std::min(cols, query - m.key_pos0 + 1);
    x.row(r).tail(Eigen::Index(cols - keep)).setConstant(-std::numeric_limits<float>::infinity());
  }
}

}  // namespace

void vector(const isa::VectorOp& op, Format src, Format src2, Format dst, SramImage& spad,
            SramImage& acc) {
  vector::check_vector_op(op);
  if (op.dtype == isa::DType::int8) {
    throw WorkloadError(isa::to_string(isa::Instruction{op, -1}) +
                        ": value mode computes vector ops in fp16, bf16 or fp32 lanes, got "
                        "dtype int8");
  }
  LLMSIM_CHECK(width_bytes(dst) == op.dst.elem_bytes,
               std::string("vector dst format ") + to_string(dst) + " is not " +
                   std::to_string(op.dst.elem_bytes) + " B wide");
  LLMSIM_CHECK(op.kind != VectorKind::quantize || dst == Format::int8, "quantize to non-int8");
  LLMSIM_CHECK(op.kind != VectorKind::dequantize || is_integer(src), "dequantize of non-int");
  const float scalar = float(op.scalar), epsilon = float(op.epsilon);
  for (const float s : {op.src_scale, op.src2_scale, op.dst_scale}) {
    LLMSIM_CHECK(std::isfinite(s) && s > 0.0f, "vector op scale must be finite and > 0");
  }
  Rows x = read(op.src, src, op.src_scale, op.rows, op.cols, op.dtype, spad, acc);
  const Rows y = op.src2_rows > 0 ? read(op.src2, src2, op.src2_scale, op.src2_rows, op.cols,
                                         op.dtype, spad, acc)
                                  : Rows();
  switch (op.kind) {
    case VectorKind::add:
      x += broadcast(y, x.rows());
      break;
    case VectorKind::mul:
      x *= broadcast(y, x.rows());
      break;
    case VectorKind::scale:
    case VectorKind::quantize:  // the int8 encoding rounds and saturates
    case VectorKind::dequantize:
      x *= scalar;
      break;
    case VectorKind::mask:
      mask(x, op.mask);
      break;
    case VectorKind::relu:
      x = x.unaryExpr([](float v) { return v < 0.0f ? 0.0f : v; });
      break;
    case VectorKind::gelu:
      x = x.unaryExpr([](float v) { return gelu(v); });
      break;
    case VectorKind::silu:
      x = x.unaryExpr([](float v) { return v / (1.0f + std::exp(-v)); });
      break;
    case VectorKind::tanh:
      x = x.unaryExpr([](float v) { return std::tanh(v); });
      break;
    case VectorKind::softmax:
      softmax(x);
      break;
    case VectorKind::layernorm:
      layernorm(x, epsilon);
      if (op.src2_rows == 2) x = (x.rowwise() * y.row(0)).rowwise() + y.row(1);
      break;
    case VectorKind::rmsnorm:
      rmsnorm(x, epsilon);
      if (op.src2_rows == 1) x.rowwise() *= y.row(0);
      break;
    case VectorKind::rope:
      x = rope(x, broadcast(y, x.rows()), op.rope_pairs);
      break;
    case VectorKind::copy:
      break;
  }
  if (is_integer(dst)) {  // quantised: y / step, in fp32 (the encoding rounds and saturates)
    const float step = op.dst_scale;
    x = x.unaryExpr([step](float v) { return v / step; });
  }
  encode(dst, x.data(), std::size_t(x.size()),
         image(op.dst, spad, acc).span(op.dst.addr, op.rows * op.cols * op.dst.elem_bytes));
}

}  // namespace llmsim::values
