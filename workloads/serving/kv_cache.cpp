#include "workloads/serving/kv_cache.h"

#include "sim/core/error.h"

namespace llmsim::serving {

KvCache::KvCache(std::uint64_t num_blocks, std::uint64_t block_size)
    : m_num_blocks(num_blocks), m_block_size(block_size) {
  LLMSIM_CHECK(num_blocks >= 1 && num_blocks <= (std::uint64_t(1) << 32),
               "KV block count out of range");
  LLMSIM_CHECK(block_size >= 1, "KV block size 0");
}

std::uint64_t KvCache::blocks_for(std::uint64_t tokens) const {
  return (tokens + m_block_size - 1) / m_block_size;
}

bool KvCache::grow(std::vector<BlockId>& table, std::uint64_t tokens) {
  const std::uint64_t need = blocks_for(tokens);
  if (need <= table.size()) return true;
  const std::uint64_t more = need - table.size();
  if (more > free_blocks()) return false;
  for (std::uint64_t i = 0; i < more; ++i) {
    if (m_next_fresh < m_num_blocks) {
      table.push_back(BlockId(m_next_fresh++));
    } else {
      table.push_back(m_released.front());
      m_released.pop_front();
    }
  }
  m_used += more;
  return true;
}

void KvCache::release(std::vector<BlockId>& table) {
  LLMSIM_CHECK(table.size() <= m_used, "releasing more KV blocks than are in use");
  m_used -= table.size();
  // Last block first, as vLLM frees a request's blocks (its prefix cache evicts tails first).
  for (auto b = table.rbegin(); b != table.rend(); ++b) m_released.push_back(*b);
  table.clear();
}

}  // namespace llmsim::serving
