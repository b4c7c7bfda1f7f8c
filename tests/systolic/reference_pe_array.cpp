#include "tests/systolic/reference_pe_array.h"

#include <algorithm>
#include <utility>

#include "sim/core/error.h"

namespace llmsim::test {
namespace {

using systolic::ArrayShape;
using systolic::Dataflow;

using ref::Operand;
using ref::Psum;
using ref::Tag;

struct FoldRun {
  Matrix out;
  std::uint64_t cycles = 0;
};

// A bound on the cycles of one phase, far above any sane latency: past it the reference throws
// rather than spin forever on an output that never leaves.
std::uint64_t cycle_limit(ArrayShape array, std::uint64_t stream) {
  return 4 * (std::uint64_t{array.rows} + array.cols + stream) + 16;
}

// Operand entering the left (or top) edge of lane `lane` at cycle t of a skewed stream of
// `length` elements: element x enters lane `lane` at cycle x + lane. Lanes >= `used` get zeros
// (still tagged: a zero is as good an operand as any).
template <typename ValueAt>
Operand skewed_edge(std::uint64_t t, std::uint64_t lane, std::uint64_t length, std::uint64_t used,
                    std::int64_t fold, ValueAt value_at) {
  if (t < lane || t - lane >= length) return Operand{};
  const std::uint64_t x = t - lane;
  return Operand{lane < used ? value_at(x) : 0, Tag{fold, static_cast<std::int64_t>(x)}};
}

// The WS / IS machine (see the header).
class StationaryArray {
 public:
  explicit StationaryArray(ArrayShape array)
      : m_array(array), m_w(pes(), 0), m_a(pes()), m_p(pes()), m_next_a(pes()), m_next_p(pes()) {}

  // Runs one fold: `weights` (rows_used x cols_used) becomes stationary in the top-left corner,
  // row x of `stream` (length x rows_used) enters PE row r at stream cycle x + r.
  // out[x][c] = sum_r stream[x][r] * weights[r][c].
  FoldRun run_fold(const Matrix& weights, const Matrix& stream, std::int64_t fold) {
    const std::uint64_t rows = m_array.rows, cols = m_array.cols;
    const std::uint64_t rows_used = weights.rows, cols_used = weights.cols, length = stream.rows;
    LLMSIM_CHECK(rows_used <= rows && cols_used <= cols && stream.cols == rows_used,
                 "fold does not fit the array");
    FoldRun run{Matrix(length, cols_used), 0};
    std::vector<Operand> edge(rows);
    // Fill: the streaming side runs on bubbles while the weights shift in.
    for (std::uint64_t t = 0; t < rows; ++t, ++run.cycles) {
      clock(edge);
      shift_weights_in(weights, rows - 1 - t);
    }
    for (std::uint64_t r = 0; r < rows; ++r) {
      for (std::uint64_t c = 0; c < cols; ++c) {
        const std::int64_t want = r < rows_used && c < cols_used ? weights.at(r, c) : 0;
        LLMSIM_CHECK(m_w[at(r, c)] == want, "fill left a wrong weight in the array");
      }
    }
    // Stream until every output (x, c < cols_used) has left the bottom edge.
    std::vector<bool> left(length * cols_used, false);
    std::uint64_t pending = length * cols_used;
    for (std::uint64_t s = 0; pending > 0; ++s, ++run.cycles) {
      LLMSIM_CHECK(s < cycle_limit(m_array, length), "a WS/IS output never left the array");
      for (std::uint64_t r = 0; r < rows; ++r) {
        edge[r] = skewed_edge(s, r, length, rows_used, fold,
                              [&](std::uint64_t x) { return stream.at(x, r); });
      }
      clock(edge);
      for (std::uint64_t c = 0; c < cols_used; ++c) {
        const Psum& p = m_p[at(rows - 1, c)];
        if (p.tag.fold != fold) continue;  // a bubble, or a leftover of an earlier fold
        LLMSIM_CHECK(p.rows == rows, "a partial sum missed PE rows");
        const auto x = static_cast<std::uint64_t>(p.tag.index);
        LLMSIM_CHECK(!left[x * cols_used + c], "an output left the array twice");
        left[x * cols_used + c] = true;
        --pending;
        run.out.at(x, c) = p.value;
      }
    }
    return run;
  }

 private:
  std::size_t pes() const { return std::size_t{m_array.rows} * m_array.cols; }
  std::size_t at(std::uint64_t r, std::uint64_t c) const { return r * m_array.cols + c; }

  // One cycle of the streaming side, with `edge[r]` entering the left of PE row r.
  void clock(const std::vector<Operand>& edge) {
    for (std::uint64_t r = 0; r < m_array.rows; ++r) {
      for (std::uint64_t c = 0; c < m_array.cols; ++c) {
        const Operand& a_in = c == 0 ? edge[r] : m_a[at(r, c - 1)];
        const Psum p_in = r == 0 ? Psum{} : m_p[at(r - 1, c)];
        Psum& p = m_next_p[at(r, c)];
        p = p_in;
        p.value += a_in.value * m_w[at(r, c)];
        if (a_in.tag.valid()) {
          LLMSIM_CHECK(!p_in.tag.valid() || p_in.tag == a_in.tag,
                       "a partial sum met operands of two different rows (broken skew)");
          p.tag = a_in.tag;
          ++p.rows;
        }
        m_next_a[at(r, c)] = a_in;
      }
    }
    std::swap(m_a, m_next_a);
    std::swap(m_p, m_next_p);
  }

  // One fill cycle of the weights: every row shifts down one, row 0 takes weight row `row`
  // (zero past the weights' rows and columns).
  void shift_weights_in(const Matrix& weights, std::uint64_t row) {
    for (std::uint64_t r = m_array.rows - 1; r > 0; --r) {
      for (std::uint64_t c = 0; c < m_array.cols; ++c) m_w[at(r, c)] = m_w[at(r - 1, c)];
    }
    for (std::uint64_t c = 0; c < m_array.cols; ++c) {
      m_w[at(0, c)] = row < weights.rows && c < weights.cols ? weights.at(row, c) : 0;
    }
  }

  ArrayShape m_array;
  std::vector<std::int64_t> m_w;
  std::vector<Operand> m_a;
  std::vector<Psum> m_p;
  std::vector<Operand> m_next_a;  // next-state buffers, so that all registers update together
  std::vector<Psum> m_next_p;
};

// The OS machine (see the header).
class OutputStationaryArray {
 public:
  explicit OutputStationaryArray(ArrayShape array)
      : m_array(array), m_acc(pes(), 0), m_a(pes()), m_b(pes()), m_next_a(pes()), m_next_b(pes()) {}

  // Runs one fold: row i of `lhs` (rows_used x K) enters PE row i from the left, column j of
  // `rhs` (K x cols_used) enters PE column j from the top, element k of each at cycle k + i
  // (k + j). out[i][j] = sum_k lhs[i][k] * rhs[k][j].
  FoldRun run_fold(const Matrix& lhs, const Matrix& rhs, std::int64_t fold) {
    const std::uint64_t rows = m_array.rows, cols = m_array.cols;
    const std::uint64_t rows_used = lhs.rows, cols_used = rhs.cols, depth = lhs.cols;
    LLMSIM_CHECK(rows_used <= rows && cols_used <= cols && rhs.rows == depth,
                 "fold does not fit the array");
    FoldRun run{Matrix(rows_used, cols_used), 0};
    std::vector<std::uint64_t> macs(pes(), 0);  // multiply-accumulates of this fold, per PE
    std::uint64_t pending = rows_used * cols_used;
    std::vector<Operand> left(rows), top(cols);
    for (std::uint64_t t = 0; pending > 0; ++t, ++run.cycles) {
      LLMSIM_CHECK(t < cycle_limit(m_array, depth), "an OS MAC never happened");
      for (std::uint64_t i = 0; i < rows; ++i) {
        left[i] = skewed_edge(t, i, depth, rows_used, fold,
                              [&](std::uint64_t k) { return lhs.at(i, k); });
      }
      for (std::uint64_t j = 0; j < cols; ++j) {
        top[j] = skewed_edge(t, j, depth, cols_used, fold,
                             [&](std::uint64_t k) { return rhs.at(k, j); });
      }
      for (std::uint64_t i = 0; i < rows; ++i) {
        for (std::uint64_t j = 0; j < cols; ++j) {
          const Operand& a_in = j == 0 ? left[i] : m_a[at(i, j - 1)];
          const Operand& b_in = i == 0 ? top[j] : m_b[at(i - 1, j)];
          m_acc[at(i, j)] += a_in.value * b_in.value;
          if (a_in.tag.valid() || b_in.tag.valid()) {
            const bool current = a_in.tag.fold == fold || b_in.tag.fold == fold;
            LLMSIM_CHECK(
                a_in.tag == b_in.tag || (!current && !(a_in.tag.valid() && b_in.tag.valid())),
                "a PE multiplied operands of different k (broken skew)");
            if (current && ++macs[at(i, j)] == depth && i < rows_used && j < cols_used) --pending;
          }
          m_next_a[at(i, j)] = a_in;
          m_next_b[at(i, j)] = b_in;
        }
      }
      std::swap(m_a, m_next_a);
      std::swap(m_b, m_next_b);
    }
    // Drain. The operand registers hold still; each accumulator is labelled with its output.
    std::vector<std::int64_t> owner(pes(), -1);  // PE index the value was computed in
    for (std::uint64_t i = 0; i < rows_used; ++i) {
      for (std::uint64_t j = 0; j < cols_used; ++j) owner[at(i, j)] = at(i, j);
    }
    pending = rows_used * cols_used;
    for (std::uint64_t d = 0; pending > 0; ++d, ++run.cycles) {
      LLMSIM_CHECK(d < cycle_limit(m_array, depth), "an OS output never left the array");
      for (std::uint64_t j = 0; j < cols; ++j) {
        const std::int64_t o = owner[at(rows - 1, j)];
        if (o < 0) continue;
        const std::uint64_t i0 = static_cast<std::uint64_t>(o) / cols, j0 = o % cols;
        LLMSIM_CHECK(j0 == j, "an accumulator moved sideways");
        run.out.at(i0, j0) = m_acc[at(rows - 1, j)];
        --pending;
      }
      for (std::uint64_t i = rows - 1; i > 0; --i) {
        for (std::uint64_t j = 0; j < cols; ++j) {
          m_acc[at(i, j)] = m_acc[at(i - 1, j)];
          owner[at(i, j)] = owner[at(i - 1, j)];
        }
      }
      for (std::uint64_t j = 0; j < cols; ++j) {
        m_acc[at(0, j)] = 0;
        owner[at(0, j)] = -1;
      }
    }
    return run;
  }

 private:
  std::size_t pes() const { return std::size_t{m_array.rows} * m_array.cols; }
  std::size_t at(std::uint64_t r, std::uint64_t c) const { return r * m_array.cols + c; }

  ArrayShape m_array;
  std::vector<std::int64_t> m_acc;
  std::vector<Operand> m_a;
  std::vector<Operand> m_b;
  std::vector<Operand> m_next_a;  // next-state buffers, so that all registers update together
  std::vector<Operand> m_next_b;
};

}  // namespace

ReferenceResult run_reference(Dataflow d, ArrayShape array, const Matrix& a, const Matrix& b) {
  LLMSIM_CHECK(array.rows >= 1 && array.cols >= 1, "empty array");
  LLMSIM_CHECK(a.rows >= 1 && a.cols >= 1 && b.cols >= 1 && a.cols == b.rows,
               "GEMM operands must be M x K and K x N, all >= 1");
  const std::uint64_t m = a.rows, k = a.cols, n = b.cols, rows = array.rows, cols = array.cols;
  ReferenceResult result;
  result.c = Matrix(m, n);
  const auto log = [&](const FoldRun& run, std::uint64_t rows_used, std::uint64_t cols_used,
                       std::uint64_t stream) {
    result.fold_log.push_back({rows_used, cols_used, stream, run.cycles});
    result.cycles += run.cycles;
    ++result.folds;
  };
  std::int64_t fold = 0;
  if (d == Dataflow::ws || d == Dataflow::is) {
    // WS: rows K, columns N, stream M. IS: rows K, columns M, stream N.
    const bool ws = d == Dataflow::ws;
    const std::uint64_t cols_total = ws ? n : m, length = ws ? m : n;
    StationaryArray pe(array);
    for (std::uint64_t k0 = 0; k0 < k; k0 += rows) {
      for (std::uint64_t c0 = 0; c0 < cols_total; c0 += cols) {
        const std::uint64_t kf = std::min(rows, k - k0), cf = std::min(cols, cols_total - c0);
        Matrix weights(kf, cf), stream(length, kf);
        for (std::uint64_t r = 0; r < kf; ++r) {
          for (std::uint64_t c = 0; c < cf; ++c) {
            weights.at(r, c) = ws ? b.at(k0 + r, c0 + c) : a.at(c0 + c, k0 + r);
          }
          for (std::uint64_t x = 0; x < length; ++x) {
            stream.at(x, r) = ws ? a.at(x, k0 + r) : b.at(k0 + r, x);
          }
        }
        const FoldRun run = pe.run_fold(weights, stream, fold++);
        for (std::uint64_t x = 0; x < length; ++x) {
          for (std::uint64_t c = 0; c < cf; ++c) {
            (ws ? result.c.at(x, c0 + c) : result.c.at(c0 + c, x)) += run.out.at(x, c);
          }
        }
        log(run, kf, cf, length);
      }
    }
  } else {
    // OS: rows M, columns N, stream K.
    OutputStationaryArray pe(array);
    for (std::uint64_t m0 = 0; m0 < m; m0 += rows) {
      for (std::uint64_t n0 = 0; n0 < n; n0 += cols) {
        const std::uint64_t mf = std::min(rows, m - m0), nf = std::min(cols, n - n0);
        Matrix lhs(mf, k), rhs(k, nf);
        for (std::uint64_t x = 0; x < k; ++x) {
          for (std::uint64_t i = 0; i < mf; ++i) lhs.at(i, x) = a.at(m0 + i, x);
          for (std::uint64_t j = 0; j < nf; ++j) rhs.at(x, j) = b.at(x, n0 + j);
        }
        const FoldRun run = pe.run_fold(lhs, rhs, fold++);
        for (std::uint64_t i = 0; i < mf; ++i) {
          for (std::uint64_t j = 0; j < nf; ++j) result.c.at(m0 + i, n0 + j) += run.out.at(i, j);
        }
        log(run, mf, nf, k);
      }
    }
  }
  return result;
}

}  // namespace llmsim::test
