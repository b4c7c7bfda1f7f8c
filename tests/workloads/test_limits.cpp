// Size limits of workloads (workloads/limits.h): checked arithmetic, the bounds of op sizes in
// traces and of model shapes, and the lowering's instruction and DRAM limits, each an error
// naming the limit before any large allocation.
#include <catch2/catch.hpp>

#include <string>

#include "sim/core/error.h"
#include "tests/support/small_target.h"
#include "workloads/limits.h"
#include "workloads/lowering.h"
#include "workloads/model_config.h"
#include "workloads/tiling.h"
#include "workloads/transformer.h"
#include "workloads/workload.h"

namespace {

using Catch::Matchers::Contains;
using Catch::Matchers::Message;
using Catch::Matchers::StartsWith;
using llmsim::WorkloadError;
using llmsim::config::Json;
using namespace llmsim;
using namespace llmsim::workloads;

Workload parse(const std::string& text) {
  return parse_workload(Json::parse(text), "t");
}

std::string parse_error(const std::string& text) {
  try {
    parse(text);
  } catch (const WorkloadError& e) {
    return e.what();
  }
  return "(no error)";
}

// tests/support/small_target.h: one core, a 16x16 array, GEMM cost m + k + n.
Target target() {
  return testing::small_target();
}

std::uint64_t instructions(const Lowered& l) {
  std::uint64_t n = 0;
  for (const auto& core : l.program.cores) {
    for (isa::QueueKind q : isa::kQueues) n += core.queue(q).size();
  }
  return n;
}

}  // namespace

TEST_CASE("checked arithmetic names what overflowed") {
  CHECK(checked_mul(1ull << 32, 1ull << 31, "x") == 1ull << 63);
  CHECK_THROWS_MATCHES(checked_mul(1ull << 32, 1ull << 32, "batch x seq"), WorkloadError,
                       Message("batch x seq: 4294967296 x 4294967296 overflows 64 bits"));
  CHECK(checked_add(~0ull - 1, 1, "x") == ~0ull);
  CHECK_THROWS_MATCHES(checked_add(~0ull, 1, "kv_len + seq"), WorkloadError,
                       Message("kv_len + seq: 18446744073709551615 + 1 overflows 64 bits"));
  // elements: the product up to kMaxElements = 2^40, a wrapped product caught too.
  CHECK(elements({1ull << 20, 1ull << 20}, "a") == kMaxElements);
  CHECK_THROWS_MATCHES(elements({1ull << 20, (1ull << 20) + 1}, "table: vocab x hidden"),
                       WorkloadError,
                       Message("table: vocab x hidden: 1048576 x 1048577 elements, more than the "
                               "1099511627776 an operand may have"));
  // 2^58 x 64 wraps to 2^0 x 0 in 64 bits (the "8 KiB embedding" of the issue).
  CHECK_THROWS_WITH(elements({1ull << 58, 64}, "t"), StartsWith("t: 288230376151711744 x 64 "));
}

TEST_CASE("trace ops: each size at most 2^32, each operand at most 2^40 elements") {
  CHECK(parse_error(R"({"ops": [{"op": "embedding", "tokens": 128, "vocab": 288230376151711744,
                                 "hidden": 64}]})") ==
        "t: ops[0].vocab: must be in [1, 4294967296], got 288230376151711744");
  CHECK(parse_error(R"({"ops": [{"op": "embedding", "tokens": 128, "vocab": 4294967296,
                                 "hidden": 1024}]})") ==
        "t: ops[0]: table: vocab x hidden: 4294967296 x 1024 elements, more than the "
        "1099511627776 an operand may have");
  CHECK(parse_error(R"({"ops": [{"op": "matmul", "m": 4294967296, "k": 4294967296,
                                 "n": 4294967296}]})") ==
        "t: ops[0]: A: batch x m x k: 1 x 4294967296 x 4294967296 elements, more than the "
        "1099511627776 an operand may have");
  CHECK(parse_error(R"({"ops": [{"op": "matmul", "m": 1, "k": 1048576, "n": 2097152}]})") ==
        "t: ops[0]: B: batch x k x n: 1 x 1048576 x 2097152 elements, more than the "
        "1099511627776 an operand may have");
  // copy's last row, row_offset + (rows - 1) x row_stride = 2^32 + (2^32 - 1) x 2^32 = 2^64.
  CHECK(parse_error(R"({"ops": [{"op": "copy", "rows": 4294967296, "cols": 1,
                                 "row_offset": 4294967296, "row_stride": 4294967296,
                                 "inputs": ["input"]}]})") ==
        "t: ops[0]: row_offset + (rows - 1) x row_stride: 4294967296 + 18446744069414584320 "
        "overflows 64 bits");
  CHECK(parse_error(R"({"ops": [{"op": "kv_write", "batch": 65536, "heads": 65536,
                                 "head_dim": 256, "tokens": 1, "kv_len": 1000,
                                 "input": "input"}]})") ==
        "t: ops[0]: cache: batch x heads x (kv_len + tokens) x head_dim: 65536 x 65536 x 1001 x "
        "256 elements, more than the 1099511627776 an operand may have");
}

TEST_CASE("a long trace parses in time linear in its op count") {
  // 20,000 ops, each reading the one before it by name: linear with the name index (the
  // linear search of Workload::index_of made this 2 x 10^8 string compares).
  Json doc;
  doc["ops"] = Json::array();
  for (int i = 0; i < 20000; ++i) {
    doc["ops"].push_back({{"op", "relu"},
                          {"name", "x" + std::to_string(i)},
                          {"rows", 1},
                          {"cols", 8},
                          {"inputs", {i ? "x" + std::to_string(i - 1) : "input"}}});
  }
  const Workload w = parse_workload(doc, "chain");
  REQUIRE(w.ops.size() == 20000);
  CHECK(w.ops[19999].operands()[0] == Operand::from_op(19998));
}

TEST_CASE("model shapes are bounded before a trace is built") {
  const Json gpt2 = Json::parse(R"({"model_type": "gpt2", "n_embd": 768, "n_head": 12,
      "n_layer": 1000000, "vocab_size": 50257, "n_positions": 1024})");
  CHECK_THROWS_MATCHES(parse_model_config(gpt2, "big"), WorkloadError,
                       Message("big: n_layer: must be in [1, 4096], got 1000000"));
  Json ok = gpt2;
  ok["n_layer"] = 2;
  const ModelConfig m = parse_model_config(ok, "gpt2ish");
  TraceOptions o;
  o.batch = 100'000'000;  // x 128 tokens = 1.28e10 rows
  CHECK_THROWS_MATCHES(build_trace(m, o), WorkloadError,
                       Message("gpt2ish: batch x seq = 100000000 x 128 = 12800000000 tokens "
                               "(kv_len + seq = 128): at most 4294967296 each"));
  o.batch = 1;
  o.phase = Phase::decode;
  o.kv_len = ~0ull;  // --kv-len 18446744073709551615 (an internal error before)
  CHECK_THROWS_MATCHES(
      build_trace(m, o), WorkloadError,
      Message("gpt2ish: kv_len + seq: 18446744073709551615 + 1 overflows 64 bits"));
  // Within the rows bound but past an operand's: the op and its sizes are named.
  o.phase = Phase::prefill;
  o.kv_len.reset();
  o.batch = 33'554'432;  // x 128 = 2^32 tokens, x 768 hidden > 2^40
  CHECK_THROWS_WITH(build_trace(m, o),
                    StartsWith("gpt2ish: op 'embeddings.word' (embedding): output: tokens x "
                               "hidden: 4294967296 x 768 elements"));
}

TEST_CASE("the lowering's instruction limit is checked before and while lowering") {
  // 32768^3 on a 16x16 array with 128-KiB-ish slots: hundreds of millions of instructions,
  // refused from the estimate before any is emitted.
  const Workload big = parse(R"({"ops": [{"op": "matmul", "name": "fc", "m": 32768,
                                          "k": 32768, "n": 32768}]})");
  CHECK_THROWS_WITH(lower(big, target()),
                    StartsWith("ops[0] 'fc' (matmul): the workload would lower to about ") &&
                        Contains("more than the limit of 50000000") &&
                        Contains("LLMSIM_MAX_INSTRUCTIONS"));
  // One 64x64x64 tile: load wait, A, B, signal | wait, acc wait, GEMM, signal, acc signal |
  // store wait, store, signal = 12 instructions; the estimate (6 per piece + 5 per output tile
  // = 11) passes a limit of 11, the count stops at the 12th.
  const Workload one = parse(R"({"ops": [{"op": "matmul", "name": "fc", "m": 64, "k": 64,
                                          "n": 64}]})");
  MappingOptions o;
  REQUIRE(instructions(lower(one, target(), o)) == 12);
  o.max_instructions = 12;
  CHECK(instructions(lower(one, target(), o)) == 12);
  o.max_instructions = 11;
  CHECK_THROWS_MATCHES(lower(one, target(), o), WorkloadError,
                       Message("ops[0] 'fc' (matmul): the lowering passes the limit of 11 ISA "
                               "instructions (about 190 bytes of memory each; "
                               "LLMSIM_MAX_INSTRUCTIONS=N raises it)"));
  o.max_instructions = 10;
  CHECK_THROWS_WITH(lower(one, target(), o),
                    StartsWith("ops[0] 'fc' (matmul): the workload would lower to about 11 ISA "
                               "instructions (11 of them for this op), more than the limit of 10"));
}

TEST_CASE("a workload larger than the memory is refused before lowering") {
  // Weights of 2 x 1 MiB int8 against a 1 MiB memory: refused from the sizes.
  const Workload w = parse(R"({"ops": [
    {"op": "matmul", "name": "a", "m": 16, "k": 1024, "n": 1024},
    {"op": "matmul", "name": "b", "m": 16, "k": 1024, "n": 1024, "a": "a"}]})");
  Target t = target();
  t.dram_capacity_bytes = 1 << 20;
  CHECK_THROWS_MATCHES(lower(w, t), WorkloadError,
                       Message("workload 't' needs at least 2113536 bytes of DRAM for its "
                               "weights, inputs and KV caches, more than the memory's 1048576"));
  // With room for the weights and input (2 MiB + 16 KiB) but not for the outputs as well, the
  // footprint after lowering is checked: 4 KiB pages of A 16384, B 1048576, C 16384, B 1048576,
  // C 16384 = 2146304.
  t.dram_capacity_bytes = 2113536;
  CHECK_THROWS_MATCHES(lower(w, t), WorkloadError,
                       Message("workload 't' needs 2146304 bytes of DRAM (weights, inputs and the "
                               "live activations), more than the memory's 2113536"));
  t.dram_capacity_bytes = 2146304;
  CHECK(lower(w, t).dram_footprint_bytes == 2146304);
}

TEST_CASE("choose_tiling copes with 2^32-wide GEMMs without wrapping") {
  // Tile counts of tiny tiles on this GEMM pass 2^64; the choice must still fit the SRAMs.
  MatmulOp op;
  op.name = "huge";
  op.m = op.k = op.n = 1ull << 32;
  const Target t = target();
  const Tiling tl = choose_tiling(t, op, {scratchpad_layout(t, true), true, std::nullopt, 0, {}});
  CHECK(tl.mt * tl.nt * 4 <= accumulator_slot_bytes(t));  // int32 accumulators
  CHECK(tl.mt >= 1);
  CHECK(tl.kt >= 1);
  CHECK(tl.nt >= 1);
}
