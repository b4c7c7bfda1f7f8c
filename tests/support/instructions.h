#pragma once
// Picking instructions out of a lowered program in the workloads tests.
#include <variant>
#include <vector>

#include "arch/isa/isa.h"

namespace llmsim::testing {

// The instructions of kind T (isa::DmaLoad, isa::VectorOp, ...) that op `op` put in queue `q`,
// in queue order.
template <class T>
std::vector<T> of(const isa::InstructionQueue& q, int op) {
  std::vector<T> out;
  for (const auto& i : q) {
    if (i.op != op) continue;
    if (const auto* x = std::get_if<T>(&i.body)) out.push_back(*x);
  }
  return out;
}

}  // namespace llmsim::testing
