// sim/driver/heap.h: the heap's reserved range is advised for transparent huge pages once per
// process, where the kernel offers them, and malloc keeps working.
#include "sim/driver/heap.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

namespace llmsim::driver {

TEST_CASE("prefer_huge_pages advises the heap once where the kernel offers huge pages",
          "[driver]") {
  std::string mode;
  std::getline(std::ifstream("/sys/kernel/mm/transparent_hugepage/enabled"), mode);
  const bool offered = mode.find("[always]") != std::string::npos ||
                       mode.find("[madvise]") != std::string::npos;
  const bool advised = prefer_huge_pages();
  if (offered) CHECK(advised);
  CHECK(prefer_huge_pages() == advised);  // the same answer, nothing done again
  // The reserved range serves allocations, large and small.
  void* big = std::malloc(kReserveBytes / 2);
  REQUIRE(big != nullptr);
  std::memset(big, 1, kReserveBytes / 2);
  void* small = std::malloc(64);
  REQUIRE(small != nullptr);
  std::free(small);
  std::free(big);
}

}  // namespace llmsim::driver
