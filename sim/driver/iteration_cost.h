#pragma once
// The time and energy of one serving iteration on the chip (`llmsim serve`, serve.h). Two ways:
//
//  - ExactCost: the iteration is built (workloads::build_iteration, every layer), lowered and
//    simulated like any workload. An iteration equal to one already simulated (the same
//    sequences, KV lengths and block tables, hence the same DRAM addresses) reuses its result.
//
//  - TableCost, the named approximation "table". Its premise: an iteration is the embedding,
//    N identical layers and the head, and a layer is dense work on all T tokens plus attention
//    per sequence. So
//        cycles = emb(T) + N x (dense(T) + sum_i attn(s_i, L_i)) + norm(T) + lm_head(E)
//    with T the tokens of the batch, s_i and L_i a sequence's new tokens and KV length, E the
//    rows that emit a token. Each term is measured on the chip, by simulating calibration
//    iterations of `calibration_layers` layers and charging every op its increment of the
//    span (how far its end passes every earlier op's end; the increments add up to the run's
//    cycles, overlaps included), a layer's share being the mean over the simulated layers:
//      - emb, dense, norm and attn(s, 0) on a grid of T (the powers of two, and from 64 on
//        their halfway points 3 x 2^k too, up to the token budget; below about a hundred
//        tokens a layer's time is its weights' reading, nearly flat): T tokens of prompts,
//        nothing cached, in sequences of at most the longest request's tokens (attn(s, 0)
//        from the first, s up to that length);
//      - attn(1, L), a decode, on a grid of L (0 and the same geometric points up to the
//        longest KV a request reaches): one calibration iteration holding a decode at each;
//      - attn(s, L) for a chunk (s > 1) with a cache: attn(s, 0) + L x slope(s), the slope
//        measured at L1 = min(1024, longest KV - s) on the grid of s;
//      - lm_head(E) on the grid of E: E one-token sequences that all emit, one layer. (An iteration
//        where some rows do not emit first copies out those that do: a vector op on E rows
//        that no table holds.) The other calibration runs emit nothing, so that their head
//        is the final norm alone (the LM head of Llama-3-8B reads 1 GB of weights: it would
//        double the cost of a small calibration run).
//    Between grid points a term is interpolated linearly. calibrate() simulates every grid point
//    before the first cost(), on all cores at once; each point's value depends only on the
//    chip, the model and the options, so the points are shared by every TableCost of a process
//    with the same ones. A calibration run's energy is split between its ops by the work that
//    spends it (the arrays and their SRAMs per MAC, DRAM, NoC and DMA per DRAM byte, leakage
//    and the vector units per cycle of the span) and interpolated the same way.
//    Identical layers lie alike in DRAM (large buffers start at multiples of the memory's
//    interleaving period, dram_buffers.h), so they take the same cycles but for where the
//    DRAM refreshes fall. What the premise leaves out -- that refresh phase, overlaps between
//    neighbouring parts that a calibration run arranges otherwise, the block tables' addresses
//    -- is the error that serve measures on sampled iterations against ExactCost and reports.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sim/core/config.h"
#include "workloads/lowering.h"
#include "workloads/model_config.h"
#include "workloads/serving/iteration_workload.h"

namespace llmsim::driver {

struct RunResult;

struct IterationCost {
  std::uint64_t cycles = 0;  // core cycles
  double energy_pj = 0;
};

// What simulates an iteration: the chip, the model and the mapping, and a count of the work.
class ChipRunner {
 public:
  ChipRunner(std::string arch_name, config::Json arch, std::vector<std::string> overrides,
             workloads::ModelConfig model, workloads::MappingOptions mapping);

  // `why` names the run in the log ("calibration: 64 tokens").
  RunResult run(const workloads::IterationShape& shape, const std::string& why);
  const workloads::ModelConfig& model() const { return m_model; }
  // Called after every simulation with a line saying what ran and how long it took.
  std::function<void(const std::string&)> log;

  // Counts a simulation run elsewhere (a child process) of `cycles` cycles.
  void count(std::uint64_t cycles) { ++m_simulations, m_cycles += cycles; }
  std::uint64_t simulations() const { return m_simulations; }
  std::uint64_t simulated_cycles() const { return m_cycles; }
  double wall_seconds() const { return m_wall; }

 private:
  std::string m_arch_name;
  config::Json m_arch;
  std::vector<std::string> m_overrides;
  workloads::ModelConfig m_model;
  workloads::MappingOptions m_mapping;
  std::uint64_t m_simulations = 0, m_cycles = 0;
  double m_wall = 0;
};

class IterationCoster {
 public:
  virtual ~IterationCoster() = default;
  virtual IterationCost cost(const workloads::IterationShape& shape) = 0;
};

class ExactCost : public IterationCoster {
 public:
  explicit ExactCost(ChipRunner& runner) : m_runner(runner) {}
  IterationCost cost(const workloads::IterationShape& shape) override;
  std::uint64_t reused() const { return m_reused; }

 private:
  ChipRunner& m_runner;
  std::map<std::string, IterationCost> m_memo;
  std::uint64_t m_reused = 0;
};

struct TableOptions {
  std::uint64_t calibration_layers = 3;  // layers of each calibration iteration, >= 1
  // The most tokens an iteration holds: the budget, at most all the requests' tokens and
  // what the KV cache holds.
  std::uint64_t max_tokens = 1;
  std::uint64_t max_kv = 1;              // the longest KV (kv_len + tokens) a sequence reaches
  std::uint64_t max_emits = 1;  // the most sequences an iteration holds (each >= 1 KV block)
  std::uint64_t block_size = 16;
  std::uint64_t num_blocks = 1;  // the KV pool's blocks, as the run's iterations have
  isa::DType dtype = isa::DType::bf16;
};

class TableCost : public IterationCoster {
 public:
  // `key` names the chip, the model and the mapping (the tables are shared under it and o's
  // fields).
  TableCost(ChipRunner& runner, const TableOptions& o, const std::string& key);
  IterationCost cost(const workloads::IterationShape& shape) override;
  std::uint64_t calibration_runs() const { return m_runs; }

  // Measures every grid point not measured yet (by an earlier TableCost of the same key), up
  // to `width` runs at once in child processes (fork_pool.h). Before any cost().
  void calibrate(unsigned width);

  // The grid of a table: 1, 2, 4, ..., 64, 96, 128, 192, ... (2^k, and 3 x 2^(k-1) from 96)
  // below `hi`, then `hi`.
  static std::vector<std::uint64_t> grid(std::uint64_t hi);

 private:
  struct Point {
    double cycles = 0, pj = 0;
  };
  // One calibration run split into parts, per layer for the layers' parts.
  struct Parts {
    Point emb, dense, norm, lm_head;
    std::vector<Point> seqs;  // attention of each sequence, per layer
  };
  Parts measure(const std::vector<workloads::IterationSeq>& seqs, const std::string& why,
                std::uint64_t layers);
  // The calibration runs' sequences.
  std::vector<workloads::IterationSeq> prefill_seqs(std::uint64_t t) const;
  std::vector<workloads::IterationSeq> chunk_seqs(std::uint64_t s) const;  // after slope_kv(s)
  std::vector<std::vector<workloads::IterationSeq>> decode_batches() const;
  std::uint64_t slope_kv(std::uint64_t s) const;
  // The calibrated points (an internal error if calibrate() has not measured them).
  const Parts& prefill(std::uint64_t t) const;  // t tokens of prompts, nothing cached
  Point slope(std::uint64_t s) const;           // attn(s, L) - attn(s, 0) per cached token
  Point decode(std::uint64_t kv) const;         // attn(1, kv), interpolated
  Point lm_head(std::uint64_t e) const;         // interpolated
  template <class F>
  static Point interpolate(const std::vector<std::uint64_t>& grid, std::uint64_t x, F&& at);

  ChipRunner& m_runner;
  TableOptions m_o;
  std::uint64_t m_layers = 1;  // of the model
  // T for the dense parts; s for a chunk's attention (s <= max_kv); L for a decode's; E.
  std::vector<std::uint64_t> m_token_grid, m_chunk_grid, m_kv_grid, m_emit_grid;
  // The measured points, shared by every TableCost of this process with the same chip, model,
  // mapping and options (a sweep over request rates calibrates once): a point's value is a
  // function of those alone.
  struct Tables {
    std::map<std::uint64_t, Parts> prefill;
    std::map<std::uint64_t, Point> slope, lm_head;
    std::map<std::uint64_t, Point> decode;  // all of the kv grid at once
  };
  std::shared_ptr<Tables> m_t;
  std::uint64_t m_runs = 0;
  bool m_calibrated = false;
};

}  // namespace llmsim::driver
