#include "arch/values/machine.h"

#include <string>

#include "arch/values/semantics.h"
#include "sim/core/error.h"

namespace llmsim::values {

Machine::Machine(std::uint32_t cores, std::uint64_t scratchpad_bytes,
                 std::uint64_t accumulator_bytes, std::vector<isa::DType> op_dtypes,
                 bool record_stores)
    : m_dtypes(std::move(op_dtypes)), m_stored(record_stores ? m_dtypes.size() : 0) {
  m_cores.reserve(cores);
  for (std::uint32_t c = 0; c < cores; ++c) {
    m_cores.push_back({SramImage(scratchpad_bytes), SramImage(accumulator_bytes)});
  }
}

Format Machine::format(int op, std::uint32_t bytes) const {
  LLMSIM_CHECK(op >= 0 && std::size_t(op) < m_dtypes.size(), "value mode: an instruction of no op");
  const isa::DType d = m_dtypes[std::size_t(op)];
  switch (bytes) {
    case 1:
      return Format::int8;
    case 2:
      LLMSIM_CHECK(
          d == isa::DType::fp16 || d == isa::DType::bf16,
          std::string("value mode: a 2-byte element in an op of dtype ") + isa::to_string(d));
      return element_format(d);
    case 4:
      return d == isa::DType::int8 ? Format::int32 : Format::fp32;
  }
  LLMSIM_CHECK(false, "value mode: an element of " + std::to_string(bytes) + " bytes");
  return Format::fp32;
}

SramImage& Machine::sram(std::uint32_t core, isa::Sram s) {
  LLMSIM_CHECK(core < m_cores.size(), "value mode: core out of range");
  return s == isa::Sram::scratchpad ? m_cores[core].scratchpad : m_cores[core].accumulator;
}

void Machine::load(std::uint32_t core, const isa::DmaLoad& i, int op) {
  values::load(i, m_dram, sram(core, i.dst));
}

void Machine::store(std::uint32_t core, const isa::DmaStore& i, int op) {
  // format() checks op first; then DRAM and the op's own record take the same converted rows.
  const Format from = format(op, i.sram_elem_bytes), to = format(op, i.dram_elem_bytes);
  values::store(i, sram(core, i.src), from, to, m_dram,
                m_stored.empty() ? nullptr : &m_stored[std::size_t(op)]);
}

void Machine::gemm(std::uint32_t core, const isa::Gemm& i, int op) {
  values::gemm(i, sram(core, isa::Sram::scratchpad), sram(core, isa::Sram::accumulator));
}

void Machine::vector(std::uint32_t core, const isa::VectorOp& i, int op) {
  const Format src2 = i.src2_rows ? format(op, i.src2.elem_bytes) : Format::fp32;
  values::vector(i, format(op, i.src.elem_bytes), src2, format(op, i.dst.elem_bytes),
                 sram(core, isa::Sram::scratchpad), sram(core, isa::Sram::accumulator));
}

const DramImage& Machine::stored_by(int op) const {
  if (op < 0 || std::size_t(op) >= m_stored.size()) return m_empty;
  return m_stored[std::size_t(op)];
}

}  // namespace llmsim::values
