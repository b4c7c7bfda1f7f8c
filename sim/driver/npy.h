#pragma once
// A small reader of NumPy .npy files (format versions 1.0 to 3.0) for value mode's parameter
// arrays (values.h): the header first, so that a wrong shape is reported before the data is
// read, then the data converted to float. The writer is write_npy in values.cpp.
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace llmsim::driver {

class NpyFile {
 public:
  // Opens `path` and reads its header. Throws UserError "<what>: <path>: <problem>" for a file
  // that cannot be read, is not a .npy file, has a malformed header, holds a dtype that is not
  // a number (allowed: bool, int8..int64, uint8..uint64, float16, float32, float64, either byte
  // order), or is shorter than its shape says.
  NpyFile(const std::string& path, const std::string& what);

  const std::vector<std::uint64_t>& shape() const { return m_shape; }
  std::uint64_t elements() const { return m_elements; }
  const std::string& descr() const { return m_descr; }

  // Rows [row_begin, row_end) of the first dimension (row_end 0: all), as float, in row-major
  // (C) order whatever the file's order. The caller has checked the range against shape().
  std::vector<float> read(std::uint64_t row_begin = 0, std::uint64_t row_end = 0);

 private:
  [[noreturn]] void fail(const std::string& problem) const;

  std::string m_path, m_what;
  std::ifstream m_in;
  std::vector<std::uint64_t> m_shape;
  std::uint64_t m_elements = 1;
  std::string m_descr;
  char m_kind = 'f';  // 'f' float, 'i' signed, 'u' unsigned, 'b' bool
  std::uint32_t m_size = 4;
  bool m_swap = false;     // big-endian data
  bool m_fortran = false;  // column-major data
  std::uint64_t m_data_offset = 0;
};

}  // namespace llmsim::driver
