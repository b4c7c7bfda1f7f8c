#pragma once
// One core: a controller with three decoupled in-order queues (load, compute, store) that run
// as three SC_THREADs and meet at semaphores; a systolic array and a vector unit, both driven
// by the compute queue; a banked scratchpad and accumulator; a DMA engine to the memory backend.
#include <array>
#include <deque>
#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <systemc>

#include "arch/core/activity.h"
#include "arch/core/op_record.h"
#include "arch/core/sync.h"
#include "arch/dma/dma_engine.h"
#include "arch/isa/isa.h"
#include "arch/sram/banked_sram.h"
#include "arch/systolic/systolic_array.h"
#include "arch/values/machine.h"
#include "arch/vector/vector_unit.h"

namespace llmsim::core {

struct CoreParams {
  double clock_mhz = 1000;
  systolic::SystolicParams systolic;
  vector::VectorParams vector;
  sram::BankedSramParams scratchpad;
  sram::BankedSramParams accumulator;
  dma::DmaParams dma;

  static CoreParams parse(config::Reader& r);
};

class Core : public sc_core::sc_module {
 public:
  Core(const sc_core::sc_module_name& name, std::uint32_t id, const CoreParams& p,
       memory::MemoryBackend& mem, BarrierHub& barriers, OpRecords& ops, stats::Group& parent);

  // Gives the core its program; before sc_start. `program` must outlive the simulation.
  void load(const isa::CoreProgram& program);
  // Before sc_start: records the work of the DMA engine, array and vector unit on `tl`, as
  // tracks of a process named after the core.
  void trace_to(timeline::Timeline& tl);
  // Before sc_start: value mode (arch/values/machine.h); the core makes each instruction's
  // values as it takes effect. Null (the default): timing only.
  void set_values(values::Machine* v) { m_values = v; }

  const ClockDomain& clock() const { return m_clock; }
  const CoreParams& params() const { return m_params; }
  // True once every queue has run its last instruction.
  bool finished() const;
  // For a deadlock report: where each unfinished queue stopped.
  std::string where_stuck() const;
  // An exception a queue raised while running (the simulation is then stopped); null if none.
  std::exception_ptr error() const { return m_error ? m_error : m_dma.error(); }
  // After sc_start: closes the activity record; then activity() classifies any span's cycles.
  void finish_activity() { m_activity.finish(); }
  const CoreActivity& activity() const { return m_activity; }

 private:
  void run_load() { run(isa::QueueKind::load); }
  void run_compute() { run(isa::QueueKind::compute); }
  void run_store() { run(isa::QueueKind::store); }
  void run(isa::QueueKind q);
  void execute(isa::QueueKind q, const isa::Instruction& inst);
  // Blocks until every DMA block queue `q` issued has completed (a barrier, the end of a queue).

  void drain(isa::QueueKind q);
  void dma_done(isa::QueueKind q, std::uint64_t epoch, OpRecord* rec, bool write, Cycles end,
                std::uint64_t bytes);
  // Signals the semaphores of queue q's leading epochs that have completed (m_epochs).
  void retire_epochs(isa::QueueKind q);
  // Counts a DMA block issued by queue q in its open epoch; returns the epoch's id.
  std::uint64_t open_epoch(isa::QueueKind q) {
    ++m_in_flight[int(q)];
    ++m_epochs[int(q)].back().in_flight;
    return m_first_epoch[int(q)] + m_epochs[int(q)].size() - 1;
  }
  // Blocks the compute queue until every GEMM it issued is done (results in the accumulator).
  void wait_for_array() { m_clock.wait_until(m_systolic.done()); }
  // A compute-queue sem.signal while GEMMs are in flight: takes effect when they are done,
  // without blocking the queue (fire_deferred, an SC_METHOD, signals them in order).
  void defer_signal(Cycles when, std::uint32_t sem);
  void fire_deferred();
  void notify_next_deferred();  // m_deferred_due at the earliest deferred signal's cycle
  OpRecord* record(const isa::Instruction& inst);

  std::uint32_t m_id;
  CoreParams m_params;
  ClockDomain m_clock;
  const isa::CoreProgram* m_program = &m_empty;
  isa::CoreProgram m_empty;
  BarrierHub& m_barriers;
  OpRecords& m_ops;
  values::Machine* m_values = nullptr;

  stats::Group m_stats;
  sram::BankedSram m_spad;
  sram::BankedSram m_acc;
  systolic::SystolicArray m_systolic;
  vector::VectorUnit m_vector;
  dma::DmaEngine m_dma;
  std::vector<std::unique_ptr<Semaphore>> m_sems;
  std::array<std::size_t, 3> m_pc{};  // next instruction of each queue
  std::exception_ptr m_error;
  std::array<std::uint64_t, 3> m_in_flight{};  // DMA blocks issued and not complete, per queue
  // Per queue, its DMA blocks in flight grouped in epochs that its sem.signals close (the last
  // epoch is open): a closed epoch's semaphores are signalled once its blocks and those of
  // every earlier epoch have completed, while the queue goes on issuing (release semantics
  // without blocking, as a decoupled DMA queue tracks completions).
  struct Epoch {
    std::uint64_t in_flight = 0;
    std::vector<std::uint32_t> sems;
  };
  std::array<std::deque<Epoch>, 3> m_epochs;
  std::array<std::uint64_t, 3> m_first_epoch{};  // the id of m_epochs[q].front()
  sc_core::sc_event m_dma_completed;
  std::deque<std::pair<Cycles, std::uint32_t>> m_deferred;  // (when, semaphore), by time
  sc_core::sc_event m_deferred_due;
  stats::Counter m_sem_wait_cycles;
  CoreActivity m_activity;
};

}  // namespace llmsim::core
