#pragma once
// The DRAM address plan of a lowering: where each weight, input, cache and op output lies.
// Addresses are handed out in whole 4 KiB pages. A buffer of at least the memory's interleaving
// period (Target::dram_period_bytes) starts at a multiple of it, as an allocator aligns large
// buffers to huge pages: then every layer's weight matrices, caches and activations meet the
// memory's interfaces and banks alike, and identical layers take identical cycles (without
// it, each layer's weights start at another offset of the period and a Llama-3-8B layer's
// span varied by about 5 % from the next). Weights, inputs and caches get DRAM of their
// own. An output buffer goes back to the plan once its last reader is lowered (release()), and
// is handed to a later output if that output's op cannot run before the reader is done: the
// caller says how far the ops are known to be done (`done_through`, an op index), so the plan
// needs no notion of time. Free buffers are taken first fit in address order, neighbours
// merged.
#include <cstdint>
#include <vector>

namespace llmsim::workloads {

class DramBuffers {
 public:
  // `period`: the alignment of large buffers (0: none), raised to a multiple of the page.
  explicit DramBuffers(std::uint64_t period = 0);

  // `bytes` rounded up to whole pages (at least one).
  static std::uint64_t pages(std::uint64_t bytes);

  // New DRAM that is never reused.
  std::uint64_t fixed(std::uint64_t bytes);
  // A buffer for an output written only after every op up to `done_through` is done: a
  // released one whose last reader is at or before `done_through` if one is large enough, else
  // new DRAM.
  std::uint64_t reusable(std::uint64_t bytes, int done_through);
  // The buffer [addr, addr + bytes) is read last by op `last_reader`.
  void release(std::uint64_t addr, std::uint64_t bytes, int last_reader);

  // The DRAM addressed so far: every buffer lies below it.
  std::uint64_t footprint() const { return m_next; }

 private:
  struct Block {
    std::uint64_t addr, bytes;
  };
  struct Released {
    int last_reader;
    Block block;
  };

  // Where a buffer of `bytes` may start at or after `addr`.
  std::uint64_t start(std::uint64_t addr, std::uint64_t bytes) const;

  std::uint64_t m_period = 0;
  std::uint64_t m_next = 0;
  std::vector<Released> m_released;  // released, not yet known to be done with
  std::vector<Block> m_free;         // free for any later output, in address order
};

}  // namespace llmsim::workloads
