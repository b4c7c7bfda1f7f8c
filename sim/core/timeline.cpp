#include "sim/core/timeline.h"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <ostream>

#include <nlohmann/json.hpp>

#include "sim/core/error.h"

namespace llmsim::timeline {

namespace {

std::string quoted(const std::string& s) {
  return nlohmann::json(s).dump();
}

void append_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// Microseconds (fs / 1e9) as an exact decimal, at most nine fractional digits and no trailing
// zeros: 1e6 fs (1 ns) -> "0.001", 1.5e9 fs -> "1.5". No rounding anywhere.
void append_us(std::string& out, std::uint64_t fs) {
  constexpr std::uint64_t kFsPerUs = 1'000'000'000;
  append_uint(out, fs / kFsPerUs);
  std::uint64_t frac = fs % kFsPerUs;
  if (frac == 0) return;
  char digits[9];
  for (int i = 8; i >= 0; --i, frac /= 10) digits[i] = char('0' + frac % 10);
  int n = 9;
  while (digits[n - 1] == '0') --n;
  out.push_back('.');
  out.append(digits, digits + n);
}

}  // namespace

void TimelineOptions::check() const {
  if (max_events == 0) throw UserError("timeline max_events: must be at least 1, got 0");
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (path.empty() || std::filesystem::is_directory(path) ||
      (!dir.empty() && !std::filesystem::is_directory(dir))) {
    throw UserError("timeline " + path + ": not a file in an existing directory");
  }
  const std::string d = dir.empty() ? "." : dir.string();
  if (access(d.c_str(), W_OK | X_OK) != 0) {
    throw UserError("timeline " + path + ": cannot write into the directory " + d + ": " +
                    std::strerror(errno));
  }
}

Timeline::Timeline(std::uint64_t max_events)
    : m_max_events(max_events),
      m_fs_per_tick(
          std::uint64_t(std::llround(sc_core::sc_get_time_resolution().to_seconds() * 1e15))) {
  LLMSIM_CHECK(max_events >= 1, "timeline cap of zero events");
  LLMSIM_CHECK(m_fs_per_tick >= 1, "SystemC time resolution finer than 1 fs");
}

std::uint32_t Timeline::process(const std::string& name) {
  m_processes.push_back(name);
  return std::uint32_t(m_processes.size());  // pids from 1: some viewers treat pid 0 specially
}

TrackId Timeline::track(std::uint32_t pid, const std::string& name) {
  LLMSIM_CHECK(pid >= 1 && pid <= m_processes.size(), "timeline track of an unknown process");
  m_tracks.push_back({pid, name});
  return TrackId(m_tracks.size() - 1);
}

KindId Timeline::kind(const std::string& name, std::vector<std::string> arg_keys) {
  LLMSIM_CHECK(arg_keys.size() <= kMaxArgs, "timeline span kind with too many args");
  m_kinds.push_back({name, std::move(arg_keys)});
  return KindId(m_kinds.size() - 1);
}

void Timeline::set_op_names(std::vector<std::string> names) {
  m_op_names = std::move(names);
}

void Timeline::drop(const sc_core::sc_time& start) {
  if (m_dropped == 0) m_first_dropped = start.value();
  ++m_dropped;
}

void Timeline::write(std::ostream& out) const {
  // tid = track id + 1, unique over the whole trace (Perfetto keys threads by tid); a
  // process's own metadata uses tid 0.
  std::string line;
  bool first = true;
  auto emit = [&] {
    out << (first ? "\n" : ",\n") << line;
    first = false;
    line.clear();
  };
  auto meta = [&](const char* what, std::uint32_t pid, std::uint64_t tid, const std::string& key,
                  const std::string& value_json) {
    line += R"({"name":")";
    line += what;
    line += R"(","ph":"M","ts":0,"pid":)";
    append_uint(line, pid);
    line += R"(,"tid":)";
    append_uint(line, tid);
    line += R"(,"args":{")" + key + "\":" + value_json + "}}";
    emit();
  };
  out << R"({"displayTimeUnit":"ns","otherData":{"time_unit":"us","max_events":)" << m_max_events
      << R"(,"spans":)" << m_spans.size() << R"(,"dropped_events":)" << m_dropped
      << R"(,"truncated":)" << (truncated() ? "true" : "false") << R"(},"traceEvents":[)";
  for (std::uint32_t p = 0; p < m_processes.size(); ++p) {
    meta("process_name", p + 1, 0, "name", quoted(m_processes[p]));
    meta("process_sort_index", p + 1, 0, "sort_index", std::to_string(p));
  }
  std::vector<std::uint32_t> index_in_process(m_processes.size() + 1, 0);
  for (TrackId t = 0; t < m_tracks.size(); ++t) {
    const Track& tr = m_tracks[t];
    meta("thread_name", tr.pid, t + 1, "name", quoted(tr.name));
    meta("thread_sort_index", tr.pid, t + 1, "sort_index",
         std::to_string(index_in_process[tr.pid]++));
  }

  std::vector<std::string> kind_names, op_names;
  for (const Kind& k : m_kinds) kind_names.push_back(quoted(k.name));
  for (const std::string& n : m_op_names) op_names.push_back(quoted(n));
  for (const Span& s : m_spans) {
    const Kind& k = m_kinds[s.kind];
    line += R"({"name":)" + kind_names[s.kind] + R"(,"ph":"X","ts":)";
    append_us(line, s.start * m_fs_per_tick);
    line += R"(,"dur":)";
    append_us(line, s.dur * m_fs_per_tick);
    line += R"(,"pid":)";
    append_uint(line, m_tracks[s.track].pid);
    line += R"(,"tid":)";
    append_uint(line, s.track + 1);
    line += R"(,"args":{)";
    for (std::size_t a = 0; a < k.keys.size(); ++a) {
      line += (a ? ",\"" : "\"") + k.keys[a] + "\":";
      append_uint(line, s.args[a]);
    }
    if (s.op >= 0) {
      line += k.keys.empty() ? "" : ",";
      line += R"("op_index":)";
      append_uint(line, std::uint64_t(s.op));
      if (std::size_t(s.op) < op_names.size()) line += R"(,"op":)" + op_names[s.op];
    }
    line += "}}";
    emit();
  }
  if (truncated()) {
    line += R"({"name":"timeline truncated","ph":"i","s":"g","ts":)";
    append_us(line, m_first_dropped * m_fs_per_tick);
    line += R"(,"pid":1,"tid":0,"args":{"max_events":)";
    append_uint(line, m_max_events);
    line += R"(,"dropped_events":)";
    append_uint(line, m_dropped);
    line += "}}";
    emit();
  }
  out << "\n]}\n";
}

void Timeline::write_file(const std::string& path) const {
  // Whole or not at all: a temporary name, every write and the close checked, then rename.
  const std::string tmp = path + ".tmp";
  auto fail = [&](const std::string& reason) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    throw UserError("timeline " + path + ": " + reason);
  };
  std::ofstream f(tmp, std::ios::binary);
  if (!f) fail("cannot create " + tmp + ": " + std::strerror(errno));
  write(f);
  f.close();
  if (!f) fail(std::string("writing the file failed: ") + std::strerror(errno));
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) fail("cannot rename " + tmp + " to it: " + ec.message());
}

}  // namespace llmsim::timeline
