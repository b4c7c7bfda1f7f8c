#pragma once
// The instruction set: the contract between the frontend (workloads/) and the hardware (arch/).
// Plain data, standard library only.
//
// A core runs three decoupled, in-order instruction queues (decoupled access/execute, as in
// Gemmini and the TPU): `load` moves data DRAM -> SRAM, `compute` drives the systolic array and
// the vector unit, `store` moves results SRAM -> DRAM. The queues run concurrently and meet only
// at counting semaphores (`sem.signal` adds one, `sem.wait` blocks until the count is positive
// and takes one) and at chip-wide barriers. DMA instructions only issue: the queue goes on while
// the block is in flight. `sem.signal` and `barrier` have release semantics: they first wait
// until every DMA block their queue issued before them has completed, so a consumer that takes
// the semaphore sees the data. Addresses are byte addresses; SRAM addresses are local to the
// named SRAM.
#include <array>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "arch/isa/dtype.h"

namespace llmsim::isa {

enum class Sram { scratchpad, accumulator };

// A 2-D block of `rows` x `cols` elements. In DRAM row r starts at dram_addr + r *
// dram_stride_bytes; in SRAM the block is dense (row-major, no padding).
struct Block {
  std::uint64_t rows = 0;
  std::uint64_t cols = 0;
  std::uint64_t dram_addr = 0;
  std::uint64_t dram_stride_bytes = 0;
  std::uint64_t sram_addr = 0;
};

// DRAM -> SRAM. Elements are `elem_bytes` wide on both sides.
struct DmaLoad {
  Block block;
  Sram dst = Sram::scratchpad;
  std::uint32_t elem_bytes = 1;
};

// SRAM -> DRAM. The DMA converts elements from `sram_elem_bytes` (e.g. int32 accumulators) to
// `dram_elem_bytes` (e.g. int8 outputs) on the way out.
struct DmaStore {
  Block block;
  Sram src = Sram::accumulator;
  std::uint32_t sram_elem_bytes = 4;
  std::uint32_t dram_elem_bytes = 1;
};

// C[m][n] (+)= A[m][k] * B[k][n] on the systolic array. A and B are dense in the scratchpad,
// C is dense in the accumulator (accumulator_bytes(dtype) per element). With `accumulate`
// the products are added to C, otherwise C is overwritten.
struct Gemm {
  std::uint64_t a_addr = 0;
  std::uint64_t b_addr = 0;
  std::uint64_t c_addr = 0;
  std::uint64_t m = 0, k = 0, n = 0;
  DType dtype = DType::int8;
  bool accumulate = false;
};

// An element-wise or row-wise operation on the vector unit. The op set grows with the
// transformer frontend; the hardware rejects kinds it does not model.
enum class VectorKind { add, mul, relu, copy };
struct VectorOp {
  VectorKind kind = VectorKind::copy;
  Sram src = Sram::accumulator;
  std::uint64_t src_addr = 0;
  Sram dst = Sram::scratchpad;
  std::uint64_t dst_addr = 0;
  std::uint64_t elements = 0;
  DType dtype = DType::int8;
};

struct SemSignal {
  std::uint32_t sem = 0;
};
struct SemWait {
  std::uint32_t sem = 0;
};
// Every core's queue that reaches barrier `id` waits until all cores have reached it.
struct Barrier {
  std::uint32_t id = 0;
};

using Body = std::variant<DmaLoad, DmaStore, Gemm, VectorOp, SemSignal, SemWait, Barrier>;

struct Instruction {
  Body body;
  std::int32_t op = -1;  // index of the workload op this instruction belongs to; -1 for none
};

enum class QueueKind { load = 0, compute = 1, store = 2 };
inline constexpr std::array<QueueKind, 3> kQueues = {QueueKind::load, QueueKind::compute,
                                                     QueueKind::store};
const char* to_string(QueueKind q);

struct CoreProgram {
  std::vector<std::uint32_t> semaphore_init;  // initial count of each semaphore
  std::array<std::vector<Instruction>, 3> queues;
  std::vector<Instruction>& queue(QueueKind q) { return queues[static_cast<int>(q)]; }
  const std::vector<Instruction>& queue(QueueKind q) const { return queues[static_cast<int>(q)]; }
};

struct Program {
  std::vector<CoreProgram> cores;
};

}  // namespace llmsim::isa
