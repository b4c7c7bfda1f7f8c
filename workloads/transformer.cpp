#include "workloads/transformer.h"

#include <cmath>

#include <unordered_map>

#include "sim/core/error.h"
#include "sim/core/units.h"
#include "workloads/limits.h"
#include "workloads/serving/iteration_workload.h"

namespace llmsim::workloads {

namespace {

// One sequence of an iteration (build_iteration): its rows row0 .. row0 + tokens - 1.
struct SeqShape {
  std::uint64_t tokens = 1, cached = 0, row0 = 0;
  const std::vector<std::uint64_t>* blocks = nullptr;
  bool emits = true;
};

struct Shape {
  std::uint64_t batch = 1;   // B
  std::uint64_t tokens = 1;  // s: new tokens per sequence
  std::uint64_t cached = 0;  // L: tokens already in the KV cache per sequence
  // An iteration instead (not empty): sequences of their own lengths, attention per sequence
  // on a paged KV cache of pool_blocks blocks of block_size tokens; `total` rows in all.
  std::vector<SeqShape> seqs;
  std::uint64_t block_size = 0, pool_blocks = 0, total = 0;
  std::uint64_t rows() const { return seqs.empty() ? batch * tokens : total; }  // T
};

const Operand kWeight{Source::weight, -1};

Operand ref(int op) {
  return Operand::from_op(op);
}

// Appends ops named "<layer>.<name>" to a trace; every op gets the trace's dtype.
class Builder {
 public:
  explicit Builder(isa::DType dtype) : m_dtype(dtype) {}

  void layer(std::string name) { m_layer = std::move(name); }
  const std::string& layer() const { return m_layer; }

  int matmul(const std::string& name, std::uint64_t m, std::uint64_t k, std::uint64_t n, Operand a,
             Operand b, bool bias, std::uint64_t batch = 1, bool transpose_b = false) {
    MatmulOp op;
    info(op, name);
    op.m = m, op.k = k, op.n = n, op.batch = batch;
    op.a = a, op.b = b, op.transpose_b = transpose_b, op.bias = bias;
    return push(std::move(op));
  }

  int vector(VectorKind kind, const std::string& name, std::uint64_t rows, std::uint64_t cols,
             std::vector<Operand> inputs) {
    VectorOp op;
    info(op, name);
    op.kind = kind, op.rows = rows, op.cols = cols, op.inputs = std::move(inputs);
    return push(std::move(op));
  }

  // Rotary embedding of `in` (rows tokens of cols = heads x head_dim), every head on its own;
  // the tokens of each sequence follow the cached ones.
  int rope(const std::string& name, std::uint64_t rows, std::uint64_t cols, Operand in,
           std::uint64_t head_dim, const Shape& sh) {
    VectorOp op;
    info(op, name);
    op.kind = VectorKind::rope, op.rows = rows, op.cols = cols, op.inputs = {in};
    op.head_dim = head_dim, op.tokens = sh.tokens, op.kv_len = sh.cached;
    return push(std::move(op));
  }

  // The op pushed last, to set a field of its kind.
  VectorOp& last_vector() { return std::get<VectorOp>(m_w.ops.back().body()); }
  MatmulOp& last_matmul() { return std::get<MatmulOp>(m_w.ops.back().body()); }
  KvWriteOp& last_kv_write() { return std::get<KvWriteOp>(m_w.ops.back().body()); }
  const Op& op(int i) const { return m_w.ops[std::size_t(i)]; }

  // Rows offset + r * stride, r < rows, of `in` (rows of cols).
  int copy_rows(const std::string& name, std::uint64_t rows, std::uint64_t cols, int in,
                std::uint64_t offset, std::uint64_t stride) {
    VectorOp op;
    info(op, name);
    op.kind = VectorKind::copy, op.rows = rows, op.cols = cols, op.inputs = {ref(in)};
    op.row_offset = offset, op.row_stride = stride;
    return push(std::move(op));
  }

  int embedding(const std::string& name, std::uint64_t tokens, std::uint64_t vocab,
                std::uint64_t hidden) {
    EmbeddingOp op;
    info(op, name);
    op.tokens = tokens, op.vocab = vocab, op.hidden = hidden;
    return push(std::move(op));
  }

  int kv_write(const std::string& name, int in, const Shape& sh, std::uint64_t heads,
               std::uint64_t head_dim) {
    KvWriteOp op;
    info(op, name);
    op.input = ref(in);
    op.batch = sh.batch, op.heads = heads, op.head_dim = head_dim;
    op.tokens = sh.tokens, op.kv_len = sh.cached;
    return push(std::move(op));
  }

  Workload take() { return std::move(m_w); }

 private:
  void info(OpInfo& op, const std::string& name) const {
    op.name = m_layer + "." + name;
    op.layer = m_layer;
    op.dtype = m_dtype;
  }
  int push(Op op) {
    m_w.ops.push_back(std::move(op));
    return int(m_w.ops.size()) - 1;
  }

  isa::DType m_dtype;
  std::string m_layer;
  Workload m_w;
};

VectorKind act_kind(Activation a) {
  switch (a) {
    case Activation::gelu:
      return VectorKind::gelu;
    case Activation::relu:
      return VectorKind::relu;
    case Activation::silu:
      return VectorKind::silu;
  }
  return VectorKind::gelu;
}

VectorKind norm_kind(const ModelConfig& m) {
  return m.norm == Norm::rmsnorm ? VectorKind::rmsnorm : VectorKind::layernorm;
}

// Word (+ token type) (+ position) embeddings (+ layernorm); returns the T x h output.
int embeddings(Builder& b, const ModelConfig& m, const Shape& sh) {
  b.layer("embeddings");
  const std::uint64_t t = sh.rows(), h = m.hidden_size;
  int x = b.embedding("word", t, m.vocab_size, h);
  if (m.type_vocab_size > 0) {
    const int tt = b.embedding("token_type", t, m.type_vocab_size, h);
    x = b.vector(VectorKind::add, "add_token_type", t, h, {ref(x), ref(tt)});
  }
  if (m.learned_positions) {
    const int pos = b.embedding("position", t, m.max_position_embeddings, h);
    x = b.vector(VectorKind::add, "add_position", t, h, {ref(x), ref(pos)});
  }
  if (m.embedding_layer_norm) x = b.vector(VectorKind::layernorm, "norm", t, h, {ref(x)});
  return x;
}

int attention_paged(Builder& b, const ModelConfig& m, const Shape& sh, int x);

// Self-attention of the T x h input `x`; returns the output projection (T x h).
int attention(Builder& b, const ModelConfig& m, const Shape& sh, int x) {
  if (!sh.seqs.empty()) return attention_paged(b, m, sh, x);
  const std::uint64_t t = sh.rows(), h = m.hidden_size, d = m.head_dim;
  const std::uint64_t heads = m.num_attention_heads, kv_heads = m.num_key_value_heads;
  const std::uint64_t group = heads / kv_heads;
  int q = b.matmul("q_proj", t, h, heads * d, ref(x), kWeight, m.attention_bias);
  int k = b.matmul("k_proj", t, h, kv_heads * d, ref(x), kWeight, m.attention_bias);
  int v = b.matmul("v_proj", t, h, kv_heads * d, ref(x), kWeight, m.attention_bias);
  if (m.rope) {  // per head (Hugging Face's rotate_half), at the tokens' positions
    q = b.rope("q_rope", t, heads * d, ref(q), d, sh);
    k = b.rope("k_rope", t, kv_heads * d, ref(k), d, sh);
  }
  std::uint64_t keys = sh.tokens;
  if (m.causal) {  // decoders keep K and V in the cache and attend to all of it
    k = b.kv_write("k_cache_write", k, sh, kv_heads, d);
    v = b.kv_write("v_cache_write", v, sh, kv_heads, d);
    keys = sh.cached + sh.tokens;
  }
  // Grouped-query attention: one matmul per (sequence, KV head); its rows are the g query heads
  // sharing that KV head, each with its s tokens, so K and V are read once per group.
  const std::uint64_t mats = sh.batch * kv_heads, rows = group * sh.tokens;
  const std::uint64_t score_rows = sh.batch * heads * sh.tokens;
  int p = b.matmul("scores", rows, d, keys, ref(q), ref(k), false, mats, /*transpose_b=*/true);
  if (m.scale_attention) {  // scores / sqrt(head_dim)
    p = b.vector(VectorKind::scale, "scale", score_rows, keys, {ref(p)});
    b.last_vector().scalar = 1.0 / std::sqrt(double(d));
  }
  if (m.causal && sh.tokens > 1) {
    p = b.vector(VectorKind::mask, "mask", score_rows, keys, {ref(p)});
  }
  p = b.vector(VectorKind::softmax, "softmax", score_rows, keys, {ref(p)});
  const int ctx = b.matmul("context", rows, keys, d, ref(p), ref(v), false, mats);
  return b.matmul("o_proj", t, heads * d, h, ref(ctx), kWeight, m.attention_bias);
}

// An iteration's self-attention (serving/iteration_workload.h): projections on all T rows,
// then per sequence rope, kv_write into the layer's K and V pools, scores, scale, mask,
// softmax and context, the contexts filling one T x H*d buffer in row order (append_to), and
// the output projection on all rows. One sequence gives the ops of attention() (names too).
int attention_paged(Builder& b, const ModelConfig& m, const Shape& sh, int x) {
  const std::uint64_t t = sh.rows(), h = m.hidden_size, d = m.head_dim;
  const std::uint64_t heads = m.num_attention_heads, kv_heads = m.num_key_value_heads;
  const std::uint64_t group = heads / kv_heads;
  const int q = b.matmul("q_proj", t, h, heads * d, ref(x), kWeight, m.attention_bias);
  const int k = b.matmul("k_proj", t, h, kv_heads * d, ref(x), kWeight, m.attention_bias);
  const int v = b.matmul("v_proj", t, h, kv_heads * d, ref(x), kWeight, m.attention_bias);
  const std::string layer = b.layer();
  const auto paged = [&](KvWriteOp& op, const char* pool, const SeqShape& s) {
    op.pool = layer + "." + pool;
    op.pool_blocks = sh.pool_blocks, op.block_size = sh.block_size;
    op.blocks = *s.blocks;
    op.row_offset = op.input.op == v || op.input.op == k ? s.row0 : 0;
  };
  int ctx = -1;
  for (std::size_t i = 0; i < sh.seqs.size(); ++i) {
    const SeqShape& s = sh.seqs[i];
    const std::string p = sh.seqs.size() == 1 ? "" : "seq" + std::to_string(i) + ".";
    Shape one;
    one.tokens = s.tokens, one.cached = s.cached;
    int qi = q, ki = k;
    if (m.rope) {  // this sequence's rows, at its positions
      qi = b.rope(p + "q_rope", s.tokens, heads * d, ref(q), d, one);
      b.last_vector().row_offset = s.row0;
      ki = b.rope(p + "k_rope", s.tokens, kv_heads * d, ref(k), d, one);
      b.last_vector().row_offset = s.row0;
    }
    const int kw = b.kv_write(p + "k_cache_write", ki, one, kv_heads, d);
    paged(b.last_kv_write(), "k_cache", s);
    const int vw = b.kv_write(p + "v_cache_write", v, one, kv_heads, d);
    paged(b.last_kv_write(), "v_cache", s);
    const std::uint64_t keys = s.cached + s.tokens, rows = group * s.tokens;
    const std::uint64_t score_rows = heads * s.tokens;
    int sc = b.matmul(p + "scores", rows, d, keys, ref(qi), ref(kw), false, kv_heads,
                      /*transpose_b=*/true);
    if (qi == q) b.last_matmul().a_offset = s.row0 * heads * d;  // no rope: Q's own rows
    if (m.scale_attention) {
      sc = b.vector(VectorKind::scale, p + "scale", score_rows, keys, {ref(sc)});
      b.last_vector().scalar = 1.0 / std::sqrt(double(d));
    }
    if (s.tokens > 1) {  // the chunk's queries at positions L_i .. L_i + s_i - 1
      sc = b.vector(VectorKind::mask, p + "mask", score_rows, keys, {ref(sc)});
      if (s.cached) b.last_vector().tokens = s.tokens, b.last_vector().kv_len = s.cached;
    }
    sc = b.vector(VectorKind::softmax, p + "softmax", score_rows, keys, {ref(sc)});
    const int c = b.matmul(p + "context", rows, keys, d, ref(sc), ref(vw), false, kv_heads);
    if (ctx >= 0) {
      b.last_matmul().append_to = ctx;
      b.last_matmul().prefix_elements = b.op(ctx).output_elements();
    }
    ctx = c;
  }
  return b.matmul("o_proj", t, heads * d, h, ref(ctx), kWeight, m.attention_bias);
}

// The feed-forward block of the T x h input `x`; returns the down projection (T x h).
int ffn(Builder& b, const ModelConfig& m, const Shape& sh, int x) {
  const std::uint64_t t = sh.rows(), h = m.hidden_size, i = m.intermediate_size;
  const VectorKind act = act_kind(m.activation);
  int hidden;
  if (m.gated_ffn) {  // down(act(gate(x)) * up(x)), in Hugging Face's evaluation order
    const int gate = b.matmul("gate_proj", t, h, i, ref(x), kWeight, m.mlp_bias);
    const int a = b.vector(act, "act", t, i, {ref(gate)});
    const int up = b.matmul("up_proj", t, h, i, ref(x), kWeight, m.mlp_bias);
    hidden = b.vector(VectorKind::mul, "gate_mul", t, i, {ref(a), ref(up)});
  } else {
    const int up = b.matmul("up_proj", t, h, i, ref(x), kWeight, m.mlp_bias);
    hidden = b.vector(act, "act", t, i, {ref(up)});
  }
  return b.matmul("down_proj", t, i, h, ref(hidden), kWeight, m.mlp_bias);
}

// One layer; residual adds are (residual, block output), as in `x + block(x)`.
int layer(Builder& b, const ModelConfig& m, const Shape& sh, int x) {
  const std::uint64_t t = sh.rows(), h = m.hidden_size;
  const VectorKind norm = norm_kind(m);
  if (m.pre_norm) {
    const int n1 = b.vector(norm, "attn_norm", t, h, {ref(x)});
    const int r1 =
        b.vector(VectorKind::add, "attn_residual", t, h, {ref(x), ref(attention(b, m, sh, n1))});
    const int n2 = b.vector(norm, "ffn_norm", t, h, {ref(r1)});
    return b.vector(VectorKind::add, "ffn_residual", t, h, {ref(r1), ref(ffn(b, m, sh, n2))});
  }
  const int r1 =
      b.vector(VectorKind::add, "attn_residual", t, h, {ref(x), ref(attention(b, m, sh, x))});
  const int n1 = b.vector(norm, "attn_norm", t, h, {ref(r1)});
  const int r2 = b.vector(VectorKind::add, "ffn_residual", t, h, {ref(n1), ref(ffn(b, m, sh, n1))});
  return b.vector(norm, "ffn_norm", t, h, {ref(r2)});
}

// One row per sequence: the token at `offset` of each (the first for BERT's pooler, the last
// for an LM head in prefill). With one token per sequence, `x` itself.
int one_token(Builder& b, const std::string& name, const ModelConfig& m, const Shape& sh, int x,
              std::uint64_t offset) {
  if (sh.tokens == 1) return x;
  return b.copy_rows(name, sh.batch, m.hidden_size, x, offset, sh.tokens);
}

void head(Builder& b, const ModelConfig& m, const Shape& sh, int x) {
  b.layer("head");
  const std::uint64_t t = sh.rows(), h = m.hidden_size, bsz = sh.batch;
  switch (m.head) {
    case Head::pooler:
    case Head::sequence_classification: {
      const int first = one_token(b, "first_token", m, sh, x, 0);
      const int dense = b.matmul("pooler", bsz, h, h, ref(first), kWeight, true);
      const int pooled = b.vector(VectorKind::tanh, "pooler_tanh", bsz, h, {ref(dense)});
      if (m.head == Head::sequence_classification) {
        b.matmul("classifier", bsz, h, m.num_labels, ref(pooled), kWeight, true);
      }
      return;
    }
    case Head::token_classification:
      b.matmul("classifier", t, h, m.num_labels, ref(x), kWeight, true);
      return;
    case Head::question_answering:
      b.matmul("qa_outputs", t, h, m.num_labels, ref(x), kWeight, true);
      return;
    case Head::masked_lm: {
      const int dense = b.matmul("mlm_transform", t, h, h, ref(x), kWeight, true);
      const int act = b.vector(act_kind(m.activation), "mlm_act", t, h, {ref(dense)});
      const int norm = b.vector(VectorKind::layernorm, "mlm_norm", t, h, {ref(act)});
      b.matmul("mlm_decoder", t, h, m.vocab_size, ref(norm), kWeight, true);
      return;
    }
    case Head::final_norm:
    case Head::causal_lm: {
      const int norm = b.vector(norm_kind(m), "final_norm", t, h, {ref(x)});
      if (m.head == Head::final_norm) return;
      if (!sh.seqs.empty()) {  // an iteration: the last row of each sequence that emits
        std::vector<std::uint64_t> rows;
        for (const SeqShape& s : sh.seqs) {
          if (s.emits) rows.push_back(s.row0 + s.tokens - 1);
        }
        if (rows.empty()) return;
        int last = norm;
        const std::uint64_t step = rows.size() > 1 ? rows[1] - rows[0] : t;
        bool regular = true;
        for (std::size_t i = 1; i < rows.size(); ++i) regular &= rows[i] - rows[i - 1] == step;
        if (rows.size() < t && regular) {
          last = b.copy_rows("last_token", rows.size(), h, norm, rows[0], step);
        } else if (rows.size() < t) {
          last = b.copy_rows("last_token", rows.size(), h, norm, 0, 1);
          b.last_vector().row_indices = rows;
        }
        b.matmul("lm_head", rows.size(), h, m.vocab_size, ref(last), kWeight, false);
        return;
      }
      // Logits of the last token of each sequence only (the next token's), as serving engines
      // compute them; in decode that is every row.
      const int last = one_token(b, "last_token", m, sh, norm, sh.tokens - 1);
      b.matmul("lm_head", bsz, h, m.vocab_size, ref(last), kWeight, false);
      return;
    }
  }
}

Shape check_options(const ModelConfig& m, const TraceOptions& o) {
  auto fail = [&](const std::string& what) { throw WorkloadError(m.name + ": " + what); };
  if (o.batch == 0) fail("batch: must be a positive integer, got 0");
  Shape sh;
  sh.batch = o.batch;
  if (o.phase == Phase::prefill) {
    sh.tokens = o.seq.value_or(128);
    if (o.kv_len.value_or(0) != 0) {
      fail("kv_len: applies to phase decode only (prefill starts from an empty KV cache), got " +
           std::to_string(*o.kv_len));
    }
  } else {
    if (!m.causal) {
      fail("phase decode needs a decoder (model_type gpt2 or llama); model_type " + m.model_type +
           " is an encoder");
    }
    sh.tokens = o.seq.value_or(1);
    if (sh.tokens != 1) {
      fail("seq: phase decode appends one token per sequence, so seq must be 1, got " +
           std::to_string(sh.tokens));
    }
    if (o.kv_len.value_or(0) == 0) {
      fail("kv_len: phase decode needs the number of tokens already in the KV cache (>= 1)");
    }
    sh.cached = *o.kv_len;
  }
  if (sh.tokens == 0) fail("seq: must be a positive integer, got 0");
  const std::string who = m.name + ": ";
  const std::uint64_t positions = checked_add(sh.cached, sh.tokens, who + "kv_len + seq");
  if (m.max_position_embeddings && positions > m.max_position_embeddings) {
    fail("seq: kv_len + seq = " + std::to_string(positions) + " exceeds max_position_embeddings " +
         std::to_string(m.max_position_embeddings));
  }
  // Every size the ops take is one of these products (or of the model's bounded shape), so
  // none wraps; check_sizes then bounds each op.
  const auto n2s = [](std::uint64_t x) { return std::to_string(x); };
  const std::uint64_t rows = checked_mul(sh.batch, sh.tokens, who + "batch x seq");
  if (rows > config::kMaxInteger || positions > config::kMaxInteger) {
    fail("batch x seq = " + n2s(sh.batch) + " x " + n2s(sh.tokens) + " = " + n2s(rows) +
         " tokens (kv_len + seq = " + n2s(positions) + "): at most " + n2s(config::kMaxInteger) +
         " each");
  }
  checked_mul(checked_mul(rows, m.num_attention_heads, who + "batch x seq x heads"), m.head_dim,
              who + "batch x seq x heads x head_dim");
  checked_mul(checked_mul(sh.batch, m.num_attention_heads, who + "batch x heads"), positions,
              who + "batch x heads x (kv_len + seq)");
  return sh;
}

// The embeddings, the first `layers` transformer layers and the head on `sh`, named after the
// model; every op checked against the size limits (a size past them is the user's shape, not
// the frontend's: a WorkloadError naming the model and the op).
Workload build_ops(const ModelConfig& m, const Shape& sh, isa::DType dtype, std::uint64_t layers) {
  Builder b(dtype);
  int x = embeddings(b, m, sh);
  for (std::uint64_t l = 0; l < layers; ++l) {
    b.layer("layer" + std::to_string(l));
    x = layer(b, m, sh, x);
  }
  head(b, m, sh, x);
  Workload w = b.take();
  w.name = m.name;
  for (const Op& op : w.ops) {
    try {
      check_sizes(op);
    } catch (const WorkloadError& e) {
      throw WorkloadError(m.name + ": op '" + op.name() + "' (" + op.kind() + "): " + e.what());
    }
  }
  return w;
}

}  // namespace

Phase parse_phase(const std::string& s) {
  if (s == "prefill") return Phase::prefill;
  if (s == "decode") return Phase::decode;
  throw WorkloadError("phase: must be prefill or decode, got \"" + s + "\"");
}

Workload build_trace(const ModelConfig& m, const TraceOptions& o) {
  const Shape sh = check_options(m, o);
  if (o.layers && (*o.layers == 0 || *o.layers > m.num_hidden_layers)) {
    throw WorkloadError("layers: must be in [1, " + std::to_string(m.num_hidden_layers) + "] for " +
                        m.name + ", got " + std::to_string(*o.layers));
  }
  const std::uint64_t layers = o.layers.value_or(m.num_hidden_layers);
  Workload w = build_ops(m, sh, o.dtype, layers);
  const std::string phase = o.phase == Phase::prefill ? "prefill" : "decode";
  w.meta = {m.name, sh.batch, sh.tokens, std::nullopt, phase};
  if (o.phase == Phase::decode) w.meta.kv_len = sh.cached;
  w.description = m.name + " (" + m.architecture + "), " + phase + ", batch " +
                  std::to_string(sh.batch) + ", seq " + std::to_string(sh.tokens) +
                  (o.phase == Phase::decode ? ", kv_len " + std::to_string(sh.cached) : "") +
                  (o.layers ? ", first " + std::to_string(layers) + " layers" : "") + ", " +
                  isa::to_string(o.dtype) + "; from llmsim's transformer frontend";
  // The trace obeys the format's own rules: a violation is a frontend bug.
  try {
    return parse_workload(to_json(w), w.name);
  } catch (const WorkloadError& e) {
    LLMSIM_CHECK(false,
                 std::string("the transformer frontend built an invalid trace: ") + e.what());
  }
  return w;
}

}  // namespace llmsim::workloads

namespace llmsim::workloads {

Workload build_iteration(const ModelConfig& m, const IterationShape& it) {
  const std::string who = m.name + ": ";
  auto fail = [&](const std::string& what) { throw WorkloadError(who + what); };
  const auto n2s = [](std::uint64_t x) { return std::to_string(x); };
  if (!m.causal) {
    fail("an iteration needs a decoder with a KV cache (model_type gpt2 or llama); model_type " +
         m.model_type + " is an encoder");
  }
  if (it.seqs.empty()) fail("seqs: an iteration needs at least one sequence");
  if (it.block_size == 0 || it.block_size > config::kMaxInteger) {
    fail("block_size: must be in [1, " + n2s(config::kMaxInteger) + "], got " +
         n2s(it.block_size));
  }
  if (it.num_blocks == 0 || it.num_blocks > config::kMaxInteger) {
    fail("num_blocks: must be in [1, " + n2s(config::kMaxInteger) + "], got " +
         n2s(it.num_blocks));
  }
  if (it.layers && (*it.layers == 0 || *it.layers > m.num_hidden_layers)) {
    fail("layers: must be in [1, " + n2s(m.num_hidden_layers) + "], got " + n2s(*it.layers));
  }
  elements({it.num_blocks, m.num_key_value_heads, it.block_size, m.head_dim},
           who + "KV pool: num_blocks x kv heads x block_size x head_dim");
  Shape sh;
  sh.block_size = it.block_size, sh.pool_blocks = it.num_blocks;
  std::unordered_map<std::uint64_t, std::size_t> owner;  // block -> the sequence holding it
  for (std::size_t i = 0; i < it.seqs.size(); ++i) {
    const IterationSeq& s = it.seqs[i];
    const std::string key = "seqs[" + std::to_string(i) + "].";
    if (s.tokens == 0 || s.tokens > config::kMaxInteger) {
      fail(key + "tokens: must be in [1, " + n2s(config::kMaxInteger) + "], got " + n2s(s.tokens));
    }
    if (s.kv_len > config::kMaxInteger) {
      fail(key + "kv_len: must be at most " + n2s(config::kMaxInteger) + ", got " + n2s(s.kv_len));
    }
    const std::uint64_t positions = s.kv_len + s.tokens;
    if (m.max_position_embeddings && positions > m.max_position_embeddings) {
      fail(key + "kv_len + tokens = " + n2s(positions) + " exceeds max_position_embeddings " +
           n2s(m.max_position_embeddings));
    }
    const std::uint64_t need = ceil_div(positions, it.block_size);
    if (s.blocks.size() != need) {
      fail(key + "blocks: must hold ceil((kv_len + tokens) / block_size) = ceil(" +
           n2s(positions) + " / " + n2s(it.block_size) + ") = " + n2s(need) + " block ids, got " +
           n2s(s.blocks.size()));
    }
    for (std::size_t k = 0; k < s.blocks.size(); ++k) {
      const std::string at = key + "blocks[" + std::to_string(k) + "]: block ";
      if (s.blocks[k] >= it.num_blocks) {
        fail(at + n2s(s.blocks[k]) + " is past the pool of num_blocks = " + n2s(it.num_blocks) +
             " blocks (ids 0 .. " + n2s(it.num_blocks - 1) + ")");
      }
      const auto [o, fresh] = owner.emplace(s.blocks[k], i);
      if (!fresh) {
        fail(at + n2s(s.blocks[k]) + " is already in the table of seqs[" +
             std::to_string(o->second) + "]; a block holds the tokens of one sequence");
      }
    }
    sh.seqs.push_back({s.tokens, s.kv_len, sh.total, &s.blocks, s.emits_token});
    sh.total = checked_add(sh.total, s.tokens, who + "the tokens of all sequences");
    checked_mul(checked_mul(m.num_attention_heads, positions, who + "heads x (kv_len + tokens)"),
                s.tokens, who + "heads x (kv_len + tokens) x tokens");
  }
  if (sh.total > config::kMaxInteger) {
    fail("the sequences hold " + n2s(sh.total) + " tokens in all, at most " +
         n2s(config::kMaxInteger));
  }
  checked_mul(checked_mul(sh.total, m.num_attention_heads, who + "tokens x heads"), m.head_dim,
              who + "tokens x heads x head_dim");

  const std::uint64_t layers = it.layers.value_or(m.num_hidden_layers);
  Workload w = build_ops(m, sh, it.dtype, layers);
  std::uint64_t prefill = 0, decode = 0;
  for (const IterationSeq& s : it.seqs) (s.tokens > 1 || s.kv_len == 0 ? prefill : decode) += 1;
  w.meta.model = m.name;
  w.meta.batch = it.seqs.size();
  w.description = m.name + " (" + m.architecture + "), serving iteration of " +
                  n2s(it.seqs.size()) + " sequences (" + n2s(prefill) + " prefill chunks, " +
                  n2s(decode) + " decodes), " + n2s(sh.total) + " tokens, paged KV of " +
                  n2s(it.num_blocks) + " blocks of " + n2s(it.block_size) + " tokens" +
                  (it.layers ? ", first " + n2s(layers) + " layers" : "") + ", " +
                  isa::to_string(it.dtype) + "; from llmsim's transformer frontend";
  try {
    return parse_workload(to_json(w), w.name);
  } catch (const WorkloadError& e) {
    LLMSIM_CHECK(false,
                 std::string("the iteration frontend built an invalid trace: ") + e.what());
  }
  return w;
}

}  // namespace llmsim::workloads
