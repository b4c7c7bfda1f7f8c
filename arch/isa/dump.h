#pragma once
// Human-readable listing of ISA programs (`llmsim compile`).
#include <ostream>
#include <string>

#include "arch/isa/isa.h"

namespace llmsim::isa {

std::string to_string(const Instruction& inst);
const char* to_string(VectorKind k);  // "softmax"
const char* to_string(RopePairs p);   // "halves"
void dump(std::ostream& os, const Program& program);

}  // namespace llmsim::isa
