#pragma once
// A matrix's layout in DRAM, as the lowering reads and writes it, and the DMA blocks that cover
// a rectangle of it (workloads/lowering_matmul.cpp, lowering.cpp).
#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "arch/isa/isa.h"

namespace llmsim::workloads {

inline constexpr std::uint64_t kOneGroup = std::numeric_limits<std::uint64_t>::max();

// A logical matrix of one batch item in DRAM: element (r, c) lies at
//   base + (r / group_rows) * group_stride + (r % group_rows) * row_stride + c * elem_bytes.
// Dense matrices are one group; a head's slice of a token-major activation has one group per
// query head sharing a KV head (each group the tokens of one head).
// Irregular groups (a paged KV cache's block table): with group_bases, group g starts at
// base + (*group_bases)[g] instead (group_stride unused); the vector outlives the view and has
// an entry for every group the view's rows reach.
struct View {
  std::uint64_t base = 0;
  std::uint64_t row_stride = 0;
  std::uint64_t group_rows = kOneGroup;
  std::uint64_t group_stride = 0;
  const std::vector<std::uint64_t>* group_bases = nullptr;

  std::uint64_t group_base(std::uint64_t g) const {
    return group_bases ? (*group_bases)[g] : g * group_stride;
  }
};

inline View dense(std::uint64_t base, std::uint64_t cols, std::uint64_t e) {
  return {base, cols * e, kOneGroup, 0};
}

// The DMA blocks covering rows [r0, r0 + nr) x cols [c0, c0 + nc) of `v` (elements of `e`
// bytes in DRAM), cut at group boundaries, with SRAM addresses packed densely from `sram0` in
// elements of `sram_e` bytes (0: e; an accumulator's are wider than the DRAM's).
template <class F>
void for_blocks(const View& v, std::uint64_t r0, std::uint64_t nr, std::uint64_t c0,
                std::uint64_t nc, std::uint64_t e, std::uint64_t sram0, F f,
                std::uint64_t sram_e = 0) {
  if (sram_e == 0) sram_e = e;
  std::uint64_t r = r0, sram = sram0;
  while (r < r0 + nr) {
    const std::uint64_t g = r / v.group_rows, in = r % v.group_rows;
    const std::uint64_t n = std::min(r0 + nr - r, v.group_rows - in);
    f(isa::Block{n, nc, v.base + v.group_base(g) + in * v.row_stride + c0 * e, v.row_stride,
                 sram});
    sram += n * nc * sram_e;
    r += n;
  }
}

}  // namespace llmsim::workloads
