#pragma once
// Lowers a workload to one ISA program per core.
//
// So far only dense matmuls: A (m x k, an input or an earlier matmul's m x k output) times a
// weight B (k x n). Any other op kind, and matmuls with batch > 1, transpose_b, bias or B not a
// weight, are a WorkloadError naming the op ("ops[5] 'layer0.softmax' (softmax): not lowered
// yet"), never a zero-cost placeholder.
//
// DRAM layout: every tensor (each op's A unless it is an earlier op's output, B and C) gets its
// own row-major region, 4 KiB aligned, in op order from address 0.
// Per op: the output is cut into (mt x nt) tiles, dealt round-robin to the cores; each core
// walks its output tiles, and for each the k tiles:
//   load:    wait ab_free;  load A(mi,ki), B(ki,ni) into scratchpad slot s;  signal ab_full
//   compute: wait ab_full;  [first k: wait acc_free]  gemm (+= after the first k);
//            signal ab_free;  [last k: signal acc_full]
//   store:   wait acc_full; store C(mi,ni) from accumulator slot a;  signal acc_free
// The two scratchpad slots and the two accumulator slots alternate, so loads of the next tile
// and stores of the previous one overlap the current GEMM (double buffering).
// An op whose A is an earlier op's output waits, on every core, until that op's stores are done
// on its core (a semaphore from the store queue) and then on all cores (a barrier).
#include <cstddef>
#include <vector>

#include "arch/isa/isa.h"
#include "workloads/target.h"
#include "workloads/tiling.h"
#include "workloads/workload.h"

namespace llmsim::workloads {

struct Lowered {
  isa::Program program;
  std::vector<Tiling> tilings;  // one per op
};

Lowered lower(const Workload& w, const Target& t);

}  // namespace llmsim::workloads
