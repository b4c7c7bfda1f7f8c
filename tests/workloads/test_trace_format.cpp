// The layer trace format (workloads/workload.h): strict validation with messages that name the
// op and the key, the JSON round trip, and the lowering's "not lowered yet" errors.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "sim/core/error.h"
#include "workloads/lowering.h"
#include "workloads/workload.h"

namespace {

using llmsim::config::Json;
using namespace llmsim::workloads;

Workload parse(const std::string& text) {
  return parse_workload(Json::parse(text), "t");
}

// The WorkloadError message of parsing `text`.
std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const llmsim::WorkloadError& e) {
    return e.what();
  }
  return "(no error)";
}

Target small_target() {
  Target t;
  t.array_rows = t.array_cols = 16;
  t.scratchpad_bytes = 256 * 1024;
  t.accumulator_bytes = 64 * 1024;
  t.dma_bytes_per_cycle = 64;
  t.dram_bytes_per_cycle = 64;
  t.dtypes = {llmsim::isa::DType::int8};
  t.gemm_cost = [](llmsim::isa::Dataflow, std::uint64_t m, std::uint64_t k, std::uint64_t n) {
    return llmsim::workloads::Target::GemmCost{m + k + n, m + k + n};
  };
  return t;
}

std::string lowering_error_of(const std::string& text) {
  try {
    lower(parse(text), small_target());
  } catch (const llmsim::WorkloadError& e) {
    return e.what();
  }
  return "(no error)";
}

const char* kAttention = R"({"model": "hand", "batch": 1, "seq": 4, "phase": "prefill", "ops": [
  {"op": "embedding", "name": "emb", "tokens": 4, "vocab": 100, "hidden": 8},
  {"op": "matmul", "name": "q", "m": 4, "k": 8, "n": 8, "a": "emb", "bias": true},
  {"op": "matmul", "name": "k", "m": 4, "k": 8, "n": 8, "a": "emb"},
  {"op": "matmul", "name": "qk", "layer": "attn", "batch": 2, "m": 4, "k": 4, "n": 4,
   "a": "q", "b": "k", "transpose_b": true},
  {"op": "mask", "name": "mask", "rows": 8, "cols": 4, "inputs": ["qk"]},
  {"op": "softmax", "name": "sm", "rows": 8, "cols": 4, "inputs": ["mask"]},
  {"op": "add", "name": "res", "rows": 4, "cols": 8, "inputs": ["emb", "q"]},
  {"op": "add", "name": "bias", "rows": 4, "cols": 8, "inputs": ["res", "weight"]},
  {"op": "copy", "name": "last", "rows": 1, "cols": 8, "inputs": ["bias"], "row_offset": 3},
  {"op": "kv_write", "name": "kc", "input": "k", "batch": 1, "heads": 2, "head_dim": 4,
   "tokens": 4, "kv_len": 6},
  {"op": "matmul", "name": "qk2", "batch": 2, "m": 4, "k": 4, "n": 10, "a": "q", "b": "kc",
   "transpose_b": true}]})";

}  // namespace

TEST_CASE("trace: every op kind parses into its struct, with the operands resolved") {
  const Workload w = parse(kAttention);
  REQUIRE(w.ops.size() == 11);
  CHECK(w.meta.model == "hand");
  CHECK(w.meta.seq == 4u);
  CHECK(w.meta.phase == "prefill");
  const auto& qk = std::get<MatmulOp>(w.ops[3].body());
  CHECK(qk.batch == 2);
  CHECK(qk.a == Operand::from_op(1));
  CHECK(qk.b == Operand::from_op(2));
  CHECK(qk.transpose_b);
  CHECK(qk.macs() == 2 * 4 * 4 * 4);
  CHECK(w.ops[3].layer() == "attn");
  CHECK(w.ops[1].layer() == "q");  // defaults to the name
  CHECK(std::get<MatmulOp>(w.ops[1].body()).bias);
  CHECK(std::get<MatmulOp>(w.ops[1].body()).b.source == Source::weight);
  const auto& mask = std::get<VectorOp>(w.ops[4].body());
  CHECK(mask.kind == VectorKind::mask);
  CHECK(w.ops[7].operands()[1].source == Source::weight);  // a bias vector
  CHECK(std::get<VectorOp>(w.ops[8].body()).row_offset == 3);
  const auto& kc = std::get<KvWriteOp>(w.ops[9].body());
  CHECK(kc.written_elements() == 4 * 2 * 4);
  CHECK(kc.output_elements() == 10 * 2 * 4);  // the whole cache, read by qk2
  CHECK(w.ops[9].kind() == "kv_write");
  CHECK(w.ops[5].kind() == "softmax");
}

TEST_CASE("trace: to_json writes every default and parses back to the same trace") {
  const Workload w = parse(kAttention);
  const Json j = to_json(w);
  CHECK(j["ops"][1]["transpose_b"] == false);
  CHECK(j["ops"][0]["dtype"] == "int8");
  CHECK(j["ops"][8]["row_stride"] == 1);
  CHECK(j["ops"][7]["inputs"] == Json::array({"res", "weight"}));
  CHECK(to_json(parse_workload(j, "t")) == j);
  // The printed form is the same document.
  CHECK(Json::parse(format_trace(j)) == j);
}

TEST_CASE("trace: the matmul-only workloads of issue 2 still read as before") {
  const Workload w = load_workload("mlp");
  REQUIRE(w.ops.size() == 3);
  const MatmulOp& down = std::get<MatmulOp>(w.ops[1].body());
  CHECK(down.a == Operand::from_op(0));
  CHECK(down.b.source == Source::weight);
  CHECK(std::get<MatmulOp>(w.ops[2].body()).a.source == Source::input);
  CHECK(lower(w, small_target()).program.cores.size() == 1);
}

TEST_CASE("trace: validation errors name the op index and the key") {
  CHECK(error_of(R"({"ops": [{"op": "softmax", "rows": 0, "cols": 4, "inputs": ["input"]}]})") ==
        "t: ops[0].rows: must be a positive integer, got 0");
  CHECK(error_of(R"({"ops": [{"op": "softmax", "rows": 2, "cols": 4, "inputs": ["input"],
                              "colz": 3}]})") ==
        "t: ops[0].colz: unknown key (did you mean \"cols\"?); allowed here: op, name, layer, "
        "dtype, rows, cols, inputs");
  CHECK(error_of(R"({"ops": [{"op": "conv", "m": 1}]})")
            .rfind("t: ops[0].op: must be one of matmul, embedding, kv_write, add, mul, scale, "
                   "mask, relu, gelu, silu, tanh, softmax, layernorm, rmsnorm, rope, quantize, "
                   "dequantize, copy, got \"conv\"",
                   0) == 0);
  CHECK(error_of(R"({"ops": [{"op": "matmul", "m": 2, "k": 2, "n": 2, "a": "nope"}]})") ==
        "t: ops[0].a: names no earlier op, got \"nope\"; must be an earlier op's name, "
        "\"input\", \"weight\" or \"kv_cache\"");
  CHECK(error_of(R"({"ops": [{"op": "matmul", "name": "fc", "m": 4, "k": 2, "n": 8},
                             {"op": "relu", "rows": 4, "cols": 4, "inputs": ["fc"]}]})") ==
        "t: ops[1].inputs[0]: op \"fc\" produces 4x8 = 32 elements, but this op needs rows x "
        "cols = 4x4 = 16");
  CHECK(error_of(R"({"ops": [{"op": "matmul", "name": "fc", "m": 4, "k": 2, "n": 8},
                             {"op": "matmul", "m": 4, "k": 4, "n": 4, "a": "fc"}]})") ==
        "t: ops[1].a: op \"fc\" produces 4x8 = 32 elements, but A needs batch x m x k = 1x4x4 "
        "= 16");
  CHECK(error_of(R"({"ops": [{"op": "add", "rows": 2, "cols": 2, "inputs": ["input"]}]})") ==
        "t: ops[0].inputs: must be a list of 2 operands, each an earlier op's name, \"input\", "
        "\"weight\" or \"kv_cache\", got [\"input\"]");
  CHECK(error_of(R"({"ops": [{"op": "relu", "rows": 2, "cols": 2}]})") ==
        "t: ops[0].inputs: is required (a list of 1 operand, each an earlier op's name, "
        "\"input\", \"weight\" or \"kv_cache\")");
  CHECK(error_of(R"({"ops": [{"op": "relu", "name": "r", "rows": 2, "cols": 2,
                              "inputs": ["input"]},
                             {"op": "relu", "rows": 2, "cols": 2, "inputs": ["r"],
                              "dtype": "fp16"}]})") ==
        "t: ops[1].inputs[0]: op \"r\" produces int8, but this op is fp16 (convert with "
        "quantize or dequantize)");
  CHECK(error_of(R"({"ops": [{"op": "relu", "name": "r", "rows": 2, "cols": 2,
                              "inputs": ["input"]},
                             {"op": "dequantize", "rows": 2, "cols": 2, "inputs": ["r"],
                              "dtype": "fp16"}]})") == "(no error)");
  CHECK(error_of(R"({"ops": [{"op": "relu", "name": "weight", "rows": 1, "cols": 1,
                              "inputs": ["input"]}]})") ==
        "t: ops[0].name: \"weight\" is reserved for an operand; choose another name");
  CHECK(error_of(R"({"ops": [{"op": "relu", "name": "r", "rows": 1, "cols": 1,
                              "inputs": ["input"]},
                             {"op": "relu", "name": "r", "rows": 1, "cols": 1,
                              "inputs": ["input"]}]})") ==
        "t: ops[1].name: duplicate op name \"r\"");
  CHECK(error_of(R"({"ops": [{"op": "relu", "rows": 1, "cols": 1, "inputs": ["input"],
                              "row_offset": 1}]})")
            .rfind("t: ops[0].row_offset: unknown key", 0) == 0);
  CHECK(error_of(R"({"ops": [{"op": "kv_write", "batch": 1, "heads": 1, "head_dim": 1,
                              "tokens": 1}]})") ==
        "t: ops[0].input: is required (an earlier op's name, \"input\", \"weight\" or "
        "\"kv_cache\")");
  CHECK(error_of(R"({"phase": "generate", "ops": [{"op": "matmul", "m": 1, "k": 1, "n": 1}]})") ==
        "t: phase: must be one of prefill, decode, got \"generate\"");
  CHECK(error_of(R"({"ops": []})") == "t: ops: must be a non-empty list of ops");
}

TEST_CASE("trace: a copy may select rows inside its input and no further") {
  const std::string head = R"({"ops": [{"op": "relu", "name": "r", "rows": 4, "cols": 2,
                                        "inputs": ["input"]},
                                       {"op": "copy", "rows": 2, "cols": 2, "inputs": ["r"],)";
  CHECK(error_of(head + R"("row_offset": 1, "row_stride": 2}]})") == "(no error)");  // rows 1, 3
  CHECK(error_of(head + R"("row_offset": 2, "row_stride": 2}]})") ==
        "t: ops[1].inputs[0]: copy reads row 4 (row_offset + (rows - 1) x row_stride), but the "
        "input has 4 rows of cols = 2");
}

TEST_CASE("trace: what the target cannot run is a lowering error naming the op") {
  // small_target: int8 arrays only; a 256 KiB scratchpad: with the auto mapping two A regions
  // of 32 KiB and two slots of (256 - 64) / 2 = 96 KiB (workloads/tiling.h).
  CHECK(lowering_error_of(R"({"ops": [{"op": "matmul", "name": "fc", "m": 4, "k": 4, "n": 4,
                                       "dtype": "fp16"}]})") ==
        "ops[0] 'fc' (matmul): dtype fp16 is not supported by the systolic array "
        "(core.systolic.dtypes)");
  // One row of 200,000 int8 elements (195.3 KiB) does not fit a 96 KiB slot.
  CHECK(lowering_error_of(R"({"ops": [{"op": "softmax", "name": "sm", "rows": 2, "cols": 200000,
                                       "inputs": ["input"]}]})") ==
        "ops[0] 'sm' (softmax): a row of 200000 B (plus 0 B of parameters) does not fit a "
        "scratchpad slot of 98304 B");
  // Everything else of the format lowers: the attention example above runs to a program.
  CHECK(lowering_error_of(kAttention) == "(no error)");
}

TEST_CASE("trace: a matmul may name its dataflow, which the arrays must offer") {
  const std::string text = R"({"ops": [{"op": "matmul", "name": "fc", "m": 4, "k": 4, "n": 4,
                                        "dataflow": "os"}]})";
  const Workload w = parse(text);
  REQUIRE(w.ops[0].get_if<MatmulOp>()->dataflow == llmsim::isa::Dataflow::os);
  CHECK(to_json(w)["ops"][0]["dataflow"] == "os");
  CHECK(to_json(parse_workload(to_json(w), "t")) == to_json(w));
  CHECK_FALSE(to_json(parse(R"({"ops": [{"op": "matmul", "name": "fc", "m": 4, "k": 4,
                                         "n": 4}]})"))["ops"][0]
                  .contains("dataflow"));  // none: not written
  CHECK(error_of(R"({"ops": [{"op": "matmul", "name": "fc", "m": 4, "k": 4, "n": 4,
                               "dataflow": "rs"}]})") ==
        "t: ops[0].dataflow: must be one of ws, os, is, got \"rs\"");
  // small_target offers WS only.
  CHECK(lowering_error_of(text) ==
        "ops[0] 'fc' (matmul): dataflow os is not offered by the systolic array, which offers ws "
        "(core.systolic.dataflows)");
  // Offered: every GEMM of the op names it, and its plan says so.
  Target t = small_target();
  t.dataflows = {llmsim::isa::Dataflow::ws, llmsim::isa::Dataflow::os};
  const Lowered l = lower(w, t);
  CHECK(l.plans[0].tiling.dataflow == llmsim::isa::Dataflow::os);
  std::uint64_t gemms = 0;
  for (const auto& inst : l.program.cores[0].queue(llmsim::isa::QueueKind::compute)) {
    if (const auto* g = std::get_if<llmsim::isa::Gemm>(&inst.body)) {
      CHECK(g->dataflow == llmsim::isa::Dataflow::os);
      ++gemms;
    }
  }
  CHECK(gemms == 1);
  // Not named: the tiling's dataflow, the arrays' default; the Gemms leave it unnamed.
  t.dataflows = {llmsim::isa::Dataflow::is, llmsim::isa::Dataflow::os};
  const Lowered d = lower(parse(R"({"ops": [{"op": "matmul", "name": "fc", "m": 4, "k": 4,
                                            "n": 4}]})"),
                          t);
  CHECK(d.plans[0].tiling.dataflow == llmsim::isa::Dataflow::is);
  for (const auto& inst : d.program.cores[0].queue(llmsim::isa::QueueKind::compute)) {
    if (const auto* g = std::get_if<llmsim::isa::Gemm>(&inst.body)) CHECK_FALSE(g->dataflow);
  }
}

TEST_CASE("trace: the hand-written example of README.md is a valid trace") {
  std::ifstream in(std::string(LLMSIM_DATA_DIR) + "/README.md");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string readme = ss.str();
  const auto section = readme.find("## Layer trace format");
  REQUIRE(section != std::string::npos);
  const auto begin = readme.find("```json\n", section) + 8;
  const auto end = readme.find("```", begin);
  const Workload w = parse(readme.substr(begin, end - begin));
  CHECK(w.ops.size() == 10);
  CHECK(w.ops.back().layer() == "attention");
}
