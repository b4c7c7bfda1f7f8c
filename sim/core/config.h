#pragma once
// Strict config reading (after booksim2's "Unknown field" and ramulator2's typed params): a
// Reader wraps one JSON object, hands out typed values, remembers every key it consumed and
// every default it applied, and `finish()` rejects any key nobody asked for. Every error is a
// ConfigError of one line that names the key path, the value and what is allowed:
//   core.scratchpad.banks: must be a power of two, got 12
// Parsing happens once, into each component's typed Params; no hardware header includes this.
//
// Bounds. Every integer a config gives has an upper bound, so that the arithmetic that uses it
// cannot overflow 64 bits (a value past it is "must be in [1, 4294967296], got ..."):
//  - kMaxInteger = 2^32, the default of count/uint/power_of_two: any count or size of real
//    hardware fits, and a product of two such values fits 64 bits;
//  - kMaxLatencyCycles = 2^20, for latencies, timing constraints and per-item costs in cycles
//    (1 ms at 1 GHz): a sum of a few million of them stays far below 2^64 cycles, and in
//    SystemC time (at most 10^9 fs a cycle, units.h) below its 2^64 fs;
//  - a Params may pass a tighter bound of its own (systolic rows <= 4096, ...).
// Clocks (`clock_mhz`) are in [kMinClockMhz, kMaxClockMhz] (units.h). Real numbers are finite.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/json_input.h"

namespace llmsim::config {

inline constexpr std::uint64_t kMaxInteger = std::uint64_t(1) << 32;
inline constexpr std::uint64_t kMaxLatencyCycles = std::uint64_t(1) << 20;

class Reader {
 public:
  // `node` must outlive the reader; `resolved` receives the values read, defaults included.
  Reader(const Json& node, std::string path, Json& resolved);

  // Integers. `count` is in [1, max], `uint` in [0, max].
  std::uint64_t count(const std::string& key, std::optional<std::uint64_t> def = std::nullopt,
                      std::uint64_t max = kMaxInteger);
  std::uint64_t uint(const std::string& key, std::optional<std::uint64_t> def = std::nullopt,
                     std::uint64_t max = kMaxInteger);
  std::uint64_t power_of_two(const std::string& key,
                             std::optional<std::uint64_t> def = std::nullopt,
                             std::uint64_t max = kMaxInteger);
  // Finite real numbers. `positive` is > 0, `non_negative` is >= 0.
  double positive(const std::string& key, std::optional<double> def = std::nullopt);
  double non_negative(const std::string& key, std::optional<double> def = std::nullopt);
  // A clock frequency in MHz, in [kMinClockMhz, kMaxClockMhz] (units.h).
  double clock_mhz(const std::string& key, std::optional<double> def = std::nullopt);
  bool boolean(const std::string& key, std::optional<bool> def = std::nullopt);
  std::string string(const std::string& key, std::optional<std::string> def = std::nullopt);
  std::string choice(const std::string& key, const std::vector<std::string>& allowed,
                     std::optional<std::string> def = std::nullopt);
  // Each allowed string at most once (a list that stands for a set).
  std::vector<std::string> string_list(const std::string& key,
                                       const std::vector<std::string>& allowed,
                                       std::optional<std::vector<std::string>> def = std::nullopt);
  // A list of integers each < `bound` ("must be a list of integers in [0, 15], got [3, 16]").
  // May be empty.
  std::vector<std::uint64_t> uint_list(
      const std::string& key, std::uint64_t bound,
      std::optional<std::vector<std::uint64_t>> def = std::nullopt);

  // A nested object; an absent key gives an empty object (all its keys then take defaults).
  Reader child(const std::string& key);
  // Like child(key), but the nested reader reads `node` in place of the value written under
  // `key`: for a shorthand that stands for an object (a preset name "HBM2" read as
  // {"preset": "HBM2"}). Marks `key` consumed; what the nested reader reads replaces the
  // shorthand in the resolved config. `node` must outlive the returned reader.
  Reader child_from(const std::string& key, const Json& node);
  bool has(const std::string& key) const;
  // The JSON kind of `key` as written (false when absent), for keys that take several forms,
  // such as a preset name or an object. Neither consumes the key.
  bool is_string(const std::string& key) const;
  bool is_object(const std::string& key) const;
  bool is_null(const std::string& key) const;

  // Parses the nested object `key` with `Params::parse(Reader&)` and rejects its unknown keys.
  template <class Params>
  Params parse_child(const std::string& key) {
    Reader r = child(key);
    Params p = Params::parse(r);
    r.finish();
    return p;
  }

  // Records `key` as consumed without reading it (documentation fields such as "description").
  void ignore(const std::string& key);

  // Throws ConfigError for the first key present in the object but never consumed.
  void finish() const;

  std::string key_path(const std::string& key) const;
  const std::string& path() const { return m_path; }
  // A ConfigError "<path>.<key>: <what>".
  [[noreturn]] void fail(const std::string& key, const std::string& what) const;

 private:
  const Json* find(const std::string& key);
  std::uint64_t read_uint(const std::string& key, std::optional<std::uint64_t> def,
                          std::uint64_t min, std::uint64_t max);
  double read_number(const std::string& key, std::optional<double> def, const std::string& what,
                     bool strictly_positive);
  [[noreturn]] void fail_missing(const std::string& key, const std::string& what) const;
  [[noreturn]] void fail_value(const std::string& key, const std::string& allowed,
                               const Json& got) const;

  const Json* m_node;
  std::string m_path;
  Json* m_resolved;
  std::vector<std::string> m_consumed;
};

// Applies one "--set a.b.c=value" override to a JSON document. The value is parsed as JSON when
// it is valid JSON (numbers, true/false, quoted strings, arrays) and taken as a plain string
// otherwise (so `--set core.systolic.dataflow=os` works); either way it is read as every JSON
// input is (json_input.h: depth, duplicate keys, UTF-8). Missing objects on the path are
// created; the strict reader then rejects a path that names no real key.
void apply_override(Json& doc, const std::string& assignment);

// A copy of `doc` with the overrides applied in order (see apply_override).
Json with_overrides(const Json& doc, const std::vector<std::string>& assignments);

// Reads a JSON file through parse_json (json_input.h); a missing file, a file larger than
// kMaxJsonBytes or a syntax error is a ConfigError naming the file.
Json load_json_file(const std::string& file);

// Renders a JSON value for an error message, shortened if long (invalid UTF-8 replaced).
std::string short_dump(const Json& v);

}  // namespace llmsim::config
