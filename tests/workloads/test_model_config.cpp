// Reading Hugging Face config.json files (workloads/model_config.h): real configs with their
// extra keys are accepted, missing or unsupported fields are rejected by name.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "sim/core/error.h"
#include "workloads/model_config.h"
#include "workloads/transformer.h"

namespace {

using llmsim::config::Json;
using namespace llmsim::workloads;

// A Llama-style config as Hugging Face writes it, with keys llmsim does not need.
Json hf_llama() {
  return Json::parse(R"({
    "_name_or_path": "someone/tiny-llama", "architectures": ["LlamaForCausalLM"],
    "attention_bias": false, "attention_dropout": 0.0, "bos_token_id": 1, "eos_token_id": 2,
    "hidden_act": "silu", "hidden_size": 256, "initializer_range": 0.02,
    "intermediate_size": 688, "max_position_embeddings": 2048, "mlp_bias": false,
    "model_type": "llama", "num_attention_heads": 8, "num_hidden_layers": 2,
    "num_key_value_heads": 2, "pretraining_tp": 1, "rms_norm_eps": 1e-06,
    "rope_scaling": {"factor": 8.0, "rope_type": "llama3"}, "rope_theta": 500000.0,
    "tie_word_embeddings": true, "torch_dtype": "bfloat16", "transformers_version": "4.43.0",
    "use_cache": true, "vocab_size": 1000,
    "quantization_config": {"quant_method": "fbgemm_fp8"}})");
}

std::string error_of(const Json& doc) {
  try {
    parse_model_config(doc, "m");
  } catch (const llmsim::WorkloadError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("model config: the bundled models read with their real values") {
  const ModelConfig bert = load_model("bert-base-uncased");
  CHECK((bert.family == ModelFamily::bert && bert.head == Head::masked_lm));
  CHECK(
      (bert.hidden_size == 768 && bert.num_attention_heads == 12 && bert.num_hidden_layers == 12));
  CHECK((bert.intermediate_size == 3072 && bert.vocab_size == 30522 && bert.head_dim == 64));
  CHECK((bert.max_position_embeddings == 512 && bert.type_vocab_size == 2));
  CHECK((bert.activation == Activation::gelu && !bert.pre_norm && !bert.causal));
  const ModelConfig large = load_model("bert-large-uncased");
  CHECK((large.hidden_size == 1024 && large.num_attention_heads == 16));
  CHECK((large.num_hidden_layers == 24 && large.intermediate_size == 4096));
  const ModelConfig gpt2 = load_model("gpt2");  // n_embd, n_head, n_layer, n_positions
  CHECK(
      (gpt2.hidden_size == 768 && gpt2.num_attention_heads == 12 && gpt2.num_hidden_layers == 12));
  CHECK((gpt2.vocab_size == 50257 && gpt2.max_position_embeddings == 1024));
  CHECK((gpt2.intermediate_size == 3072 && gpt2.activation_name == "gelu_new"));
  CHECK((gpt2.head == Head::causal_lm && gpt2.pre_norm && gpt2.causal));
  const ModelConfig l2 = load_model("llama-2-7b");
  CHECK((l2.num_key_value_heads == 32 && l2.intermediate_size == 11008 && l2.vocab_size == 32000));
  const ModelConfig l3 = load_model("llama-3-8b");
  CHECK((l3.hidden_size == 4096 && l3.num_attention_heads == 32 && l3.num_key_value_heads == 8));
  CHECK((l3.num_hidden_layers == 32 && l3.intermediate_size == 14336 && l3.vocab_size == 128256));
  CHECK((l3.head_dim == 128 && l3.norm == Norm::rmsnorm && l3.rope && l3.gated_ffn));
  CHECK(l3.activation == Activation::silu);
  const ModelConfig tiny = load_model("torch-tiny-bert");
  CHECK((tiny.head == Head::token_classification && tiny.num_labels == 2));
  CHECK((!tiny.learned_positions && tiny.type_vocab_size == 0 && !tiny.embedding_layer_norm));
  CHECK(tiny.activation == Activation::relu);
  CHECK(bundled_models() == std::vector<std::string>{"bert-base-uncased", "bert-large-uncased",
                                                     "gpt2", "llama-2-7b", "llama-3-8b",
                                                     "torch-tiny-bert"});
}

TEST_CASE("model config: a real Hugging Face config.json is accepted as is, extra keys too") {
  const ModelConfig c = parse_model_config(hf_llama(), "tiny-llama");
  CHECK((c.hidden_size == 256 && c.num_key_value_heads == 2 && c.head_dim == 32));
  const Workload w = build_trace(c, TraceOptions{});
  CHECK(w.meta.seq == 128u);
  // A file named config.json takes the name of its folder.
  const auto dir = std::filesystem::temp_directory_path() / "llmsim_tiny-llama";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "config.json") << hf_llama().dump(2);
  CHECK(load_model((dir / "config.json").string()).name == "llmsim_tiny-llama");
}

TEST_CASE("model config: null means the Hugging Face default, aliases must agree") {
  Json j = hf_llama();
  j["num_key_value_heads"] = nullptr;
  CHECK(parse_model_config(j, "m").num_key_value_heads == 8);
  Json g = Json::parse(R"({"model_type": "gpt2", "n_embd": 64, "n_head": 4, "n_layer": 1,
                           "n_inner": null, "vocab_size": 100, "n_positions": 32,
                           "hidden_size": 64})");
  CHECK(parse_model_config(g, "m").intermediate_size == 256);
  g["hidden_size"] = 128;
  CHECK(error_of(g) == "m: hidden_size: disagrees with n_embd (64 vs 128)");
  CHECK(parse_model_config(Json::parse(R"({"model_type": "gpt2", "n_embd": 64, "n_head": 4,
      "n_layer": 1, "vocab_size": 100, "n_positions": 32})"),
                           "m")
            .head == Head::final_norm);
}

TEST_CASE("model config: missing, misspelled and unsupported fields are named") {
  Json j = hf_llama();
  j.erase("hidden_size");
  CHECK(error_of(j) == "m: hidden_size: is required (a positive integer)");
  j = hf_llama();
  j.erase("num_key_value_heads");
  j["num_key_value_head"] = 2;
  CHECK(error_of(j) ==
        "m: num_key_value_head: unknown key (did you mean \"num_key_value_heads\"?)");
  j = hf_llama();
  j.erase("intermediate_size");
  j["intermediate_sise"] = 688;
  CHECK(error_of(j) ==
        "m: intermediate_size: is required (a positive integer); found "
        "\"intermediate_sise\": a misspelling?");
  j = hf_llama();
  j["num_key_value_heads"] = 3;
  CHECK(error_of(j) == "m: num_key_value_heads: must divide num_attention_heads (8), got 3");
  j = hf_llama();
  j["hidden_act"] = "quick_gelu";
  CHECK(error_of(j).rfind("m: hidden_act: must be one of gelu, gelu_new, ", 0) == 0);
  CHECK(error_of(j).find("got \"quick_gelu\"") != std::string::npos);
  j = hf_llama();
  j["architectures"] = {"LlamaForSequenceClassification"};
  CHECK(error_of(j) ==
        "m: architectures: \"LlamaForSequenceClassification\" is not supported "
        "for model_type llama; supported: LlamaModel, LlamaForCausalLM");
  j = hf_llama();
  j["model_type"] = "t5";
  CHECK(error_of(j) == "m: model_type: must be one of bert, gpt2, llama, got \"t5\"");
  j = hf_llama();
  j.erase("model_type");
  CHECK(error_of(j) == "m: model_type: is required (a string)");
  j = hf_llama();
  j["hidden_size"] = -4;
  CHECK(error_of(j) == "m: hidden_size: must be a positive integer, got -4");
  Json bert = Json::parse(R"({"model_type": "bert", "hidden_size": 64, "num_attention_heads": 4,
      "num_hidden_layers": 1, "intermediate_size": 128, "vocab_size": 100,
      "max_position_embeddings": 32, "type_vocab_size": 2,
      "position_embedding_type": "relative_key"})");
  CHECK(error_of(bert) ==
        "m: position_embedding_type: must be \"absolute\" or \"none\" (llmsim: "
        "no position embeddings), got \"relative_key\"");
  bert["position_embedding_type"] = "absolute";
  bert.erase("max_position_embeddings");
  CHECK(error_of(bert) == "m: max_position_embeddings: is required (a positive integer)");
  CHECK(error_of(Json::array()) == "m: must be a JSON object (a config.json)");
}

TEST_CASE("model config: classification heads take num_labels or the size of id2label") {
  const Json base = Json::parse(R"({"model_type": "bert", "hidden_size": 64,
      "num_attention_heads": 4, "num_hidden_layers": 1, "intermediate_size": 128,
      "vocab_size": 100, "max_position_embeddings": 32, "type_vocab_size": 2,
      "architectures": ["BertForSequenceClassification"],
      "id2label": {"0": "NEG", "1": "NEU", "2": "POS"}})");
  const ModelConfig c = parse_model_config(base, "m");
  CHECK((c.head == Head::sequence_classification && c.num_labels == 3));
  TraceOptions o;
  o.seq = 8;
  const Workload w = build_trace(c, o);
  // Pooler: the first token of each sequence, dense, tanh; then the classifier.
  std::vector<std::string> head;
  for (const Op& x : w.ops) {
    if (x.layer() == "head") head.push_back(x.kind());
  }
  CHECK(head == std::vector<std::string>{"copy", "matmul", "tanh", "matmul"});
  CHECK(std::get<MatmulOp>(w.ops.back().body()).n == 3);
  CHECK(load_model("bert-base-uncased").num_labels == 0);  // not a classifier
}
