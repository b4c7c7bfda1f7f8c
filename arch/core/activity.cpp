#include "arch/core/activity.h"

#include <algorithm>

#include "sim/core/error.h"

namespace llmsim::core {

void IntervalSet::add(Cycles start, Cycles end) {
  if (end <= start) return;
  if (!m_end.empty()) {
    LLMSIM_CHECK(start >= m_start.back(), "intervals added out of order");
    if (start <= m_end.back()) {
      m_end.back() = max(m_end.back(), end);
      return;
    }
  }
  m_total_before.push_back(
      m_start.empty() ? Cycles(0) : m_total_before.back() + (m_end.back() - m_start.back()));
  m_start.push_back(start);
  m_end.push_back(end);
}

Cycles IntervalSet::covered_before(Cycles t) const {
  // The intervals starting before t: all but the last lie wholly before it.
  const auto i = std::size_t(std::lower_bound(m_start.begin(), m_start.end(), t) - m_start.begin());
  if (i == 0) return Cycles(0);
  const std::size_t last = i - 1;
  const Cycles end = m_end[last] < t ? m_end[last] : t;
  return m_total_before[last] + (end - m_start[last]);
}

Cycles IntervalSet::covered(Cycles begin, Cycles end) const {
  if (end <= begin) return Cycles(0);
  return covered_before(end) - covered_before(begin);
}

IntervalSet IntervalSet::minus(const IntervalSet& other) const {
  IntervalSet out;
  std::size_t j = 0;
  for (std::size_t i = 0; i < m_start.size(); ++i) {
    Cycles from = m_start[i];
    const Cycles to = m_end[i];
    while (j < other.m_start.size() && other.m_end[j] <= from) ++j;
    // Cut the pieces of `other` that overlap [from, to) out of it.
    for (std::size_t k = j; k < other.m_start.size() && other.m_start[k] < to; ++k) {
      out.add(from, max(from, other.m_start[k]));
      from = max(from, other.m_end[k]);
    }
    out.add(from, max(from, to));
  }
  return out;
}

void CoreActivity::reset(std::size_t ops) {
  *this = CoreActivity();
  m_ran.assign(ops, false);
}

void CoreActivity::dma_issued(Cycles now) {
  if (m_dma_in_flight++ == 0) m_dma_since = now;
}

void CoreActivity::dma_completed(Cycles now) {
  LLMSIM_CHECK(m_dma_in_flight > 0, "a DMA block completed that was never issued");
  if (--m_dma_in_flight == 0) m_dma.add(m_dma_since, now);
}

void CoreActivity::finish() {
  LLMSIM_CHECK(m_dma_in_flight == 0, "DMA blocks still in flight at the end of the run");
  m_stalled = m_dma.minus(m_busy);
  m_finished = true;
}

CycleBreakdown CoreActivity::breakdown(Cycles begin, Cycles end) const {
  LLMSIM_CHECK(m_finished, "cycle breakdown asked before the run finished");
  CycleBreakdown b;
  if (end <= begin) return b;
  b.compute = m_busy.covered(begin, end);
  b.memory_stall = m_stalled.covered(begin, end);
  b.sync = (end - begin) - b.compute - b.memory_stall;
  return b;
}

}  // namespace llmsim::core
