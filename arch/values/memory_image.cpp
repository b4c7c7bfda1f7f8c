#include "arch/values/memory_image.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "sim/core/error.h"

namespace llmsim::values {

namespace {

void check_dram_range(std::uint64_t addr, std::uint64_t n) {
  LLMSIM_CHECK(n == 0 || n - 1 <= ~std::uint64_t(0) - addr,
               "DRAM image access of " + std::to_string(n) + " B at " + std::to_string(addr) +
                   " runs past the 64-bit address space");
}

}  // namespace

void DramImage::read(std::uint64_t addr, std::uint8_t* out, std::uint64_t n) const {
  check_dram_range(addr, n);
  while (n > 0) {
    const std::uint64_t off = addr % kPageBytes;
    const std::uint64_t k = std::min(n, kPageBytes - off);
    const auto it = m_pages.find(addr / kPageBytes);
    if (it == m_pages.end()) {
      std::memset(out, 0, k);
    } else {
      std::memcpy(out, it->second->data() + off, k);
    }
    out += k;
    n -= k;
    addr += k;  // wraps to 0 only when n has reached 0
  }
}

void DramImage::write(std::uint64_t addr, const std::uint8_t* in, std::uint64_t n) {
  check_dram_range(addr, n);
  while (n > 0) {
    const std::uint64_t off = addr % kPageBytes;
    const std::uint64_t k = std::min(n, kPageBytes - off);
    std::unique_ptr<Page>& page = m_pages[addr / kPageBytes];
    if (!page) page = std::make_unique<Page>();  // value-initialised: zeros
    std::memcpy(page->data() + off, in, k);
    in += k;
    n -= k;
    addr += k;
  }
}

void SramImage::check(std::uint64_t addr, std::uint64_t n) const {
  LLMSIM_CHECK(addr <= m_bytes.size() && n <= m_bytes.size() - addr,
               "SRAM image access of " + std::to_string(n) + " B at " + std::to_string(addr) +
                   " is outside the capacity of " + std::to_string(m_bytes.size()) + " B");
}

const std::uint8_t* SramImage::span(std::uint64_t addr, std::uint64_t n) const {
  check(addr, n);
  return m_bytes.data() + addr;
}

std::uint8_t* SramImage::span(std::uint64_t addr, std::uint64_t n) {
  check(addr, n);
  return m_bytes.data() + addr;
}

void SramImage::read(std::uint64_t addr, std::uint8_t* out, std::uint64_t n) const {
  if (n > 0) std::memcpy(out, span(addr, n), n);
}

void SramImage::write(std::uint64_t addr, const std::uint8_t* in, std::uint64_t n) {
  if (n > 0) std::memcpy(span(addr, n), in, n);
}

}  // namespace llmsim::values
