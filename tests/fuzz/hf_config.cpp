// Fuzz entry: a Hugging Face config.json, as `llmsim trace --model FILE` reads it.
#include "sim/core/error.h"
#include "tests/fuzz/fuzz_entries.h"
#include "workloads/model_config.h"
#include "workloads/transformer.h"
#include "workloads/workload.h"

namespace llmsim::fuzz {

void hf_config(const std::uint8_t* data, std::size_t size) {
  const MemoryFile file(data, size);
  try {
    const workloads::Workload w = workloads::build_trace(workloads::load_model(file.path()), {});
    workloads::format_trace(workloads::to_json(w));
  } catch (const UserError&) {
  }
}

}  // namespace llmsim::fuzz
