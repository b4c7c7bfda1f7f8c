// The transformer frontend (workloads/transformer.h): op lists, shapes and MACs of the bundled
// models against closed forms.
#include <catch2/catch.hpp>

#include <map>

#include "sim/core/error.h"
#include "workloads/transformer.h"

namespace {

using namespace llmsim::workloads;

Workload trace(const std::string& model, TraceOptions o) {
  return build_trace(load_model(model), o);
}

TraceOptions prefill(std::uint64_t batch, std::uint64_t seq) {
  TraceOptions o;
  o.batch = batch;
  o.seq = seq;
  return o;
}

TraceOptions decode(std::uint64_t batch, std::uint64_t kv_len) {
  TraceOptions o;
  o.batch = batch;
  o.phase = Phase::decode;
  o.kv_len = kv_len;
  return o;
}

const Op& op(const Workload& w, const std::string& name) {
  const int i = w.index_of(name);
  REQUIRE(i >= 0);
  return w.ops[std::size_t(i)];
}

const MatmulOp& mm(const Workload& w, const std::string& name) {
  const auto* m = op(w, name).get_if<MatmulOp>();
  REQUIRE(m);
  return *m;
}

const VectorOp& vec(const Workload& w, const std::string& name) {
  const auto* v = op(w, name).get_if<VectorOp>();
  REQUIRE(v);
  return *v;
}

std::vector<std::string> layer_kinds(const Workload& w, const std::string& layer) {
  std::vector<std::string> out;
  for (const Op& o : w.ops) {
    if (o.layer() == layer) out.push_back(o.kind());
  }
  return out;
}

std::uint64_t layer_macs(const Workload& w, const std::string& layer) {
  std::uint64_t macs = 0;
  for (const Op& o : w.ops) {
    if (o.layer() == layer) macs += o.macs();
  }
  return macs;
}

}  // namespace

TEST_CASE("bert-base: every layer has the 15 ops of a post-norm encoder layer") {
  const Workload w = trace("bert-base-uncased", prefill(1, 128));
  const std::vector<std::string> expected = {"matmul",  "matmul", "matmul", "matmul", "scale",
                                             "softmax", "matmul", "matmul", "add",    "layernorm",
                                             "matmul",  "gelu",   "matmul", "add",    "layernorm"};
  for (int l = 0; l < 12; ++l) CHECK(layer_kinds(w, "layer" + std::to_string(l)) == expected);
  CHECK(layer_kinds(w, "embeddings") ==
        std::vector<std::string>{"embedding", "embedding", "add", "embedding", "add", "layernorm"});
  // BertForMaskedLM: transform dense, gelu, layernorm, decoder over the vocabulary.
  CHECK(layer_kinds(w, "head") ==
        std::vector<std::string>{"matmul", "gelu", "layernorm", "matmul"});
  CHECK(w.ops.size() == 6 + 12 * 15 + 4);
  CHECK(mm(w, "head.mlm_decoder").n == 30522);
  CHECK(w.meta.model == "bert-base-uncased");
  CHECK(w.meta.phase == "prefill");
}

TEST_CASE("bert-base: MACs per layer match the closed form") {
  // Per sequence of s tokens, hidden h, FFN i, H heads of d = h / H:
  //   Q, K, V and output projections   4 x s x h x h
  //   scores Q K^T: H x (s x d x s)    s^2 x h
  //   context P V:  H x (s x s x d)    s^2 x h
  //   FFN up and down                  2 x s x h x i
  // = 4 s h^2 + 2 s^2 h + 2 s h i; a batch of B sequences does B times that.
  // s = 128, h = 768, i = 3072: 301989888 + 25165824 + 603979776 = 931135488.
  const std::uint64_t s = 128, h = 768, i = 3072;
  const std::uint64_t per_seq = 4 * s * h * h + 2 * s * s * h + 2 * s * h * i;
  CHECK(per_seq == 931135488u);
  const Workload w1 = trace("bert-base-uncased", prefill(1, s));
  const Workload w3 = trace("bert-base-uncased", prefill(3, s));
  for (int l = 0; l < 12; ++l) {
    CHECK(layer_macs(w1, "layer" + std::to_string(l)) == per_seq);
    CHECK(layer_macs(w3, "layer" + std::to_string(l)) == 3 * per_seq);
  }
  // Attention GEMMs: one per (sequence, head).
  const MatmulOp& scores = mm(w3, "layer5.scores");
  CHECK((scores.batch == 3 * 12 && scores.m == s && scores.k == 64 && scores.n == s));
  CHECK(scores.transpose_b);
  CHECK(scores.a == Operand::from_op(w3.index_of("layer5.q_proj")));
  CHECK(scores.b == Operand::from_op(w3.index_of("layer5.k_proj")));
  const MatmulOp& ctx = mm(w3, "layer5.context");
  CHECK((ctx.batch == 36 && ctx.m == s && ctx.k == s && ctx.n == 64 && !ctx.transpose_b));
  CHECK((vec(w3, "layer5.softmax").rows == 3 * 12 * s && vec(w3, "layer5.softmax").cols == s));
  // bert-large: h = 1024, i = 4096, 24 layers.
  const Workload large = trace("bert-large-uncased", prefill(1, s));
  CHECK(layer_macs(large, "layer23") ==
        4 * s * 1024 * 1024 + 2 * s * s * 1024 + 2 * s * 1024 * 4096);
}

TEST_CASE("gpt2: pre-norm, causal mask, KV cache writes and the last token's LM head") {
  const Workload w = trace("gpt2", prefill(2, 16));
  CHECK(layer_kinds(w, "layer0") ==
        std::vector<std::string>{"layernorm", "matmul", "matmul", "matmul", "kv_write", "kv_write",
                                 "matmul", "scale", "mask", "softmax", "matmul", "matmul", "add",
                                 "layernorm", "matmul", "gelu", "matmul", "add"});
  CHECK(layer_kinds(w, "embeddings") == std::vector<std::string>{"embedding", "embedding", "add"});
  CHECK(std::get<EmbeddingOp>(op(w, "embeddings.position").body()).vocab == 1024);
  const auto& last = vec(w, "head.last_token");  // row 15 of each sequence's 16
  CHECK((last.rows == 2 && last.cols == 768 && last.row_offset == 15 && last.row_stride == 16));
  const MatmulOp& lm = mm(w, "head.lm_head");
  CHECK((lm.m == 2 && lm.k == 768 && lm.n == 50257 && !lm.bias));
  CHECK(vec(w, "layer3.mask").rows == 2 * 12 * 16);
  CHECK(vec(w, "layer3.mask").cols == 16);
  CHECK(mm(w, "layer3.up_proj").n == 3072);  // n_inner absent: 4 x n_embd
}

TEST_CASE("llama-3-8b: grouped-query attention reads each KV head once per group") {
  // 32 query heads share 8 KV heads (g = 4), d = 128. Per (sequence, KV head) one matmul whose
  // rows are the 4 query heads x s tokens; K and V are read once per KV head.
  const std::uint64_t b = 2, s = 64, d = 128;
  const Workload w = trace("llama-3-8b", prefill(b, s));
  CHECK(mm(w, "layer0.q_proj").n == 32 * d);
  CHECK(mm(w, "layer0.k_proj").n == 8 * d);
  CHECK(mm(w, "layer0.v_proj").n == 8 * d);
  const MatmulOp& scores = mm(w, "layer0.scores");
  CHECK((scores.batch == b * 8 && scores.m == 4 * s && scores.k == d && scores.n == s));
  CHECK(scores.b == Operand::from_op(w.index_of("layer0.k_cache_write")));
  // B bytes of the scores = the K rows of this step, once: B x s x Hkv x d.
  CHECK(scores.batch * scores.k * scores.n == b * s * 8 * d);
  const MatmulOp& ctx = mm(w, "layer0.context");
  CHECK((ctx.batch == b * 8 && ctx.m == 4 * s && ctx.k == s && ctx.n == d));
  CHECK(ctx.b == Operand::from_op(w.index_of("layer0.v_cache_write")));
  CHECK(vec(w, "layer0.softmax").rows == b * 32 * s);
  CHECK(vec(w, "layer0.q_rope").cols == 32 * d);
  CHECK(vec(w, "layer0.k_rope").cols == 8 * d);
  CHECK(vec(w, "layer0.attn_norm").kind == VectorKind::rmsnorm);
  const auto& kw = std::get<KvWriteOp>(op(w, "layer0.k_cache_write").body());
  CHECK((kw.batch == b && kw.heads == 8 && kw.head_dim == d && kw.tokens == s && kw.kv_len == 0));
  CHECK(kw.input == Operand::from_op(w.index_of("layer0.k_rope")));
  CHECK(layer_kinds(w, "layer31") ==
        std::vector<std::string>{"rmsnorm",  "matmul",   "matmul", "matmul",  "rope",   "rope",
                                 "kv_write", "kv_write", "matmul", "scale",   "mask",   "softmax",
                                 "matmul",   "matmul",   "add",    "rmsnorm", "matmul", "silu",
                                 "matmul",   "mul",      "matmul", "add"});
  // SwiGLU: gate and up 4096 x 14336, down 14336 x 4096; no biases.
  CHECK((mm(w, "layer0.gate_proj").n == 14336 && mm(w, "layer0.down_proj").k == 14336));
  CHECK(!mm(w, "layer0.o_proj").bias);
  CHECK(mm(w, "head.lm_head").n == 128256);
  // Per sequence and layer: projections s h (h + 2 h / 4 + h) + SwiGLU 3 s h i + attention
  // 2 s^2 h (all 32 query heads still attend).
  const std::uint64_t h = 4096, i = 14336;
  CHECK(layer_macs(w, "layer7") ==
        b * (s * h * (2 * h + 2 * 8 * d) + 3 * s * h * i + 2 * s * s * h));
}

TEST_CASE("decode: one new token per sequence attends to kv_len + 1 cached keys") {
  const std::uint64_t b = 4, L = 1000, d = 128;
  const Workload w = trace("llama-3-8b", decode(b, L));
  CHECK(w.meta.phase == "decode");
  CHECK(w.meta.kv_len == L);
  CHECK(w.meta.seq == 1u);
  CHECK(mm(w, "layer0.q_proj").m == b);
  const auto& kw = std::get<KvWriteOp>(op(w, "layer0.k_cache_write").body());
  CHECK((kw.tokens == 1 && kw.kv_len == L));
  CHECK(kw.written_elements() == b * 8 * d);           // the new token's K only
  CHECK(kw.output_elements() == b * 8 * (L + 1) * d);  // the whole cache, read by scores
  const MatmulOp& scores = mm(w, "layer0.scores");
  CHECK((scores.batch == b * 8 && scores.m == 4 && scores.k == d && scores.n == L + 1));
  const MatmulOp& ctx = mm(w, "layer0.context");
  CHECK((ctx.m == 4 && ctx.k == L + 1 && ctx.n == d));
  CHECK(vec(w, "layer0.softmax").rows == b * 32);
  CHECK(vec(w, "layer0.softmax").cols == L + 1);
  CHECK(w.index_of("layer0.mask") < 0);      // one query sees every cached key
  CHECK(w.index_of("head.last_token") < 0);  // every row is a last token
  CHECK(mm(w, "head.lm_head").m == b);
  // GPT-2 decode gathers the new token's position embedding.
  const Workload g = trace("gpt2", decode(1, 7));
  CHECK(std::get<EmbeddingOp>(op(g, "embeddings.position").body()).tokens == 1);
  CHECK(mm(g, "layer0.scores").n == 8);
}

TEST_CASE("llama-2-7b: multi-head attention (32 KV heads) and the vocab of 32000") {
  const Workload w = trace("llama-2-7b", prefill(1, 32));
  CHECK(mm(w, "layer0.k_proj").n == 4096);
  CHECK(mm(w, "layer0.scores").batch == 32);
  CHECK(mm(w, "layer0.scores").m == 32);
  CHECK(mm(w, "layer0.up_proj").n == 11008);
  CHECK(mm(w, "head.lm_head").n == 32000);
}

TEST_CASE("trace options that the model cannot take are errors") {
  auto error_of = [](const std::string& model, TraceOptions o) -> std::string {
    try {
      trace(model, o);
    } catch (const llmsim::WorkloadError& e) {
      return e.what();
    }
    return "(no error)";
  };
  CHECK(error_of("bert-base-uncased", decode(1, 5)) ==
        "bert-base-uncased: phase decode needs a decoder (model_type gpt2 or llama); "
        "model_type bert is an encoder");
  CHECK(error_of("gpt2", decode(1, 0)) ==
        "gpt2: kv_len: phase decode needs the number of tokens already in the KV cache (>= 1)");
  TraceOptions o = decode(1, 4);
  o.seq = 3;
  CHECK(error_of("gpt2", o) ==
        "gpt2: seq: phase decode appends one token per sequence, so seq must be 1, got 3");
  o = prefill(1, 16);
  o.kv_len = 5;
  CHECK(error_of("gpt2", o) ==
        "gpt2: kv_len: applies to phase decode only (prefill starts from an empty KV cache), "
        "got 5");
  CHECK(error_of("bert-base-uncased", prefill(1, 513)) ==
        "bert-base-uncased: seq: kv_len + seq = 513 exceeds max_position_embeddings 512");
  CHECK(error_of("gpt2", decode(1, 1024)) ==
        "gpt2: seq: kv_len + seq = 1025 exceeds max_position_embeddings 1024");
  CHECK(error_of("bert-base-uncased", prefill(0, 8)) ==
        "bert-base-uncased: batch: must be a positive integer, got 0");
}

TEST_CASE("frontend traces obey the dtype option and the format's own rules") {
  TraceOptions o = prefill(1, 8);
  o.dtype = llmsim::isa::DType::bf16;
  const Workload w = trace("torch-tiny-bert", o);
  for (const Op& x : w.ops) CHECK(x.dtype() == llmsim::isa::DType::bf16);
  // Round trip through JSON: what `llmsim trace` prints, `llmsim run --workload` reads.
  CHECK(to_json(parse_workload(to_json(w), "x")) == to_json(w));
  CHECK(layer_kinds(w, "embeddings") == std::vector<std::string>{"embedding"});
  CHECK(layer_kinds(w, "head") == std::vector<std::string>{"matmul"});
  CHECK(mm(w, "layer0.up_proj").n == 2048);
  CHECK(vec(w, "layer0.act").kind == VectorKind::relu);
}
