#pragma once
// An iteration-level (continuous-batching) scheduler after vLLM's V1 Scheduler.schedule(),
// without prefix caching, speculative decoding, LoRA or priorities. Each rule and the vLLM
// behaviour it follows (vllm/v1/core/sched/scheduler.py, kv_cache_manager.py):
//
//  1. Tokens, not phases. A sequence knows num_tokens (prompt + tokens generated so far) and
//     num_computed (tokens whose KV is cached); a step schedules num_tokens - num_computed of
//     them, capped. A prefill chunk and a decode token are the same thing to the budget
//     (vLLM: "There's no decoding phase nor prefill phase in the scheduler").
//  2. Running first, in admission order: each running sequence gets
//     min(num_tokens - num_computed, long_prefill_token_threshold if > 0, remaining budget)
//     tokens: 1 for a decode, the rest of its prompt (a chunk) for an unfinished prefill. The
//     loop stops when the budget reaches 0; sequences after that wait for the next step.
//  3. KV blocks are allocated when a sequence is scheduled, for num_computed + new tokens
//     (vLLM allocate_slots; all or nothing).
//  4. Preemption by recompute: when a running sequence's blocks cannot be allocated, the most
//     recently admitted running sequence (the back of the running list, vLLM
//     `self.running.pop()` under FCFS) is preempted: its blocks are freed, num_computed is reset
//     to 0 and it goes to the FRONT of the waiting queue; repeated until the allocation fits or
//     the sequence has preempted itself (then the running loop stops). On readmission it
//     prefills its prompt and every token it had generated (vLLM num_tokens - 0), and that
//     prefill ends by emitting its next token.
//  5. Waiting requests only in a step that preempted nothing (vLLM `if not preempted_reqs`),
//     FCFS from the front of the queue, while the budget is > 0 and the running set holds fewer
//     than max_num_seqs; each gets min(num_tokens, threshold, remaining budget) tokens. Without
//     enable_chunked_prefill a request whose tokens exceed the remaining budget stops the loop
//     (vLLM `break`, no skipping ahead). A request whose blocks cannot be allocated also stops
//     it (no preemption for admissions).
//  6. A sequence emits a token in the step that computes its last known token (the end of its
//     prompt, of a recompute, or a decode); a prefill chunk that ends short of it emits nothing.
//     A request finishes when it has emitted output_tokens tokens; its blocks are freed then.
//     Its KV length at the end is input + output - 1 (the last token is never fed back).
//  7. Requests join the waiting queue at the first step whose time is >= their arrival, in
//     arrival order (ties in trace order).
//  8. Never a hang: at construction, a request whose longest KV (input + output - 1 tokens)
//     needs more blocks than the whole cache, or (without chunked prefill) whose prompt exceeds
//     max_num_batched_tokens, is a WorkloadError naming it (vLLM rejects prompts over
//     max_model_len). With those excluded the oldest running sequence always progresses.
//
// Protocol: step(now) plans one iteration starting at `now` and allocates its blocks; the
// caller runs it and calls finish(iteration, end) before the next step, at a time >= end.
// An empty iteration means nothing is runnable before next_arrival_ns(). The KV block table
// of each scheduled request (state(id).blocks) is final once step() returns: the driver may
// place its blocks at DRAM addresses then.
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "workloads/serving/kv_cache.h"
#include "workloads/serving/request.h"
#include "workloads/serving/scheduler_params.h"

namespace llmsim::serving {

// One sequence's share of an iteration.
struct ScheduledSeq {
  std::uint64_t request_id = 0;
  std::uint64_t num_tokens = 0;     // tokens computed this step (a prefill chunk, or 1)
  std::uint64_t kv_len_before = 0;  // tokens already in its KV cache (they are attended to)
  bool is_prefill = false;          // part of the prompt (or of a recompute), not a decode token
  bool emits_token = false;         // computes its last known token: samples the next one
  // Its KV block table after this step's allocation (kv_len_before + num_tokens tokens; token t
  // in blocks[t / block_size]): where the chip reads and writes its KV.
  std::vector<BlockId> blocks;
};

struct Iteration {
  std::uint64_t index = 0;               // 0, 1, ... over the non-empty iterations
  std::uint64_t start_ns = 0;            // the `now` it was planned at
  std::vector<ScheduledSeq> seqs;        // running ones first, then the newly admitted
  std::vector<std::uint64_t> preempted;  // request ids preempted while planning it
  std::uint64_t kv_blocks_used = 0;      // after this step's allocations
  std::uint64_t num_waiting = 0;         // arrived requests left waiting

  bool empty() const { return seqs.empty(); }
  std::uint64_t num_tokens() const;
  std::uint64_t num_prefill_tokens() const;
  std::uint64_t num_decode_seqs() const;
};

// What the scheduler knows of one request; the metrics are derived from it.
struct RequestState {
  Request request;
  std::uint64_t num_computed = 0;   // tokens with KV in the cache
  std::uint64_t num_generated = 0;  // output tokens emitted
  std::uint64_t prefill_end = 0;    // num_tokens at its last admission: where its prefill ends
  std::vector<BlockId> blocks;      // the KV block table, token t in blocks[t / block_size]
  std::uint64_t preemptions = 0;
  std::optional<std::uint64_t> first_scheduled_ns;
  std::vector<std::uint64_t> token_ns;  // emission time of each output token
  bool finished = false;

  std::uint64_t num_tokens() const { return request.input_tokens + num_generated; }
};

class Scheduler {
 public:
  // `p.num_kv_blocks` must be resolved (SchedulerParams::resolve_num_kv_blocks). Validates the
  // requests (validate_requests, then rule 8); `source` names them in errors.
  Scheduler(const SchedulerParams& p, std::vector<Request> requests,
            const std::string& source = "requests");

  Iteration step(std::uint64_t now_ns);
  void finish(const Iteration& it, std::uint64_t end_ns);

  bool done() const { return m_num_finished == m_states.size(); }
  // The arrival time of the first request not yet in the waiting queue, if any.
  std::optional<std::uint64_t> next_arrival_ns() const;

  const RequestState& state(std::uint64_t request_id) const;
  const std::vector<RequestState>& states() const { return m_states; }
  const KvCache& kv_cache() const { return m_kv; }
  const SchedulerParams& params() const { return m_params; }
  std::size_t num_running() const { return m_running.size(); }
  std::size_t num_waiting() const { return m_waiting.size(); }

 private:
  void admit_arrivals(std::uint64_t now_ns);
  void preempt(std::uint64_t id, Iteration& it);
  void schedule_running(Iteration& it, std::uint64_t& budget);
  void schedule_waiting(Iteration& it, std::uint64_t& budget, std::uint64_t now_ns);
  std::uint64_t cap(std::uint64_t tokens, std::uint64_t budget) const;

  SchedulerParams m_params;
  KvCache m_kv;
  std::vector<RequestState> m_states;  // by request id
  std::size_t m_next_arrival = 0;      // first request not yet admitted to waiting
  std::deque<std::uint64_t> m_waiting;
  std::vector<std::uint64_t> m_running;  // in admission order
  std::size_t m_num_finished = 0;
  std::uint64_t m_next_index = 0;
  bool m_in_flight = false;
  std::uint64_t m_last_now_ns = 0;  // time never goes back: step(now) needs now >= this
  std::uint64_t m_in_flight_index = 0;
};

}  // namespace llmsim::serving
