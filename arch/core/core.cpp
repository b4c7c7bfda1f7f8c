#include "arch/core/core.h"

#include <iterator>

#include "arch/isa/dump.h"
#include "sim/core/config.h"
#include "sim/core/error.h"

namespace llmsim::core {

CoreParams CoreParams::parse(config::Reader& r) {
  CoreParams p;
  p.clock_mhz = r.clock_mhz("clock_mhz");
  p.systolic = r.parse_child<systolic::SystolicParams>("systolic");
  p.vector = r.parse_child<vector::VectorParams>("vector");
  p.scratchpad = r.parse_child<sram::BankedSramParams>("scratchpad");
  p.accumulator = r.parse_child<sram::BankedSramParams>("accumulator");
  p.dma = r.parse_child<dma::DmaParams>("dma");
  return p;
}

Core::Core(const sc_core::sc_module_name& name, std::uint32_t id, const CoreParams& p,
           memory::MemoryBackend& mem, BarrierHub& barriers, OpRecords& ops, stats::Group& parent)
    : sc_module(name),
      m_id(id),
      m_params(p),
      m_clock(p.clock_mhz),
      m_barriers(barriers),
      m_ops(ops),
      m_stats(parent, basename()),
      m_spad(p.scratchpad, m_stats, "scratchpad", &m_clock),
      m_acc(p.accumulator, m_stats, "accumulator", &m_clock),
      m_systolic(p.systolic, m_clock, m_stats),
      m_vector(p.vector, m_clock, m_stats),
      m_dma("dma", p.dma, m_clock, mem, id, m_stats),
      m_sem_wait_cycles(m_stats, "semaphore_wait_cycles", "cycle",
                        "cycles queues spent blocked on semaphores, summed over queues") {
  SC_HAS_PROCESS(Core);
  SC_THREAD(run_load);
  SC_THREAD(run_compute);
  SC_THREAD(run_store);
  SC_METHOD(fire_deferred);
  sensitive << m_deferred_due;
  dont_initialize();
}

void Core::defer_signal(Cycles when, std::uint32_t sem) {
  // Kept sorted by time (stable: equal times in program order); mostly appended.
  auto it = m_deferred.end();
  while (it != m_deferred.begin() && std::prev(it)->first > when) --it;
  m_deferred.emplace(it, when, sem);
  notify_next_deferred();
}

void Core::notify_next_deferred() {
  // An earlier notification replaces a pending later one (and a later one is ignored).
  if (m_deferred.empty()) return;
  m_deferred_due.notify(m_clock.to_time(m_deferred.front().first) - sc_core::sc_time_stamp());
}

void Core::fire_deferred() {
  const Cycles now = m_clock.now();
  while (!m_deferred.empty() && m_deferred.front().first <= now) {
    m_sems[m_deferred.front().second]->signal();
    m_deferred.pop_front();
  }
  notify_next_deferred();
}

void Core::load(const isa::CoreProgram& program) {
  m_program = &program;
  m_activity.reset(m_ops.size());
  m_sems.clear();
  for (isa::QueueKind q : isa::kQueues) {
    m_epochs[int(q)].assign(1, Epoch{});
    m_first_epoch[int(q)] = 0;
  }
  for (std::uint32_t init : program.semaphore_init) {
    m_sems.push_back(std::make_unique<Semaphore>(init));
  }
}

void Core::trace_to(timeline::Timeline& tl) {
  const std::uint32_t pid = tl.process(basename());
  m_dma.trace_to(tl, pid);
  m_systolic.trace_to(tl, pid);
  m_vector.trace_to(tl, pid);
}

bool Core::finished() const {
  for (isa::QueueKind q : isa::kQueues) {
    if (m_pc[int(q)] < m_program->queue(q).size()) return false;
  }
  return true;
}

std::string Core::where_stuck() const {
  std::string out;
  for (isa::QueueKind q : isa::kQueues) {
    const std::size_t pc = m_pc[int(q)];
    if (pc >= m_program->queue(q).size()) continue;
    out += std::string(out.empty() ? "" : "; ") + name() + "." + isa::to_string(q) + "[" +
           std::to_string(pc) + "] " + isa::to_string(m_program->queue(q)[pc]);
  }
  return out;
}

OpRecord* Core::record(const isa::Instruction& inst) {
  if (inst.op < 0) return nullptr;
  LLMSIM_CHECK(std::size_t(inst.op) < m_ops.size(), "instruction names an unknown op");
  return &m_ops[inst.op];
}

void Core::run(isa::QueueKind q) {
  // Exceptions must not cross the SystemC kernel (it would turn them into sc_reports): keep
  // the first one, stop the simulation, and let the driver rethrow it after sc_start.
  try {
    const auto& insts = m_program->queue(q);
    std::size_t& pc = m_pc[int(q)];
    for (; pc + 1 < insts.size(); ++pc) execute(q, insts[pc]);
    if (pc < insts.size()) {  // the last instruction counts as done once its work completed
      execute(q, insts[pc]);
      drain(q);
      if (q == isa::QueueKind::compute) wait_for_array();
      ++pc;
    }
  } catch (const sc_core::sc_unwind_exception&) {
    throw;  // the kernel's own thread unwinding
  } catch (...) {
    if (!m_error) m_error = std::current_exception();
    sc_core::sc_stop();
  }
}

void Core::drain(isa::QueueKind q) {
  while (m_in_flight[int(q)] > 0) sc_core::wait(m_dma_completed);
}

void Core::retire_epochs(isa::QueueKind q) {
  std::deque<Epoch>& epochs = m_epochs[int(q)];
  while (epochs.size() > 1 && epochs.front().in_flight == 0) {
    // Through the deferred signals, one delta on, as a queue's own signal would come: the
    // order of the completions' callbacks within a cycle then changes nothing.
    for (const std::uint32_t s : epochs.front().sems) defer_signal(m_clock.now(), s);
    epochs.pop_front();
    ++m_first_epoch[int(q)];
  }
}

void Core::dma_done(isa::QueueKind q, std::uint64_t epoch, OpRecord* rec, bool write, Cycles end,
                    std::uint64_t bytes) {
  --m_in_flight[int(q)];
  --m_epochs[int(q)][epoch - m_first_epoch[int(q)]].in_flight;
  retire_epochs(q);
  m_activity.dma_completed(end);
  m_dma_completed.notify(sc_core::SC_ZERO_TIME);
  if (!rec) return;
  (write ? rec->dram_written_bytes : rec->dram_read_bytes) += bytes;
  rec->last_end = max(rec->last_end, end);
}

void Core::execute(isa::QueueKind q, const isa::Instruction& inst) {
  const Cycles start = m_clock.now();
  OpRecord* rec = record(inst);
  bool timed = true;  // synchronisation does not count as work of an op
  if (const auto* i = std::get_if<isa::DmaLoad>(&inst.body)) {
    const std::uint64_t epoch = open_epoch(q);
    m_activity.dma_issued(start);
    m_dma.issue_load(
        *i, i->dst == isa::Sram::scratchpad ? m_spad : m_acc,
        [this, q, epoch, rec, i, op = inst.op](Cycles end, std::uint64_t bytes) {
          if (m_values) m_values->load(m_id, *i, op);
          dma_done(q, epoch, rec, false, end, bytes);
        },
        inst.op);
  } else if (const auto* i = std::get_if<isa::DmaStore>(&inst.body)) {
    const std::uint64_t epoch = open_epoch(q);
    m_activity.dma_issued(start);
    m_dma.issue_store(
        *i, i->src == isa::Sram::scratchpad ? m_spad : m_acc,
        [this, q, epoch, rec, i, op = inst.op](Cycles end, std::uint64_t bytes) {
          if (m_values) m_values->store(m_id, *i, op);
          dma_done(q, epoch, rec, true, end, bytes);
        },
        inst.op);
  } else if (const auto* i = std::get_if<isa::Gemm>(&inst.body)) {
    // With a pipelined array the queue moves on once the array takes the next GEMM; the
    // GEMM's results are there at r.done (timing.h).
    const systolic::GemmRun r = m_systolic.execute(*i, start, m_spad, m_acc, inst.op);
    if (m_values) m_values->gemm(m_id, *i, inst.op);
    m_activity.busy(start, r.done);  // recorded at its start: the queues' starts come in order
    m_clock.wait_until(r.accept);
    if (rec) {
      rec->macs += i->m * i->k * i->n;
      rec->compute_cycles += r.done - r.busy_from;
      rec->last_end = max(rec->last_end, r.done);
    }
  } else if (const auto* i = std::get_if<isa::VectorOp>(&inst.body)) {
    if (q == isa::QueueKind::compute && m_systolic.done() > start) {
      // In order after the GEMMs before it: the array drains (and refills after it).
      wait_for_array();
    }
    const Cycles from = m_clock.now();
    const Cycles end = m_vector.execute(*i, from, m_spad, m_acc, inst.op);
    if (m_values) m_values->vector(m_id, *i, inst.op);
    m_activity.busy(from, end);
    m_clock.wait_until(end);
    if (rec) rec->compute_cycles += end - from;
  } else if (const auto* i = std::get_if<isa::SemSignal>(&inst.body)) {
    LLMSIM_CHECK(i->sem < m_sems.size(), "semaphore out of range");
    // Release semantics without holding up the queue: after the DMA blocks the queue issued
    // before it have completed, and the GEMMs before it are done (or have read their operands).
    // (A compute queue's own DMA blocks, which the lowering never emits, it waits for.)
    std::deque<Epoch>& epochs = m_epochs[int(q)];
    if (q != isa::QueueKind::compute && m_in_flight[int(q)] > 0) {
      epochs.back().sems.push_back(i->sem);
      epochs.emplace_back();
      retire_epochs(q);
    } else {
      drain(q);
      const Cycles after = i->after_reads ? m_systolic.reads_done() : m_systolic.done();
      if (q == isa::QueueKind::compute && after > m_clock.now()) {
        defer_signal(after, i->sem);
      } else {
        m_sems[i->sem]->signal();
      }
    }
    timed = false;
  } else if (const auto* i = std::get_if<isa::SemWait>(&inst.body)) {
    LLMSIM_CHECK(i->sem < m_sems.size(), "semaphore out of range");
    m_sems[i->sem]->wait();
    m_sem_wait_cycles += (m_clock.now() - start).count();
    timed = false;
  } else if (const auto* i = std::get_if<isa::Barrier>(&inst.body)) {
    drain(q);
    if (q == isa::QueueKind::compute) wait_for_array();
    m_barriers.arrive(i->id);
    timed = false;
  }
  if (rec && timed) {
    m_activity.ran(std::size_t(inst.op));
    if (start < rec->first_start) rec->first_start = start;
    rec->last_end = max(rec->last_end, m_clock.now());
  }
}

}  // namespace llmsim::core
