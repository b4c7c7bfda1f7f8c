// int8 quantisation steps in traces (workloads/quant.h): the defaults of the magnitude rule,
// the parser's checks, and the multipliers the lowering puts on the instructions.
#include <catch2/catch.hpp>

#include <cmath>

#include "sim/core/error.h"
#include "tests/support/small_target.h"
#include "workloads/lowering.h"
#include "workloads/quant.h"
#include "workloads/workload.h"

namespace {

using llmsim::config::Json;
using namespace llmsim;
using namespace llmsim::workloads;

Workload parse(const std::string& text) {
  return parse_workload(Json::parse(text), "t");
}

std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const WorkloadError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST_CASE("quant: the default steps follow each op's expected rms") {
  const Workload w = parse(R"({"ops": [
    {"op": "matmul", "name": "fc", "m": 4, "k": 48, "n": 8},
    {"op": "softmax", "name": "p", "rows": 4, "cols": 8, "inputs": ["fc"]},
    {"op": "layernorm", "name": "ln", "rows": 4, "cols": 8, "inputs": ["p"]},
    {"op": "tanh", "name": "t", "rows": 4, "cols": 8, "inputs": ["ln"]},
    {"op": "copy", "name": "c", "rows": 1, "cols": 8, "inputs": ["t"]},
    {"op": "dequantize", "name": "d", "rows": 4, "cols": 8, "inputs": ["t"], "dtype": "fp32"},
    {"op": "relu", "name": "e", "rows": 4, "cols": 8, "inputs": ["t"], "scale": 0.5}]})");
  // fc: inputs uniform in [-1, 1] (rms 1/sqrt(3), step 1/127) times weights uniform in
  // +-1/sqrt(48) (rms 1/sqrt(3 x 48), step 1/(sqrt(48) 127)), summed over k = 48:
  // rms sqrt(48) / sqrt(3) / sqrt(144) = 1/3, step 4 (1/3) / 127.
  CHECK(w.ops[0].info().input_scale == Approx(1.0 / 127).epsilon(1e-15));
  CHECK(w.ops[0].info().weight_scale == Approx(1.0 / (std::sqrt(48.0) * 127)).epsilon(1e-15));
  CHECK(output_scale(w.ops[0]) == Approx(4.0 / 3 / 127).epsilon(1e-15));
  // softmax of 8 logits of rms 1/3: largest probability about exp(4/3) / 8 = 0.474.
  CHECK(output_scale(w.ops[1]) == Approx(std::exp(4.0 / 3) / 8 / 127).epsilon(1e-15));
  CHECK(output_scale(w.ops[2]) == Approx(4.0 / 127).epsilon(1e-15));  // unit variance, 4 rms
  CHECK(output_scale(w.ops[3]) == Approx(1.0 / 127).epsilon(1e-15));  // tanh: |y| <= 1
  CHECK(output_scale(w.ops[4]) == output_scale(w.ops[3]));            // a copy keeps its step
  CHECK_FALSE(w.ops[5].info().scale.has_value());                     // fp32: none
  CHECK(output_scale(w.ops[6]) == 0.5);                               // given
  // The bias of an int8 matmul is int32 at s_a x s_b.
  CHECK(accumulator_scale(w, 0) == *w.ops[0].info().input_scale * *w.ops[0].info().weight_scale);
  // The steps are written out and read back.
  CHECK(to_json(parse_workload(to_json(w), "t")) == to_json(w));
}

TEST_CASE("quant: steps are checked where they are read") {
  CHECK(error_of(R"({"ops": [{"op": "relu", "rows": 1, "cols": 1, "inputs": ["input"],
                              "scale": 0}]})") ==
        "t: ops[0].scale: must be a number in [1e-12, 1e12] (a quantisation step: real value "
        "= int8 x step), got 0");
  CHECK(error_of(R"({"ops": [{"op": "relu", "rows": 1, "cols": 1, "inputs": ["input"],
                              "weight_scale": "big"}]})") ==
        "t: ops[0].weight_scale: must be a number in [1e-12, 1e12] (a quantisation step: real "
        "value = int8 x step), got \"big\"");
  CHECK(error_of(R"({"ops": [{"op": "relu", "rows": 1, "cols": 1, "inputs": ["input"],
                              "dtype": "bf16", "scale": 0.5}]})") ==
        "t: ops[0].scale: is a quantisation step, for int8 ops only; this op is bf16");
  CHECK(error_of(R"({"ops": [{"op": "embedding", "tokens": 1, "vocab": 4, "hidden": 4,
                              "input_scale": 0.5}]})") ==
        "t: ops[0].input_scale: this op (embedding) has no such operand (its table, input and "
        "output share \"scale\")");
  CHECK(error_of(R"({"ops": [{"op": "relu", "name": "r", "rows": 2, "cols": 2,
                              "inputs": ["input"], "scale": 0.25},
                             {"op": "kv_write", "input": "r", "batch": 1, "heads": 1,
                              "head_dim": 2, "tokens": 2, "scale": 0.5}]})") ==
        "t: ops[1] (op1): scale: a kv_write copies its input's bytes, so its step must be its "
        "input's 0.250000, got 0.500000");
}

TEST_CASE("quant: the lowering requantises a matmul's store by s_a s_b / s_out") {
  const Workload w = parse(R"({"ops": [
    {"op": "matmul", "name": "fc", "m": 4, "k": 48, "n": 8, "input_scale": 0.5,
     "weight_scale": 0.25, "scale": 3},
    {"op": "relu", "name": "r", "rows": 4, "cols": 8, "inputs": ["fc"], "scale": 2}]})");
  MappingOptions fixed;
  fixed.automatic = false;  // no fusion: fc stores its own output
  const Lowered l = lower(w, testing::small_target(), fixed);
  int stores = 0, vectors = 0;
  for (const auto& q : l.program.cores[0].queues) {
    for (const isa::Instruction& i : q) {
      if (const auto* st = std::get_if<isa::DmaStore>(&i.body)) {
        // fc: 0.5 x 0.25 / 3 = 1/24; relu's store moves int8 bytes (multiplier 1).
        CHECK(st->scale == (i.op == 0 ? float(0.125 / 3) : 1.0f));
        ++stores;
      } else if (const auto* v = std::get_if<isa::VectorOp>(&i.body)) {
        CHECK(v->src_scale == 3.0f);
        CHECK(v->dst_scale == 2.0f);
        ++vectors;
      }
    }
  }
  CHECK(stores >= 2);
  CHECK(vectors >= 1);
  // Fused (auto): the relu runs on the accumulator, dequantising it at s_a s_b = 0.125, and
  // the store only saturates.
  const Lowered f = lower(w, testing::small_target());
  REQUIRE(f.plans[1].fused_into == 0);
  for (const auto& q : f.program.cores[0].queues) {
    for (const isa::Instruction& i : q) {
      if (const auto* st = std::get_if<isa::DmaStore>(&i.body)) CHECK(st->scale == 1.0f);
      if (const auto* v = std::get_if<isa::VectorOp>(&i.body)) {
        CHECK(v->src_scale == 0.125f);
        CHECK(v->dst_scale == 2.0f);
      }
    }
  }
}

}  // namespace
