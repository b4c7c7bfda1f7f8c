#include "sim/driver/npy.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>

#include "arch/values/element.h"
#include "sim/core/error.h"
#include "sim/core/json_input.h"

namespace llmsim::driver {

namespace {

constexpr std::uint64_t kMaxHeaderBytes = 1 << 16;
constexpr std::uint64_t kMaxElements = std::uint64_t(1) << 40;

// The text after `'key':` in the header dict, spaces skipped; npos if absent.
std::size_t value_of(const std::string& h, const std::string& key) {
  std::size_t p = h.find("'" + key + "'");
  if (p == std::string::npos) return p;
  p = h.find(':', p);
  if (p == std::string::npos) return p;
  ++p;
  while (p < h.size() && h[p] == ' ') ++p;
  return p;
}

}  // namespace

void NpyFile::fail(const std::string& problem) const {
  throw UserError(m_what + ": " + config::printable(m_path) + ": " + problem);
}

NpyFile::NpyFile(const std::string& path, const std::string& what) : m_path(path), m_what(what) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) fail("no such file");
  const std::uint64_t file_size = std::filesystem::file_size(path, ec);
  if (ec) fail("cannot read its size: " + ec.message());
  m_in.open(path, std::ios::binary);
  if (!m_in) fail("cannot be opened");
  char magic[8] = {};
  m_in.read(magic, 8);
  if (!m_in || std::memcmp(magic, "\x93NUMPY", 6) != 0) {
    fail("not a NumPy .npy file (no \\x93NUMPY magic)");
  }
  const int major = static_cast<unsigned char>(magic[6]);
  if (major < 1 || major > 3) fail("unknown .npy format version " + std::to_string(major));
  std::uint64_t header_len = 0;
  unsigned char len[4] = {};
  m_in.read(reinterpret_cast<char*>(len), major == 1 ? 2 : 4);
  header_len = major == 1 ? std::uint64_t(len[0] | len[1] << 8)
                          : std::uint64_t(len[0]) | std::uint64_t(len[1]) << 8 |
                                std::uint64_t(len[2]) << 16 | std::uint64_t(len[3]) << 24;
  if (!m_in || header_len > kMaxHeaderBytes) fail("corrupt .npy header length");
  std::string h(header_len, '\0');
  m_in.read(h.data(), std::streamsize(header_len));
  if (!m_in) fail("truncated .npy header");
  m_data_offset = (major == 1 ? 10 : 12) + header_len;

  // {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
  std::size_t p = value_of(h, "descr");
  if (p == std::string::npos || p >= h.size() || (h[p] != '\'' && h[p] != '"')) {
    fail("corrupt .npy header (no 'descr' string): " + config::printable(h));
  }
  const std::size_t q = h.find(h[p], p + 1);
  if (q == std::string::npos) fail("corrupt .npy header (unterminated 'descr')");
  m_descr = h.substr(p + 1, q - p - 1);
  const std::string& d = m_descr;
  const bool ok_form = d.size() >= 3 &&
                       (d[0] == '<' || d[0] == '>' || d[0] == '|' || d[0] == '=') &&
                       std::all_of(d.begin() + 2, d.end(), [](char c) { return std::isdigit(c); });
  const std::uint32_t size = ok_form ? std::uint32_t(std::stoul(d.substr(2, 3))) : 0;
  const char kind = ok_form ? d[1] : '?';
  const bool number =
      (kind == 'f' && (size == 2 || size == 4 || size == 8)) ||
      ((kind == 'i' || kind == 'u') && (size == 1 || size == 2 || size == 4 || size == 8)) ||
      (kind == 'b' && size == 1);
  if (!number) {
    fail("dtype '" + config::printable(d) +
         "' cannot be converted to numbers (allowed: bool, int8..int64, uint8..uint64, "
         "float16, float32, float64)");
  }
  m_kind = kind, m_size = size, m_swap = d[0] == '>' && size > 1;

  p = value_of(h, "fortran_order");
  if (p == std::string::npos) fail("corrupt .npy header (no 'fortran_order')");
  if (h.compare(p, 4, "True") == 0) {
    m_fortran = true;
  } else if (h.compare(p, 5, "False") != 0) {
    fail("corrupt .npy header ('fortran_order' is neither True nor False)");
  }

  p = value_of(h, "shape");
  if (p == std::string::npos || p >= h.size() || h[p] != '(') {
    fail("corrupt .npy header (no 'shape' tuple)");
  }
  const std::size_t end = h.find(')', p);
  if (end == std::string::npos) fail("corrupt .npy header (unterminated 'shape')");
  std::string dims = h.substr(p + 1, end - p - 1);
  std::size_t i = 0;
  while (i < dims.size()) {
    while (i < dims.size() && (dims[i] == ' ' || dims[i] == ',')) ++i;
    if (i == dims.size()) break;
    std::size_t j = i;
    while (j < dims.size() && std::isdigit(static_cast<unsigned char>(dims[j]))) ++j;
    if (j == i || j - i > 12) fail("corrupt .npy header (shape " + config::printable(dims) + ")");
    const std::uint64_t n = std::stoull(dims.substr(i, j - i));
    m_shape.push_back(n);
    if (n != 0 && m_elements > kMaxElements / n) fail("shape too large");
    m_elements *= n;
    i = j;
  }
  const std::uint64_t bytes = m_elements * m_size;
  if (file_size < m_data_offset + bytes) {
    fail("truncated: its shape and dtype need " + std::to_string(bytes) +
         " bytes of data, the "
         "file holds " +
         std::to_string(file_size > m_data_offset ? file_size - m_data_offset : 0));
  }
}

std::vector<float> NpyFile::read(std::uint64_t row_begin, std::uint64_t row_end) {
  const std::uint64_t rows = m_shape.empty() ? 1 : m_shape[0];
  if (row_end == 0) row_begin = 0, row_end = rows;
  const std::uint64_t row_elems = rows ? m_elements / rows : 0;
  // Fortran order: read it all, reorder, then take the rows.
  const std::uint64_t first = m_fortran ? 0 : row_begin * row_elems;
  const std::uint64_t n = m_fortran ? m_elements : (row_end - row_begin) * row_elems;
  std::vector<unsigned char> raw(n * m_size);
  m_in.clear();
  m_in.seekg(std::streamoff(m_data_offset + first * m_size));
  m_in.read(reinterpret_cast<char*>(raw.data()), std::streamsize(raw.size()));
  if (!m_in) fail("cannot read its data");
  std::vector<float> out(n);
  for (std::uint64_t k = 0; k < n; ++k) {
    unsigned char* e = raw.data() + k * m_size;
    if (m_swap) std::reverse(e, e + m_size);
    std::uint64_t u = 0;
    std::memcpy(&u, e, m_size);  // little-endian host (as the DRAM image assumes)
    float v = 0;
    if (m_kind == 'f') {
      if (m_size == 2) {
        v = values::fp16_to_float(std::uint16_t(u));
      } else if (m_size == 4) {
        std::memcpy(&v, e, 4);
      } else {
        double x;
        std::memcpy(&x, e, 8);
        v = float(x);
      }
    } else if (m_kind == 'i') {
      const unsigned shift = 64 - 8 * m_size;
      v = float(std::int64_t(u << shift) >> shift);
    } else {
      v = float(u);  // unsigned, bool
    }
    out[k] = v;
  }
  if (!m_fortran) return out;
  // Element (i0, .., in) of the C-order array is at sum_k ik * prod_{j<k} shape_j in the file.
  const std::size_t nd = m_shape.size();
  std::vector<std::uint64_t> stride(nd, 1);
  for (std::size_t k = 1; k < nd; ++k) stride[k] = stride[k - 1] * m_shape[k - 1];
  std::vector<float> c((row_end - row_begin) * row_elems);
  std::vector<std::uint64_t> idx(nd, 0);
  if (nd) idx[0] = row_begin;
  for (float& x : c) {
    std::uint64_t off = 0;
    for (std::size_t k = 0; k < nd; ++k) off += idx[k] * stride[k];
    x = out[off];
    for (std::size_t k = nd; k-- > 0;) {  // next C-order index
      if (++idx[k] < m_shape[k]) break;
      idx[k] = 0;
    }
  }
  return c;
}

}  // namespace llmsim::driver
