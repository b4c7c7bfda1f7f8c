#pragma once
// The paged KV cache's block allocator (vLLM's BlockPool without prefix caching): blocks of
// block_size tokens, ids 0 .. num_blocks-1, handed out in vLLM's order: the never-used blocks
// in increasing id first, then the released ones first in, first out (a request's blocks are
// released last block first, as vLLM does). Memory is proportional
// to the blocks ever released, not to num_blocks (which the config may make huge).
#include <cstdint>
#include <deque>
#include <vector>

namespace llmsim::serving {

using BlockId = std::uint32_t;

class KvCache {
 public:
  KvCache(std::uint64_t num_blocks, std::uint64_t block_size);

  std::uint64_t num_blocks() const { return m_num_blocks; }
  std::uint64_t block_size() const { return m_block_size; }
  std::uint64_t free_blocks() const { return m_num_blocks - m_used; }
  std::uint64_t used_blocks() const { return m_used; }
  // Blocks needed to hold `tokens` tokens: ceil(tokens / block_size).
  std::uint64_t blocks_for(std::uint64_t tokens) const;

  // Appends blocks to `table` until it holds `tokens` tokens. All or nothing: returns false,
  // allocating nothing, when fewer blocks are free than needed.
  bool grow(std::vector<BlockId>& table, std::uint64_t tokens);
  // Returns every block of `table` to the pool and empties it.
  void release(std::vector<BlockId>& table);

 private:
  std::uint64_t m_num_blocks;
  std::uint64_t m_block_size;
  std::uint64_t m_used = 0;
  std::uint64_t m_next_fresh = 0;  // blocks [m_next_fresh, num_blocks) were never used
  std::deque<BlockId> m_released;
};

}  // namespace llmsim::serving
