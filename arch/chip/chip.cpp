#include "arch/chip/chip.h"

#include "sim/core/config.h"
#include "sim/core/error.h"

namespace llmsim::chip {

ChipParams ChipParams::parse(config::Reader& r) {
  ChipParams p;
  const auto n = r.count("num_cores", 1);
  if (n > 1024) r.fail("num_cores", "must be at most 1024, got " + std::to_string(n));
  p.num_cores = std::uint32_t(n);
  p.core = r.parse_child<core::CoreParams>("core");
  // "noc": null (or no "noc" key) connects the cores to the memory directly.
  if (r.is_null("noc")) {
    r.ignore("noc");
  } else if (r.has("noc")) {
    p.noc = r.parse_child<noc::NocParams>("noc");
  }
  return p;
}

Chip::Chip(const sc_core::sc_module_name& name, const ChipParams& p, config::Reader& memory_config)
    : sc_module(name), m_params(p), m_stats(basename()), m_barriers(p.num_cores) {
  const std::string type = memory_config.choice("type", memory::MemoryRegistry::instance().names(),
                                                std::string("simple"));
  m_memory = memory::MemoryRegistry::instance().create(type, memory_config.key_path("type"),
                                                       "memory", memory_config, m_stats);
  memory_config.finish();
  if (p.noc) {
    m_placement = noc::place(*p.noc, p.num_cores, m_memory->ports(), "noc");
    m_noc = std::make_unique<NocFabric>("noc", *p.noc, m_stats);
    for (std::uint32_t i = 0; i < p.num_cores; ++i) {
      m_ports.push_back(std::make_unique<NocMemoryPort>(*m_noc, *m_memory, m_placement.core_node[i],
                                                        m_placement.memory_node));
    }
  }
  for (std::uint32_t i = 0; i < p.num_cores; ++i) {
    const std::string core_name = "core" + std::to_string(i);
    memory::MemoryBackend& mem = m_ports.empty() ? *m_memory : *m_ports[i];
    m_cores.push_back(std::make_unique<core::Core>(core_name.c_str(), i, p.core, mem, m_barriers,
                                                   m_ops, m_stats));
  }
}

void Chip::load(isa::Program program, std::size_t num_ops) {
  LLMSIM_CHECK(program.cores.size() <= m_params.num_cores, "more core programs than cores");
  m_program = std::move(program);
  m_program.cores.resize(m_params.num_cores);
  m_ops.assign(num_ops, core::OpRecord{});
  for (std::size_t i = 0; i < m_cores.size(); ++i) m_cores[i]->load(m_program.cores[i]);
}

void Chip::set_values(values::Machine* v) {
  for (const auto& c : m_cores) c->set_values(v);
}

void Chip::trace_to(timeline::Timeline& tl) {
  for (const auto& c : m_cores) c->trace_to(tl);
  m_memory->trace_to(tl);
}

void Chip::finish() {
  for (const auto& c : m_cores) {
    if (c->error()) std::rethrow_exception(c->error());
  }
  std::string stuck;
  for (const auto& c : m_cores) {
    if (!c->finished()) stuck += (stuck.empty() ? "" : "; ") + c->where_stuck();
  }
  LLMSIM_CHECK(stuck.empty(), "the program deadlocked: " + stuck);
  for (const auto& c : m_cores) c->finish_activity();
  m_memory->finish();
}

}  // namespace llmsim::chip
