#pragma once
// A transformer's shape, read from a Hugging Face config.json (or a bundled one in
// workloads/models/, documented in workloads/models/README.md).
//
// Keys are read by their Hugging Face names; GPT-2's own names (n_embd, n_head, n_layer, n_inner,
// n_positions, activation_function) are read for gpt2, with the generic names accepted too. A
// null value means "the Hugging Face default" (n_inner = 4 x hidden, num_key_value_heads =
// num_attention_heads, ...). Every other key of a real config (dropouts, token ids, eps,
// rope_theta, torch_dtype, ...) changes values, not shapes or work, and is ignored on purpose,
// except that an unread key one or two letters away from a key the reader looked for and did not
// find is an error ("did you mean"). A missing needed key, an unsupported model_type,
// architecture or activation is a WorkloadError naming the key.
#include <cstdint>
#include <string>
#include <vector>

#include "sim/core/config.h"

namespace llmsim::workloads {

// Upper bounds of the shape keys, far above any public model (Llama 3.1 405B: hidden 16384,
// 126 layers, 128 heads, intermediate 53248, vocab 128256, 131072 positions), so that a config
// that asks for more (num_hidden_layers: 1000000) is an error before a trace is built. A key
// past its bound is "<model>: <key>: must be in [1, <bound>], got <value>".
inline constexpr std::uint64_t kMaxHidden = std::uint64_t(1) << 20;
inline constexpr std::uint64_t kMaxHeads = std::uint64_t(1) << 16;
inline constexpr std::uint64_t kMaxHeadDim = std::uint64_t(1) << 16;
inline constexpr std::uint64_t kMaxIntermediate = std::uint64_t(1) << 22;
inline constexpr std::uint64_t kMaxLayers = 4096;
inline constexpr std::uint64_t kMaxVocab = std::uint64_t(1) << 24;
inline constexpr std::uint64_t kMaxPositions = std::uint64_t(1) << 24;
inline constexpr std::uint64_t kMaxTypeVocab = std::uint64_t(1) << 16;
inline constexpr std::uint64_t kMaxLabels = std::uint64_t(1) << 20;

enum class ModelFamily { bert, gpt2, llama };
enum class Activation { gelu, relu, silu };
enum class Norm { layernorm, rmsnorm };

// What follows the last layer, from `architectures[0]`.
enum class Head {
  pooler,                   // BertModel: dense + tanh on the first token
  sequence_classification,  // BertForSequenceClassification: pooler + classifier
  token_classification,     // BertForTokenClassification: classifier on every token
  question_answering,       // BertForQuestionAnswering: qa_outputs on every token
  masked_lm,                // BertForMaskedLM: dense + act + layernorm + vocab decoder, every token
  final_norm,               // GPT2Model, LlamaModel: the final norm only
  causal_lm,                // GPT2LMHeadModel, LlamaForCausalLM: final norm + LM head
};

struct ModelConfig {
  std::string name;  // bundled name or file stem, for messages and trace metadata
  std::string model_type;
  ModelFamily family = ModelFamily::bert;
  std::string architecture;  // as written, or the model_type's base model when absent
  Head head = Head::pooler;

  std::uint64_t hidden_size = 0;
  std::uint64_t num_attention_heads = 0;
  std::uint64_t num_key_value_heads = 0;  // < num_attention_heads: grouped-query attention
  std::uint64_t head_dim = 0;
  std::uint64_t intermediate_size = 0;
  std::uint64_t num_hidden_layers = 0;
  std::uint64_t vocab_size = 0;
  std::uint64_t max_position_embeddings = 0;  // 0: no limit (no learned positions)
  std::uint64_t type_vocab_size = 0;          // BERT token types; 0: no token-type embeddings
  std::uint64_t num_labels = 0;               // classification heads

  Activation activation = Activation::gelu;
  std::string activation_name;  // as written ("gelu_new")
  Norm norm = Norm::layernorm;
  bool learned_positions = false;     // absolute position embeddings (BERT, GPT-2)
  bool rope = false;                  // rotary embeddings on Q and K (Llama)
  bool embedding_layer_norm = false;  // BERT's LayerNorm after the embeddings
  bool pre_norm = false;              // norm before each block (GPT-2, Llama) or after (BERT)
  bool causal = false;                // decoder: causal mask, KV cache
  bool gated_ffn = false;             // act(gate) * up (Llama's SwiGLU)
  bool attention_bias = false;        // biases of the Q, K, V and output projections
  bool mlp_bias = false;              // biases of the FFN matmuls
  bool scale_attention = true;        // scores / sqrt(head_dim)
};

// Throws WorkloadError "<name>: <key>: <what>".
ModelConfig parse_model_config(const config::Json& doc, const std::string& name);

// A path to a config.json, or the name of a file in workloads/models/ (without ".json").
ModelConfig load_model(const std::string& name_or_path);

std::vector<std::string> bundled_models();

const char* to_string(Head h);

}  // namespace llmsim::workloads
