#pragma once
// The ops of a layer trace (format in docs/workloads.md, "Layer trace format"): plain structs, one
// per op family, in a std::variant. The parser (workload.cpp) has checked every field and every
// operand, so a lowering can rely on:
//  - an Operand of source `op` names an earlier op (index < this op's index) whose output has
//    exactly the elements this operand needs (shapes may differ: a consumer views its producer's
//    row-major output in the shape it needs; see docs/workloads.md for the attention layouts);
//  - an op-produced operand has the consumer's dtype, except for quantize and dequantize;
//  - every size is >= 1.
// Nothing here has a cost; an op the hardware cannot run is the lowering's error, never a
// zero-cost placeholder.
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "arch/isa/dtype.h"
#include "arch/isa/dump.h"
#include "arch/isa/isa.h"

namespace llmsim::workloads {

// Where an operand lives. `op`: the output of an earlier op (in DRAM). `input`: the model input
// (activations fed in). `weight`: a parameter of this op. `kv_cache`: the KV cache of earlier
// tokens, written before this trace.
enum class Source { op, input, weight, kv_cache };

struct Operand {
  Source source = Source::input;
  int op = -1;  // index of the producing op when source == Source::op, else -1

  static Operand from_op(int index) { return {Source::op, index}; }
  bool is_op() const { return source == Source::op; }
  bool operator==(const Operand& o) const { return source == o.source && op == o.op; }
};

// A named parameter array (a state-dict entry) that fills one of an op's external tensors in
// value mode (docs/workloads.md, "params"): the trace's `"params": {key: name or {"name",
// "transpose", "rows"}}`. `key` says which tensor: "b" and "bias" (matmul), "table"
// (embedding), "gamma" and "beta" (layernorm), "gamma" (rmsnorm), "weight" (add, mul with a
// weight input). The array is the operand as the trace defines it (B: [batch x] k x n, or n x k
// with transpose_b; bias: n; table: vocab x hidden; gamma, beta, weight: cols), after taking
// rows [row_begin, row_end) of its first dimension (row_end 0: all of it); with `transpose`
// ("b" only) it holds the last two dimensions swapped (nn.Linear's weight, out x in = n x k).
struct ParamRef {
  std::string key, name;
  bool transpose = false;
  std::uint64_t row_begin = 0, row_end = 0;
  bool operator==(const ParamRef& o) const {
    return key == o.key && name == o.name && transpose == o.transpose && row_begin == o.row_begin &&
           row_end == o.row_end;
  }
};

// Fields every op has.
struct OpInfo {
  std::string name;   // unique in the trace
  std::string layer;  // grouping for per-layer tables ("embeddings", "layer3", "head")
  isa::DType dtype = isa::DType::int8;  // of the op's output (and of its op-produced inputs)
  std::vector<ParamRef> params{};       // names of its parameter arrays, in key order; optional
  // int8 only: quantisation steps (real = int8 x step) of the output, of the `input` and
  // `kv_cache` operands, of the `weight` operands (quant.h). Unset until the parser's defaults.
  std::optional<double> scale, input_scale, weight_scale;
};

// out[batch][m][n] = A[batch][m][k] x B[batch][k][n] (+ bias[n]): `batch` independent GEMMs of
// the same shape (attention: batch x kv heads). With transpose_b, B is stored n x k (the K of
// attention) and read transposed. A `weight` B with batch > 1 is `batch` distinct matrices.
// With `bias`, a parameter vector of n is added to every output row before the output is
// requantised to dtype; int32/fp32 accumulation and the requantisation to dtype on the way out
// belong to the matmul (no separate quantize op).
struct MatmulOp : OpInfo {
  std::uint64_t m = 0, k = 0, n = 0;
  std::uint64_t batch = 1;
  Operand a{Source::input, -1};
  Operand b{Source::weight, -1};
  bool transpose_b = false;
  bool bias = false;
  // The dataflow its GEMMs must run in (the arrays must offer it: the lowering's error); none:
  // the mapping chooses among those the arrays offer.
  std::optional<isa::Dataflow> dataflow;
  // An op-produced A read from element a_offset of its producer's output on, as if that output
  // began there (one sequence's Q rows of a batch's projection: a_offset = first row x H x d).
  std::uint64_t a_offset = 0;
  // The index of an earlier matmul whose output this one continues, or -1: its output is
  // written right after that op's (whose own may continue another), and readers of this op
  // read the whole run, prefix_elements (the earlier op's output_elements()) then its own
  // batch x m x n. The contexts of a batch's sequences fill one buffer so (serving).
  int append_to = -1;
  std::uint64_t prefix_elements = 0;

  std::uint64_t macs() const { return batch * m * k * n; }
  std::uint64_t own_elements() const { return batch * m * n; }
  std::uint64_t output_elements() const { return prefix_elements + batch * m * n; }
};

// The vector unit's element-wise and row-wise ops are the ISA's (arch/isa/isa.h), with these
// meanings in a trace: add and mul take two inputs (out = in0 + in1, in0 * in1), every other kind
// one; scale multiplies by its `scalar` (attention's 1/sqrt(head_dim)); mask is causal in blocks
// of `cols` query rows (row r sees columns <= r mod cols), or of `tokens` rows after `kv_len`
// cached keys (see VectorOp); gelu stands for the erf form and the
// tanh approximation (gelu_new) alike; softmax, layernorm (with its own gamma and beta, 2 x cols
// parameters) and rmsnorm (gamma, cols parameters) work over each row's cols; rope rotates each
// row (one token, heads of head_dim side by side) head by head, as Hugging Face's rotate_half,
// with the cos/sin of the token's position from its table (see VectorOp); quantize goes to dtype
// (int8) from the input's dtype, dequantize to dtype from the input's int8; copy takes rows
// row_offset + r * row_stride of the input, r < rows, or the rows row_indices lists.
using VectorKind = isa::VectorKind;
using isa::to_string;  // of a VectorKind: its trace name, "softmax"

// rows x cols elements; row-wise kinds reduce over cols. add and mul take two inputs, every
// other kind one. An op-produced or `input`/`kv_cache` input has rows x cols elements (copy,
// and rope with a row_offset: any multiple of cols covering the rows it selects); a `weight` input of add or mul is a
// parameter vector of cols broadcast over the rows (a bias or a gain).
struct VectorOp : OpInfo {
  VectorKind kind = VectorKind::copy;
  std::uint64_t rows = 0, cols = 0;
  std::vector<Operand> inputs;
  // copy, and row_offset for rope: the input's rows row_offset + r * row_stride, r < rows (an
  // input of any multiple of cols elements covering them).
  std::uint64_t row_offset = 0, row_stride = 1;
  // copy only: when not empty, `rows` input rows in this order (row_offset and row_stride
  // unused): the rows of a batch that get logits.
  std::vector<std::uint64_t> row_indices;
  double scalar = 1.0;                           // scale only: the factor, finite
  // rope only; 0 stands for the default. head_dim (default cols): the width of one head, even
  // and dividing cols; pairs (i, i + head_dim/2) of each head rotate together. tokens (default
  // rows, dividing rows) per sequence and kv_len (default 0) cached before them: row r is token
  // r mod tokens of its sequence, at position kv_len + r mod tokens. The op's parameter is the
  // table of positions 0 .. kv_len + tokens - 1, head_dim wide (isa.h: cos in the first half,
  // sin in the second), as Hugging Face's cos/sin caches.
  std::uint64_t head_dim = 0, tokens = 0, kv_len = 0;

  std::uint64_t rope_head_dim() const { return head_dim ? head_dim : cols; }
  std::uint64_t rope_tokens() const { return tokens ? tokens : rows; }
  // mask: rows are blocks of mask_tokens() query rows (default cols) at positions kv_len +
  // r mod mask_tokens(), against the cols keys 0 .. cols - 1 (a chunk after kv_len cached
  // tokens: kv_len + tokens = cols); row r sees the keys <= its position.
  std::uint64_t mask_tokens() const { return tokens ? tokens : cols; }
  std::uint64_t output_elements() const { return rows * cols; }
};

// Gathers `tokens` rows of `hidden` from the op's vocab x hidden weight table, indexed by
// `tokens` ids of the model input (word, position and token-type embeddings alike).
struct EmbeddingOp : OpInfo {
  std::uint64_t tokens = 0, vocab = 0, hidden = 0;

  std::uint64_t output_elements() const { return tokens * hidden; }
};

// Appends the K (or V) rows of `tokens` new tokens per sequence to one layer's KV cache, after
// the `kv_len` cached ones. `input` holds the new rows, batch*tokens x heads*head_dim (token
// major, heads side by side). The op's output is the whole cache after the write,
// [batch][heads][kv_len + tokens][head_dim]: attention matmuls read it as their B, so they run
// after the write. Only the new rows are written; the cached ones are read by the consumers.
//
// Paged (`pool` not empty, batch 1): the cache is the pool `pool`, pool_blocks blocks of
// block_size tokens laid out [pool_blocks][heads][block_size][head_dim], shared by the
// kv_writes that name it (one per sequence, same heads, head_dim, dtype, pool_blocks and
// block_size); token t of this sequence lies in block blocks[t / block_size], which holds
// exactly ceil((kv_len + tokens) / block_size) ids below pool_blocks, none used by another
// kv_write of the pool. The output, as attention reads it, is still [heads][kv_len +
// tokens][head_dim], through the block table. row_offset: the new rows are input rows
// row_offset .. row_offset + batch x tokens - 1 (an input of any multiple of heads x head_dim
// elements covering them).
struct KvWriteOp : OpInfo {
  Operand input;
  std::uint64_t batch = 0, heads = 0, head_dim = 0, tokens = 0, kv_len = 0;
  std::uint64_t row_offset = 0;
  std::string pool;
  std::uint64_t pool_blocks = 0, block_size = 0;
  std::vector<std::uint64_t> blocks;

  bool paged() const { return !pool.empty(); }

  std::uint64_t written_elements() const { return batch * tokens * heads * head_dim; }
  std::uint64_t output_elements() const { return batch * heads * (kv_len + tokens) * head_dim; }
};

class Op {
 public:
  using Body = std::variant<MatmulOp, VectorOp, EmbeddingOp, KvWriteOp>;

  // From any op struct or a Body, so that ops.push_back(MatmulOp{...}) works.
  template <class T, class = std::enable_if_t<!std::is_same_v<std::decay_t<T>, Op> &&
                                              std::is_constructible_v<Body, T&&>>>
  Op(T&& body) : m_body(std::forward<T>(body)) {}  // NOLINT: implicit on purpose

  const Body& body() const { return m_body; }
  Body& body() { return m_body; }
  template <class T>
  const T* get_if() const {
    return std::get_if<T>(&m_body);
  }

  const OpInfo& info() const;
  const std::string& name() const { return info().name; }
  const std::string& layer() const { return info().layer; }
  isa::DType dtype() const { return info().dtype; }
  const std::vector<ParamRef>& params() const { return info().params; }
  // The "op" key of the format: "matmul", "embedding", "kv_write" or the vector kind.
  std::string kind() const;
  std::uint64_t output_elements() const;
  // Operands in order (a, b; inputs; input); embedding has none.
  std::vector<Operand> operands() const;
  std::uint64_t macs() const;  // matmuls; 0 for the others (they do no MACs)

 private:
  Body m_body;
};

const char* to_string(Source s);  // "op", "input", "weight", "kv_cache"
// Number of inputs a vector kind takes (2 for add and mul, else 1).
std::size_t arity(VectorKind k);

}  // namespace llmsim::workloads
