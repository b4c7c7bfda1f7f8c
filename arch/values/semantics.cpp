// DMA and GEMM semantics (semantics.h); vector ops are in semantics_vector.cpp.
#include "arch/values/semantics.h"

#include <cstring>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "sim/core/error.h"

namespace llmsim::values {

namespace {

template <typename T>
using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// rows * cols * elem_bytes, checked against overflow (the image then checks the range).
std::uint64_t block_bytes(std::uint64_t rows, std::uint64_t cols, std::uint64_t elem_bytes) {
  const std::uint64_t limit = ~std::uint64_t(0);
  LLMSIM_CHECK(cols == 0 || elem_bytes <= limit / cols, "block size overflows 64 bits");
  const std::uint64_t row = cols * elem_bytes;
  LLMSIM_CHECK(row == 0 || rows <= limit / row, "block size overflows 64 bits");
  return rows * row;
}

void check_width(std::uint32_t elem_bytes, Format f, const char* what) {
  LLMSIM_CHECK(width_bytes(f) == elem_bytes, std::string(what) + " format " + to_string(f) +
                                                 " is not " + std::to_string(elem_bytes) +
                                                 " B wide");
}

// Row r's DRAM address; r * stride cannot overflow past the range the timing model checked.
std::uint64_t dram_row(const isa::Block& b, std::uint64_t r) {
  LLMSIM_CHECK(r == 0 || b.dram_stride_bytes <= ~std::uint64_t(0) / r, "DRAM row overflows");
  return b.dram_addr + r * b.dram_stride_bytes;
}

std::vector<float> decode_block(Format f, const SramImage& img, std::uint64_t addr,
                                std::uint64_t rows, std::uint64_t cols) {
  std::vector<float> out(rows * cols);
  decode(f, img.span(addr, block_bytes(rows, cols, width_bytes(f))), out.size(), out.data());
  return out;
}

std::vector<std::int32_t> load_ints(Format f, const SramImage& img, std::uint64_t addr,
                                    std::uint64_t n) {
  std::vector<std::int32_t> out(n);
  convert(f, img.span(addr, block_bytes(1, n, width_bytes(f))), Format::int32,
          reinterpret_cast<std::uint8_t*>(out.data()), n);
  return out;
}

// B as k x n row-major: as stored, or the transpose of the n x k block stored (b_transposed).
template <class T>
std::vector<T> b_matrix(const isa::Gemm& g, std::vector<T> b) {
  if (!g.b_transposed) return b;
  std::vector<T> out(b.size());
  Eigen::Map<RowMajor<T>>(out.data(), Eigen::Index(g.k), Eigen::Index(g.n)) =
      Eigen::Map<const RowMajor<T>>(b.data(), Eigen::Index(g.n), Eigen::Index(g.k)).transpose();
  return out;
}

// The exact sum of products of an m x k and a k x n matrix of integers of magnitude <= 128, in
// floating-point type F: exact while every partial sum (at most k * 2^14 in magnitude, in any
// order) is an integer F represents, and much faster than Eigen's integer GEMM (vectorised).
template <class F>
void exact_sum(const std::vector<std::int32_t>& a, const std::vector<std::int32_t>& b,
               Eigen::Index m, Eigen::Index k, Eigen::Index n, std::vector<std::int64_t>& sum) {
  const RowMajor<F> am = Eigen::Map<const RowMajor<std::int32_t>>(a.data(), m, k).cast<F>();
  const RowMajor<F> bm = Eigen::Map<const RowMajor<std::int32_t>>(b.data(), k, n).cast<F>();
  const RowMajor<F> c = am * bm;
  for (std::size_t i = 0; i < sum.size(); ++i) sum[i] = std::int64_t(c.data()[i]);
}

// int8 x int8 -> int32 with a wrapping adder. The products are summed exactly (in fp32 while
// k * 2^14 <= 2^24, in double while below 2^53, else in int64), then added to C modulo 2^32.
void gemm_int8(const isa::Gemm& g, const SramImage& spad, SramImage& acc) {
  const auto m = Eigen::Index(g.m), k = Eigen::Index(g.k), n = Eigen::Index(g.n);
  const std::vector<std::int32_t> a = load_ints(Format::int8, spad, g.a_addr, g.m * g.k);
  const std::vector<std::int32_t> b =
      b_matrix(g, load_ints(Format::int8, spad, g.b_addr, g.k * g.n));
  std::uint8_t* c_bytes = acc.span(g.c_addr, block_bytes(g.m, g.n, 4));
  std::vector<std::int64_t> sum(g.m * g.n);
  if (g.k <= (std::uint64_t(1) << 10)) {
    exact_sum<float>(a, b, m, k, n, sum);
  } else if (g.k < (std::uint64_t(1) << 39)) {
    exact_sum<double>(a, b, m, k, n, sum);
  } else {
    Eigen::Map<RowMajor<std::int64_t>> s(sum.data(), m, n);
    const RowMajor<std::int64_t> am =
        Eigen::Map<const RowMajor<std::int32_t>>(a.data(), m, k).cast<std::int64_t>();
    const RowMajor<std::int64_t> bm =
        Eigen::Map<const RowMajor<std::int32_t>>(b.data(), k, n).cast<std::int64_t>();
    s.noalias() = am * bm;
  }
  const std::vector<std::int32_t> bias =
      g.bias_addr ? load_ints(Format::int32, spad, *g.bias_addr, g.n) : std::vector<std::int32_t>();
  for (std::size_t i = 0; i < sum.size(); ++i) {
    std::int32_t old = 0;
    if (g.accumulate) std::memcpy(&old, c_bytes + 4 * i, 4);
    // Modulo 2^32: unsigned arithmetic, then the two's-complement reading of the bits.
    std::uint32_t bits = std::uint32_t(old) + std::uint32_t(std::uint64_t(sum[i]));
    if (!bias.empty()) bits += std::uint32_t(bias[i % g.n]);
    std::memcpy(c_bytes + 4 * i, &bits, 4);
  }
}

// fp16, bf16, fp32 inputs -> fp32 accumulator.
void gemm_float(const isa::Gemm& g, const SramImage& spad, SramImage& acc) {
  const Format in = element_format(g.dtype);
  const auto m = Eigen::Index(g.m), k = Eigen::Index(g.k), n = Eigen::Index(g.n);
  const std::vector<float> a = decode_block(in, spad, g.a_addr, g.m, g.k);
  const std::vector<float> b = b_matrix(g, decode_block(in, spad, g.b_addr, g.k, g.n));
  std::vector<float> c = g.accumulate ? decode_block(Format::fp32, acc, g.c_addr, g.m, g.n)
                                      : std::vector<float>(g.m * g.n);
  const Eigen::Map<const RowMajor<float>> am(a.data(), m, k), bm(b.data(), k, n);
  Eigen::Map<RowMajor<float>> cm(c.data(), m, n);
  if (g.accumulate) {
    cm.noalias() += am * bm;
  } else {
    cm.noalias() = am * bm;
  }
  if (g.bias_addr) {
    const std::vector<float> bias = decode_block(Format::fp32, spad, *g.bias_addr, 1, g.n);
    cm.rowwise() += Eigen::Map<const Eigen::RowVectorXf>(bias.data(), n);
  }
  encode(Format::fp32, c.data(), c.size(), acc.span(g.c_addr, block_bytes(g.m, g.n, 4)));
}

}  // namespace

void load(const isa::DmaLoad& ld, const DramImage& dram, SramImage& dst) {
  const isa::Block& b = ld.block;
  const std::uint64_t row_bytes = block_bytes(1, b.cols, ld.elem_bytes);
  std::uint8_t* out = dst.span(b.sram_addr, block_bytes(b.rows, b.cols, ld.elem_bytes));
  for (std::uint64_t r = 0; r < b.rows; ++r) {
    dram.read(dram_row(b, r), out + r * row_bytes, row_bytes);
  }
}

void store(const isa::DmaStore& st, const SramImage& src, Format sram_format, Format dram_format,
           DramImage& dram, DramImage* copy) {
  check_width(st.sram_elem_bytes, sram_format, "store's SRAM");
  check_width(st.dram_elem_bytes, dram_format, "store's DRAM");
  const isa::Block& b = st.block;
  const std::uint64_t in_row = block_bytes(1, b.cols, st.sram_elem_bytes);
  const std::uint8_t* in = src.span(b.sram_addr, block_bytes(b.rows, b.cols, st.sram_elem_bytes));
  std::vector<std::uint8_t> row(block_bytes(1, b.cols, st.dram_elem_bytes));
  for (std::uint64_t r = 0; r < b.rows; ++r) {
    convert(sram_format, in + r * in_row, dram_format, row.data(), b.cols);
    dram.write(dram_row(b, r), row.data(), row.size());
    if (copy) copy->write(dram_row(b, r), row.data(), row.size());
  }
}

void gemm(const isa::Gemm& g, const SramImage& spad, SramImage& acc) {
  if (g.dtype == isa::DType::int8) {
    gemm_int8(g, spad, acc);
  } else {
    gemm_float(g, spad, acc);
  }
}

}  // namespace llmsim::values
