// A core with a pipelined array (core.systolic.pipelining double_buffered, timing.h): the
// compute queue moves on when the array takes the next GEMM, a compute-queue sem.signal takes
// effect when the GEMMs before it are done (after_reads: have read their operands) without
// holding up the queue, and a vector op waits for the array. Every cycle derived by hand.
#include <cstdint>
#include <exception>
#include <string>

#include <catch2/catch.hpp>
#include <systemc>

#include "arch/core/core.h"
#include "sim/driver/kernel_session.h"
#include "tests/support/core_rig.h"

namespace llmsim::core {
namespace {

// test::rig_core() (tests/support/core_rig.h), its array pipelined as `p`.
CoreParams core_params(systolic::Pipelining p) {
  CoreParams c = test::rig_core();
  c.systolic.pipelining = p;
  return c;
}

isa::Gemm gemm(std::uint64_t b_addr, std::uint64_t c_addr) {
  isa::Gemm g;
  g.a_addr = 0, g.b_addr = b_addr, g.c_addr = c_addr, g.m = g.k = g.n = 16;
  return g;
}

// Loads A, B1, B2 (sem 0); the compute queue runs two GEMMs with the same A, frees the B1
// buffer (sem 1, after_reads) between them and signals C (sem 2) after them; the load queue
// reloads the freed buffer once sem 1 comes, the store queue stores C once sem 2 comes.
isa::CoreProgram two_gemms() {
  isa::CoreProgram program;
  program.semaphore_init = {0, 0, 0};
  program.queue(isa::QueueKind::load) = {{isa::DmaLoad{test::block16(0, 0)}, 0},
                                         {isa::DmaLoad{test::block16(0x1000, 0x100)}, 0},
                                         {isa::DmaLoad{test::block16(0x2000, 0x200)}, 0},
                                         {isa::SemSignal{0}, -1},
                                         {isa::SemWait{1}, -1},
                                         {isa::DmaLoad{test::block16(0x3000, 0x100)}, 0}};
  program.queue(isa::QueueKind::compute) = {{isa::SemWait{0}, -1},
                                            {gemm(0x100, 0), 0},
                                            {isa::SemSignal{1, /*after_reads=*/true}, -1},
                                            {gemm(0x200, 0x400), 0},
                                            {isa::SemSignal{2}, -1}};
  program.queue(isa::QueueKind::store) = {{isa::SemWait{2}, -1},
                                          {isa::DmaStore{test::block16(0x4000, 0x400)}, 0}};
  return program;
}

}  // namespace

TEST_CASE("pipelined core: the second GEMM overlaps the first one's drain", "[core][pipelined]") {
  driver::KernelSession session;
  test::CoreRig rig(core_params(systolic::Pipelining::double_buffered));
  const isa::CoreProgram program = two_gemms();
  rig.run(program);
  // Loads of 256 B each: engine 4 cycles, bus 4 cycles, 100 of latency: A, B1, B2 done at 104,
  // 108, 112; sem 0 at 112.
  // GEMM 1 (one fold, R = S = Nf = 16): preload 112-128, stream from s = 128; the array takes
  // the next GEMM at 128; its operands are read by s + S + R - 1 = 159; its last output leaves
  // at s + S + Nf + R - 2 = 174 (= 112 + 2R + Nf + M - 2, as unpipelined).
  // sem 1 (after_reads) takes effect at 159: the reload of B1's buffer issues then and is done
  // at 159 + 4 + 100 = 263.
  // GEMM 2, issued at 128: its preload starts at the first fold's stream start, 128, its stream
  // at max(128 + R, 128 + S) = 144; done at 144 + 46 = 190. sem 2 at 190 (the compute queue
  // moved on at 144 and ended once the array was done, at 190); the store of C issues at 190:
  // done at 190 + 4 + 100 = 294.
  CHECK(rig.ops[0].last_end == Cycles(294));
  CHECK(rig.core.clock().now() == Cycles(294));
  CHECK(rig.systolic("busy_cycles") == 190 - 112);  // one union: 112-190
  CHECK(rig.systolic("stream_cycles") == 2 * 16);
  CHECK(rig.systolic("gemms") == 2);
}

TEST_CASE("pipelined core: without pipelining the same program runs GEMM after GEMM",
          "[core][pipelined]") {
  driver::KernelSession session;
  test::CoreRig rig(core_params(systolic::Pipelining::none));
  const isa::CoreProgram program = two_gemms();
  rig.run(program);
  // GEMM 1 112-174 (62 cycles); sem 1 at 174, the reload done at 174 + 104 = 278; GEMM 2
  // 174-236; sem 2 at 236, the store done at 236 + 104 = 340.
  CHECK(rig.ops[0].last_end == Cycles(340));
  CHECK(rig.systolic("busy_cycles") == 2 * 62);
  CHECK(rig.systolic("stream_cycles") == 2 * 16);
}

TEST_CASE("pipelined core: a vector op between two GEMMs waits for the array, which refills",
          "[core][pipelined]") {
  driver::KernelSession session;
  test::CoreRig rig(core_params(systolic::Pipelining::double_buffered));
  isa::CoreProgram program = two_gemms();
  // A ReLU of GEMM 1's 16 x 16 int32 results in place, between the two GEMMs.
  isa::VectorOp relu;
  relu.kind = isa::VectorKind::relu;
  relu.rows = relu.cols = 16;
  relu.src = relu.dst = {isa::Sram::accumulator, 0, 4};
  relu.dtype = isa::DType::fp32;
  auto& cq = program.queue(isa::QueueKind::compute);
  cq.insert(cq.begin() + 3, isa::Instruction{relu, 0});
  rig.run(program);
  // GEMM 1 as above: done at 174. The ReLU waits for it: 16 x 16 elements on 16 lanes are 16
  // vectors of one cycle, plus the pipeline depth 4: 174-194. GEMM 2 issues at 194 on an idle
  // array: preload 194-210, done at 194 + 2R + Nf + M - 2 = 256. The store: 256 + 104 = 360.
  CHECK(rig.root.counter_value("core0.vector.busy_cycles") == 20);
  CHECK(rig.systolic("busy_cycles") == 62 + 62);
  CHECK(rig.ops[0].last_end == Cycles(360));
}

}  // namespace llmsim::core
