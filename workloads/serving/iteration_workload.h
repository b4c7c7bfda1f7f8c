#pragma once
// One serving iteration as a workload: the batch a continuous-batching scheduler planned
// (serving/scheduler.h: prefill chunks and decode tokens, each sequence with its own KV length)
// becomes one layer trace, lowered and simulated like any other. The KV cache is paged: per
// layer one K pool and one V pool of `num_blocks` blocks in DRAM, and each sequence reads and
// writes its KV rows through its block table (docs/workloads.md, "Paged KV cache").
//
// The ops per layer, with T = sum of the sequences' tokens (their rows in the order given):
//   [pre-norm], Q, K, V projections on all T rows (one matmul each)
//   per sequence i (tokens s_i, kv_len L_i, rows t_i .. t_i + s_i - 1):
//     rope of its Q and K rows at positions L_i .. L_i + s_i - 1 (Llama; `row_offset`),
//     kv_write of its K and V rows into its blocks of the layer's pools,
//     scores (Hkv matmuls of g*s_i x d x (L_i + s_i)), scale, causal mask (s_i > 1), softmax,
//     context (Hkv matmuls of g*s_i x (L_i + s_i) x d) written into rows t_i .. of one
//     T x H*d buffer (`append_to`);
//   output projection, residual, FFN, residual on all T rows.
// The head (final norm on T rows) computes logits only for the rows that emit a token: the
// last row of each sequence with emits_token (a `copy` selects them; none when every row
// emits, as in pure decode).
// One sequence with kv_len 0 (or one decode) gives the ops of build_trace's batch-1 prefill
// (decode), the KV cache aside: build_trace's is contiguous per op, this one paged.
#include <cstdint>
#include <optional>
#include <vector>

#include "arch/isa/dtype.h"
#include "workloads/model_config.h"
#include "workloads/workload.h"

namespace llmsim::workloads {

struct IterationSeq {
  std::uint64_t tokens = 1;  // new tokens computed this iteration (a prefill chunk, or 1)
  std::uint64_t kv_len = 0;  // tokens already in its KV cache, attended to
  // Its KV block table: exactly ceil((kv_len + tokens) / block_size) block ids, each below
  // IterationShape::num_blocks; token t lies in blocks[t / block_size]. No block may appear in
  // two tables (or twice in one).
  std::vector<std::uint64_t> blocks;
  bool emits_token = true;  // its last row gets logits (the LM head)
};

struct IterationShape {
  isa::DType dtype = isa::DType::int8;
  // The first `layers` transformer layers only (default: all), as TraceOptions::layers.
  std::optional<std::uint64_t> layers;
  std::uint64_t block_size = 16;  // tokens per KV block
  std::uint64_t num_blocks = 0;   // blocks per pool (the KV cache's capacity), >= 1
  std::vector<IterationSeq> seqs;  // at least one
};

// Implemented in workloads/transformer.cpp, beside build_trace, whose layer builder it shares.
// Throws WorkloadError naming the field ("seqs[2].blocks[1]: block 4096 is past the pool of
// 4096 blocks") for a shape the model cannot take: an encoder (no KV cache), no sequences, a
// sequence of 0 tokens, kv_len + tokens past max_position_embeddings, a block table of the
// wrong length, a block id >= num_blocks, a block in two tables.
Workload build_iteration(const ModelConfig& model, const IterationShape& shape);

}  // namespace llmsim::workloads
