// Element-wise vector kinds in value mode: add, mul, scale, relu, mask, gelu, silu, tanh.
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
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

TEST_CASE("add and mul pair row r with src2 row r / (rows / src2_rows)", "[values]") {
  isa::VectorOp add = vector_op(VectorKind::add, 2, 2);
  add.src2_rows = 1;  // a bias row: [[1, 2], [3, 4]] + [10, 20]
  CHECK(run_vector(add, {1, 2, 3, 4}, {10, 20}) == std::vector<float>{11, 22, 13, 24});
  add.src2_rows = 2;  // element-wise
  CHECK(run_vector(add, {1, 2, 3, 4}, {0.5f, 0.5f, -3, -4}) ==
        std::vector<float>{1.5f, 2.5f, 0, 0});
  // 2 tokens x 2 heads: rows 0, 1 (token 0) take src2 row 0, rows 2, 3 take row 1.
  isa::VectorOp mul = vector_op(VectorKind::mul, 4, 2);
  mul.src2_rows = 2;
  CHECK(run_vector(mul, {1, 2, 3, 4, 5, 6, 7, 8}, {10, 100, -1, 0.5f}) ==
        std::vector<float>{10, 200, 30, 400, -5, 3, -7, 4});
}

TEST_CASE("scale multiplies by the scalar; relu keeps NaN", "[values]") {
  isa::VectorOp scale = vector_op(VectorKind::scale, 1, 3);
  scale.scalar = 0.125;
  CHECK(run_vector(scale, {8, -1, 3}) == std::vector<float>{1, -0.125f, 0.375f});
  const std::vector<float> r =
      run_vector(vector_op(VectorKind::relu, 1, 5), {-1, 0, 2.5f, -kInf, kNaN});
  CHECK(std::vector<float>(r.begin(), r.begin() + 4) == std::vector<float>{0, 0, 2.5f, 0});
  CHECK(std::isnan(r[4]));
}

// A block of ones through `m`: 1 where the key is visible, -inf where it is masked.
std::vector<float> masked(std::uint64_t rows, std::uint64_t cols, isa::CausalMask m) {
  isa::VectorOp op = vector_op(VectorKind::mask, rows, cols);
  op.mask = m;
  return run_vector(op, std::vector<float>(rows * cols, 1.0f));
}

TEST_CASE("mask: -inf where the key comes after the query", "[values]") {
  const float n = -kInf;
  // Prefill from position 0: lower triangle.
  CHECK(masked(3, 3, {0, 0, 1}) == std::vector<float>{1, n, n, 1, 1, n, 1, 1, 1});
  // A tile of queries 4, 5 against keys 3, 4, 5: query 4 sees keys 3 and 4.
  CHECK(masked(2, 3, {4, 3, 1}) == std::vector<float>{1, 1, n, 1, 1, 1});
  // rows_per_query 2: rows 0, 1 are query 5 and rows 2, 3 query 6; keys 4, 5, 6.
  CHECK(masked(4, 3, {5, 4, 2}) == std::vector<float>{1, 1, n, 1, 1, n, 1, 1, 1, 1, 1, 1});
  // Decode: one query (position 1) for each of 3 heads, keys 0..3: keys 2 and 3 are masked.
  CHECK(masked(3, 4, {1, 0, 3}) == std::vector<float>{1, 1, n, n, 1, 1, n, n, 1, 1, n, n});
  // Every key after the query: all masked.
  CHECK(masked(1, 2, {0, 2, 1}) == std::vector<float>{n, n});
}

// gelu, silu and tanh against torch 1.13's fp32 results on the same inputs (F.gelu(x,
// approximate='tanh'), F.silu, torch.tanh). Both evaluate the same fp32 formula, but with
// different tanh/exp implementations (glibc here, Sleef in torch), each within 1 ulp: silu and
// tanh may differ by 2 ulps. gelu goes through 1 + tanh(z), which near tanh = -1 cancels
// (gelu(-3): 1 + tanh = 0.0073) and turns an ulp of tanh into about 8 ulps of the result: 16.
// All agree to 0 ulps here; a wrong formula misses by thousands.
void check_close(const std::vector<float>& got, const std::vector<float>& want, int ulps) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i << ": got " << got[i] << ", want " << want[i]);
    CHECK(ulps_apart(got[i], want[i]) <= ulps);
  }
}

TEST_CASE("gelu (tanh approximation), silu and tanh agree with torch", "[values]") {
  const std::vector<float> x = {1.0f, -1.0f, 0.5f, 3.0f, -3.0f};
  check_close(run_vector(vector_op(VectorKind::gelu, 1, 5), x),
              {0.8411920070648193f, -0.15880799293518066f, 0.3457140028476715f, 2.9963626861572266f,
               -0.0036374330520629883f},
              16);
  check_close(run_vector(vector_op(VectorKind::silu, 1, 5), x),
              {0.7310585975646973f, -0.2689414322376251f, 0.3112296760082245f, 2.857722520828247f,
               -0.14227761328220367f},
              2);
  check_close(run_vector(vector_op(VectorKind::tanh, 1, 5), x),
              {0.7615941762924194f, -0.7615941762924194f, 0.46211716532707214f, 0.9950547814369202f,
               -0.9950547814369202f},
              2);
  // Exact points: gelu(0) = silu(0) = tanh(0) = 0.
  for (VectorKind k : {VectorKind::gelu, VectorKind::silu, VectorKind::tanh}) {
    CHECK(run_vector(vector_op(k, 1, 1), {0.0f}) == std::vector<float>{0.0f});
  }
  // Large inputs saturate: gelu(10) = 10 and tanh(20) = 1 in fp32; silu(-100) = -100 / (1 +
  // e^100) with e^100 beyond fp32's range (inf): -0.
  CHECK(run_vector(vector_op(VectorKind::gelu, 1, 1), {10.0f}) == std::vector<float>{10.0f});
  CHECK(run_vector(vector_op(VectorKind::tanh, 1, 1), {20.0f}) == std::vector<float>{1.0f});
  const float silu_min = run_vector(vector_op(VectorKind::silu, 1, 1), {-100.0f})[0];
  CHECK((silu_min == 0.0f && std::signbit(silu_min)));
}

}  // namespace
}  // namespace llmsim::values
