#pragma once
// The transformer frontend: a model config and a shape (batch, sequence, phase) become a layer
// trace. The op sequence per family is documented in docs/workloads.md ("Models and `llmsim trace`");
// in short, with B = batch, s = new tokens per sequence (prefill: seq; decode: 1),
// L = cached tokens (decode: kv_len; prefill: 0), T = B x s, h = hidden, H / Hkv = query / KV
// heads, d = head_dim, g = H / Hkv:
//   embeddings  word (+ token type, + position) gathers and adds (+ layernorm for BERT)
//   each layer  [pre-norm] Q, K, V projections (T x h x H*d, T x h x Hkv*d); rope on Q and K
//               (Llama); kv_write of K and V (decoders); scores = Q K^T as B*Hkv matmuls of
//               (g*s) x d x (L+s); scale; causal mask (decoder prefill); softmax; context =
//               P V as B*Hkv matmuls of (g*s) x (L+s) x d; output projection; residual add;
//               [post-norm]; FFN up, activation (gated: gate, act, up, mul), down; residual add
//   head        per `architectures` (model_config.h), e.g. final norm and the LM head
// Every op has the trace's dtype (int8 by default); matmuls requantise their int32
// accumulators to it as they store (no quantize ops).
#include <cstdint>
#include <optional>
#include <string>

#include "arch/isa/dtype.h"
#include "workloads/model_config.h"
#include "workloads/workload.h"

namespace llmsim::workloads {

enum class Phase { prefill, decode };

struct TraceOptions {
  std::uint64_t batch = 1;
  // Prefill: tokens per sequence (default 128). Decode: new tokens per sequence, 1 (default).
  std::optional<std::uint64_t> seq;
  Phase phase = Phase::prefill;
  // Decode: tokens already in the KV cache per sequence (required, >= 1). Prefill: 0.
  std::optional<std::uint64_t> kv_len;
  isa::DType dtype = isa::DType::int8;
  // The first `layers` transformer layers only (default: all), for quick studies and for
  // regression cases of large models; embeddings and head are kept.
  std::optional<std::uint64_t> layers;
};

// Throws WorkloadError for options the model cannot take ("bert-base-uncased: phase decode
// needs a decoder ...", "seq: 600 + kv_len 0 exceeds max_position_embeddings 512").
Workload build_trace(const ModelConfig& model, const TraceOptions& options);

// "prefill" / "decode" -> Phase; throws WorkloadError otherwise.
Phase parse_phase(const std::string& s);

}  // namespace llmsim::workloads
