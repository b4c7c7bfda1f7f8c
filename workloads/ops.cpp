#include "workloads/ops.h"

#include "sim/core/error.h"

namespace llmsim::workloads {

namespace {

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

}  // namespace

const char* to_string(Source s) {
  switch (s) {
    case Source::op:
      return "op";
    case Source::input:
      return "input";
    case Source::weight:
      return "weight";
    case Source::kv_cache:
      return "kv_cache";
  }
  return "?";
}

std::size_t arity(VectorKind k) {
  return k == VectorKind::add || k == VectorKind::mul ? 2 : 1;
}

const OpInfo& Op::info() const {
  return std::visit([](const auto& o) -> const OpInfo& { return o; }, m_body);
}

std::string Op::kind() const {
  return std::visit(Overloaded{[](const MatmulOp&) -> std::string { return "matmul"; },
                               [](const VectorOp& v) -> std::string { return to_string(v.kind); },
                               [](const EmbeddingOp&) -> std::string { return "embedding"; },
                               [](const KvWriteOp&) -> std::string { return "kv_write"; }},
                    m_body);
}

std::uint64_t Op::output_elements() const {
  return std::visit([](const auto& o) { return o.output_elements(); }, m_body);
}

std::vector<Operand> Op::operands() const {
  return std::visit(Overloaded{[](const MatmulOp& o) {
                                 return std::vector<Operand>{o.a, o.b};
                               },
                               [](const VectorOp& o) { return o.inputs; },
                               [](const EmbeddingOp&) { return std::vector<Operand>{}; },
                               [](const KvWriteOp& o) { return std::vector<Operand>{o.input}; }},
                    m_body);
}

std::uint64_t Op::macs() const {
  const auto* mm = get_if<MatmulOp>();
  return mm ? mm->macs() : 0;
}

}  // namespace llmsim::workloads
