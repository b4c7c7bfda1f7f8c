#pragma once
// A small Llama for the serving tests: h 256, 4 query heads on 2 KV heads of d 64 (g = 2),
// FFN 512, vocab 512, SiLU.
#include <cstdint>

#include "workloads/model_config.h"

namespace llmsim::test {

inline workloads::ModelConfig tiny_llama(std::uint64_t layers = 2,
                                         std::uint64_t max_positions = 2048) {
  const config::Json j = {{"architectures", {"LlamaForCausalLM"}},
                          {"model_type", "llama"},
                          {"hidden_size", 256},
                          {"intermediate_size", 512},
                          {"num_attention_heads", 4},
                          {"num_key_value_heads", 2},
                          {"num_hidden_layers", layers},
                          {"max_position_embeddings", max_positions},
                          {"vocab_size", 512},
                          {"hidden_act", "silu"}};
  return workloads::parse_model_config(j, "tiny-llama");
}

}  // namespace llmsim::test
