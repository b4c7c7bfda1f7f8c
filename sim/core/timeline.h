#pragma once
// A timeline of simulated activity, written as Chrome trace-event JSON (the "JSON Array/Object
// Format" of the Trace Event Format document), which ui.perfetto.dev and chrome://tracing open.
//
// Model: processes (the chip, each core, the memory) hold tracks (one per unit: a DMA engine,
// a systolic array, a vector unit, an HBM pseudo channel); a track holds spans that do not
// overlap. A span is a complete event ("ph":"X") with a kind (its name and the keys of up to
// four integer args, registered once) and an optional op index, resolved to the op's name at
// write time. Every track gets "ph":"M" thread_name / thread_sort_index events and every
// process process_name / process_sort_index events.
//
// Time: ts and dur are microseconds of simulated time (the format's unit), printed as exact
// decimals of the femtosecond SystemC times (1 cycle at 1 GHz = "0.001"); "displayTimeUnit" is
// "ns", so the viewers label the axis in nanoseconds.
//
// Cost: units hold a Timeline pointer that is null when no timeline is asked for, so the hot
// paths pay one branch. When on, a span is a 64-byte record appended to a vector; names, args
// and JSON are formatted only by write().
//
// Bound: at most `max_events` spans are kept (the metadata events do not count). The first span
// beyond the cap stops the recording: it and every later span are dropped (not coarsened), and
// write() adds one global instant event ("ph":"i", "s":"g") named "timeline truncated" at the
// start of the first dropped span, with the cap and the dropped count in its args, and the same
// facts under "otherData". So a file holds at most max_events + 1 + metadata events (about
// 100-150 bytes each).
#include <array>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include <systemc>

namespace llmsim::timeline {

using TrackId = std::uint32_t;
using KindId = std::uint32_t;

inline constexpr std::uint64_t kDefaultMaxEvents = 1'000'000;
inline constexpr std::size_t kMaxArgs = 4;

// What a driver asks for: where to write the timeline and its cap.
struct TimelineOptions {
  std::string path;
  std::uint64_t max_events = kDefaultMaxEvents;

  // Before a run, so that a long simulation does not end in an unwritable file: UserError if
  // max_events is 0 or the path's directory does not exist or cannot be written into.
  void check() const;
};

class Timeline {
 public:
  // Contract: max_events >= 1; constructed while the SystemC time resolution is in force (the
  // span times are read in its units).
  explicit Timeline(std::uint64_t max_events = kDefaultMaxEvents);

  // --- Setup, before the simulation ---
  // A process, shown in the order of creation; returns its pid.
  std::uint32_t process(const std::string& name);
  // A track of process `pid`, shown in the order of creation within it.
  TrackId track(std::uint32_t pid, const std::string& name);
  // A span kind: its name and the keys of its args (at most kMaxArgs).
  KindId kind(const std::string& name, std::vector<std::string> arg_keys = {});
  // Names of the workload's ops, for spans that carry an op index.
  void set_op_names(std::vector<std::string> names);

  // --- Recording (hot path when on) ---
  // A span [start, end) on `track`; `op` is an op index or -1; args in the order of the kind's
  // keys (extra values ignored). Contract: start <= end.
  void span(TrackId track, KindId kind, const sc_core::sc_time& start, const sc_core::sc_time& end,
            std::int32_t op, std::array<std::uint64_t, kMaxArgs> args = {}) {
    if (m_spans.size() == m_max_events) return drop(start);
    m_spans.push_back({start.value(), end.value() - start.value(), track, kind, op, args});
  }

  // --- Results ---
  std::uint64_t max_events() const { return m_max_events; }
  std::uint64_t spans() const { return m_spans.size(); }
  bool truncated() const { return m_dropped > 0; }
  std::uint64_t dropped() const { return m_dropped; }
  // The whole trace as one JSON object {"traceEvents": [...], "displayTimeUnit": "ns",
  // "otherData": {...}}; metadata events first, then spans in recording order.
  void write(std::ostream& out) const;
  // write() to a file, whole or not at all (a temporary name PATH.tmp, then renamed);
  // UserError naming the path and the reason if it cannot be written.
  void write_file(const std::string& path) const;

 private:
  struct Span {
    std::uint64_t start, dur;  // in SystemC time resolution units
    TrackId track;
    KindId kind;
    std::int32_t op;
    std::array<std::uint64_t, kMaxArgs> args;
  };
  struct Track {
    std::uint32_t pid;
    std::string name;
  };
  struct Kind {
    std::string name;
    std::vector<std::string> keys;
  };

  void drop(const sc_core::sc_time& start);

  std::uint64_t m_max_events;
  std::uint64_t m_fs_per_tick;  // femtoseconds per SystemC time unit
  std::vector<std::string> m_processes;
  std::vector<Track> m_tracks;
  std::vector<Kind> m_kinds;
  std::vector<std::string> m_op_names;
  std::vector<Span> m_spans;
  std::uint64_t m_dropped = 0;
  std::uint64_t m_first_dropped = 0;  // start of the first dropped span, in ticks
};

}  // namespace llmsim::timeline
