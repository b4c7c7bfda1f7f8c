#pragma once
// The process heap, prepared for a simulation's allocation pattern.
//
// A run allocates tens of MiB within a few milliseconds and touches every page once: the ISA
// program (54 k instructions of 176 B for BERT-base on datacenter, 400 k for edge), the
// controllers' queues, the NoC's calendar, the stats. On a virtual machine a first touch of a
// 4 KiB page costs about 10 us (measured on this 2-core VM: 10 MiB in 27-35 ms by 4 KiB faults,
// under 1 ms as 2 MiB transparent huge pages), so faults alone were about 5 % of a BERT-base run.
//
// prefer_huge_pages() (once per process; later calls do nothing) reserves kReserveBytes at the
// top of the heap, asks the kernel to back that range with transparent huge pages
// (madvise(MADV_HUGEPAGE), honoured when /sys/kernel/mm/transparent_hugepage/enabled is
// "always" or "madvise") and hands it back to malloc untouched, keeping it in the heap: the
// allocations that follow fault it in 2 MiB at a time. Nothing is touched up front, so where
// the kernel has no huge pages to give, nothing is lost. glibc's tunable
// glibc.malloc.hugetlb=1 does the same for the whole heap, but only from the environment at
// start-up.
#include <cstddef>

namespace llmsim::driver {

inline constexpr std::size_t kReserveBytes = std::size_t{30} << 20;

// Returns whether the range was advised (false where madvise is refused); every call gives the
// first call's answer.
bool prefer_huge_pages();

}  // namespace llmsim::driver
