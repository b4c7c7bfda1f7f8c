#include "workloads/dram_buffers.h"

#include <algorithm>
#include <numeric>

#include "sim/core/units.h"

namespace llmsim::workloads {

std::uint64_t DramBuffers::pages(std::uint64_t bytes) {
  return ceil_div(std::max<std::uint64_t>(bytes, 1), 4096) * 4096;
}

// A multiple of both the period and the page, so that an aligned buffer is page aligned too.
DramBuffers::DramBuffers(std::uint64_t period)
    : m_period(period ? std::lcm<std::uint64_t>(period, 4096) : 0) {}

std::uint64_t DramBuffers::start(std::uint64_t addr, std::uint64_t bytes) const {
  if (m_period == 0 || bytes < m_period) return addr;
  return ceil_div(addr, m_period) * m_period;
}

std::uint64_t DramBuffers::fixed(std::uint64_t bytes) {
  const std::uint64_t a = start(m_next, bytes);
  m_next = a + pages(bytes);
  return a;
}

std::uint64_t DramBuffers::reusable(std::uint64_t bytes, int done_through) {
  bytes = pages(bytes);
  for (auto it = m_released.begin(); it != m_released.end();) {
    if (it->last_reader <= done_through) {
      m_free.push_back(it->block);
      it = m_released.erase(it);
    } else {
      ++it;
    }
  }
  std::sort(m_free.begin(), m_free.end(),
            [](const Block& a, const Block& b) { return a.addr < b.addr; });
  for (std::size_t k = 0; k < m_free.size(); ++k) {  // merge neighbours
    while (k + 1 < m_free.size() && m_free[k].addr + m_free[k].bytes == m_free[k + 1].addr) {
      m_free[k].bytes += m_free[k + 1].bytes;
      m_free.erase(m_free.begin() + std::ptrdiff_t(k) + 1);
    }
  }
  for (auto it = m_free.begin(); it != m_free.end(); ++it) {
    const std::uint64_t a = start(it->addr, bytes), end = it->addr + it->bytes;
    if (a + bytes > end) continue;
    // What is left of the block: before the buffer (alignment) and after it.
    const Block after{a + bytes, end - a - bytes};
    if (a > it->addr) {
      it->bytes = a - it->addr;
      if (after.bytes) m_free.insert(it + 1, after);
    } else if (after.bytes) {
      *it = after;
    } else {
      m_free.erase(it);
    }
    return a;
  }
  return fixed(bytes);
}

void DramBuffers::release(std::uint64_t addr, std::uint64_t bytes, int last_reader) {
  m_released.push_back({last_reader, {addr, pages(bytes)}});
}

}  // namespace llmsim::workloads
