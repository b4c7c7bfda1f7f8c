#include "workloads/serving/request.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "sim/core/config.h"
#include "sim/core/error.h"
#include "sim/core/json_input.h"

namespace llmsim::serving {
namespace {

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw WorkloadError(where + ": " + what);
}

std::string at(const std::string& source, std::uint64_t line) {
  return source + ":" + std::to_string(line);
}

// Splits `text` into lines (without their "\n" or "\r\n"); a final newline ends the last line.
std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t begin = 0;
  while (begin < text.size()) {
    std::size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(begin, end - begin);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    begin = end + 1;
  }
  return lines;
}

bool blank(const std::string& s) {
  return s.find_first_not_of(" \t\r") == std::string::npos;
}

std::string trim(const std::string& s) {
  const std::size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// An integer field of a JSONL object in [min, max].
std::uint64_t json_uint(const config::Json& obj, const char* key, std::uint64_t min,
                        std::uint64_t max, const std::string& where) {
  const auto it = obj.find(key);
  if (it == obj.end()) fail(where, std::string("missing field ") + key);
  const config::Json& v = *it;
  const std::string allowed =
      "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
  if (!v.is_number_integer() || (!v.is_number_unsigned() && v.get<std::int64_t>() < 0) ||
      v.get<std::uint64_t>() < min || v.get<std::uint64_t>() > max) {
    fail(where, std::string(key) + " must be " + allowed + ", got " + config::short_dump(v));
  }
  return v.get<std::uint64_t>();
}

// A CSV token count: digits only, in [1, kMaxTokens].
std::uint64_t csv_tokens(const std::string& field, const std::string& name,
                         const std::string& where) {
  const std::string allowed = "an integer in [1, " + std::to_string(kMaxTokens) + "]";
  const bool digits = !field.empty() && field.size() <= 12 &&
                      field.find_first_not_of("0123456789") == std::string::npos;
  const std::uint64_t x = digits ? std::strtoull(field.c_str(), nullptr, 10) : 0;
  if (!digits || x < 1 || x > kMaxTokens) {
    fail(where, name + " must be " + allowed + ", got '" + config::printable(field) + "'");
  }
  return x;
}

// A CSV arrival time in seconds: a finite decimal >= 0, rounded to the nearest ns.
std::uint64_t csv_seconds(const std::string& field, const std::string& where) {
  const double max_s = double(kMaxArrivalNs) / 1e9;
  const bool number_chars = !field.empty() && field.size() <= 64 &&
                            field.find_first_not_of("0123456789.eE+-") == std::string::npos;
  char* end = nullptr;
  const double s = number_chars ? std::strtod(field.c_str(), &end) : -1;
  if (!number_chars || end != field.c_str() + field.size() || !std::isfinite(s) || s < 0 ||
      s > max_s) {
    fail(where, "arrived_at must be a number of seconds in [0, " + std::to_string(max_s) +
                    "], got '" + config::printable(field) + "'");
  }
  return std::uint64_t(std::llround(s * 1e9));
}

void check_order(std::uint64_t prev_ns, std::uint64_t prev_line, std::uint64_t ns,
                 const std::string& field, const std::string& where) {
  if (ns < prev_ns) {
    fail(where, field + " gives " + std::to_string(ns) + " ns, earlier than line " +
                    std::to_string(prev_line) + "'s " + std::to_string(prev_ns) +
                    " ns (arrival times must not decrease; sort the trace by arrival)");
  }
}

void check_count(std::uint64_t n, const std::string& where) {
  if (n > kMaxRequests) {
    fail(where, "more than " + std::to_string(kMaxRequests) + " requests");
  }
}

}  // namespace

std::vector<Request> parse_jsonl(const std::string& text, const std::string& source) {
  std::vector<Request> out;
  std::uint64_t prev_line = 0;
  const std::vector<std::string> lines = split_lines(text);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (blank(lines[i])) continue;
    const std::uint64_t line_no = i + 1;
    const std::string where = at(source, line_no);
    check_count(out.size() + 1, where);
    config::Json obj;
    try {
      obj = config::parse_json(lines[i], where, /*comments=*/false);
    } catch (const ConfigError& e) {
      throw WorkloadError(e.what());
    }
    if (!obj.is_object()) {
      fail(where,
           "must be a JSON object {\"arrival_time_ns\", \"input_toks\", \"output_toks\"}, "
           "got " +
               config::short_dump(obj));
    }
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      const std::string& key = it.key();
      if (key == "arrival_time_ns" || key == "input_toks" || key == "output_toks") continue;
      if (key == "input_tok_ids" || key == "output_tok_ids") {
        if (!it->is_array()) {
          fail(where, key + " must be an array of token ids, got " + config::short_dump(*it));
        }
        continue;
      }
      if (key == "sub_requests") {
        fail(where,
             "sub_requests (an agentic session) is not supported: give one request a "
             "line");
      }
      fail(where, "unknown field '" + config::printable(key) +
                      "' (allowed: arrival_time_ns, input_toks, output_toks; input_tok_ids and "
                      "output_tok_ids are accepted and ignored)");
    }
    Request r;
    r.id = out.size();
    r.arrival_ns = json_uint(obj, "arrival_time_ns", 0, kMaxArrivalNs, where);
    r.input_tokens = json_uint(obj, "input_toks", 1, kMaxTokens, where);
    r.output_tokens = json_uint(obj, "output_toks", 1, kMaxTokens, where);
    if (!out.empty())
      check_order(out.back().arrival_ns, prev_line, r.arrival_ns, "arrival_time_ns", where);
    prev_line = line_no;
    out.push_back(r);
  }
  if (out.empty()) fail(source, "no requests (the trace is empty)");
  return out;
}

std::vector<Request> parse_csv(const std::string& text, const std::string& source) {
  const std::vector<std::string> lines = split_lines(text);
  std::size_t first = 0;
  while (first < lines.size() && blank(lines[first])) ++first;
  if (first == lines.size()) fail(source, "no requests (the trace is empty)");

  // Header: the three columns, each once, in any order.
  static const char* const kColumns[3] = {"arrived_at", "num_prefill_tokens", "num_decode_tokens"};
  const std::string header_at = at(source, first + 1);
  std::vector<std::string> header;
  {
    std::stringstream ss(lines[first]);
    std::string cell;
    while (std::getline(ss, cell, ',')) header.push_back(trim(cell));
    if (!lines[first].empty() && lines[first].back() == ',') header.push_back("");
  }
  int column[3] = {-1, -1, -1};
  for (std::size_t c = 0; c < header.size(); ++c) {
    int k = -1;
    for (int j = 0; j < 3; ++j) {
      if (header[c] == kColumns[j]) k = j;
    }
    if (k < 0) {
      fail(header_at, "unknown column '" + config::printable(header[c]) +
                          "' (the header must be arrived_at,num_prefill_tokens,"
                          "num_decode_tokens)");
    }
    if (column[k] >= 0) fail(header_at, "column " + header[c] + " appears twice");
    column[k] = int(c);
  }
  for (int j = 0; j < 3; ++j) {
    if (column[j] < 0) {
      fail(header_at, std::string("missing column ") + kColumns[j] +
                          " (the header must be arrived_at,num_prefill_tokens,"
                          "num_decode_tokens)");
    }
  }

  std::vector<Request> out;
  std::uint64_t prev_line = 0;
  for (std::size_t i = first + 1; i < lines.size(); ++i) {
    if (blank(lines[i])) continue;
    const std::uint64_t line_no = i + 1;
    const std::string where = at(source, line_no);
    check_count(out.size() + 1, where);
    std::vector<std::string> cells;
    std::size_t begin = 0;
    for (;;) {
      const std::size_t comma = lines[i].find(',', begin);
      cells.push_back(trim(
          lines[i].substr(begin, comma == std::string::npos ? std::string::npos : comma - begin)));
      if (comma == std::string::npos) break;
      begin = comma + 1;
    }
    if (cells.size() != header.size()) {
      fail(where, "has " + std::to_string(cells.size()) + " fields, the header " +
                      std::to_string(header.size()));
    }
    Request r;
    r.id = out.size();
    r.arrival_ns = csv_seconds(cells[column[0]], where);
    r.input_tokens = csv_tokens(cells[column[1]], "num_prefill_tokens", where);
    r.output_tokens = csv_tokens(cells[column[2]], "num_decode_tokens", where);
    if (!out.empty())
      check_order(out.back().arrival_ns, prev_line, r.arrival_ns, "arrived_at", where);
    prev_line = line_no;
    out.push_back(r);
  }
  if (out.empty()) fail(source, "no requests (the trace has a header and no rows)");
  return out;
}

std::vector<Request> read_requests(const std::string& file) {
  const auto ends_with = [&](const std::string& suffix) {
    return file.size() >= suffix.size() &&
           file.compare(file.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  const bool csv = ends_with(".csv");
  if (!csv && !ends_with(".jsonl") && !ends_with(".json")) {
    fail(file,
         "unknown trace format (allowed: .jsonl with arrival_time_ns, input_toks, "
         "output_toks; .csv with arrived_at, num_prefill_tokens, num_decode_tokens)");
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) fail(file, "cannot read the request trace");
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) fail(file, "cannot read the request trace");
  if (std::uint64_t(size) > kMaxTraceBytes) {
    fail(file, "is " + std::to_string(size) + " bytes, more than the " +
                   std::to_string(kMaxTraceBytes) + " a request trace may have");
  }
  in.seekg(0, std::ios::beg);
  std::string text(std::size_t(size), '\0');
  in.read(text.data(), size);
  if (!in) fail(file, "cannot read the request trace");
  return csv ? parse_csv(text, file) : parse_jsonl(text, file);
}

void validate_requests(const std::vector<Request>& requests, const std::string& source) {
  if (requests.empty()) fail(source, "no requests");
  check_count(requests.size(), source);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const Request& r = requests[i];
    const std::string where = source + ": request " + std::to_string(i);
    if (r.id != i) fail(where, "has id " + std::to_string(r.id) + " (ids are 0, 1, ... in order)");
    if (r.input_tokens < 1 || r.input_tokens > kMaxTokens) {
      fail(where, "input_tokens must be in [1, " + std::to_string(kMaxTokens) + "], got " +
                      std::to_string(r.input_tokens));
    }
    if (r.output_tokens < 1 || r.output_tokens > kMaxTokens) {
      fail(where, "output_tokens must be in [1, " + std::to_string(kMaxTokens) + "], got " +
                      std::to_string(r.output_tokens));
    }
    if (r.arrival_ns > kMaxArrivalNs) {
      fail(where, "arrival_ns must be at most " + std::to_string(kMaxArrivalNs) + ", got " +
                      std::to_string(r.arrival_ns));
    }
    total += r.input_tokens + r.output_tokens;
    if (total > kMaxTotalTokens) {
      fail(source, "more than " + std::to_string(kMaxTotalTokens) +
                       " tokens (input + output) in all requests up to request " +
                       std::to_string(i) + ": too many to simulate");
    }
    if (i > 0 && r.arrival_ns < requests[i - 1].arrival_ns) {
      fail(where, "arrives at " + std::to_string(r.arrival_ns) + " ns, before request " +
                      std::to_string(i - 1) + " (arrival times must not decrease)");
    }
  }
}

}  // namespace llmsim::serving
