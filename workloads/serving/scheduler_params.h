#pragma once
// The strict `serving` config section: the scheduler's limits and the paged KV cache's shape.
//
//   "serving": {
//     "max_num_seqs": 256,             sequences in the running set at once (vLLM max_num_seqs)
//     "max_num_batched_tokens": 2048,  token budget of one iteration (vLLM's name)
//     "block_size": 16,                tokens per KV block (vLLM block_size)
//     "num_kv_blocks": 4096,           KV blocks in the cache; or instead
//     "kv_cache_bytes": 8589934592,    the cache's bytes, the driver divides by a block's bytes;
//                                      neither: the driver takes what HBM holds after weights
//     "enable_chunked_prefill": true,  split a prompt over iterations (vLLM V1 default: on)
//     "long_prefill_token_threshold": 0  cap on one prefill chunk, 0 = none (vLLM's name)
//   }
// Every key has the default shown except num_kv_blocks / kv_cache_bytes (at most one of the
// two). Errors name the key path, the value and the allowed range, as every Params does.
#include <cstdint>
#include <optional>

namespace llmsim {
namespace config {
class Reader;
}
}  // namespace llmsim

namespace llmsim::serving {

inline constexpr std::uint64_t kMaxNumSeqs = 1 << 16;
inline constexpr std::uint64_t kMaxBatchedTokens = std::uint64_t(1) << 24;
inline constexpr std::uint64_t kMaxBlockSize = 1 << 16;
inline constexpr std::uint64_t kMaxKvBlocks = std::uint64_t(1) << 32;

struct SchedulerParams {
  std::uint64_t max_num_seqs = 256;
  std::uint64_t max_num_batched_tokens = 2048;
  std::uint64_t block_size = 16;
  std::optional<std::uint64_t> num_kv_blocks;
  std::optional<std::uint64_t> kv_cache_bytes;
  bool enable_chunked_prefill = true;
  std::uint64_t long_prefill_token_threshold = 0;  // 0: no cap beyond the budget

  static SchedulerParams parse(config::Reader& r);

  // Blocks of `block_size` tokens at `kv_bytes_per_token` bytes a token (all layers, K and V)
  // that fit in the cache: num_kv_blocks if given, else floor(bytes / block bytes) of
  // kv_cache_bytes if given, else of `available_bytes` (what HBM holds after the weights and
  // activations). A ConfigError if kv_cache_bytes exceeds `available_bytes` or the result is 0.
  std::uint64_t resolve_num_kv_blocks(std::uint64_t kv_bytes_per_token,
                                      std::uint64_t available_bytes) const;
};

}  // namespace llmsim::serving
