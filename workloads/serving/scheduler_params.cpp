#include "workloads/serving/scheduler_params.h"

#include <algorithm>
#include <string>

#include "sim/core/config.h"
#include "sim/core/error.h"

namespace llmsim::serving {

SchedulerParams SchedulerParams::parse(config::Reader& r) {
  SchedulerParams p;
  p.max_num_seqs = r.count("max_num_seqs", p.max_num_seqs, kMaxNumSeqs);
  p.max_num_batched_tokens =
      r.count("max_num_batched_tokens", p.max_num_batched_tokens, kMaxBatchedTokens);
  p.block_size = r.count("block_size", p.block_size, kMaxBlockSize);
  if (r.has("num_kv_blocks") && r.has("kv_cache_bytes")) {
    r.fail("kv_cache_bytes", "give num_kv_blocks or kv_cache_bytes, not both");
  }
  if (r.has("num_kv_blocks"))
    p.num_kv_blocks = r.count("num_kv_blocks", std::nullopt, kMaxKvBlocks);
  if (r.has("kv_cache_bytes")) {
    p.kv_cache_bytes = r.count("kv_cache_bytes", std::nullopt, std::uint64_t(1) << 50);
  }
  // Absent, they are still keys of this section (an unknown key's message lists them).
  r.ignore("num_kv_blocks");
  r.ignore("kv_cache_bytes");
  p.enable_chunked_prefill = r.boolean("enable_chunked_prefill", p.enable_chunked_prefill);
  p.long_prefill_token_threshold =
      r.uint("long_prefill_token_threshold", p.long_prefill_token_threshold, kMaxBatchedTokens);
  return p;
}

std::uint64_t SchedulerParams::resolve_num_kv_blocks(std::uint64_t kv_bytes_per_token,
                                                     std::uint64_t available_bytes) const {
  LLMSIM_CHECK(kv_bytes_per_token > 0, "a KV token takes no bytes");
  if (num_kv_blocks) return *num_kv_blocks;
  const std::uint64_t block_bytes = kv_bytes_per_token * block_size;
  if (kv_cache_bytes && *kv_cache_bytes > available_bytes) {
    throw ConfigError("serving.kv_cache_bytes: must be at most the " +
                      std::to_string(available_bytes) +
                      " bytes HBM holds after the weights and activations, got " +
                      std::to_string(*kv_cache_bytes));
  }
  const std::uint64_t bytes = kv_cache_bytes ? *kv_cache_bytes : available_bytes;
  const std::uint64_t blocks = bytes / block_bytes;
  if (blocks == 0) {
    throw ConfigError(std::string("serving.") +
                      (kv_cache_bytes ? "kv_cache_bytes" : "num_kv_blocks") + ": " +
                      std::to_string(bytes) + " bytes hold no KV block of " +
                      std::to_string(block_bytes) + " bytes (" + std::to_string(block_size) +
                      " tokens x " + std::to_string(kv_bytes_per_token) + " bytes)");
  }
  return std::min(blocks, kMaxKvBlocks);
}

}  // namespace llmsim::serving
