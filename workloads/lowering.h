#pragma once
// Lowers a layer trace to one ISA program per core.
//
// DRAM layout: every op's output, and every external operand (input, weight, KV cache) of every
// op, gets its own dense row-major region, 4 KiB aligned (a large one aligned to the memory's
// interleaving period, dram_buffers.h), in op order from address 0 (docs/isa.md,
// "Lowering"). Batched matmuls (attention) view their token-major operands per (sequence, KV
// head): Q rows of head h are columns h*d..(h+1)*d of the projection's output; K and V the same
// for KV head j; a kv_write's output is the cache [batch][heads][tokens][d]. A batched matmul
// writes [batch][m][n] densely (the output projection reads the context as a dense matrix).
//
// Every op is cut into pieces that fit half the scratchpad (double buffering), dealt to the
// cores, and run through the three queues:
//   matmul  per output tile and k tile: load A and B blocks (scratchpad slot s) | GEMM into
//           accumulator slot a (+= after the first k) | store C, requantised, after the last k
//           (after the fused ops' epilogue, if any, see below)
//   vector  per chunk of rows: load the inputs (and a parameter row or table) | the vector op,
//           in place | store the chunk
//   embedding  per chunk of tokens: one row load per token from the table | (nothing) | store
//   kv_write   per chunk of one sequence's tokens: load the rows | (nothing) | store each head's
//              slice into the cache
// Semaphores (per core): ab_free (2), ab_full, acc_free (2), acc_full, as in the GEMM pipeline;
// a vector chunk's slot is freed by the store queue. An op that reads an earlier op's output
// waits, on every core, until that op's stores are done on its core (a semaphore from the store
// queue) and on all cores (a barrier); other ops overlap their predecessors.
//
// Mapping (per matmul, tiling.h): the tile sizes, the dataflow, the split of output tiles over
// the cores (Split) and how many cores take them. `auto` searches them with the cost model;
// `fixed` uses one array fold per GEMM (kt = R, nt = C, mt as large as fits), split `tiles` over
// every core. A split named in the options overrides either.
//
// Epilogue fusion (`auto`, or --fusion on): a chain of vector ops after a matmul, each the only
// reader of the output before it and of the matmul's shape and dtype -- element-wise (scale,
// mask, relu, gelu, silu, tanh), softmax when a tile holds whole rows, and at most one add of a
// residual (another op's output, stored before the matmul starts) -- runs on every output tile
// in the accumulator, from the store queue after the tile's last GEMM and before its stores,
// while the array computes the next tile. A residual tile rides with the last k piece into its
// scratchpad slot, which the store queue then frees. The matmul's stores write the chain's last
// output; the fused ops keep their place in the op list (OpPlan::fused_into), with their
// epilogue instructions and the residual loads.
#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "arch/isa/isa.h"
#include "workloads/target.h"
#include "workloads/tiling.h"
#include "workloads/workload.h"

namespace llmsim::workloads {

struct MappingOptions {
  bool automatic = true;       // --mapping auto | fixed
  std::optional<Split> split;  // forced split for every matmul
  // --fusion on | off: run the element-wise ops and residual adds after a matmul in its
  // epilogue (lowering_matmul.cpp); by default with `auto` and not with `fixed`.
  std::optional<bool> fusion;
  bool fuses() const { return fusion.value_or(automatic); }
  // --weights tiled | row_major: how a matmul's weight (B from the model's parameters) lies in
  // DRAM. Tiled: tile by tile for the op's own tiling (row block after row block, each tile of
  // a row block dense and contiguous), as a compiler packs constant weights once (XLA keeps TPU
  // HBM arrays in tiled layouts), so a B tile load is one contiguous block; row major: the
  // framework's K x N (N x K if read transposed) matrix, a tile being a column of short rows.
  // By default tiled with `auto` and row major with `fixed`.
  std::optional<bool> tiled_weights;
  // --tiles MxKxN: every matmul's tile sizes mt, kt, nt (each at most the op's own dimension);
  // `auto` then searches only residency, dataflow, split and cores. None: searched.
  std::optional<std::array<std::uint64_t, 3>> tiles;
  bool tiles_weights() const { return tiled_weights.value_or(automatic); }
  // The most ISA instructions the lowering may emit (workloads/limits.h); none:
  // $LLMSIM_MAX_INSTRUCTIONS, else kDefaultMaxInstructions.
  std::optional<std::uint64_t> max_instructions;
  // --tokens: the ids the trace's first embedding op (token_embedding()) gathers, one per
  // token (its `tokens`, batch x seq), each below its vocab; they set the gather's DRAM
  // addresses. Empty: a fixed hash of the row, ((r * 2654435761 + 12345) mod vocab), for
  // every embedding op (the others always take it).
  std::vector<std::uint64_t> token_ids;
};

// The index of the first embedding op (the one MappingOptions::token_ids feed), else -1.
int token_embedding(const Workload& w);

// Throws WorkloadError when `ids` (non-empty) do not fit the workload: it has no embedding op,
// their count is not the embedding's tokens, or an id is not below its vocab (naming both
// numbers, or the id, its position and the vocab).
void check_token_ids(const Workload& w, const std::vector<std::uint64_t>& ids);

// How one op was mapped, for reports.
struct OpPlan {
  Tiling tiling;                 // matmul: tile sizes, split, cores and the cost model's estimate
  std::uint64_t chunk_rows = 0;  // vector, embedding, kv_write: rows per piece
  std::uint64_t pieces = 0;      // tiles (matmul, x k tiles) or chunks, over all cores
  // Bytes an ideal machine must still move for this op: its external operands (weights,
  // inputs, KV cache) read once, the KV-cache rows it writes, and the output of the last op.
  std::uint64_t compulsory_bytes = 0;
  // A vector op run in a matmul's epilogue (`auto` mapping, lowering_matmul.cpp): that
  // matmul's index, else -1. Its instructions are the epilogue's; it moves no DRAM bytes of its
  // own but a residual's.
  int fused_into = -1;
  // What the mapping's cost model predicts for the op's cycles, to calibrate it against the
  // simulated ones (0 for a fused op). A matmul: its tiling's estimate (tiling.h). Any other
  // op: max(the busiest core's vector cycles, its DRAM bytes at the lower of the DRAM and the
  // used cores' DMA bandwidth) + one piece's loads and stores at one DMA engine's rate.
  double predicted_cycles = 0;
};

// An external operand of op `op` in DRAM (a weight, an input, a parameter row, a table, a KV
// cache), for value mode: rows x cols elements of elem_bytes. Row-major (row r at addr + r *
// cols * elem_bytes), or, with tile_rows > 0, a weight in the tiled layout of its matmul's
// tiling (MappingOptions::tiled_weights): each item of item_rows rows is cut into row blocks of
// tile_rows, each row block contiguous and made of its tiles of tile_cols columns, each tile
// dense (offset()).
// A named parameter array (the op's ParamRef) that fills rows first_row .. of a DramTensor:
// `shape` is the array's, after the ref's row range, as the trace defines the operand; the
// array in row-major order (its last two dimensions swapped back first, with `transpose`) is
// the tensor's rows x cols from first_row on. One per ref: B's, a bias's, a table's, a
// layernorm's gamma (row 0) and beta (row 1).
struct TensorParam {
  ParamRef ref;
  std::uint64_t first_row = 0;
  std::vector<std::uint64_t> shape;
  // Blocks (a kv_write's cache): the array's rows in blocks of block_rows, block i from tensor
  // row first_row + i * block_stride on. 0: one contiguous block.
  std::uint64_t block_rows = 0, block_stride = 0;
};

struct DramTensor {
  int op = -1;
  std::string role;  // "a", "b", "bias", "input", "param", "rope_table", "table", "cache"
  std::uint64_t addr = 0, rows = 0, cols = 0, elem_bytes = 0;
  std::uint64_t item_rows = 0, tile_rows = 0, tile_cols = 0;  // tiled layout; 0: row-major
  std::vector<TensorParam> params{};  // the names of its values (trace "params"), if any
  // The byte address of element (r, c).
  std::uint64_t address(std::uint64_t r, std::uint64_t c) const;
};

// Where an op's output lies in DRAM once its stores are done: rows x cols dense row-major of
// elem_bytes at addr, written by the stores of op `writer` (itself, or the matmul whose
// epilogue it ran in). `stored`: false for a matmul or a fused op before the last of its
// epilogue chain, whose output never reaches DRAM; and for an op not lowered yet.
struct DramOutput {
  std::uint64_t addr = 0, rows = 0, cols = 0, elem_bytes = 0;
  int writer = -1;
  bool stored = false;
};

struct Lowered {
  isa::Program program;
  std::vector<OpPlan> plans;        // one per op
  std::vector<DramTensor> tensors;  // every external operand, in the order they were placed
  std::vector<DramOutput> outputs;  // one per op
  // DRAM the program addresses: every weight and input once, and the op outputs in buffers
  // reused once their last reader is done (a buffer of a later output, or of a KV cache, never
  // overlaps one still being read).
  std::uint64_t dram_footprint_bytes = 0;
};

// Throws WorkloadError naming the op for what the target cannot run (a dtype the array lacks,
// a row that does not fit the scratchpad), and naming the limit for a workload too large
// (workloads/limits.h): before lowering, when the instructions estimated from the sizes
// exceed the instruction limit or the weights, inputs and caches alone exceed the memory's
// capacity; while lowering, at the instruction that would pass the limit; after, when the
// DRAM footprint exceeds the capacity.
Lowered lower(const Workload& w, const Target& t, const MappingOptions& options = {});

}  // namespace llmsim::workloads
