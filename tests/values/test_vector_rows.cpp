// Row-wise vector kinds in value mode: softmax, layernorm, rmsnorm; and rope.
#include <cmath>
#include <limits>
#include <vector>

#include <catch2/catch.hpp>

#include "arch/values/semantics.h"
#include "tests/values/value_helpers.h"

namespace llmsim::values {
namespace {

using isa::VectorKind;
using test::run_vector;
using test::ulps_apart;
using test::vector_op;

constexpr float kInf = std::numeric_limits<float>::infinity();

// Each output is within `ulps` of the exact value (computed in double here).
void check_ulps(const std::vector<float>& got, const std::vector<double>& exact, int ulps) {
  REQUIRE(got.size() == exact.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i << ": got " << got[i] << ", exact " << exact[i]);
    CHECK(ulps_apart(got[i], float(exact[i])) <= ulps);
  }
}

TEST_CASE("softmax per row, max-subtracted; an all -inf row is NaN", "[values]") {
  // [0, ln 2, ln 3]: exp gives 1, 2, 3 (each rounded once), sum 6: [1/6, 2/6, 3/6]. Up to 3
  // ulps: exp (1 ulp, glibc), 1 / sum (0.5) and the product (0.5) each round; torch gives
  // 0.16666666 for 1/6, an ulp below the nearest float.
  isa::VectorOp op = vector_op(VectorKind::softmax, 2, 3);
  const float l2 = std::log(2.0f), l3 = std::log(3.0f);
  // Row 1 is row 0 shifted by 100: the max subtraction makes it the same.
  const std::vector<float> got = run_vector(op, {0, l2, l3, 100, 100 + l2, 100 + l3});
  check_ulps({got[0], got[1], got[2]}, {1.0 / 6, 2.0 / 6, 3.0 / 6}, 3);
  // 100 + ln 2 rounds in fp32 (ulp 2^-17 near 100): within 2^-17 of exact, a relative error of
  // the softmax of up to 2^-17 ~ 8e-6.
  for (int i = 0; i < 3; ++i) CHECK(std::fabs(got[3 + i] - got[i]) < 8e-6 * got[i]);

  // A masked key contributes 0: [0, -inf, ln 3] -> [1/4, 0, 3/4]. Large equal values do not
  // overflow: [1000, 1000] -> [0.5, 0.5] exactly (exp(0) = 1, 1 / 2).
  const std::vector<float> m = run_vector(vector_op(VectorKind::softmax, 1, 3), {0, -kInf, l3});
  check_ulps(m, {0.25, 0.0, 0.75}, 3);
  CHECK(run_vector(vector_op(VectorKind::softmax, 1, 2), {1000, 1000}) ==
        std::vector<float>{0.5f, 0.5f});
  // All -inf: max = -inf and -inf - -inf = NaN, as torch.softmax gives; a NaN anywhere in
  // the row (the max propagates it) also makes the whole row NaN, as in torch.
  for (float v : run_vector(vector_op(VectorKind::softmax, 1, 2), {-kInf, -kInf})) {
    CHECK(std::isnan(v));
  }
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (float v : run_vector(vector_op(VectorKind::softmax, 1, 3), {1, nan, 2})) {
    CHECK(std::isnan(v));
  }
}

TEST_CASE("layernorm: biased variance, epsilon, then gamma and beta", "[values]") {
  // [1, 2, 3, 4]: mean 2.5, var (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25 (biased). eps 0:
  // (x - 2.5) / sqrt(1.25). Within 2 ulps: 1 / sqrt(1.25f) rounds twice, the product once.
  isa::VectorOp op = vector_op(VectorKind::layernorm, 1, 4);
  op.epsilon = 0;
  const double s = std::sqrt(1.25);
  check_ulps(run_vector(op, {1, 2, 3, 4}), {-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s}, 2);
  // eps 0.25: var + eps = 1.5; gamma [1, 2, 1, 2] (src2 row 0), beta [0, 0, 1, 1] (row 1):
  // [-1.5 / sqrt 1.5, -0.5 * 2 / sqrt 1.5, 0.5 / sqrt 1.5 + 1, 1.5 * 2 / sqrt 1.5 + 1].
  op.epsilon = 0.25;
  op.src2_rows = 2;
  const double t = std::sqrt(1.5);
  check_ulps(run_vector(op, {1, 2, 3, 4}, {1, 2, 1, 2, 0, 0, 1, 1}),
             {-1.5 / t, -1.0 / t, 0.5 / t + 1, 3.0 / t + 1}, 2);
  // A constant row normalises to exact zeros (x - mean = 0), then beta.
  CHECK(run_vector(op, {3, 3, 3, 3}, {1, 2, 1, 2, 0, 0, 1, 1}) == std::vector<float>{0, 0, 1, 1});
}

TEST_CASE("rmsnorm: x / sqrt(mean(x^2) + epsilon), then gamma", "[values]") {
  // [1, 2, 2, 4]: mean square (1 + 4 + 4 + 16) / 4 = 6.25, rms 2.5: x * 0.4f exactly (a
  // power-of-two multiple of the float 0.4f), so exact equality holds.
  isa::VectorOp op = vector_op(VectorKind::rmsnorm, 1, 4);
  op.epsilon = 0;
  CHECK(run_vector(op, {1, 2, 2, 4}) == std::vector<float>{0.4f, 0.8f, 0.8f, 1.6f});
  op.src2_rows = 1;  // gamma [1, 0.5, 2, 1]
  CHECK(run_vector(op, {1, 2, 2, 4}, {1, 0.5f, 2, 1}) ==
        std::vector<float>{0.4f, 0.4f, 1.6f, 1.6f});
  // Epsilon is inside the root: [3, 4] has mean square 12.5; + 3.5 = 16, rms 4: [0.75, 1].
  isa::VectorOp eps = vector_op(VectorKind::rmsnorm, 1, 2);
  eps.epsilon = 3.5;
  CHECK(run_vector(eps, {3, 4}) == std::vector<float>{0.75f, 1.0f});
}

TEST_CASE("rope rotates the pairs of each rope_pairs layout by the table row", "[values]") {
  // x = [1, 2, 3, 4]; table row [cos_0, cos_1, sin_0, sin_1] = [0.5, 1, 0.75, 0] (linear in
  // the table, so any numbers test the formula; these keep every product exact).
  isa::VectorOp op = vector_op(VectorKind::rope, 1, 4);
  op.src2_rows = 1;
  // halves: pairs (0, 2) and (1, 3). Pair 0 (1, 3): (1 * 0.5 - 3 * 0.75, 1 * 0.75 + 3 * 0.5) =
  // (-1.75, 2.25); pair 1 (2, 4) with cos 1, sin 0 stays.
  op.rope_pairs = isa::RopePairs::halves;
  CHECK(run_vector(op, {1, 2, 3, 4}, {0.5f, 1, 0.75f, 0}) ==
        std::vector<float>{-1.75f, 2, 2.25f, 4});
  // adjacent: pairs (0, 1) and (2, 3). Pair 0 (1, 2): (0.5 - 1.5, 0.75 + 1) = (-1, 1.75).
  op.rope_pairs = isa::RopePairs::adjacent;
  CHECK(run_vector(op, {1, 2, 3, 4}, {0.5f, 1, 0.75f, 0}) == std::vector<float>{-1, 1.75f, 3, 4});
}

TEST_CASE("rope: row r takes table row r / (rows / src2_rows)", "[values]") {
  // 2 tokens x 2 heads of one pair each: token 0 rotates by 90 degrees (cos 0, sin 1: (a, b)
  // -> (-b, a)), token 1 by 180 degrees (cos -1, sin 0: (a, b) -> (-a, -b)).
  isa::VectorOp op = vector_op(VectorKind::rope, 4, 2);
  op.src2_rows = 2;
  CHECK(run_vector(op, {1, 2, 3, 4, 5, 6, 7, 8}, {0, 1, -1, 0}) ==
        std::vector<float>{-2, 1, -4, 3, -5, -6, -7, -8});
  // src2_rows = rows: one table row per row.
  op.src2_rows = 4;
  CHECK(run_vector(op, {1, 2, 3, 4, 5, 6, 7, 8}, {0, 1, -1, 0, 1, 0, 0, -1}) ==
        std::vector<float>{-2, 1, -3, -4, 5, 6, 8, -7});
}

}  // namespace
}  // namespace llmsim::values
