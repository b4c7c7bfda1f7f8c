#include "workloads/serving/scheduler.h"

#include <algorithm>
#include <string>

#include "sim/core/error.h"

namespace llmsim::serving {

std::uint64_t Iteration::num_tokens() const {
  std::uint64_t n = 0;
  for (const ScheduledSeq& s : seqs) n += s.num_tokens;
  return n;
}

std::uint64_t Iteration::num_prefill_tokens() const {
  std::uint64_t n = 0;
  for (const ScheduledSeq& s : seqs) n += s.is_prefill ? s.num_tokens : 0;
  return n;
}

std::uint64_t Iteration::num_decode_seqs() const {
  std::uint64_t n = 0;
  for (const ScheduledSeq& s : seqs) n += s.is_prefill ? 0 : 1;
  return n;
}

namespace {

std::uint64_t resolved_blocks(const SchedulerParams& p) {
  LLMSIM_CHECK(p.num_kv_blocks.has_value(), "serving.num_kv_blocks not resolved");
  return *p.num_kv_blocks;
}

}  // namespace

Scheduler::Scheduler(const SchedulerParams& p, std::vector<Request> requests,
                     const std::string& source)
    : m_params(p), m_kv(resolved_blocks(p), p.block_size) {
  LLMSIM_CHECK(p.max_num_seqs >= 1 && p.max_num_batched_tokens >= 1, "scheduler limits of 0");
  validate_requests(requests, source);
  // Rule 8: no request that could never run.
  for (const Request& r : requests) {
    const std::uint64_t longest = r.input_tokens + r.output_tokens - 1;
    const std::uint64_t blocks = m_kv.blocks_for(longest);
    const std::string name = source + ": request " + std::to_string(r.id) + " (input " +
                             std::to_string(r.input_tokens) + " + output " +
                             std::to_string(r.output_tokens) + " tokens)";
    if (blocks > m_kv.num_blocks()) {
      throw WorkloadError(name + " needs " + std::to_string(blocks) + " KV blocks of " +
                          std::to_string(p.block_size) + " tokens for its " +
                          std::to_string(longest) + " tokens of KV, more than the " +
                          std::to_string(m_kv.num_blocks()) +
                          " the cache holds: it could never run (raise serving.num_kv_blocks "
                          "or shorten the request)");
    }
    if (!p.enable_chunked_prefill && r.input_tokens > p.max_num_batched_tokens) {
      throw WorkloadError(name + ": its prompt exceeds serving.max_num_batched_tokens = " +
                          std::to_string(p.max_num_batched_tokens) +
                          " and serving.enable_chunked_prefill is false: it could never run");
    }
  }
  m_states.reserve(requests.size());
  for (Request& r : requests) {
    RequestState s;
    s.request = r;
    m_states.push_back(std::move(s));
  }
}

const RequestState& Scheduler::state(std::uint64_t id) const {
  LLMSIM_CHECK(id < m_states.size(), "unknown request id " + std::to_string(id));
  return m_states[id];
}

std::optional<std::uint64_t> Scheduler::next_arrival_ns() const {
  if (m_next_arrival == m_states.size()) return std::nullopt;
  return m_states[m_next_arrival].request.arrival_ns;
}

void Scheduler::admit_arrivals(std::uint64_t now_ns) {
  while (m_next_arrival < m_states.size() &&
         m_states[m_next_arrival].request.arrival_ns <= now_ns) {
    m_waiting.push_back(m_next_arrival++);
  }
}

std::uint64_t Scheduler::cap(std::uint64_t tokens, std::uint64_t budget) const {
  const std::uint64_t t = m_params.long_prefill_token_threshold;
  if (t > 0) tokens = std::min(tokens, t);
  return std::min(tokens, budget);
}

void Scheduler::preempt(std::uint64_t id, Iteration& it) {
  RequestState& s = m_states[id];
  m_kv.release(s.blocks);
  s.num_computed = 0;
  ++s.preemptions;
  m_waiting.push_front(id);
  it.preempted.push_back(id);
}

// Rules 2-4.
void Scheduler::schedule_running(Iteration& it, std::uint64_t& budget) {
  std::size_t i = 0;
  while (i < m_running.size() && budget > 0) {
    const std::uint64_t id = m_running[i];
    RequestState& s = m_states[id];
    const std::uint64_t n = cap(s.num_tokens() - s.num_computed, budget);
    LLMSIM_CHECK(n > 0, "running request " + std::to_string(id) + " has nothing to compute");
    bool self_preempted = false;
    while (!m_kv.grow(s.blocks, s.num_computed + n)) {
      const std::uint64_t victim = m_running.back();
      m_running.pop_back();
      preempt(victim, it);
      if (victim == id) {
        self_preempted = true;
        break;
      }
    }
    if (self_preempted) break;
    ScheduledSeq q;
    q.request_id = id;
    q.num_tokens = n;
    q.kv_len_before = s.num_computed;
    q.is_prefill = s.num_computed < s.prefill_end;
    q.emits_token = s.num_computed + n == s.num_tokens();
    it.seqs.push_back(q);
    budget -= n;
    ++i;
  }
}

// Rule 5.
void Scheduler::schedule_waiting(Iteration& it, std::uint64_t& budget, std::uint64_t now_ns) {
  while (!m_waiting.empty() && budget > 0 && m_running.size() < m_params.max_num_seqs) {
    const std::uint64_t id = m_waiting.front();
    RequestState& s = m_states[id];
    LLMSIM_CHECK(s.num_computed == 0 && s.blocks.empty(), "a waiting request holds KV");
    const std::uint64_t want = s.num_tokens();
    if (!m_params.enable_chunked_prefill && cap(want, ~std::uint64_t(0)) > budget) break;
    const std::uint64_t n = cap(want, budget);
    if (!m_kv.grow(s.blocks, n)) break;
    m_waiting.pop_front();
    m_running.push_back(id);
    s.prefill_end = want;
    if (!s.first_scheduled_ns) s.first_scheduled_ns = now_ns;
    ScheduledSeq q;
    q.request_id = id;
    q.num_tokens = n;
    q.kv_len_before = 0;
    q.is_prefill = true;
    q.emits_token = n == want;
    it.seqs.push_back(q);
    budget -= n;
  }
}

Iteration Scheduler::step(std::uint64_t now_ns) {
  LLMSIM_CHECK(!m_in_flight, "Scheduler::step before the previous iteration's finish");
  LLMSIM_CHECK(now_ns >= m_last_now_ns, "Scheduler::step back in time");
  m_last_now_ns = now_ns;
  admit_arrivals(now_ns);
  Iteration it;
  it.start_ns = now_ns;
  std::uint64_t budget = m_params.max_num_batched_tokens;
  schedule_running(it, budget);
  if (it.preempted.empty()) schedule_waiting(it, budget, now_ns);
  it.kv_blocks_used = m_kv.used_blocks();
  it.num_waiting = m_waiting.size();
  if (it.seqs.empty()) {
    // Rule 8 leaves one way to get here with work waiting: without chunked prefill, a recompute
    // (prompt + generated tokens) longer than the token budget.
    LLMSIM_CHECK(m_running.empty() && it.preempted.empty(),
                 "running requests but nothing scheduled");
    if (!m_waiting.empty()) {
      const RequestState& s = m_states[m_waiting.front()];
      throw WorkloadError("request " + std::to_string(s.request.id) + " cannot be scheduled: " +
                          "it must prefill " + std::to_string(s.num_tokens()) +
                          " tokens after a preemption, more than serving.max_num_batched_tokens"
                          " = " +
                          std::to_string(m_params.max_num_batched_tokens) +
                          ", with serving.enable_chunked_prefill false");
    }
    return it;
  }
  for (ScheduledSeq& q : it.seqs) q.blocks = m_states[q.request_id].blocks;
  it.index = m_next_index++;
  m_in_flight = true;
  m_in_flight_index = it.index;
  return it;
}

void Scheduler::finish(const Iteration& it, std::uint64_t end_ns) {
  LLMSIM_CHECK(m_in_flight && it.index == m_in_flight_index,
               "Scheduler::finish of an iteration not in flight");
  LLMSIM_CHECK(end_ns >= it.start_ns, "an iteration ends before it starts");
  m_in_flight = false;
  m_last_now_ns = end_ns;
  for (const ScheduledSeq& q : it.seqs) {
    RequestState& s = m_states[q.request_id];
    s.num_computed += q.num_tokens;
    LLMSIM_CHECK(s.num_computed <= s.num_tokens(), "computed past the known tokens");
    if (!q.emits_token) continue;
    ++s.num_generated;
    s.token_ns.push_back(end_ns);
    if (s.num_generated == s.request.output_tokens) {
      s.finished = true;
      ++m_num_finished;
      m_kv.release(s.blocks);
      m_running.erase(std::find(m_running.begin(), m_running.end(), q.request_id));
    }
  }
}

}  // namespace llmsim::serving
