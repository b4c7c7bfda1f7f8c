#include "sim/driver/heap.h"

#include <malloc.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <mutex>

namespace llmsim::driver {

bool prefer_huge_pages() {
  static std::once_flag once;
  static bool advised = false;
  std::call_once(once, [] {
    // Blocks below 32 MiB (glibc's ceiling for this threshold) come from the heap rather than
    // from mmap, and freed memory stays at its top rather than going back to the kernel: the
    // reserved range is then the first memory that later allocations get.
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    void* block = std::malloc(kReserveBytes);
    if (block == nullptr) return;
    constexpr std::uintptr_t kHuge = std::uintptr_t{2} << 20;
    const auto first = reinterpret_cast<std::uintptr_t>(block);
    const std::uintptr_t begin = (first + kHuge - 1) & ~(kHuge - 1);
    const std::uintptr_t end = (first + kReserveBytes) & ~(kHuge - 1);
    if (end > begin) {
      advised = madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE) == 0;
    }
    std::free(block);
  });
  return advised;
}

}  // namespace llmsim::driver
