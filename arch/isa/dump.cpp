#include "arch/isa/dump.h"

#include <sstream>

namespace llmsim::isa {

const char* to_string(QueueKind q) {
  switch (q) {
    case QueueKind::load:
      return "load";
    case QueueKind::compute:
      return "compute";
    case QueueKind::store:
      return "store";
  }
  return "?";
}

const char* to_string(VectorKind k) {
  switch (k) {
    case VectorKind::add:
      return "add";
    case VectorKind::mul:
      return "mul";
    case VectorKind::scale:
      return "scale";
    case VectorKind::mask:
      return "mask";
    case VectorKind::relu:
      return "relu";
    case VectorKind::gelu:
      return "gelu";
    case VectorKind::silu:
      return "silu";
    case VectorKind::tanh:
      return "tanh";
    case VectorKind::softmax:
      return "softmax";
    case VectorKind::layernorm:
      return "layernorm";
    case VectorKind::rmsnorm:
      return "rmsnorm";
    case VectorKind::rope:
      return "rope";
    case VectorKind::quantize:
      return "quantize";
    case VectorKind::dequantize:
      return "dequantize";
    case VectorKind::copy:
      return "copy";
  }
  return "?";
}

const char* to_string(RopePairs p) {
  return p == RopePairs::halves ? "halves" : "adjacent";
}

namespace {

const char* to_string(Sram s) {
  return s == Sram::scratchpad ? "spad" : "acc";
}

std::string hex(std::uint64_t x) {
  std::ostringstream os;
  os << "0x" << std::hex << x;
  return os.str();
}

std::string block(const Block& b) {
  return std::to_string(b.rows) + "x" + std::to_string(b.cols) + " dram=" + hex(b.dram_addr) +
         " stride=" + std::to_string(b.dram_stride_bytes);
}

// "spad:0x100/2B": SRAM, address, stored element width.
std::string operand(const VectorOperand& o) {
  return std::string(to_string(o.sram)) + ":" + hex(o.addr) + "/" + std::to_string(o.elem_bytes) +
         "B";
}

// A real-valued parameter as an ostream prints it (6 significant digits).
std::string number(double x) {
  std::ostringstream os;
  os << x;
  return os.str();
}

struct Printer {
  std::string operator()(const DmaLoad& i) const {
    return "dma.load   " + block(i.block) + " -> " + to_string(i.dst) + ":" +
           hex(i.block.sram_addr) + " elem=" + std::to_string(i.elem_bytes) + "B";
  }
  std::string operator()(const DmaStore& i) const {
    return "dma.store  " + std::string(to_string(i.src)) + ":" + hex(i.block.sram_addr) + " -> " +
           block(i.block) + " elem=" + std::to_string(i.sram_elem_bytes) + "B->" +
           std::to_string(i.dram_elem_bytes) + "B" +
           (i.scale != 1.0f ? " scale=" + number(i.scale) : std::string());
  }
  std::string operator()(const Gemm& i) const {
    // The dataflow only when the Gemm names one (none: the array's default).
    const char* df = !i.dataflow                   ? ""
                     : *i.dataflow == Dataflow::ws ? " dataflow=ws"
                     : *i.dataflow == Dataflow::os ? " dataflow=os"
                                                   : " dataflow=is";
    return std::string("gemm       ") + to_string(i.dtype) + " m=" + std::to_string(i.m) +
           " k=" + std::to_string(i.k) + " n=" + std::to_string(i.n) + " a=spad:" + hex(i.a_addr) +
           " b=spad:" + hex(i.b_addr) + (i.b_transposed ? "^T" : "") + " c=acc:" + hex(i.c_addr) +
           (i.accumulate ? " +=" : " =") +
           (i.bias_addr ? " bias=spad:" + hex(*i.bias_addr) : std::string()) + df;
  }
  std::string operator()(const VectorOp& i) const {
    std::string out = std::string("vec.") + to_string(i.kind);
    out += std::string(out.size() < 11 ? 11 - out.size() : 1, ' ');
    out += std::string(isa::to_string(i.dtype)) + " " + std::to_string(i.rows) + "x" +
           std::to_string(i.cols) + " " + operand(i.src) + " -> " + operand(i.dst);
    if (i.src2_rows > 0) {
      out += " src2=" + operand(i.src2) + " src2_rows=" + std::to_string(i.src2_rows);
    }
    switch (i.kind) {
      case VectorKind::scale:
      case VectorKind::quantize:
      case VectorKind::dequantize:
        out += " scalar=" + number(i.scalar);
        break;
      case VectorKind::layernorm:
      case VectorKind::rmsnorm:
        out += " eps=" + number(i.epsilon);
        break;
      case VectorKind::mask:
        out += " q0=" + std::to_string(i.mask.query_pos0) +
               " k0=" + std::to_string(i.mask.key_pos0) +
               " rows/q=" + std::to_string(i.mask.rows_per_query);
        break;
      case VectorKind::rope:
        out += std::string(" pairs=") + to_string(i.rope_pairs);
        break;
      default:
        break;
    }
    // Quantisation steps, when not 1.
    if (i.src_scale != 1.0f) out += " src_scale=" + number(i.src_scale);
    if (i.src2_scale != 1.0f) out += " src2_scale=" + number(i.src2_scale);
    if (i.dst_scale != 1.0f) out += " dst_scale=" + number(i.dst_scale);
    return out;
  }
  std::string operator()(const SemSignal& i) const {
    return "sem.signal s" + std::to_string(i.sem) + (i.after_reads ? " after_reads" : "");
  }
  std::string operator()(const SemWait& i) const { return "sem.wait   s" + std::to_string(i.sem); }
  std::string operator()(const Barrier& i) const { return "barrier    b" + std::to_string(i.id); }
};

}  // namespace

std::string to_string(const Instruction& inst) {
  return std::visit(Printer{}, inst.body);
}

void dump(std::ostream& os, const Program& program) {
  for (std::size_t c = 0; c < program.cores.size(); ++c) {
    const CoreProgram& core = program.cores[c];
    os << "core" << c << " semaphores:";
    for (std::size_t s = 0; s < core.semaphore_init.size(); ++s) {
      os << " s" << s << "=" << core.semaphore_init[s];
    }
    os << "\n";
    for (QueueKind q : kQueues) {
      const auto& insts = core.queue(q);
      for (std::size_t i = 0; i < insts.size(); ++i) {
        os << "core" << c << "." << to_string(q) << "[" << i << "] ";
        if (insts[i].op >= 0) os << "op" << insts[i].op << " ";
        os << to_string(insts[i]) << "\n";
      }
    }
  }
}

}  // namespace llmsim::isa
