#include "arch/systolic/timing.h"

#include <algorithm>

#include "sim/core/error.h"

namespace llmsim::systolic {

const char* to_string(Pipelining p) {
  switch (p) {
    case Pipelining::none:
      return "none";
    case Pipelining::double_buffered:
      return "double_buffered";
  }
  return "?";
}

Cycles fold_cycles(Dataflow d, ArrayShape a, std::uint64_t rows_used, std::uint64_t cols_used,
                   std::uint64_t stream) {
  LLMSIM_CHECK(
      rows_used >= 1 && rows_used <= a.rows && cols_used >= 1 && cols_used <= a.cols && stream >= 1,
      "fold does not fit the array");
  const std::uint64_t r = a.rows;
  switch (d) {
    case Dataflow::ws:
    case Dataflow::is:
      return Cycles(2 * r + cols_used + stream - 2);
    case Dataflow::os:
      return Cycles(r + rows_used + cols_used + stream - 2);
  }
  return Cycles(0);
}

namespace {

// How a GEMM folds: `rows_total` over R and `cols_total` over C, `stream` long.
struct Folding {
  std::uint64_t rows_total = 0, cols_total = 0, stream = 0;
};

Folding folding(Dataflow d, GemmShape g) {
  switch (d) {
    case Dataflow::ws:
      return {g.k, g.n, g.m};
    case Dataflow::is:
      return {g.k, g.m, g.n};
    case Dataflow::os:
      return {g.m, g.n, g.k};
  }
  return {};
}

std::uint64_t fold_count(ArrayShape a, const Folding& f) {
  return ceil_div(f.rows_total, a.rows) * ceil_div(f.cols_total, a.cols);
}

// Sum of fold latencies over a spatial grid, folds back to back. Folds of equal shape have
// equal latency, so only the (at most) four distinct shapes are evaluated: O(1).
GemmTiming fold_grid(Dataflow d, ArrayShape a, const Folding& f) {
  GemmTiming t;
  const std::uint64_t full_r = f.rows_total / a.rows, rem_r = f.rows_total % a.rows;
  const std::uint64_t full_c = f.cols_total / a.cols, rem_c = f.cols_total % a.cols;
  const std::uint64_t row_sizes[2] = {a.rows, rem_r}, row_counts[2] = {full_r, rem_r ? 1u : 0u};
  const std::uint64_t col_sizes[2] = {a.cols, rem_c}, col_counts[2] = {full_c, rem_c ? 1u : 0u};
  std::uint64_t cycles = 0;
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 2; ++j) {
      const std::uint64_t n = row_counts[i] * col_counts[j];
      if (n == 0) continue;
      cycles += n * fold_cycles(d, a, row_sizes[i], col_sizes[j], f.stream).count();
      t.folds += n;
    }
  }
  t.cycles = Cycles(cycles);
  return t;
}

void check_gemm(GemmShape g) {
  LLMSIM_CHECK(g.m >= 1 && g.k >= 1 && g.n >= 1, "empty GEMM");
}

}  // namespace

GemmTiming gemm_timing(Dataflow d, ArrayShape a, GemmShape g, Pipelining p) {
  check_gemm(g);
  GemmTiming t;
  if (p == Pipelining::none) {
    t = fold_grid(d, a, folding(d, g));
  } else {
    const GemmSchedule s = ArrayPipeline(d, a, p).run(g, Cycles(0));
    t.cycles = s.end;
    t.folds = s.folds;
  }
  t.macs = g.m * g.k * g.n;
  return t;
}

ArrayPipeline::ArrayPipeline(Dataflow d, ArrayShape a, Pipelining p, Cycles switch_cycles)
    : m_d(d), m_a(a), m_p(p), m_switch(switch_cycles) {
  LLMSIM_CHECK(a.rows >= 1 && a.cols >= 1, "empty array");
}

void ArrayPipeline::hold_until(Cycles t) {
  m_hold = std::max(m_hold, t.count());
}

GemmSchedule ArrayPipeline::run(Dataflow d, GemmShape g, Cycles ready) {
  check_gemm(g);
  const bool switched = d != m_d;
  if (switched) {
    // The switch rule (timing.h): drain, reconfigure for X cycles, then start as on an idle
    // array whose operands are ready at w + X.
    const std::uint64_t w = std::max({ready.count(), m_drained, m_hold});
    m_hold = w + m_switch.count();
    m_d = d;
    m_started = false;
    m_have_e2 = false;
  }
  GemmSchedule s;
  if (m_p == Pipelining::none) {
    const Folding f = folding(m_d, g);
    const GemmTiming t = fold_grid(m_d, m_a, f);
    s.start = Cycles(std::max({ready.count(), m_hold, m_end}));
    s.end = s.accept = s.reads_done = s.start + t.cycles;
    s.folds = t.folds;
    s.stream_cycles = t.folds * f.stream;
    m_end = s.end.count();
  } else if (m_d == Dataflow::os) {
    s = run_output_stationary(g, ready);
  } else {
    s = run_stationary(g, ready);
  }
  s.macs = g.m * g.k * g.n;
  s.switched = switched;
  m_drained = std::max(m_drained, s.end.count());
  return s;
}

GemmSchedule ArrayPipeline::run_stationary(GemmShape g, Cycles ready) {
  const Folding f = folding(m_d, g);
  const std::uint64_t r = m_a.rows, c = m_a.cols, len = f.stream;
  const std::uint64_t folds = fold_count(m_a, f);
  const std::uint64_t col_folds = ceil_div(f.cols_total, c), rem = f.cols_total % c;
  // The first fold: its preload waits for the operands and for the last fold's switch; its
  // stream for its weights and for the last fold's stream.
  const std::uint64_t p0 =
      std::max({ready.count(), m_hold, m_started ? m_last_s : std::uint64_t{0}});
  const std::uint64_t s0 = std::max(p0 + r, m_started ? m_last_s + m_last_len : 0);
  // Every later fold: preload at the previous stream start, stream max(S, R) after it.
  const std::uint64_t period = std::max(len, r);
  const std::uint64_t s_last = s0 + (folds - 1) * period;
  // Outputs leave after S + Nf + R - 2 stream cycles: the last fold's, or the last full-width
  // fold's (the one before it) when the last fold is narrower.
  const std::uint64_t nf_last = rem ? rem : c;
  std::uint64_t end = s_last + len + nf_last + r - 2;
  if (rem && col_folds >= 2) end = std::max(end, s_last - period + len + c + r - 2);
  GemmSchedule s;
  s.start = Cycles(p0);
  s.accept = Cycles(s_last);
  s.reads_done = Cycles(s_last + len + r - 1);
  s.end = Cycles(end);
  s.folds = folds;
  s.stream_cycles = folds * len;
  m_started = true;
  m_last_s = s_last;
  m_last_len = len;
  return s;
}

GemmSchedule ArrayPipeline::run_output_stationary(GemmShape g, Cycles ready) {
  const Folding f = folding(m_d, g);
  const std::uint64_t r = m_a.rows, c = m_a.cols, k = f.stream;
  GemmSchedule s;
  std::uint64_t end = 0;
  bool first = true;
  for (std::uint64_t m0 = 0; m0 < f.rows_total; m0 += r) {
    const std::uint64_t mf = std::min(r, f.rows_total - m0);
    for (std::uint64_t n0 = 0; n0 < f.cols_total; n0 += c) {
      const std::uint64_t nf = std::min(c, f.cols_total - n0);
      std::uint64_t start = m_hold;
      if (first) start = std::max(start, ready.count());
      if (m_started) start = std::max(start, m_last_s + m_last_len);
      if (m_have_e2) start = std::max(start, m_e2 + 1);
      std::uint64_t e = start + k + mf - 1;
      if (m_started) e = std::max(e, m_e1 + r);
      // Its last output leaves at the end of cycle e + Nf + R - 2 (column Nf-1 starts
      // draining at e + Nf - 1, row 0 leaves at its R-th shift); `end` is the cycle after it.
      end = std::max(end, e + nf + r - 1);
      if (first) s.start = Cycles(start);
      first = false;
      m_have_e2 = m_started;
      m_e2 = m_e1;
      m_e1 = e;
      m_started = true;
      m_last_s = start;
      m_last_len = k;
      ++s.folds;
    }
  }
  s.accept = Cycles(m_last_s + k);
  s.reads_done = Cycles(m_last_s + k + std::max(r, c) - 1);
  s.end = Cycles(end);
  s.stream_cycles = s.folds * k;
  return s;
}

}  // namespace llmsim::systolic
