#include "workloads/model_config.h"

#include <algorithm>
#include <filesystem>
#include <initializer_list>
#include <optional>

#include "sim/core/error.h"

namespace llmsim::workloads {

namespace fs = std::filesystem;
using config::Json;

namespace {

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      cur[j] =
          std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// Reads a Hugging Face config by key name. A key may have aliases (GPT-2's n_embd for
// hidden_size): the first name is the one messages use; two names that disagree are an error.
// Keys it never asks for are ignored, except near misses of keys it asked for and did not find.
class HfReader {
 public:
  HfReader(const Json& doc, std::string name) : m_doc(doc), m_name(std::move(name)) {
    if (!doc.is_object()) throw WorkloadError(m_name + ": must be a JSON object (a config.json)");
  }

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw WorkloadError(m_name + ": " + key + ": " + what);
  }

  // The value under the first present, non-null name; nullptr if none.
  const Json* find(std::initializer_list<const char*> names) {
    const Json* found = nullptr;
    std::string found_name;
    for (const char* n : names) {
      m_asked.push_back(n);
      auto it = m_doc.find(n);
      if (it == m_doc.end() || it->is_null()) continue;
      if (found && *found != *it) {
        fail(n, "disagrees with " + found_name + " (" + config::short_dump(*found) + " vs " +
                    config::short_dump(*it) + ")");
      }
      if (!found) found = &*it, found_name = n;
    }
    return found;
  }

  std::uint64_t count(std::initializer_list<const char*> names,
                      std::optional<std::uint64_t> def = std::nullopt, bool allow_zero = false) {
    const Json* v = find(names);
    const char* key = *names.begin();
    if (!v) {
      if (!def) missing(key, allow_zero ? "a non-negative integer" : "a positive integer");
      return *def;
    }
    if (!v->is_number_integer() || v->get<std::int64_t>() < (allow_zero ? 0 : 1)) {
      fail(key, std::string("must be a ") + (allow_zero ? "non-negative" : "positive") +
                    " integer, got " + config::short_dump(*v));
    }
    return v->get<std::uint64_t>();
  }

  bool boolean(std::initializer_list<const char*> names, bool def) {
    const Json* v = find(names);
    if (!v) return def;
    if (!v->is_boolean())
      fail(*names.begin(), "must be true or false, got " + config::short_dump(*v));
    return v->get<bool>();
  }

  std::string string(std::initializer_list<const char*> names, std::optional<std::string> def) {
    const Json* v = find(names);
    if (!v) {
      if (!def) missing(*names.begin(), "a string");
      return *def;
    }
    if (!v->is_string()) fail(*names.begin(), "must be a string, got " + config::short_dump(*v));
    return v->get<std::string>();
  }

  // Unread keys one or two edits away from a key asked for and absent: a misspelling.
  void check_near_misses() const {
    for (auto it = m_doc.begin(); it != m_doc.end(); ++it) {
      if (std::find(m_asked.begin(), m_asked.end(), it.key()) != m_asked.end()) continue;
      for (const auto& a : m_asked) {
        if (m_doc.contains(a)) continue;
        if (edit_distance(it.key(), a) <= 2) {
          fail(it.key(), "unknown key (did you mean \"" + a + "\"?)");
        }
      }
    }
  }

 private:
  [[noreturn]] void missing(const std::string& key, const std::string& what) const {
    std::string msg = "is required (" + what + ")";
    for (auto it = m_doc.begin(); it != m_doc.end(); ++it) {
      if (edit_distance(it.key(), key) <= 2) {
        msg += "; found \"" + it.key() + "\": a misspelling?";
        break;
      }
    }
    fail(key, msg);
  }

  const Json& m_doc;
  std::string m_name;
  std::vector<std::string> m_asked;
};

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
  c.head_dim = own_head_dim ? r.count({"head_dim"}) : c.hidden_size / c.num_attention_heads;
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
  c.hidden_size = r.count({"hidden_size"});
  c.num_attention_heads = r.count({"num_attention_heads"});
  c.num_key_value_heads = c.num_attention_heads;
  c.num_hidden_layers = r.count({"num_hidden_layers"});
  c.intermediate_size = r.count({"intermediate_size"});
  c.vocab_size = r.count({"vocab_size"});
  read_activation(r, c, {"hidden_act"}, "gelu");
  const std::string pos = r.string({"position_embedding_type"}, "absolute");
  if (pos != "absolute" && pos != "none") {
    r.fail(
        "position_embedding_type",
        "must be \"absolute\" or \"none\" (llmsim: no position embeddings), got \"" + pos + "\"");
  }
  c.learned_positions = pos == "absolute";
  if (c.learned_positions) c.max_position_embeddings = r.count({"max_position_embeddings"});
  c.type_vocab_size = r.count({"type_vocab_size"}, std::nullopt, /*allow_zero=*/true);
  c.embedding_layer_norm = r.boolean({"embedding_layer_norm"}, true);
  if (r.boolean({"is_decoder"}, false)) {
    r.fail("is_decoder", "BERT as a causal decoder is not supported; use gpt2 or llama");
  }
  c.norm = Norm::layernorm;
  c.attention_bias = c.mlp_bias = true;
}

void read_gpt2(HfReader& r, ModelConfig& c) {
  c.hidden_size = r.count({"n_embd", "hidden_size"});
  c.num_attention_heads = r.count({"n_head", "num_attention_heads"});
  c.num_key_value_heads = c.num_attention_heads;
  c.num_hidden_layers = r.count({"n_layer", "num_hidden_layers"});
  c.intermediate_size = r.count({"n_inner", "intermediate_size"}, 4 * c.hidden_size);
  c.vocab_size = r.count({"vocab_size"});
  c.max_position_embeddings = r.count({"n_positions", "max_position_embeddings"});
  read_activation(r, c, {"activation_function", "hidden_act"}, "gelu_new");
  c.scale_attention = r.boolean({"scale_attn_weights"}, true);
  c.learned_positions = c.pre_norm = c.causal = true;
  c.norm = Norm::layernorm;
  c.attention_bias = c.mlp_bias = true;
}

void read_llama(HfReader& r, ModelConfig& c) {
  c.hidden_size = r.count({"hidden_size"});
  c.num_attention_heads = r.count({"num_attention_heads"});
  c.num_key_value_heads = r.count({"num_key_value_heads"}, c.num_attention_heads);
  c.num_hidden_layers = r.count({"num_hidden_layers"});
  c.intermediate_size = r.count({"intermediate_size"});
  c.vocab_size = r.count({"vocab_size"});
  c.max_position_embeddings = r.count({"max_position_embeddings"});
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
    c.num_labels = r.count({"num_labels"}, from_labels);
  }
  r.check_near_misses();
  return c;
}

ModelConfig load_model(const std::string& name_or_path) {
  fs::path p(name_or_path);
  if (!fs::exists(p)) {
    const fs::path bundled =
        fs::path(LLMSIM_DATA_DIR) / "workloads" / "models" / (name_or_path + ".json");
    if (!fs::exists(bundled)) {
      throw WorkloadError(
          "--model " + name_or_path +
          ": no such file and no bundled model of that name; bundled: " + join(bundled_models()));
    }
    p = bundled;
  }
  std::string name = p.stem().string();
  if (name == "config") name = p.parent_path().filename().string();  // .../gpt2/config.json
  try {
    return parse_model_config(config::load_json_file(p.string()), name);
  } catch (const ConfigError& e) {
    throw WorkloadError(e.what());
  }
}

std::vector<std::string> bundled_models() {
  std::vector<std::string> out;
  const fs::path dir = fs::path(LLMSIM_DATA_DIR) / "workloads" / "models";
  if (fs::is_directory(dir)) {
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.path().extension() == ".json") out.push_back(e.path().stem().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace llmsim::workloads
