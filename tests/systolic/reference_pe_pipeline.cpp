#include "tests/systolic/reference_pe_pipeline.h"

#include <algorithm>
#include <utility>

#include "sim/core/error.h"

namespace llmsim::test {
namespace {

using systolic::ArrayShape;
using systolic::Dataflow;
using systolic::Pipelining;

using ref::Operand;
using ref::Psum;
using ref::Tag;

// One fold of the sequence, with its operands cut out of its GEMM.
//  WS, IS: `stationary` is rows_used x cols_used (the weights), `streamed` stream x rows_used.
//  OS: `streamed` is the lhs, rows_used x K; `stationary` the rhs, K x cols_used.
struct FoldPlan {
  std::uint64_t gemm = 0;
  std::uint64_t row0 = 0, col0 = 0;  // where the fold sits in its GEMM's folded dimensions
  std::uint64_t rows_used = 0, cols_used = 0, stream = 0;
  Matrix stationary, streamed;
  Matrix out;  // WS, IS: stream x cols_used; OS: rows_used x cols_used
  std::uint64_t outputs_left = 0;
  std::vector<bool> done;  // per output: it has left the array
};

std::vector<FoldPlan> plan_folds(Dataflow d, ArrayShape array, const std::vector<GemmJob>& jobs) {
  std::vector<FoldPlan> plans;
  const std::uint64_t rows = array.rows, cols = array.cols;
  for (std::uint64_t g = 0; g < jobs.size(); ++g) {
    const Matrix &a = jobs[g].a, &b = jobs[g].b;
    const std::uint64_t m = a.rows, k = a.cols, n = b.cols;
    const bool ws = d == Dataflow::ws;
    if (d != Dataflow::os) {
      // WS: rows K, columns N, stream M. IS: rows K, columns M, stream N.
      const std::uint64_t cols_total = ws ? n : m, length = ws ? m : n;
      for (std::uint64_t k0 = 0; k0 < k; k0 += rows) {
        for (std::uint64_t c0 = 0; c0 < cols_total; c0 += cols) {
          FoldPlan f;
          f.gemm = g, f.row0 = k0, f.col0 = c0, f.stream = length;
          f.rows_used = std::min(rows, k - k0), f.cols_used = std::min(cols, cols_total - c0);
          f.stationary = Matrix(f.rows_used, f.cols_used);
          f.streamed = Matrix(length, f.rows_used);
          for (std::uint64_t r = 0; r < f.rows_used; ++r) {
            for (std::uint64_t c = 0; c < f.cols_used; ++c) {
              f.stationary.at(r, c) = ws ? b.at(k0 + r, c0 + c) : a.at(c0 + c, k0 + r);
            }
            for (std::uint64_t x = 0; x < length; ++x) {
              f.streamed.at(x, r) = ws ? a.at(x, k0 + r) : b.at(k0 + r, x);
            }
          }
          f.out = Matrix(length, f.cols_used);
          plans.push_back(std::move(f));
        }
      }
    } else {
      // OS: rows M, columns N, stream K.
      for (std::uint64_t m0 = 0; m0 < m; m0 += rows) {
        for (std::uint64_t n0 = 0; n0 < n; n0 += cols) {
          FoldPlan f;
          f.gemm = g, f.row0 = m0, f.col0 = n0, f.stream = k;
          f.rows_used = std::min(rows, m - m0), f.cols_used = std::min(cols, n - n0);
          f.streamed = Matrix(f.rows_used, k);
          f.stationary = Matrix(k, f.cols_used);
          for (std::uint64_t x = 0; x < k; ++x) {
            for (std::uint64_t i = 0; i < f.rows_used; ++i) f.streamed.at(i, x) = a.at(m0 + i, x);
            for (std::uint64_t j = 0; j < f.cols_used; ++j) {
              f.stationary.at(x, j) = b.at(x, n0 + j);
            }
          }
          f.out = Matrix(f.rows_used, f.cols_used);
          plans.push_back(std::move(f));
        }
      }
    }
  }
  for (FoldPlan& f : plans) {
    f.outputs_left = f.out.rows * f.out.cols;
    f.done.assign(f.outputs_left, false);
  }
  return plans;
}

// A bound on the cycles of a whole sequence, far above any sane schedule: past it the reference
// throws rather than spin forever on a controller that never starts a fold.
std::uint64_t cycle_limit(ArrayShape array, const std::vector<GemmJob>& jobs,
                          const std::vector<FoldPlan>& plans) {
  std::uint64_t limit = 64;
  for (const GemmJob& j : jobs) limit = std::max(limit, j.ready + 64);
  for (const FoldPlan& f : plans) limit += 2 * (f.stream + 2 * array.rows + array.cols + 4);
  return limit;
}

// Which fold drives an edge lane at its `u`-th cycle (the cycle minus the lane's skew): among
// folds 0..started-1, whose starts `start` increase and which drive length_of(f) cycles each,
// the one with start <= u < start + length, or -1 (a bubble). Two folds at once: a hazard.
template <typename LengthOf>
std::int64_t fold_at(const std::vector<std::uint64_t>& start, std::uint64_t started,
                     std::uint64_t u, LengthOf length_of) {
  for (std::uint64_t f = started; f-- > 0;) {
    if (start[f] > u) continue;
    LLMSIM_CHECK(f == 0 || start[f - 1] + length_of(f - 1) <= start[f],
                 "two folds drove one edge of the array at once");
    return u < start[f] + length_of(f) ? static_cast<std::int64_t>(f) : -1;
  }
  return -1;
}

void record_output(FoldPlan& f, std::uint64_t row, std::uint64_t col, std::int64_t value,
                   std::uint64_t cycle, PipelinedFold& log) {
  const std::uint64_t i = row * f.out.cols + col;
  LLMSIM_CHECK(!f.done[i], "an output left the array twice");
  f.done[i] = true;
  --f.outputs_left;
  f.out.at(row, col) = value;
  log.end = std::max(log.end, cycle + 1);
}

// The pipelined WS / IS machine (see the header).
class PipelinedStationaryArray {
 public:
  PipelinedStationaryArray(ArrayShape array, std::vector<FoldPlan>& plans,
                           std::vector<PipelinedFold>& log, const ReferenceOptions& options)
      : m_array(array),
        m_options(options),
        m_plans(plans),
        m_log(log),
        m_w(pes()),
        m_sw(pes()),
        m_tw(pes()),
        m_a(pes()),
        m_p(pes()),
        m_next_tw(pes()),
        m_next_a(pes()),
        m_next_p(pes()) {}

  void run(const std::vector<GemmJob>& jobs) {
    const std::uint64_t n = m_plans.size(), rows = m_array.rows;
    std::vector<std::uint64_t> p(n), s(n);
    std::uint64_t preloaded = 0, streamed = 0, pending = 0;
    for (const FoldPlan& f : m_plans) pending += f.outputs_left;
    const std::uint64_t limit = cycle_limit(m_array, jobs, m_plans);
    const auto stream_length = [&](std::uint64_t f) { return m_plans[f].stream; };
    const auto preload_length = [&](std::uint64_t) { return std::uint64_t{rows}; };
    std::vector<Operand> left(rows);
    std::vector<Transit> top(m_array.cols);
    for (std::uint64_t t = 0; pending > 0; ++t) {
      LLMSIM_CHECK(t < limit, "a pipelined WS/IS output never left the array");
      // The controller, from what it issued and from PE (0, 0)'s shadow register.
      const bool weights_in = m_options.fault_stream_before_preload
                                  ? preloaded > streamed && t > p[streamed]
                                  : m_sw[0].fold == static_cast<std::int64_t>(streamed);
      if (streamed < n && (streamed == 0 || t >= s[streamed - 1] + m_plans[streamed - 1].stream) &&
          weights_in) {
        s[streamed] = t;
        m_log[streamed].stream_start = t;
        ++streamed;
      }
      if (preloaded < n && t >= jobs[m_plans[preloaded].gemm].ready &&
          (preloaded == 0 || (t >= p[preloaded - 1] + rows &&
                              (streamed >= preloaded || m_options.fault_preload_before_switch)))) {
        p[preloaded] = t;
        m_log[preloaded].preload = t;
        ++preloaded;
      }
      // The edges: streamed row x of fold f enters PE row r in cycle s_f + x + r; weight row
      // R-1-x enters the top of column c in cycle p_f + c + x.
      for (std::uint64_t r = 0; r < rows; ++r) {
        left[r] = Operand{};
        if (t < r) continue;
        const std::int64_t f = fold_at(s, streamed, t - r, stream_length);
        if (f < 0) continue;
        const FoldPlan& plan = m_plans[f];
        const std::uint64_t x = t - r - s[f];
        left[r] = Operand{r < plan.rows_used ? plan.streamed.at(x, r) : 0,
                          Tag{f, static_cast<std::int64_t>(x)}};
      }
      for (std::uint64_t c = 0; c < m_array.cols; ++c) {
        top[c] = Transit{};
        if (t < c) continue;
        const std::int64_t f = fold_at(p, preloaded, t - c, preload_length);
        if (f < 0) continue;
        const FoldPlan& plan = m_plans[f];
        const std::uint64_t target = rows - 1 - (t - c - p[f]);
        top[c] = Transit{
            target < plan.rows_used && c < plan.cols_used ? plan.stationary.at(target, c) : 0, f,
            target};
      }
      stream_step(left);
      transit_step(top);
      // Outputs: a partial sum of fold f that met all R rows, in a column the fold uses.
      for (std::uint64_t c = 0; c < m_array.cols; ++c) {
        const Psum& q = m_p[at(rows - 1, c)];
        if (!q.tag.valid()) continue;
        FoldPlan& plan = m_plans[q.tag.fold];
        if (c >= plan.cols_used) continue;
        LLMSIM_CHECK(q.rows == rows, "a partial sum missed PE rows");
        record_output(plan, q.tag.index, c, q.value, t, m_log[q.tag.fold]);
        --pending;
      }
    }
  }

 private:
  struct Weight {
    std::int64_t value = 0;
    std::int64_t fold = -1;  // -1: none yet
  };
  struct Shadow {
    std::int64_t value = 0;
    std::int64_t fold = -1;
    bool switched = true;  // copied into w (or empty): a capture may overwrite it
  };
  struct Transit {
    std::int64_t value = 0;
    std::int64_t fold = -1;  // -1: the slot is empty
    std::uint64_t target = 0;
  };

  std::size_t pes() const { return std::size_t{m_array.rows} * m_array.cols; }
  std::size_t at(std::uint64_t r, std::uint64_t c) const { return r * m_array.cols + c; }

  // The streaming side: operands move right, partial sums down; an operand of a new fold
  // switches the PE's shadow weight in before its MAC.
  void stream_step(const std::vector<Operand>& left) {
    for (std::uint64_t r = 0; r < m_array.rows; ++r) {
      for (std::uint64_t c = 0; c < m_array.cols; ++c) {
        const std::size_t i = at(r, c);
        const Operand& a_in = c == 0 ? left[r] : m_a[at(r, c - 1)];
        const Psum p_in = r == 0 ? Psum{} : m_p[at(r - 1, c)];
        Weight& w = m_w[i];
        if (a_in.tag.valid() && a_in.tag.fold != w.fold) {
          Shadow& sw = m_sw[i];
          LLMSIM_CHECK(sw.fold == a_in.tag.fold && !sw.switched,
                       "a PE switched in a shadow weight that is not its new fold's "
                       "(the preload came late)");
          w = Weight{sw.value, sw.fold};
          sw.switched = true;
        }
        Psum& p = m_next_p[i];
        p = p_in;
        p.value += a_in.value * w.value;
        if (a_in.tag.valid()) {
          LLMSIM_CHECK(!p_in.tag.valid() || p_in.tag == a_in.tag,
                       "a partial sum met operands of two different (fold, row) (broken skew)");
          p.tag = a_in.tag;
          ++p.rows;
        }
        m_next_a[i] = a_in;
      }
    }
    std::swap(m_a, m_next_a);
    std::swap(m_p, m_next_p);
  }

  // The transit path: a weight moves down one row per cycle until its row captures it.
  void transit_step(const std::vector<Transit>& top) {
    for (std::uint64_t r = 0; r < m_array.rows; ++r) {
      for (std::uint64_t c = 0; c < m_array.cols; ++c) {
        const std::size_t i = at(r, c);
        const Transit& in = r == 0 ? top[c] : m_tw[at(r - 1, c)];
        m_next_tw[i] = Transit{};
        if (in.fold < 0) continue;
        LLMSIM_CHECK(in.target >= r, "a weight passed the row it was addressed to");
        if (in.target > r) {
          m_next_tw[i] = in;
          continue;
        }
        Shadow& sw = m_sw[i];
        LLMSIM_CHECK(sw.switched, "a preload overwrote a shadow weight not yet switched in");
        sw = Shadow{in.value, in.fold, false};
      }
    }
    std::swap(m_tw, m_next_tw);
  }

  ArrayShape m_array;
  const ReferenceOptions& m_options;
  std::vector<FoldPlan>& m_plans;
  std::vector<PipelinedFold>& m_log;
  std::vector<Weight> m_w;
  std::vector<Shadow> m_sw;
  std::vector<Transit> m_tw;
  std::vector<Operand> m_a;
  std::vector<Psum> m_p;
  std::vector<Transit> m_next_tw;  // next-state buffers, so that all registers update together
  std::vector<Operand> m_next_a;
  std::vector<Psum> m_next_p;
};

// The OS machine with two accumulator sets (see the header).
class PipelinedOutputStationaryArray {
 public:
  PipelinedOutputStationaryArray(ArrayShape array, std::vector<FoldPlan>& plans,
                                 std::vector<PipelinedFold>& log, const ReferenceOptions& options)
      : m_array(array),
        m_options(options),
        m_plans(plans),
        m_log(log),
        m_a(pes()),
        m_b(pes()),
        m_next_a(pes()),
        m_next_b(pes()),
        m_columns(array.cols) {
    for (int set = 0; set < 2; ++set) {
      m_acc[set].resize(pes());
      m_next_acc[set].resize(pes());
      m_written[set].resize(pes());
      m_macs[set].resize(pes());
    }
  }

  void run(const std::vector<GemmJob>& jobs) {
    const std::uint64_t n = m_plans.size(), rows = m_array.rows, cols = m_array.cols;
    std::vector<std::uint64_t> s(n);
    m_drain_start.assign(n, std::vector<std::int64_t>(cols, -1));
    std::uint64_t streamed = 0, pending = 0;
    for (const FoldPlan& f : m_plans) pending += f.outputs_left;
    const std::uint64_t limit = cycle_limit(m_array, jobs, m_plans);
    const auto depth = [&](std::uint64_t f) { return m_plans[f].stream; };
    std::vector<Operand> left(rows), top(cols);
    for (std::uint64_t t = 0; pending > 0; ++t) {
      LLMSIM_CHECK(t < limit, "a pipelined OS output never left the array");
      // The controller, from what it issued and from PE (0, 0)'s accumulator of the fold's set.
      if (streamed < n && t >= jobs[m_plans[streamed].gemm].ready &&
          (streamed == 0 || t >= s[streamed - 1] + m_plans[streamed - 1].stream) &&
          (m_acc[streamed % 2][0].fold < 0 || m_options.fault_stream_into_dirty_set)) {
        s[streamed] = t;
        m_log[streamed].stream_start = t;
        ++streamed;
      }
      start_drains(t, streamed);
      // The edges: element k of lhs row i enters PE row i in cycle s_f + k + i, element k of
      // rhs column j enters PE column j in cycle s_f + k + j; bubbles where the fold has none.
      for (std::uint64_t i = 0; i < rows; ++i) {
        left[i] = Operand{};
        const std::int64_t f = t < i ? -1 : fold_at(s, streamed, t - i, depth);
        if (f < 0 || i >= m_plans[f].rows_used) continue;
        const std::uint64_t k = t - i - s[f];
        left[i] = Operand{m_plans[f].streamed.at(i, k), Tag{f, static_cast<std::int64_t>(k)}};
      }
      for (std::uint64_t j = 0; j < cols; ++j) {
        top[j] = Operand{};
        const std::int64_t f = t < j ? -1 : fold_at(s, streamed, t - j, depth);
        if (f < 0 || j >= m_plans[f].cols_used) continue;
        const std::uint64_t k = t - j - s[f];
        top[j] = Operand{m_plans[f].stationary.at(k, j), Tag{f, static_cast<std::int64_t>(k)}};
      }
      for (int set = 0; set < 2; ++set) {
        m_next_acc[set] = m_acc[set];
        std::fill(m_written[set].begin(), m_written[set].end(), false);
      }
      pending -= drain_step(t);
      mac_step(left, top);
      for (int set = 0; set < 2; ++set) std::swap(m_acc[set], m_next_acc[set]);
    }
  }

 private:
  struct Acc {
    std::int64_t value = 0;
    std::int64_t fold = -1;          // the fold whose output it holds; -1: clean (zero)
    std::uint64_t row = 0, col = 0;  // the output's place in the fold
  };
  struct MacCount {
    std::int64_t fold = -1;
    std::uint64_t count = 0;
  };
  struct ColumnDrain {
    std::int64_t fold = -1;  // the fold being drained, -1: idle
    std::uint64_t start = 0;
    std::uint64_t next = 0;  // the next fold to drain in this column
  };

  std::size_t pes() const { return std::size_t{m_array.rows} * m_array.cols; }
  std::size_t at(std::uint64_t r, std::uint64_t c) const { return r * m_array.cols + c; }

  // Drain starts, from the registers at the start of cycle t.
  void start_drains(std::uint64_t t, std::uint64_t streamed) {
    const bool independent = m_options.variant_independent_column_drains;
    const bool early = m_options.fault_drain_before_macs;
    for (std::uint64_t j = 0; j < m_array.cols; ++j) {
      ColumnDrain& col = m_columns[j];
      // The variant: a column skips the folds that do not use it (it has nothing to drain).
      while (independent && col.next < streamed && j >= m_plans[col.next].cols_used) ++col.next;
      if (col.fold >= 0 || col.next >= streamed) continue;
      const std::uint64_t f = col.next;
      const FoldPlan& plan = m_plans[f];
      // A column the fold uses waits for its PEs' MAC counters; one it does not use (nothing
      // to wait for) drains in its turn, in a cycle after the column to its left started.
      if (j >= plan.cols_used && !early && !independent) {
        const std::int64_t left_start = m_drain_start[f][j - 1];
        if (left_start < 0 || static_cast<std::uint64_t>(left_start) >= t) continue;
      }
      bool done = true;
      for (std::uint64_t i = 0; !early && j < plan.cols_used && i < plan.rows_used; ++i) {
        const MacCount& m = m_macs[f % 2][at(i, j)];
        done = done && m.fold == static_cast<std::int64_t>(f) && m.count == plan.stream;
      }
      if (!done) continue;
      col.fold = static_cast<std::int64_t>(f);
      col.start = t;
      ++col.next;
      m_drain_start[f][j] = static_cast<std::int64_t>(t);
      if (j == 0) m_log[f].drain_start = t;
    }
  }

  // One cycle of every active drain; returns the outputs that left the array.
  std::uint64_t drain_step(std::uint64_t t) {
    const std::uint64_t rows = m_array.rows;
    std::uint64_t left = 0;
    for (std::uint64_t j = 0; j < m_array.cols; ++j) {
      ColumnDrain& col = m_columns[j];
      if (col.fold < 0) continue;
      const int set = static_cast<int>(col.fold % 2);
      const std::uint64_t d = t - col.start;
      const std::vector<Acc>& cur = m_acc[set];
      std::vector<Acc>& next = m_next_acc[set];
      for (std::uint64_t i = d; i < rows; ++i) {
        const Acc& v = cur[at(i, j)];
        if (v.fold < 0) continue;
        LLMSIM_CHECK(v.fold == col.fold, "a drain moved an accumulator of another fold");
        // Its PE's counter: this fold's, complete, or a later fold's (which began only after
        // this fold's K MACs there, as mac_step checks).
        const MacCount& m = m_macs[set][at(v.row, v.col)];
        LLMSIM_CHECK(m.fold > v.fold || (m.fold == v.fold && m.count == m_plans[v.fold].stream),
                     "a drain moved an output that was still accumulating");
      }
      const Acc& out = cur[at(rows - 1, j)];
      if (out.fold >= 0) {
        LLMSIM_CHECK(out.col == j, "an accumulator moved sideways");
        record_output(m_plans[out.fold], out.row, out.col, out.value, t, m_log[out.fold]);
        ++left;
      }
      for (std::uint64_t i = rows - 1; i > d; --i) next[at(i, j)] = cur[at(i - 1, j)];
      next[at(d, j)] = Acc{};
      for (std::uint64_t i = d; i < rows; ++i) m_written[set][at(i, j)] = true;
      if (d + 1 == rows) col.fold = -1;  // its R shifts are made at the end of this cycle
    }
    return left;
  }

  // The MACs: operands move right and down; a PE multiplies two valid operands of one (fold, k)
  // into the accumulator of the fold's set.
  void mac_step(const std::vector<Operand>& left, const std::vector<Operand>& top) {
    for (std::uint64_t i = 0; i < m_array.rows; ++i) {
      for (std::uint64_t j = 0; j < m_array.cols; ++j) {
        const std::size_t x = at(i, j);
        const Operand& a_in = j == 0 ? left[i] : m_a[at(i, j - 1)];
        const Operand& b_in = i == 0 ? top[j] : m_b[at(i - 1, j)];
        m_next_a[x] = a_in;
        m_next_b[x] = b_in;
        if (!a_in.tag.valid() || !b_in.tag.valid()) continue;
        LLMSIM_CHECK(a_in.tag == b_in.tag,
                     "a PE met operands of different (fold, k) (broken skew)");
        const std::int64_t f = a_in.tag.fold;
        const int set = static_cast<int>(f % 2);
        LLMSIM_CHECK(!m_written[set][x], "a MAC and a drain wrote one accumulator in one cycle");
        const Acc& cur = m_acc[set][x];
        LLMSIM_CHECK(cur.fold < 0 || (cur.fold == f && cur.row == i && cur.col == j),
                     "a MAC added into an accumulator holding another fold's undrained value");
        m_next_acc[set][x] = Acc{cur.value + a_in.value * b_in.value, f, i, j};
        MacCount& m = m_macs[set][x];
        if (m.fold != f) {
          LLMSIM_CHECK(m.fold < 0 || m.count == m_plans[m.fold].stream,
                       "a PE began a fold before finishing the last of its set");
          m = MacCount{f, 0};
        }
        ++m.count;
        LLMSIM_CHECK(m.count <= m_plans[f].stream, "a PE did more than K MACs for one output");
      }
    }
    std::swap(m_a, m_next_a);
    std::swap(m_b, m_next_b);
  }

  ArrayShape m_array;
  const ReferenceOptions& m_options;
  std::vector<FoldPlan>& m_plans;
  std::vector<PipelinedFold>& m_log;
  std::vector<Operand> m_a, m_b;
  std::vector<Operand> m_next_a, m_next_b;  // next-state buffers
  std::vector<Acc> m_acc[2], m_next_acc[2];
  std::vector<bool> m_written[2];  // written by a drain in this cycle
  std::vector<MacCount> m_macs[2];
  std::vector<ColumnDrain> m_columns;
  std::vector<std::vector<std::int64_t>> m_drain_start;  // [fold][column], -1: not yet
};

}  // namespace

SequenceResult run_reference_sequence(Dataflow d, ArrayShape array, Pipelining p,
                                      const std::vector<GemmJob>& jobs,
                                      const ReferenceOptions& options) {
  LLMSIM_CHECK(array.rows >= 1 && array.cols >= 1, "empty array");
  for (const GemmJob& j : jobs) {
    LLMSIM_CHECK(j.a.rows >= 1 && j.a.cols >= 1 && j.b.cols >= 1 && j.a.cols == j.b.rows,
                 "GEMM operands must be M x K and K x N, all >= 1");
  }
  SequenceResult result;
  if (p == Pipelining::none) {
    std::uint64_t end = 0;
    for (const GemmJob& j : jobs) {
      const ReferenceResult r = run_reference(d, array, j.a, j.b);
      GemmRun run{r.c, std::max(j.ready, end), 0, r.folds};
      run.end = end = run.start + r.cycles;
      result.gemms.push_back(std::move(run));
    }
    return result;
  }
  std::vector<FoldPlan> plans = plan_folds(d, array, jobs);
  result.fold_log.resize(plans.size());
  for (std::uint64_t f = 0; f < plans.size(); ++f) {
    PipelinedFold& log = result.fold_log[f];
    log.gemm = plans[f].gemm;
    log.rows_used = plans[f].rows_used;
    log.cols_used = plans[f].cols_used;
    log.stream = plans[f].stream;
  }
  if (d == Dataflow::os) {
    PipelinedOutputStationaryArray(array, plans, result.fold_log, options).run(jobs);
  } else {
    PipelinedStationaryArray(array, plans, result.fold_log, options).run(jobs);
  }
  for (const GemmJob& j : jobs) {
    GemmRun run;
    run.c = Matrix(j.a.rows, j.b.cols);
    result.gemms.push_back(std::move(run));
  }
  for (std::uint64_t f = 0; f < plans.size(); ++f) {
    const FoldPlan& plan = plans[f];
    const PipelinedFold& log = result.fold_log[f];
    GemmRun& run = result.gemms[plan.gemm];
    if (run.folds++ == 0) run.start = d == Dataflow::os ? log.stream_start : log.preload;
    run.end = std::max(run.end, log.end);
    for (std::uint64_t x = 0; x < plan.out.rows; ++x) {
      for (std::uint64_t y = 0; y < plan.out.cols; ++y) {
        const std::int64_t v = plan.out.at(x, y);
        switch (d) {
          case Dataflow::ws:  // out[m][c] = C[m][n0 + c]
            run.c.at(x, plan.col0 + y) += v;
            break;
          case Dataflow::is:  // out[n][c] = C[m0 + c][n]
            run.c.at(plan.col0 + y, x) += v;
            break;
          case Dataflow::os:  // out[i][j] = C[m0 + i][n0 + j]
            run.c.at(plan.row0 + x, plan.col0 + y) += v;
            break;
        }
      }
    }
  }
  return result;
}

}  // namespace llmsim::test
