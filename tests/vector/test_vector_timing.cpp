// The closed-form vector timing (arch/vector/timing.h): exact cycles per kind with their
// derivations, and the row-wise schedule checked against a brute-force reference.
#include "arch/vector/timing.h"

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "arch/vector/vector_op.h"

namespace llmsim::vector {
namespace {

using isa::VectorKind;

// L = 16 lanes, D = 4, a = 1, e = 4, r = 4, R = 4, S = 6, K = 1 unless a test says otherwise.
VectorTimingParams small_unit(std::uint64_t rows_in_flight = 1) {
  VectorTimingParams p;
  p.lanes = 16;
  p.pipeline_depth_cycles = 4;
  p.add_mul_cycles_per_vector = 1;
  p.exp_cycles_per_vector = 4;
  p.reciprocal_cycles_per_vector = 4;
  p.reduction_latency_cycles = 4;
  p.scalar_latency_cycles = 6;
  p.rows_in_flight = rows_in_flight;
  return p;
}

isa::VectorOp op_of(VectorKind kind, std::uint64_t rows, std::uint64_t cols,
                    std::uint64_t src2_rows = 0) {
  isa::VectorOp op;
  op.kind = kind;
  op.rows = rows;
  op.cols = cols;
  op.src.elem_bytes = 4;
  op.dst.elem_bytes = kind == VectorKind::quantize ? 1 : 4;
  op.src2.elem_bytes = 4;
  op.src2_rows = src2_rows;
  check_vector_op(op);
  return op;
}

std::uint64_t cycles(const VectorTimingParams& p, const isa::VectorOp& op) {
  return vector_timing(p, op).cycles.count();
}

}  // namespace

TEST_CASE("vector timing: element-wise kinds pack rows*cols into vectors", "[vector]") {
  const VectorTimingParams p = small_unit();
  // 4 x 40 = 160 elements on 16 lanes: V = 10 vectors; cycles = V c + D = 10 c + 4.
  SECTION("one add/mul op per vector: c = a = 1 -> 14") {
    for (VectorKind k : {VectorKind::copy, VectorKind::scale, VectorKind::relu}) {
      CHECK(cycles(p, op_of(k, 4, 40)) == 14);
    }
    CHECK(cycles(p, op_of(VectorKind::add, 4, 40, 4)) == 14);
    CHECK(cycles(p, op_of(VectorKind::mul, 4, 40, 1)) == 14);
  }
  SECTION("mask, quantize, dequantize: c = 2a = 2 -> 24") {
    for (VectorKind k : {VectorKind::mask, VectorKind::quantize, VectorKind::dequantize}) {
      CHECK(cycles(p, op_of(k, 4, 40)) == 24);
    }
  }
  SECTION("rope: c = 3a = 3 -> 34") {
    CHECK(cycles(p, op_of(VectorKind::rope, 4, 40, 4)) == 34);
  }
  SECTION("silu: c = 2a + e + r = 10 -> 104") {
    CHECK(cycles(p, op_of(VectorKind::silu, 4, 40)) == 104);
  }
  SECTION("tanh: c = 3a + e + r = 11 -> 114") {
    CHECK(cycles(p, op_of(VectorKind::tanh, 4, 40)) == 114);
  }
  SECTION("gelu: c = 5a + e + r = 13 -> 134") {
    CHECK(cycles(p, op_of(VectorKind::gelu, 4, 40)) == 134);
  }
  SECTION("rows shorter than the lanes share vectors") {
    // 3 x 5 = 15 elements fit one vector: 1 + 4 = 5.
    CHECK(cycles(p, op_of(VectorKind::relu, 3, 5)) == 5);
    // 17 elements need two: 2 + 4 = 6.
    CHECK(cycles(p, op_of(VectorKind::relu, 1, 17)) == 6);
  }
}

TEST_CASE("vector timing: softmax, one row at a time", "[vector]") {
  const VectorTimingParams p = small_unit(1);
  // 2 x 40: Vr = ceil(40 / 16) = 3 vectors per row and pass.
  // I1 = 3 a = 3 (max), I2 = 3 (a + e) = 15 (exp, sum), I3 = 3 a = 3 (multiply).
  // G1 = D + R = 8; G2 = D + R + S = 14 (the 1/sum).
  // K = 1: T(1) = I1 + G1 + I2 + G2 + I3 = 3 + 8 + 15 + 14 + 3 = 43 per row.
  // cycles = 2 T(1) + D = 86 + 4 = 90.
  const VectorTiming t = vector_timing(p, op_of(VectorKind::softmax, 2, 40));
  CHECK(t.cycles == Cycles(90));
  CHECK(t.vectors == 3 * 2 * 3);
  // 80 elements: add/mul 1 + 1 + 1 per element, exp 1, one scalar 1/sum per row.
  CHECK(t.add_mul_element_ops == 240);
  CHECK(t.exp_element_ops == 80);
  CHECK(t.reciprocal_element_ops == 2);
}

TEST_CASE("vector timing: softmax rows in flight hide the reduction latency", "[vector]") {
  // As above (I = 3, 15, 3; G = 8, 14) with K = 4.
  const VectorTimingParams p = small_unit(4);
  SECTION("one full group") {
    // g = 4: s2 = max(4 I1, I1 + G1 + 3 max(0, I1 - I2)) = max(12, 11) = 12.
    //        s3 = s2 + max(4 I2, I2 + G2 + 3 (I2 - I3)) = 12 + max(60, 65) = 77.
    //        T(4) = s3 + 4 I3 = 89. cycles = 89 + D = 93 (K = 1 would take 4 x 43 + 4 = 176).
    CHECK(cycles(p, op_of(VectorKind::softmax, 4, 40)) == 93);
  }
  SECTION("a full group and a remainder") {
    // rows = 6 = 1 x 4 + 2. T(2): s2 = max(6, 11) = 11; s3 = 11 + max(30, 15 + 14 + 12) = 52;
    // T(2) = 52 + 6 = 58. cycles = T(4) + T(2) + D = 89 + 58 + 4 = 151.
    CHECK(cycles(p, op_of(VectorKind::softmax, 6, 40)) == 151);
  }
  SECTION("more registers than rows") {
    // rows = 2 < K: only the remainder group, T(2) = 58: 62.
    CHECK(cycles(p, op_of(VectorKind::softmax, 2, 40)) == 62);
  }
}

TEST_CASE("vector timing: layernorm and rmsnorm", "[vector]") {
  const VectorTimingParams p = small_unit(1);
  // One row of 16: Vr = 1.
  SECTION("layernorm with gamma and beta") {
    // I = 1 (sum), 2 ((x - mean)^2), 3 ((x - mean) * inv_std * gamma + beta).
    // G1 = D + R = 8 (mean); G2 = D + R + S = 14 (rsqrt). T = 1 + 8 + 2 + 14 + 3 = 28; + D = 32.
    CHECK(cycles(p, op_of(VectorKind::layernorm, 1, 16, 2)) == 32);
  }
  SECTION("layernorm without the affine step") {
    // The last pass is 2: T = 27; + D = 31.
    CHECK(cycles(p, op_of(VectorKind::layernorm, 1, 16)) == 31);
  }
  SECTION("rmsnorm with gamma") {
    // I = 1 (x^2 sum), 2 (x * inv_rms * gamma); G1 = D + R + S = 14. T = 1 + 14 + 2 = 17; + D = 21.
    CHECK(cycles(p, op_of(VectorKind::rmsnorm, 1, 16, 1)) == 21);
  }
  SECTION("rmsnorm without gamma") {
    // T = 1 + 14 + 1 = 16; + D = 20.
    CHECK(cycles(p, op_of(VectorKind::rmsnorm, 1, 16)) == 20);
  }
  SECTION("layernorm of a BERT-base row, 768 wide, three rows in flight") {
    // Vr = 48. I = 48, 96, 144; G = 8, 14. K = 3, rows = 3: one group of 3.
    // s2 = max(3 x 48, 48 + 8 + 0) = 144; s3 = 144 + max(3 x 96, 96 + 14 + 0) = 432;
    // T(3) = 432 + 3 x 144 = 864; + D = 868 (issue-bound: 3 x (48 + 96 + 144) = 864).
    CHECK(cycles(small_unit(3), op_of(VectorKind::layernorm, 3, 768, 2)) == 868);
  }
}

TEST_CASE("vector timing: a decode softmax on the datacenter preset's unit", "[vector]") {
  // configs/datacenter.json: L = 256, D = 8, a = 1, e = 4, R = 8, S = 8, K = 16.
  VectorTimingParams p;
  p.lanes = 256;
  p.pipeline_depth_cycles = 8;
  p.add_mul_cycles_per_vector = 1;
  p.exp_cycles_per_vector = 4;
  p.reciprocal_cycles_per_vector = 4;
  p.reduction_latency_cycles = 8;
  p.scalar_latency_cycles = 8;
  p.rows_in_flight = 16;
  // One query row over 256 keys: Vr = 1, I = 1, 5, 1, G = 16, 24, nothing to overlap:
  // T(1) = 1 + 16 + 5 + 24 + 1 = 47; + D = 55.
  CHECK(cycles(p, op_of(VectorKind::softmax, 1, 256)) == 55);
  // Twelve heads as rows, one group: s2 = max(12, 1 + 16) = 17;
  // s3 = 17 + max(60, 5 + 24 + 11 x 4) = 90; T(12) = 90 + 12 = 102; + D = 110.
  CHECK(cycles(p, op_of(VectorKind::softmax, 12, 256)) == 110);
}

namespace {

// Brute force for the row-wise schedule of timing.h: explicit issue times per row and pass;
// each pass of a group starts at the first cycle (searched one by one) at which every row of
// the group can issue back to back at or after its statistic is ready.
std::uint64_t reference_row_wise(const VectorTimingParams& p, const isa::VectorOp& op) {
  const VectorPlan plan = vector_plan(op);
  const std::uint64_t vr = (op.cols + p.lanes - 1) / p.lanes;
  auto issue = [&](const VectorPass& s) {
    return vr * (s.add_mul_ops * p.add_mul_cycles_per_vector + s.exp_ops * p.exp_cycles_per_vector +
                 s.reciprocal_ops * p.reciprocal_cycles_per_vector);
  };
  std::uint64_t port_free = 0;  // first cycle the issue slot is free
  for (std::uint64_t first = 0; first < op.rows; first += p.rows_in_flight) {
    const std::uint64_t g = std::min(p.rows_in_flight, op.rows - first);
    std::vector<std::uint64_t> ready(g, port_free);  // when each row may issue its next pass
    for (std::size_t k = 0; k < plan.num_passes; ++k) {
      const VectorPass& pass = plan.passes[k];
      const std::uint64_t len = issue(pass);
      std::uint64_t s = port_free;
      for (;; ++s) {
        bool ok = true;
        for (std::uint64_t i = 0; i < g && ok; ++i) ok = s + i * len >= ready[i];
        if (ok) break;
      }
      const std::uint64_t gap = p.pipeline_depth_cycles +
                                (pass.reduces ? p.reduction_latency_cycles : 0) +
                                (pass.scalar_op ? p.scalar_latency_cycles : 0);
      for (std::uint64_t i = 0; i < g; ++i) ready[i] = s + (i + 1) * len + gap;
      port_free = s + g * len;
    }
  }
  return port_free + p.pipeline_depth_cycles;
}

}  // namespace

TEST_CASE("vector timing: the row-wise closed form matches a brute-force schedule", "[vector]") {
  std::mt19937_64 rng(7);
  auto pick = [&rng](std::uint64_t lo, std::uint64_t hi) {
    return std::uniform_int_distribution<std::uint64_t>(lo, hi)(rng);
  };
  for (int trial = 0; trial < 300; ++trial) {
    VectorTimingParams p;
    p.lanes = pick(1, 64);
    p.pipeline_depth_cycles = pick(0, 12);
    p.add_mul_cycles_per_vector = pick(1, 3);
    p.exp_cycles_per_vector = pick(1, 8);
    p.reciprocal_cycles_per_vector = pick(1, 8);
    p.reduction_latency_cycles = pick(0, 10);
    p.scalar_latency_cycles = pick(0, 30);
    p.rows_in_flight = pick(1, 9);
    const VectorKind kinds[] = {VectorKind::softmax, VectorKind::layernorm, VectorKind::rmsnorm};
    const VectorKind kind = kinds[pick(0, 2)];
    const std::uint64_t affine = kind == VectorKind::layernorm ? 2 * pick(0, 1)
                                 : kind == VectorKind::rmsnorm ? pick(0, 1)
                                                               : 0;
    const isa::VectorOp op = op_of(kind, pick(1, 20), pick(1, 200), affine);
    INFO("trial " << trial << " kind " << int(kind) << " rows " << op.rows << " cols " << op.cols
                  << " K " << p.rows_in_flight);
    REQUIRE(vector_timing(p, op).cycles.count() == reference_row_wise(p, op));
  }
}

}  // namespace llmsim::vector
