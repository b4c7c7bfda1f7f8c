#include "workloads/model_config.h"

#include <algorithm>
#include <filesystem>
#include <optional>

#include "sim/core/data_dir.h"
#include "sim/core/error.h"
#include "workloads/hf_reader.h"

namespace llmsim::workloads {

namespace fs = std::filesystem;
using config::Json;

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

struct ActivationName {
  const char* name;
  Activation act;
};
// gelu covers the erf form and its tanh approximations: the same vector-unit op.
const std::vector<ActivationName> kActivations = {
    {"gelu", Activation::gelu},        {"gelu_new", Activation::gelu},
    {"gelu_fast", Activation::gelu},   {"gelu_pytorch_tanh", Activation::gelu},
    {"gelu_python", Activation::gelu}, {"gelu_accurate", Activation::gelu},
    {"relu", Activation::relu},        {"silu", Activation::silu},
    {"swish", Activation::silu}};

struct Architecture {
  const char* name;
  ModelFamily family;
  Head head;
};
// The first of each family is its base model, used when `architectures` is absent.
const std::vector<Architecture> kArchitectures = {
    {"BertModel", ModelFamily::bert, Head::pooler},
    {"BertForSequenceClassification", ModelFamily::bert, Head::sequence_classification},
    {"BertForTokenClassification", ModelFamily::bert, Head::token_classification},
    {"BertForQuestionAnswering", ModelFamily::bert, Head::question_answering},
    {"BertForMaskedLM", ModelFamily::bert, Head::masked_lm},
    {"GPT2Model", ModelFamily::gpt2, Head::final_norm},
    {"GPT2LMHeadModel", ModelFamily::gpt2, Head::causal_lm},
    {"LlamaModel", ModelFamily::llama, Head::final_norm},
    {"LlamaForCausalLM", ModelFamily::llama, Head::causal_lm}};

void read_architecture(HfReader& r, ModelConfig& c) {
  std::vector<std::string> names;
  const Architecture* base = nullptr;
  for (const auto& a : kArchitectures) {
    if (a.family != c.family) continue;
    if (!base) base = &a;
    names.push_back(a.name);
  }
  const Json* v = r.find({"architectures"});
  if (v && (!v->is_array() || v->empty() || !(*v)[0].is_string())) {
    r.fail("architectures",
           "must be a non-empty list of class names, got " + config::short_dump(*v));
  }
  c.architecture = v ? (*v)[0].get<std::string>() : base->name;
  for (const auto& a : kArchitectures) {
    if (a.family == c.family && c.architecture == a.name) {
      c.head = a.head;
      return;
    }
  }
  r.fail("architectures", "\"" + c.architecture + "\" is not supported for model_type " +
                              c.model_type + "; supported: " + join(names));
}

void read_activation(HfReader& r, ModelConfig& c, std::initializer_list<const char*> names,
                     const std::string& def) {
  c.activation_name = r.string(names, def);
  for (const auto& a : kActivations) {
    if (c.activation_name == a.name) {
      c.activation = a.act;
      return;
    }
  }
  std::vector<std::string> allowed;
  for (const auto& a : kActivations) allowed.push_back(a.name);
  r.fail(*names.begin(), "must be one of " + join(allowed) + " (the vector unit's gelu, relu and " +
                             "silu), got \"" + c.activation_name + "\"");
}

// head_dim is read for llama only (BERT and GPT-2 split hidden_size over the heads).
void read_heads(HfReader& r, ModelConfig& c) {
  const bool own_head_dim = c.family == ModelFamily::llama && r.find({"head_dim"});
  c.head_dim = own_head_dim ? r.count({"head_dim"}, std::nullopt, false, kMaxHeadDim)
                            : c.hidden_size / c.num_attention_heads;
  if (!own_head_dim && c.hidden_size % c.num_attention_heads != 0) {
    r.fail("num_attention_heads", "must divide hidden_size (" + std::to_string(c.hidden_size) +
                                      "), got " + std::to_string(c.num_attention_heads));
  }
  if (c.num_attention_heads % c.num_key_value_heads != 0) {
    r.fail("num_key_value_heads", "must divide num_attention_heads (" +
                                      std::to_string(c.num_attention_heads) + "), got " +
                                      std::to_string(c.num_key_value_heads));
  }
}

void read_bert(HfReader& r, ModelConfig& c) {
  c.hidden_size = r.count({"hidden_size"}, std::nullopt, false, kMaxHidden);
  c.num_attention_heads = r.count({"num_attention_heads"}, std::nullopt, false, kMaxHeads);
  c.num_key_value_heads = c.num_attention_heads;
  c.num_hidden_layers = r.count({"num_hidden_layers"}, std::nullopt, false, kMaxLayers);
  c.intermediate_size = r.count({"intermediate_size"}, std::nullopt, false, kMaxIntermediate);
  c.vocab_size = r.count({"vocab_size"}, std::nullopt, false, kMaxVocab);
  read_activation(r, c, {"hidden_act"}, "gelu");
  const std::string pos = r.string({"position_embedding_type"}, "absolute");
  if (pos != "absolute" && pos != "none") {
    r.fail(
        "position_embedding_type",
        "must be \"absolute\" or \"none\" (llmsim: no position embeddings), got \"" + pos + "\"");
  }
  c.learned_positions = pos == "absolute";
  if (c.learned_positions)
    c.max_position_embeddings =
        r.count({"max_position_embeddings"}, std::nullopt, false, kMaxPositions);
  c.type_vocab_size =
      r.count({"type_vocab_size"}, std::nullopt, /*allow_zero=*/true, kMaxTypeVocab);
  c.embedding_layer_norm = r.boolean({"embedding_layer_norm"}, true);
  if (r.boolean({"is_decoder"}, false)) {
    r.fail("is_decoder", "BERT as a causal decoder is not supported; use gpt2 or llama");
  }
  c.norm = Norm::layernorm;
  c.attention_bias = c.mlp_bias = true;
}

void read_gpt2(HfReader& r, ModelConfig& c) {
  c.hidden_size = r.count({"n_embd", "hidden_size"}, std::nullopt, false, kMaxHidden);
  c.num_attention_heads =
      r.count({"n_head", "num_attention_heads"}, std::nullopt, false, kMaxHeads);
  c.num_key_value_heads = c.num_attention_heads;
  c.num_hidden_layers = r.count({"n_layer", "num_hidden_layers"}, std::nullopt, false, kMaxLayers);
  c.intermediate_size =
      r.count({"n_inner", "intermediate_size"}, 4 * c.hidden_size, false, kMaxIntermediate);
  c.vocab_size = r.count({"vocab_size"}, std::nullopt, false, kMaxVocab);
  c.max_position_embeddings =
      r.count({"n_positions", "max_position_embeddings"}, std::nullopt, false, kMaxPositions);
  read_activation(r, c, {"activation_function", "hidden_act"}, "gelu_new");
  c.scale_attention = r.boolean({"scale_attn_weights"}, true);
  c.learned_positions = c.pre_norm = c.causal = true;
  c.norm = Norm::layernorm;
  c.attention_bias = c.mlp_bias = true;
}

void read_llama(HfReader& r, ModelConfig& c) {
  c.hidden_size = r.count({"hidden_size"}, std::nullopt, false, kMaxHidden);
  c.num_attention_heads = r.count({"num_attention_heads"}, std::nullopt, false, kMaxHeads);
  c.num_key_value_heads = r.count({"num_key_value_heads"}, c.num_attention_heads, false, kMaxHeads);
  c.num_hidden_layers = r.count({"num_hidden_layers"}, std::nullopt, false, kMaxLayers);
  c.intermediate_size = r.count({"intermediate_size"}, std::nullopt, false, kMaxIntermediate);
  c.vocab_size = r.count({"vocab_size"}, std::nullopt, false, kMaxVocab);
  c.max_position_embeddings =
      r.count({"max_position_embeddings"}, std::nullopt, false, kMaxPositions);
  read_activation(r, c, {"hidden_act"}, "silu");
  c.attention_bias = r.boolean({"attention_bias"}, false);
  c.mlp_bias = r.boolean({"mlp_bias"}, false);
  c.rope = c.pre_norm = c.causal = c.gated_ffn = true;
  c.norm = Norm::rmsnorm;
}

}  // namespace

const char* to_string(Head h) {
  switch (h) {
    case Head::pooler:
      return "pooler";
    case Head::sequence_classification:
      return "sequence_classification";
    case Head::token_classification:
      return "token_classification";
    case Head::question_answering:
      return "question_answering";
    case Head::masked_lm:
      return "masked_lm";
    case Head::final_norm:
      return "final_norm";
    case Head::causal_lm:
      return "causal_lm";
  }
  return "?";
}

ModelConfig parse_model_config(const Json& doc, const std::string& name) {
  HfReader r(doc, name);
  ModelConfig c;
  c.name = name;
  c.model_type = r.string({"model_type"}, std::nullopt);
  if (c.model_type == "bert") {
    c.family = ModelFamily::bert;
    read_bert(r, c);
  } else if (c.model_type == "gpt2") {
    c.family = ModelFamily::gpt2;
    read_gpt2(r, c);
  } else if (c.model_type == "llama") {
    c.family = ModelFamily::llama;
    read_llama(r, c);
  } else {
    r.fail("model_type", "must be one of bert, gpt2, llama, got \"" + c.model_type + "\"");
  }
  read_heads(r, c);
  read_architecture(r, c);
  const bool classifies = c.head == Head::sequence_classification ||
                          c.head == Head::token_classification ||
                          c.head == Head::question_answering;
  if (classifies) {
    const Json* labels = r.find({"id2label"});
    if (labels && !labels->is_object()) {
      r.fail("id2label",
             "must be an object {\"0\": \"LABEL_0\", ...}, got " + config::short_dump(*labels));
    }
    const std::uint64_t from_labels = labels && !labels->empty() ? labels->size() : 2;
    c.num_labels = r.count({"num_labels"}, from_labels, false, kMaxLabels);
  }
  r.check_near_misses();
  return c;
}

ModelConfig load_model(const std::string& name_or_path) {
  fs::path p(name_or_path);
  if (!fs::exists(p)) {
    const fs::path bundled = data_dir() / "workloads" / "models" / (name_or_path + ".json");
    if (!fs::exists(bundled)) {
      throw WorkloadError(
          "--model " + config::printable(name_or_path) +
          ": no such file and no bundled model of that name; bundled: " + join(bundled_models()));
    }
    p = bundled;
  }
  std::string name = p.stem().string();
  if (name == "config") name = p.parent_path().filename().string();  // .../gpt2/config.json
  name = config::printable(name);  // for reports (UTF-8); a path may hold any bytes
  try {
    return parse_model_config(config::load_json_file(p.string()), name);
  } catch (const ConfigError& e) {
    throw WorkloadError(e.what());
  }
}

std::vector<std::string> bundled_models() {
  std::vector<std::string> out;
  const fs::path dir = data_dir() / "workloads" / "models";
  if (fs::is_directory(dir)) {
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.path().extension() == ".json") out.push_back(e.path().stem().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace llmsim::workloads
