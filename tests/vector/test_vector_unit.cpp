// VectorUnit (arch/vector/vector_unit.h): an op ends when both its compute (timing.h) and its
// SRAM traffic through the bank ports are done; ops it cannot run are WorkloadErrors naming the
// instruction; core.vector parses strictly.
#include "arch/vector/vector_unit.h"

#include <cstdint>
#include <string>

#include <catch2/catch.hpp>

#include "arch/isa/dump.h"
#include "arch/sram/banked_sram.h"
#include "sim/core/config.h"
#include "sim/core/error.h"
#include "sim/core/stats.h"
#include "sim/driver/kernel_session.h"

namespace llmsim::vector {
namespace {

using Catch::Matchers::Contains;
using Catch::Matchers::Message;
using isa::Sram;
using isa::VectorKind;

sram::BankedSramParams sram_params(std::uint64_t banks, std::uint64_t width, bool shared = false) {
  sram::BankedSramParams p;
  p.capacity_bytes = 64 * 1024;
  p.banks = banks;
  p.bank_width_bytes = width;
  p.shared_port = shared;
  return p;
}

// L = 16, D = 4, a = 1, e = 4, r = 4, R = 4, S = 6, K = 1; fp32 and bf16.
VectorParams unit_params() {
  VectorParams p;
  p.timing.lanes = 16;
  p.timing.pipeline_depth_cycles = 4;
  p.timing.add_mul_cycles_per_vector = 1;
  p.timing.exp_cycles_per_vector = 4;
  p.timing.reciprocal_cycles_per_vector = 4;
  p.timing.reduction_latency_cycles = 4;
  p.timing.scalar_latency_cycles = 6;
  p.timing.rows_in_flight = 1;
  p.dtypes = {isa::DType::fp32, isa::DType::bf16};
  return p;
}

// A unit with its two SRAMs; stats under "core". Build inside a KernelSession (ClockDomain).
struct Rig {
  Rig(const sram::BankedSramParams& spad_p, const sram::BankedSramParams& acc_p,
      const VectorParams& vp = unit_params())
      : clock(1000), spad(spad_p, root, "spad"), acc(acc_p, root, "acc"), unit(vp, clock, root) {}

  stats::Group root{"core"};
  ClockDomain clock;
  sram::BankedSram spad;
  sram::BankedSram acc;
  VectorUnit unit;

  std::uint64_t run(const isa::VectorOp& op, std::uint64_t now = 0) {
    return unit.execute(op, Cycles(now), spad, acc).count();
  }
  std::uint64_t counter(const std::string& path) const { return root.counter_value(path); }
};

isa::VectorOperand at(Sram s, std::uint64_t addr, std::uint32_t elem_bytes = 4) {
  return isa::VectorOperand{s, addr, elem_bytes};
}

// 4 x 16 fp32, all in the scratchpad: src at 0, src2 at 4 KiB, dst at 8 KiB (256 B each).
// Compute: V = 64 / 16 = 4 vectors, c = a = 1: 4 + D = 8 cycles.
isa::VectorOp residual_add() {
  isa::VectorOp op;
  op.kind = VectorKind::add;
  op.rows = 4;
  op.cols = 16;
  op.src = at(Sram::scratchpad, 0);
  op.src2 = at(Sram::scratchpad, 4096);
  op.src2_rows = 4;
  op.dst = at(Sram::scratchpad, 8192);
  return op;
}

}  // namespace

TEST_CASE("vector unit: an op on wide SRAMs is compute-bound", "[vector]") {
  driver::KernelSession session;
  // 8 banks x 16 B: each 256 B operand is 16 lines, 2 per bank. Read port: src 2 + src2 2 = 4
  // cycles; write port: dst 2. SRAM done at 4, compute at 8: ends at 8.
  Rig rig(sram_params(8, 16), sram_params(8, 16));
  CHECK(rig.run(residual_add()) == 8);
  CHECK(rig.counter("vector.busy_cycles") == 8);
  CHECK(rig.counter("vector.stall_cycles") == 0);
  CHECK(rig.counter("vector.add_ops") == 1);
  CHECK(rig.counter("vector.ops") == 1);
  CHECK(rig.counter("vector.elements") == 64);
  CHECK(rig.counter("vector.vectors") == 4);
  CHECK(rig.counter("spad.read_bytes") == 512);
  CHECK(rig.counter("spad.written_bytes") == 256);
}

TEST_CASE("vector unit: narrow SRAM ports make an op SRAM-bound", "[vector]") {
  driver::KernelSession session;
  // One bank of 4 B: every fp32 element is one line, one cycle on its port; 64 per operand.
  SECTION("both sources share the scratchpad's read port") {
    // Read port: src 64 + src2 64 = 128; write port: dst 64. Ends at max(8, 128) = 128.
    Rig rig(sram_params(1, 4), sram_params(1, 4));
    CHECK(rig.run(residual_add()) == 128);
    CHECK(rig.counter("vector.busy_cycles") == 8);
    CHECK(rig.counter("vector.stall_cycles") == 120);
    CHECK(rig.counter("spad.bank_conflict_cycles") == 64);  // src2 waited for src
  }
  SECTION("src2 in the accumulator reads in parallel") {
    // spad read: src 64; acc read: src2 64; spad write: dst 64. Ends at 64.
    Rig rig(sram_params(1, 4), sram_params(1, 4));
    isa::VectorOp op = residual_add();
    op.src2 = at(Sram::accumulator, 0);
    CHECK(rig.run(op) == 64);
    CHECK(rig.counter("vector.stall_cycles") == 56);
  }
  SECTION("a single read/write port serialises all three") {
    // "1rw": src 64 + src2 64 + dst 64 on one port: 192.
    Rig rig(sram_params(1, 4, true), sram_params(1, 4));
    CHECK(rig.run(residual_add()) == 192);
  }
}

TEST_CASE("vector unit: an op waits for bank ports another access holds", "[vector]") {
  driver::KernelSession session;
  Rig rig(sram_params(8, 16), sram_params(8, 16));
  // A 1280 B write at cycle 0 (a DMA load, say) holds every bank's write port for 80 lines /
  // 8 banks = 10 cycles. The add's dst then writes its 2 lines per bank in cycles 10-11:
  // ends at max(compute 8, 12) = 12.
  CHECK(rig.spad.access(16384, 1280, true, Cycles(0)) == Cycles(10));
  CHECK(rig.run(residual_add()) == 12);
  CHECK(rig.counter("vector.stall_cycles") == 4);
}

TEST_CASE("vector unit: runs one op at a time", "[vector]") {
  driver::KernelSession session;
  // The compute queue and a matmul epilogue from the store queue may both issue at cycle 0: the
  // second add starts when the first ends (8) and ends 8 later. One issued after the first has
  // ended (at 20) starts at once.
  Rig rig(sram_params(8, 16), sram_params(8, 16));
  CHECK(rig.run(residual_add(), 0) == 8);
  CHECK(rig.run(residual_add(), 0) == 16);
  CHECK(rig.run(residual_add(), 20) == 28);
  CHECK(rig.counter("vector.busy_cycles") == 24);
  CHECK(rig.counter("vector.stall_cycles") == 0);
}

TEST_CASE("vector unit: softmax moves every pass's operands through the ports", "[vector]") {
  driver::KernelSession session;
  Rig rig(sram_params(8, 16), sram_params(8, 16));
  // 2 x 40 int32 accumulators (2 x 40 x 4 = 320 B) to bf16 in the scratchpad (160 B). Pass 1 reads
  // src, pass 2 reads src and writes dst, pass 3 reads and writes dst. Compute 90
  // (test_vector_timing: softmax, one row at a time).
  isa::VectorOp op;
  op.kind = VectorKind::softmax;
  op.rows = 2;
  op.cols = 40;
  op.dtype = isa::DType::bf16;
  op.src = at(Sram::accumulator, 0, 4);
  op.dst = at(Sram::scratchpad, 0, 2);
  CHECK(rig.run(op, 100) == 190);
  CHECK(rig.counter("acc.read_bytes") == 640);
  CHECK(rig.counter("spad.read_bytes") == 160);
  CHECK(rig.counter("spad.written_bytes") == 320);
  CHECK(rig.counter("vector.softmax_ops") == 1);
  CHECK(rig.counter("vector.vectors") == 18);
  CHECK(rig.counter("vector.add_mul_element_ops") == 240);
  CHECK(rig.counter("vector.exp_element_ops") == 80);
  CHECK(rig.counter("vector.reciprocal_element_ops") == 2);
}

TEST_CASE("vector unit: layernorm reads gamma and beta once", "[vector]") {
  driver::KernelSession session;
  Rig rig(sram_params(8, 16), sram_params(8, 16));
  // 1 x 16 fp32, gamma and beta 2 x 16 x 2 B = 64 B. src read in 3 passes: 3 x 64 = 192 B.
  // Compute 32 (test_vector_timing: layernorm with gamma and beta).
  isa::VectorOp op;
  op.kind = VectorKind::layernorm;
  op.rows = 1;
  op.cols = 16;
  op.src = at(Sram::scratchpad, 0);
  op.src2 = at(Sram::scratchpad, 1024, 2);
  op.src2_rows = 2;
  op.dst = at(Sram::scratchpad, 2048);
  CHECK(rig.run(op) == 32);
  CHECK(rig.counter("spad.read_bytes") == 192 + 64);
  CHECK(rig.counter("spad.written_bytes") == 64);
}

TEST_CASE("vector unit: energy is element operations x energy per operation", "[vector]") {
  driver::KernelSession session;
  VectorParams p = unit_params();
  p.energy = VectorEnergy{0.5, 10, 20};
  Rig rig(sram_params(8, 16), sram_params(8, 16), p);
  isa::VectorOp op = residual_add();
  op.kind = VectorKind::silu;
  op.src2_rows = 0;
  rig.run(op);
  // 64 elements: 2 add/mul, 1 exp, 1 reciprocal each: 128 x 0.5 + 64 x 10 + 64 x 20 = 1984 pJ.
  const auto* e = dynamic_cast<const stats::Formula*>(rig.root.find("vector.energy_pj"));
  REQUIRE(e != nullptr);
  CHECK(e->value() == 1984.0);
}

TEST_CASE("vector unit: ops it cannot run are errors naming the instruction", "[vector]") {
  driver::KernelSession session;
  Rig rig(sram_params(8, 16), sram_params(8, 16));
  isa::VectorOp op = residual_add();
  SECTION("a dtype the lanes do not support") {
    op.dtype = isa::DType::int8;
    CHECK_THROWS_MATCHES(
        rig.run(op), WorkloadError,
        Message(
            "vec.add    int8 4x16 spad:0x0/4B -> spad:0x2000/4B src2=spad:0x1000/4B src2_rows=4: "
            "dtype int8 is not supported by the vector unit (core.vector.dtypes: fp32, "
            "bf16)"));
  }
  SECTION("zero rows") {
    op.rows = 0;
    op.src2_rows = 1;
    CHECK_THROWS_MATCHES(
        rig.run(op), WorkloadError,
        Message("vec.add    fp32 0x16 spad:0x0/4B -> spad:0x2000/4B "
                "src2=spad:0x1000/4B src2_rows=1: rows and cols must be at least 1"));
  }
  SECTION("an operand leaving its SRAM") {
    op.dst.addr = 64 * 1024 - 128;
    CHECK_THROWS_WITH(
        rig.run(op), Contains("vec.add") && Contains("dst (4x16 x 4 B from 65408) does not fit the "
                                                     "scratchpad (65536 B)"));
  }
  SECTION("a second source the kind does not take") {
    op.kind = VectorKind::relu;
    CHECK_THROWS_WITH(rig.run(op),
                      Contains("vec.relu") && Contains("takes no second source, got src2_rows 4"));
  }
  SECTION("a second source that does not divide the rows") {
    op.src2_rows = 3;
    CHECK_THROWS_WITH(rig.run(op), Contains("src2_rows must divide rows (4), got 3"));
  }
  SECTION("element widths") {
    op.src.elem_bytes = 3;
    CHECK_THROWS_WITH(rig.run(op), Contains("element widths must be 1, 2 or 4 bytes"));
  }
  SECTION("kind-specific rules") {
    isa::VectorOp q = op;
    q.src2_rows = 0;
    q.kind = VectorKind::quantize;
    CHECK_THROWS_WITH(rig.run(q), Contains("dst must be int8 (elem_bytes 1)"));
    q.kind = VectorKind::dequantize;
    q.src.elem_bytes = 2;
    CHECK_THROWS_WITH(rig.run(q), Contains("src must be int8 or int32"));
    isa::VectorOp r = op;
    r.kind = VectorKind::rope;
    r.cols = 15;
    CHECK_THROWS_WITH(rig.run(r), Contains("cols must be even (pairs), got 15"));
    isa::VectorOp m = op;
    m.kind = VectorKind::mask;
    m.src2_rows = 0;
    m.mask.rows_per_query = 3;
    CHECK_THROWS_WITH(rig.run(m), Contains("mask.rows_per_query must divide rows (4), got 3"));
    isa::VectorOp n = op;
    n.kind = VectorKind::layernorm;
    n.src2_rows = 1;
    CHECK_THROWS_WITH(rig.run(n), Contains("src2_rows must be 0 or 2 (gamma, beta), got 1"));
  }
  CHECK(rig.counter("vector.ops") == 0);
}

TEST_CASE("vector ops print with their shape, operands and parameters", "[vector][isa]") {
  isa::VectorOp op;
  op.kind = VectorKind::mask;
  op.rows = 12;
  op.cols = 128;
  op.src = at(Sram::accumulator, 0x40, 4);
  op.dst = at(Sram::scratchpad, 0x100, 2);
  op.mask = {127, 0, 12};
  CHECK(isa::to_string(isa::Instruction{op, 3}) ==
        "vec.mask   fp32 12x128 acc:0x40/4B -> spad:0x100/2B q0=127 k0=0 rows/q=12");
  op.kind = VectorKind::rope;
  op.src2 = at(Sram::scratchpad, 0x2000, 2);
  op.src2_rows = 1;
  CHECK(isa::to_string(isa::Instruction{op, 3}) ==
        "vec.rope   fp32 12x128 acc:0x40/4B -> spad:0x100/2B src2=spad:0x2000/2B src2_rows=1 "
        "pairs=halves");
  op.kind = VectorKind::dequantize;
  op.src2_rows = 0;
  op.scalar = 0.125;
  CHECK(isa::to_string(isa::Instruction{op, 3}) ==
        "vec.dequantize fp32 12x128 acc:0x40/4B -> spad:0x100/2B scalar=0.125");
}

namespace {

VectorParams parse(const config::Json& vector, config::Json* resolved_out = nullptr) {
  const config::Json doc = {{"vector", vector}};
  config::Json resolved;
  config::Reader root(doc, "core", resolved);
  VectorParams p = root.parse_child<VectorParams>("vector");
  if (resolved_out) *resolved_out = resolved["vector"];
  return p;
}

}  // namespace

TEST_CASE("core.vector: defaults are written out", "[vector][config]") {
  config::Json resolved;
  const VectorParams p = parse({{"lanes", 128}, {"pipeline_depth_cycles", 6}}, &resolved);
  CHECK(p.timing.lanes == 128);
  CHECK(p.timing.pipeline_depth_cycles == 6);
  CHECK(p.timing.add_mul_cycles_per_vector == 1);
  CHECK(p.timing.exp_cycles_per_vector == 4);
  CHECK(p.timing.reciprocal_cycles_per_vector == 4);
  CHECK(p.timing.reduction_latency_cycles == 7);  // ceil(log2(128))
  CHECK(p.timing.scalar_latency_cycles == 6);     // pipeline_depth_cycles
  CHECK(p.timing.rows_in_flight == 1);
  CHECK(p.dtypes == std::vector<isa::DType>{isa::DType::fp32});
  CHECK_FALSE(p.energy.has_value());
  CHECK(resolved == config::Json::parse(R"({"lanes": 128, "pipeline_depth_cycles": 6,
      "add_mul_cycles_per_vector": 1, "exp_cycles_per_vector": 4,
      "reciprocal_cycles_per_vector": 4, "reduction_latency_cycles": 7,
      "scalar_latency_cycles": 6, "rows_in_flight": 1, "dtypes": ["fp32"]})"));
  CHECK(parse({{"lanes", 100}, {"pipeline_depth_cycles", 0}}).timing.reduction_latency_cycles == 7);
  const VectorParams e =
      parse({{"lanes", 1},
             {"pipeline_depth_cycles", 2},
             {"energy_pj_per_element_op", {{"add_mul", 0.5}, {"exp", 6}, {"reciprocal", 7}}}});
  CHECK(e.timing.reduction_latency_cycles == 0);
  REQUIRE(e.energy.has_value());
  CHECK(e.energy->exp_pj == 6.0);
}

TEST_CASE("core.vector: errors name the key, the value and what is allowed", "[vector][config]") {
  CHECK_THROWS_MATCHES(parse(config::Json::object()), ConfigError,
                       Message("core.vector.lanes: is required (a positive integer)"));
  CHECK_THROWS_MATCHES(parse({{"lanes", 0}, {"pipeline_depth_cycles", 4}}), ConfigError,
                       Message("core.vector.lanes: must be a positive integer, got 0"));
  CHECK_THROWS_MATCHES(parse({{"lanes", 131072}, {"pipeline_depth_cycles", 4}}), ConfigError,
                       Message("core.vector.lanes: must be at most 65536, got 131072"));
  CHECK_THROWS_MATCHES(
      parse({{"lanes", 16}}), ConfigError,
      Message("core.vector.pipeline_depth_cycles: is required (a non-negative integer)"));
  CHECK_THROWS_MATCHES(
      parse({{"lanes", 16}, {"pipeline_depth_cycles", 4}, {"exp_cycles_per_vector", 0}}),
      ConfigError, Message("core.vector.exp_cycles_per_vector: must be a positive integer, got 0"));
  CHECK_THROWS_MATCHES(
      parse({{"lanes", 16}, {"pipeline_depth_cycles", 4}, {"dtypes", {"fp8"}}}), ConfigError,
      Message("core.vector.dtypes: must be a non-empty list of int8, fp16, bf16, fp32, got "
              "[\"fp8\"]"));
  CHECK_THROWS_WITH(parse({{"lanes", 16}, {"pipeline_depth_cycles", 4}, {"lane", 16}}),
                    Contains("core.vector.lane: unknown key"));
  CHECK_THROWS_MATCHES(
      parse({{"lanes", 16},
             {"pipeline_depth_cycles", 4},
             {"energy_pj_per_element_op", {{"add_mul", 1}, {"reciprocal", 2}}}}),
      ConfigError,
      Message("core.vector.energy_pj_per_element_op.exp: is required (a non-negative number)"));
}

}  // namespace llmsim::vector
