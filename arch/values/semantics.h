#pragma once
// What each ISA instruction (arch/isa/isa.h) does to the bytes of the memories, in value mode.
// The hardware models call one of these when the instruction takes effect; nothing here knows
// about time. Formats are explicit: the ISA carries only byte widths, the caller knows the
// run's dtypes. A format whose width disagrees with the instruction's is an InternalError, as is
// an access outside an image (the timing model validated both).
//
// Arithmetic (see element.h for the conversions):
//  - DMA: a load copies bytes; a store converts each element once, sram_format -> dram_format.
//  - GEMM: int8 x int8 products are exact and summed into int32 modulo 2^32 (a wrapping adder:
//    the result is the exact sum reduced to [-2^31, 2^31), whatever the order); fp16, bf16 and
//    fp32 inputs are widened exactly to fp32 (a product of two fp16 or two bf16 values is exact
//    in fp32) and summed in fp32 by Eigen's GEMM, whose summation order is its own (as torch's
//    BLAS is): within fp32 rounding of the exact sum, not bit-equal to torch.
//  - Vector: see vector() below.
#include "arch/isa/isa.h"
#include "arch/values/element.h"
#include "arch/values/memory_image.h"

namespace llmsim::values {

// DRAM -> SRAM: rows x cols elements of elem_bytes, DRAM row r at dram_addr + r *
// dram_stride_bytes, to the dense block at sram_addr of `dst` (the image of ld.dst). A byte
// copy: no conversion.
void load(const isa::DmaLoad& ld, const DramImage& dram, SramImage& dst);

// SRAM -> DRAM: the dense block at sram_addr of `src` (the image of st.src) to DRAM rows
// dram_stride_bytes apart, each element converted from `sram_format` (width sram_elem_bytes) to
// `dram_format` (width dram_elem_bytes) by convert(): e.g. int32 -> int8 saturates, fp32 ->
// bf16 rounds to nearest even. With `copy`, each converted row is also written there, at the
// same address (value mode's record of what each op stored).
void store(const isa::DmaStore& st, const SramImage& src, Format sram_format, Format dram_format,
           DramImage& dram, DramImage* copy = nullptr);

// C (+)= A x B: A (m x k) at a_addr and B (k x n) at b_addr, dense row-major in `spad` in
// element_format(g.dtype); C (m x n) at c_addr, dense row-major in `acc` in
// accumulator_format(g.dtype); with g.b_transposed B is stored as B^T (n x k, dense). Without
// g.accumulate C is overwritten. With g.bias_addr, the
// row of n accumulator_format(g.dtype) elements there in `spad` is added to every row of C after
// the products (int32 modulo 2^32; fp32 rounded once more). Arithmetic as above.
void gemm(const isa::Gemm& g, const SramImage& spad, SramImage& acc);

// One VectorOp, every kind as its comment in isa.h defines it. `src`, `src2` and `dst` are the
// formats of the operands (src2 is ignored when src2_rows = 0); each operand lies in `spad` or
// `acc` as its `sram` says. Throws WorkloadError for an op that breaks a rule of isa.h
// (vector::check_vector_op) and for compute dtype int8 (value mode models fp lanes only).
//
// Numbers: every input element is decoded, then rounded to the compute dtype when that is fp16
// or bf16 (isa.h: elements are converted to the compute dtype on the way in); the arithmetic is
// fp32 (torch's CPU kernels for fp16/bf16 tensors also compute in fp32 and round only the
// result); the result is encoded to `dst` (element.h). Row statistics (the sums of softmax,
// layernorm's mean and variance, rmsnorm's mean square) are accumulated in double and rounded
// to fp32 once: torch sums fp32 rows by cascade (pairwise) summation, within a few ulps of the
// exact sum, which double then one rounding reproduces; a sequential fp32 sum would not.
// scalar and epsilon are rounded to fp32. All inputs are decoded before any output is encoded,
// so dst may equal or overlap src or src2.
//
// Kinds (x: src element, y: its src2 element; row r of src pairs with row r / (rows /
// src2_rows) of src2 for add, mul and rope):
//   add x + y; mul x * y; scale x * scalar; relu x < 0 ? 0 : x (NaN stays NaN);
//   mask: x, or -inf where key_pos0 + c > query_pos0 + r / rows_per_query;
//   gelu 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); silu x / (1 + exp(-x)); tanh;
//   softmax per row exp(x - max) * (1 / sum exp(x - max)): a row whose max is -inf or +inf
//     gives NaN throughout (inf - inf), as torch.softmax does for an all -inf row;
//   layernorm per row (x - mean) * (1 / sqrt(var + epsilon)), var biased (/ cols), then
//     * gamma (src2 row 0) + beta (src2 row 1) when src2_rows = 2;
//   rmsnorm per row x * (1 / sqrt(mean(x^2) + epsilon)), then * gamma (src2 row 0) when
//     src2_rows = 1;
//   rope: pair i of the row, (a, b) = (c_i, c_i') with (i, i + cols/2) for halves and
//     (2i, 2i + 1) for adjacent, -> (a cos - b sin, a sin + b cos), cos = table[i],
//     sin = table[cols/2 + i] of the row's table row;
//   quantize x * scalar, encoded to int8 (round half to even, saturate; `dst` must be int8);
//   dequantize x * scalar (src int8 or int32); copy x.
void vector(const isa::VectorOp& op, Format src, Format src2, Format dst, SramImage& spad,
            SramImage& acc);

}  // namespace llmsim::values
