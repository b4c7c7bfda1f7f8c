// The core's compute queue runs VectorOps on the vector unit in program order with its GEMMs,
// and records each op's compute cycles.
#include <cstdint>
#include <exception>

#include <catch2/catch.hpp>
#include <systemc>

#include "arch/core/core.h"
#include "arch/memory/simple_memory.h"
#include "sim/core/error.h"
#include "sim/driver/kernel_session.h"
#include "tests/support/small_core.h"

namespace llmsim::core {
namespace {

using Catch::Matchers::Contains;

// 1 GHz core: a 16x16 WS int8 array; 8 x 16 B scratchpad and accumulator; a vector unit of
// L = 16, D = 4, a = 1, e = 4, r = 4, R = 4, S = 6, K = 4 that computes in fp32 and bf16.
CoreParams core_params() {
  CoreParams p = test::small_core();
  vector::VectorTimingParams& t = p.vector.timing;
  t.lanes = 16;
  t.pipeline_depth_cycles = 4;
  t.add_mul_cycles_per_vector = 1;
  t.exp_cycles_per_vector = 4;
  t.reciprocal_cycles_per_vector = 4;
  t.reduction_latency_cycles = 4;
  t.scalar_latency_cycles = 6;
  t.rows_in_flight = 4;
  p.vector.dtypes = {isa::DType::fp32, isa::DType::bf16};
  return p;
}

// C (16 x 16 int32 at acc:0) = A (spad:0) x B (spad:0x100), 16 x 16 x 16 int8.
isa::Instruction gemm(std::int32_t op) {
  isa::Gemm g;
  g.a_addr = 0;
  g.b_addr = 0x100;
  g.c_addr = 0;
  g.m = g.k = g.n = 16;
  return {g, op};
}

// Row-wise softmax of C into bf16 at spad:0x1000.
isa::Instruction softmax(std::int32_t op, isa::DType dtype = isa::DType::fp32) {
  isa::VectorOp v;
  v.kind = isa::VectorKind::softmax;
  v.rows = 16;
  v.cols = 16;
  v.dtype = dtype;
  v.src = {isa::Sram::accumulator, 0, 4};
  v.dst = {isa::Sram::scratchpad, 0x1000, 2};
  return {v, op};
}

// A core on a simple memory (unused: the program moves no data).
struct Rig {
  Rig() : mem("mem", memory::SimpleMemoryParams{}, root), barriers(1), ops(3) {}
  stats::Group root{"chip"};
  memory::SimpleMemory mem;
  BarrierHub barriers;
  OpRecords ops;
  Core core{"core0", 0, core_params(), mem, barriers, ops, root};
};

}  // namespace

TEST_CASE("core: a GEMM, a softmax of its result and a GEMM run in order", "[vector][core]") {
  driver::KernelSession session;
  Rig rig;
  isa::CoreProgram program;
  program.queue(isa::QueueKind::compute) = {gemm(0), softmax(1), gemm(2)};
  rig.core.load(program);
  sc_core::sc_start();
  REQUIRE_FALSE(rig.core.error());
  REQUIRE(rig.core.finished());
  // GEMM, WS, one fold: 2R + N + M - 2 = 32 + 16 + 16 - 2 = 62 cycles; its SRAM traffic (A and
  // B 2 lines per bank each, C 8 lines per bank) is done earlier: cycles 0-62.
  // Softmax of 16 x 16: Vr = 1, I = 1, 5, 1, G1 = D + R = 8, G2 = D + R + S = 14; groups of
  // K = 4: s2 = max(4, 1 + 8) = 9, s3 = 9 + max(20, 5 + 14 + 3 x 4) = 40, T(4) = 40 + 4 = 44;
  // 4 groups: 4 x 44 + D = 180 cycles: cycles 62-242 (its 2 x 1 KiB accumulator reads and
  // 3 x 512 B scratchpad accesses take at most 8 cycles per port).
  // The second GEMM waits for the softmax: cycles 242-304.
  CHECK(sc_core::sc_time_stamp() == sc_core::sc_time(304, sc_core::SC_NS));
  CHECK(rig.ops[0].compute_cycles == Cycles(62));
  CHECK(rig.ops[0].last_end == Cycles(62));
  CHECK(rig.ops[1].first_start == Cycles(62));
  CHECK(rig.ops[1].compute_cycles == Cycles(180));
  CHECK(rig.ops[1].last_end == Cycles(242));
  CHECK(rig.ops[1].macs == 0);
  CHECK(rig.ops[2].first_start == Cycles(242));
  CHECK(rig.ops[2].last_end == Cycles(304));
  CHECK(rig.root.counter_value("core0.vector.busy_cycles") == 180);
  CHECK(rig.root.counter_value("core0.vector.softmax_ops") == 1);
  CHECK(rig.root.counter_value("core0.vector.stall_cycles") == 0);
  CHECK(rig.root.counter_value("core0.systolic.busy_cycles") == 124);
  // The softmax read C twice (passes 1 and 2): 2 x 16 x 16 x 4 B.
  CHECK(rig.root.counter_value("core0.accumulator.read_bytes") == 2048);
}

TEST_CASE("core: a vector op the unit cannot run stops the run with its name", "[vector][core]") {
  driver::KernelSession session;
  Rig rig;
  isa::CoreProgram program;
  program.queue(isa::QueueKind::compute) = {gemm(0), softmax(1, isa::DType::int8)};
  rig.core.load(program);
  sc_core::sc_start();
  REQUIRE(rig.core.error());
  CHECK_THROWS_AS(std::rethrow_exception(rig.core.error()), WorkloadError);
  CHECK_THROWS_WITH(std::rethrow_exception(rig.core.error()),
                    Contains("vec.softmax int8 16x16 acc:0x0/4B -> spad:0x1000/2B: dtype "
                             "int8 is not supported by the vector unit"));
}

}  // namespace llmsim::core
