#pragma once
// The instruction set: the contract between the frontend (workloads/) and the hardware (arch/).
// Plain data, standard library only.
//
// A core runs three decoupled, in-order instruction queues (decoupled access/execute, as in
// Gemmini and the TPU): `load` moves data DRAM -> SRAM, `compute` drives the systolic array and
// the vector unit one instruction after the other (a VectorOp starts when the Gemm before it has
// finished, and the other way round), `store` moves results SRAM -> DRAM. The queues run
// concurrently and meet only at counting semaphores (`sem.signal` adds one, `sem.wait` blocks
// until the count is positive and takes one) and at chip-wide barriers. DMA instructions only
// issue: the queue goes on while the block is in flight. `sem.signal` and `barrier` have release
// semantics: they first wait until every DMA block their queue issued before them has
// completed, so a consumer that takes the semaphore sees the data. A pipelined array
// (arch/systolic/timing.h) takes the next Gemm before the last one's results are out: a
// `sem.signal` on the compute queue then takes effect, without holding up the queue, once the
// Gemms before it are done (results in the accumulator), or with `after_reads` once they have
// read their operands (what frees a scratchpad buffer for the next load); a `barrier` or a
// VectorOp waits until they are done. Addresses are byte
// addresses; SRAM addresses are local to the named SRAM.
#include <array>
#include <cstdint>
#include <deque>
#include <optional>
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
// `dram_elem_bytes` (e.g. int8 outputs) on the way out. `scale`: the requantisation multiplier
// of an int32 -> int8 store, s_a * s_b / s_out for a matmul whose inputs have quantisation steps
// s_a and s_b and whose output has s_out (Gemmini's mvout acc_scale): each element becomes
// saturate_int8(round_half_even(float(x) * scale)), the product in fp32. 1 leaves the integers
// as they are (saturated); every other conversion ignores it. The DMA applies it in flight: it
// costs no cycles of its own (as Gemm's bias_addr).
struct DmaStore {
  Block block;
  Sram src = Sram::accumulator;
  std::uint32_t sram_elem_bytes = 4;
  std::uint32_t dram_elem_bytes = 1;
  float scale = 1.0f;
};

// How a systolic array maps a GEMM (arch/systolic/timing.h): which operand stays in the PEs.
enum class Dataflow { ws, os, is };
inline const char* to_string(Dataflow d) {
  return d == Dataflow::ws ? "ws" : d == Dataflow::os ? "os" : "is";
}

// C[m][n] (+)= A[m][k] * B[k][n] on the systolic array. A and B are dense in the scratchpad,
// C is dense in the accumulator (accumulator_bytes(dtype) per element). With `accumulate`
// the products are added to C, otherwise C is overwritten. `dataflow`: the one the array runs
// it in, which the array must offer (core.systolic.dataflows; else a WorkloadError); none: the
// array's default. A reconfigurable array switches between GEMMs of different dataflows
// (arch/systolic/timing.h). `bias_addr`: a row of n accumulator-width elements (int32 or fp32)
// dense in the scratchpad, added to every row of C: C = (C +) A x B + bias. The array reads it
// with the GEMM's operands, as Gemmini preloads its D matrix; it costs no cycles of its own.
// `b_transposed`: B is stored as its transpose, n x k dense (a K cache row per key, a weight
// kept as torch's out x in); the array reads it transposed at no cost (Gemmini's
// B_transpose), so the timing is that of the same GEMM with B k x n.
struct Gemm {
  std::uint64_t a_addr = 0;
  std::uint64_t b_addr = 0;
  std::uint64_t c_addr = 0;
  std::uint64_t m = 0, k = 0, n = 0;
  DType dtype = DType::int8;
  bool accumulate = false;
  std::optional<Dataflow> dataflow;
  std::optional<std::uint64_t> bias_addr;
  bool b_transposed = false;
};

// ---- The vector / special-function unit (arch/vector/) ----
//
// A VectorOp works on a block of `rows` x `cols` elements that is dense and row-major in SRAM:
// element (r, c) of an operand lies at addr + (r * cols + c) * elem_bytes. Element-wise kinds
// treat the block as rows * cols independent elements; the row-wise kinds (softmax, layernorm,
// rmsnorm) reduce over the `cols` elements of each row. Elements are converted from their
// stored width to the compute `dtype` on the way in and back to dst's width on the way out.
// Quantised operands: an operand stored as integers (int8, or an int32 accumulator) is
// dequantised on the way in, each element times its quantisation step (src_scale, src2_scale;
// real value = integer x step, the product in fp32); an integer dst gets
// round_half_even(y / dst_scale) (fp32 quotient), saturated to the range of dst's format. The
// steps of floating-point operands are ignored; all three are 1 by default (the integers
// themselves). They cost no cycles: the unit's converters apply them in flight.
// The hardware rejects (WorkloadError) an op that breaks any rule written here.
enum class VectorKind {
  add,         // dst = src + src2 (residual add; bias add with src2_rows = 1)
  mul,         // dst = src * src2
  scale,       // dst = src * scalar (e.g. 1/sqrt(head_dim) on attention scores)
  mask,        // causal mask: dst = src, or -inf where the key comes after the query (`mask`)
  relu,        // dst = max(src, 0)
  gelu,        // dst = GELU(src), tanh approximation (BERT, GPT-2)
  silu,        // dst = src * sigmoid(src) (Llama's SwiGLU gate; the product with the up
               // projection is a separate mul)
  tanh,        // dst = tanh(src) = 2 sigmoid(2 src) - 1 (BERT's pooler)
  softmax,     // per row: dst = exp(src - max) / sum(exp(src - max))
  layernorm,   // per row: dst = (src - mean) / sqrt(var + epsilon), then * gamma + beta
  rmsnorm,     // per row: dst = src / sqrt(mean(src^2) + epsilon), then * gamma
  rope,        // rotary embedding: each pair (x, y) of a row -> (x cos - y sin, x sin + y cos)
  quantize,    // dst (int8, elem_bytes 1) = saturate(round(src * scalar)), symmetric
  dequantize,  // dst = src * scalar, src int8 (elem_bytes 1) or int32 (elem_bytes 4)
  copy,        // dst = src, converted from src.elem_bytes to dst.elem_bytes
};

// One operand of a VectorOp: where its block lies and how wide its elements are stored.
struct VectorOperand {
  Sram sram = Sram::scratchpad;
  std::uint64_t addr = 0;        // byte address of element (0, 0), local to `sram`
  std::uint32_t elem_bytes = 0;  // stored bytes per element: 1, 2 or 4 (int32 and fp32
                                 // accumulators are 4; activations size_bytes(model dtype))
};

// Which elements of a row rope rotates together.
enum class RopePairs {
  halves,    // (c, c + cols/2) for c < cols/2: GPT-NeoX, Llama as in Hugging Face
  adjacent,  // (2i, 2i + 1): GPT-J, Meta's Llama reference code
};

// Where the causal mask falls: row r of the block is the query at position
// query_pos0 + r / rows_per_query, column c the key at position key_pos0 + c; an element is
// masked when its key position is greater than its query position. Prefill: a tile of queries
// from query_pos0 against a tile of keys from key_pos0, rows_per_query = 1. Decode: one query
// (the current position) for every head, rows = heads = rows_per_query, key_pos0 = 0.
struct CausalMask {
  std::uint64_t query_pos0 = 0;
  std::uint64_t key_pos0 = 0;
  std::uint64_t rows_per_query = 1;  // >= 1 and divides rows
};

struct VectorOp {
  VectorKind kind = VectorKind::copy;
  std::uint64_t rows = 0;     // >= 1
  std::uint64_t cols = 0;     // >= 1; even for rope
  DType dtype = DType::fp32;  // compute type of the lanes; must be in core.vector.dtypes
  VectorOperand src;          // rows x cols, every kind
  VectorOperand dst;          // rows x cols, every kind; may equal src (in place)
  // The second source, `src2_rows` x cols; src2_rows = 0 means none. By kind:
  //   add, mul, rope: required; src2_rows divides rows and row r of src pairs with row
  //     r / (rows / src2_rows) of src2: src2_rows = rows is element-wise, 1 broadcasts one row
  //     (a bias), tokens with rows = tokens x heads gives every head of a token its row.
  //     For rope src2 is the table: row j holds cos(theta_i) at column i and sin(theta_i) at
  //     column cols/2 + i, for the pairs i = 0 .. cols/2 - 1 of `rope_pairs`.
  //   layernorm: 2 (row 0 gamma, row 1 beta) or 0 (no affine step);
  //   rmsnorm: 1 (gamma) or 0 (no affine step);
  //   every other kind: 0.
  // gamma/beta and broadcast rows are read from SRAM once per op (held in the unit).
  VectorOperand src2;
  std::uint64_t src2_rows = 0;
  double scalar = 1.0;    // scale: the factor; quantize: multiplier before rounding (1 / the
                          // quantisation step); dequantize: the step. Ignored otherwise.
  double epsilon = 1e-5;  // layernorm, rmsnorm: added to the variance / mean square
  // Quantisation steps of integer operands (above): > 0 and finite.
  float src_scale = 1.0f, src2_scale = 1.0f, dst_scale = 1.0f;
  CausalMask mask;                           // mask only
  RopePairs rope_pairs = RopePairs::halves;  // rope only
};

struct SemSignal {
  std::uint32_t sem = 0;
  bool after_reads = false;  // compute queue: once the Gemms before it have read their operands
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

// A queue's instructions. A deque: a lowering appends hundreds of thousands of them, and a
// vector would copy them all at every doubling.
using InstructionQueue = std::deque<Instruction>;

enum class QueueKind { load = 0, compute = 1, store = 2 };
inline constexpr std::array<QueueKind, 3> kQueues = {QueueKind::load, QueueKind::compute,
                                                     QueueKind::store};
const char* to_string(QueueKind q);

struct CoreProgram {
  std::vector<std::uint32_t> semaphore_init;  // initial count of each semaphore
  std::array<InstructionQueue, 3> queues;
  InstructionQueue& queue(QueueKind q) { return queues[static_cast<int>(q)]; }
  const InstructionQueue& queue(QueueKind q) const { return queues[static_cast<int>(q)]; }
};

struct Program {
  std::vector<CoreProgram> cores;
};

}  // namespace llmsim::isa
