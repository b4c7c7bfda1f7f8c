#pragma once
// The bytes of value mode's memories. No timing: the hardware models decide when an access
// happens and call these to make it.
//
// Contract: the timing model has already checked every address against the memory's size, so
// an access out of range here is a simulator bug (InternalError through LLMSIM_CHECK), never a
// user error.
#include <array>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

namespace llmsim::values {

// A sparse image of a 64-bit DRAM address space: 4 KiB pages, each allocated (zeroed) on the
// first write that touches it. Reading never allocates, and bytes never written read as zero.
// An access may span any number of pages; one that would run past 2^64 - 1 is an InternalError.
class DramImage {
 public:
  static constexpr std::uint64_t kPageBytes = 4096;

  void read(std::uint64_t addr, std::uint8_t* out, std::uint64_t n) const;
  void write(std::uint64_t addr, const std::uint8_t* in, std::uint64_t n);

  // Bytes held: pages allocated x kPageBytes.
  std::uint64_t bytes_allocated() const { return m_pages.size() * kPageBytes; }

 private:
  using Page = std::array<std::uint8_t, kPageBytes>;
  std::unordered_map<std::uint64_t, std::unique_ptr<Page>> m_pages;  // by addr / kPageBytes
};

// A dense, zero-initialised SRAM image of `capacity_bytes` (scratchpad or accumulator; SRAM
// addresses are local to the SRAM). span() returns the bytes [addr, addr + n) in place after
// checking they lie within the capacity; n = 0 is allowed at any addr <= capacity.
class SramImage {
 public:
  explicit SramImage(std::uint64_t capacity_bytes) : m_bytes(capacity_bytes, 0) {}

  std::uint64_t capacity_bytes() const { return m_bytes.size(); }
  const std::uint8_t* span(std::uint64_t addr, std::uint64_t n) const;
  std::uint8_t* span(std::uint64_t addr, std::uint64_t n);
  void read(std::uint64_t addr, std::uint8_t* out, std::uint64_t n) const;
  void write(std::uint64_t addr, const std::uint8_t* in, std::uint64_t n);

 private:
  void check(std::uint64_t addr, std::uint64_t n) const;
  std::vector<std::uint8_t> m_bytes;
};

}  // namespace llmsim::values
