#pragma once
// Serving requests and the two trace formats llmsim reads them from.
//
// A request arrives at `arrival_ns`, brings a prompt of `input_tokens` tokens and wants
// `output_tokens` tokens generated (the first one comes out of the prefill, each further one
// out of a decode step). Its `id` is its index in the trace or generator (0, 1, ...).
//
// Readers (strict: every mistake is a WorkloadError of one line naming file:line and field):
//  - JSONL, LLMServingSim's fields, one object per line:
//      {"arrival_time_ns": 0, "input_toks": 512, "output_toks": 128}
//    these three keys, each a non-negative (arrival) or positive (tokens) integer; the token id
//    arrays LLMServingSim's datasets also carry (input_tok_ids, output_tok_ids, for its prefix
//    caching, which llmsim does not model) are accepted and ignored; any other key, and
//    LLMServingSim's agentic sessions (sub_requests), are errors. Lines holding only white
//    space are skipped.
//  - CSV, Vidur's and splitwise-sim's columns, a header naming the three in any order:
//      arrived_at,num_prefill_tokens,num_decode_tokens
//      0.25,512,128
//    arrived_at in seconds (a finite decimal >= 0, rounded to the nearest ns), the token
//    counts positive integers; every row has exactly the header's number of fields.
// Arrival times must not decrease from one request to the next (equal is allowed): a trace out
// of order is taken for a mistake and reported, not sorted, so the ids stay the file's order.
// Bounds: at most kMaxRequests requests, token counts at most kMaxTokens, arrivals at most
// kMaxArrivalNs, files at most kMaxTraceBytes (all far beyond real traces; they keep the
// scheduler's arithmetic in 64 bits and catch garbage before any large allocation).
#include <cstdint>
#include <string>
#include <vector>

namespace llmsim::serving {

struct Request {
  std::uint64_t id = 0;
  std::uint64_t arrival_ns = 0;
  std::uint64_t input_tokens = 0;   // prompt length, >= 1
  std::uint64_t output_tokens = 0;  // tokens to generate, >= 1
};

inline constexpr std::uint64_t kMaxRequests = 10'000'000;
inline constexpr std::uint64_t kMaxTokens = std::uint64_t(1) << 24;      // 16 Mi tokens
inline constexpr std::uint64_t kMaxArrivalNs = std::uint64_t(1) << 60;   // about 36 years
inline constexpr std::uint64_t kMaxTraceBytes = std::uint64_t(1) << 30;  // 1 GiB
// Input plus output tokens of all requests together: the run keeps every output token's time
// (8 bytes each), so this bounds its memory (2 GiB) before anything runs.
inline constexpr std::uint64_t kMaxTotalTokens = std::uint64_t(1) << 28;

// Parse the text of a trace; `source` names it in errors (a file name).
std::vector<Request> parse_jsonl(const std::string& text, const std::string& source);
std::vector<Request> parse_csv(const std::string& text, const std::string& source);

// Read a trace file, by its extension: ".jsonl" (or ".json") as JSONL, ".csv" as CSV. A
// missing or unreadable file, an unknown extension or an empty trace is a WorkloadError.
std::vector<Request> read_requests(const std::string& file);

// Checks what every source of requests must satisfy (ids 0..n-1 in order, token counts in
// [1, kMaxTokens], arrivals in [0, kMaxArrivalNs] and not decreasing, 1..kMaxRequests of
// them, at most kMaxTotalTokens tokens in all); `source` names the origin in the
// WorkloadError.
void validate_requests(const std::vector<Request>& requests, const std::string& source);

}  // namespace llmsim::serving
