#pragma once
// The statistics tree (after gem5's ADD_STAT): stats are members declared next to the state
// they measure, each registered with a Group; Groups nest along the module hierarchy, so every
// stat has a dotted path such as "chip.core0.systolic.busy_cycles".
//
// Contracts:
//  - Names are non-empty and contain no '.'; within one group, stat names and child-group
//    names share one namespace (they become keys of the same JSON object), so a duplicate is
//    an InternalError (LLMSIM_CHECK).
//  - By convention a stat's name ends in its unit ("busy_cycles", "read_bytes"); not enforced.
//  - Registration is by address: Groups and Stats are neither copyable nor movable. A Group
//    must be constructed before the stats that register with it (declare it first). Either
//    side may be destroyed first: destruction unregisters, and a destroyed parent detaches
//    its children.
//  - Hot paths only touch Counter (one integer add), Occupancy::set and Histogram::sample.
//    Formulas, means and percentiles are computed only when asked for (at dump).
//
// Only the JSON forward declarations are included here; the dump functions are defined in
// stats.cpp, so callers that use their results include <nlohmann/json.hpp> themselves.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "sim/core/units.h"

namespace llmsim::stats {

class Stat;

// A node of the stats tree: owns no stats, only refers to those registered with it.
class Group {
 public:
  // A root group.
  explicit Group(std::string name);
  // A child group, registered with `parent` (children are kept in declaration order).
  Group(Group& parent, std::string name);
  ~Group();

  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;
  Group(Group&&) = delete;
  Group& operator=(Group&&) = delete;

  const std::string& name() const { return m_name; }
  // Dot-joined names from the root down to this group, root included ("chip.core0.systolic").
  std::string path() const;
  // Null for a root (or for a child whose parent has been destroyed).
  const Group* parent() const { return m_parent; }
  // In registration (declaration) order.
  const std::vector<Group*>& children() const { return m_children; }
  const std::vector<Stat*>& stats() const { return m_stats; }

  // Nested object of current values: each child group is a nested object under its name and
  // each stat is its value_json() under its name. nlohmann::json orders keys alphabetically;
  // walk children()/stats() for declaration order.
  nlohmann::json values_json() const;
  // Adds to the object `out` one entry per stat of this subtree, keyed by the stat's full
  // dotted path: "chip.core0.systolic.busy_cycles" -> {"unit": ..., "desc": ...}.
  void describe(nlohmann::json& out) const;

  // Looks up a stat or a group by a dotted path relative to this group ("systolic.busy_cycles"
  // from "chip.core0"); nullptr if there is none.
  const Stat* find(const std::string& relative_path) const;
  const Group* find_group(const std::string& relative_path) const;
  // The value of the Counter at `relative_path`; InternalError if there is no such Counter.
  std::uint64_t counter_value(const std::string& relative_path) const;

 private:
  friend class Stat;
  void check_name_free(const std::string& name) const;
  void add_stat(Stat* s);
  void remove_stat(Stat* s);

  std::string m_name;
  Group* m_parent = nullptr;
  std::vector<Group*> m_children;
  std::vector<Stat*> m_stats;
};

// Base of every statistic: a name, a unit ("cycle", "byte", "count", "mac", "byte/s",
// "ratio", ...) and a one-line description.
class Stat {
 public:
  // Registers this stat with `group` (InternalError on a duplicate or malformed name).
  Stat(Group& group, std::string name, std::string unit, std::string desc);
  virtual ~Stat();

  Stat(const Stat&) = delete;
  Stat& operator=(const Stat&) = delete;
  Stat(Stat&&) = delete;
  Stat& operator=(Stat&&) = delete;

  const std::string& name() const { return m_text->name; }
  const std::string& unit() const { return m_text->unit; }
  const std::string& desc() const { return m_text->desc; }
  // Null once the group has been destroyed.
  const Group* group() const { return m_group; }
  // The group's path plus this stat's name ("chip.core0.systolic.busy_cycles").
  std::string path() const;

  // The stat's value as dumped into stats.json.
  virtual nlohmann::json value_json() const = 0;

 private:
  friend class Group;
  // The text lives out of line, so a stat is a few words and the counters a model declares
  // side by side share cache lines (an HBM controller bumps four or five per burst).
  struct Text {
    std::string name, unit, desc;
  };
  Group* m_group;
  std::unique_ptr<const Text> m_text;
};

// An event count. Dumped as an integer.
class Counter final : public Stat {
 public:
  using Stat::Stat;

  Counter& operator+=(std::uint64_t n) {
    m_value += n;
    return *this;
  }
  Counter& operator++() {
    ++m_value;
    return *this;
  }
  void operator++(int) { ++m_value; }
  std::uint64_t value() const { return m_value; }

  nlohmann::json value_json() const override;

 private:
  std::uint64_t m_value = 0;
};

// The time-weighted level of something (queue depth, buffers in use), in cycles of one clock
// domain. The level is 0 from cycle 0 until the first set(). Dumped as
// {"mean": time-weighted mean level over [0, end], "max": highest level set}, where end is the
// domain's now() at dump time (the dump runs after sc_start returns, so that is the end of
// the run), or the cycle of the last set() if that is later.
class Occupancy final : public Stat {
 public:
  // `domain` must outlive this stat.
  Occupancy(Group& group, std::string name, std::string unit, std::string desc,
            const ClockDomain& domain);

  // From cycle `now` on the level is `level`. `now` must not go backwards (InternalError).
  // Inline: the HBM controllers call it twice per burst.
  void set(Cycles now, std::uint64_t level) {
    if (now < m_last) went_back();
    m_area += m_level * (now - m_last).count();
    m_last = now;
    m_level = level;
    if (level > m_max) m_max = level;
  }
  std::uint64_t level() const { return m_level; }
  std::uint64_t max() const { return m_max; }
  // Time-weighted mean level over [0, end]; `end` must be at or after the last set()
  // (InternalError otherwise). 0 when end is cycle 0.
  double mean(Cycles end) const;

  nlohmann::json value_json() const override;

 private:
  [[noreturn]] void went_back() const;  // set()'s InternalError, out of line

  const ClockDomain& m_domain;
  Cycles m_last;              // cycle of the last set()
  std::uint64_t m_level = 0;  // level since m_last
  std::uint64_t m_max = 0;
  // Sum of level x cycles over [0, m_last], exact: at most 2^64 level-cycles (a level of 4096
  // held for 4e15 cycles).
  std::uint64_t m_area = 0;
};

// A distribution of integer samples over fixed linear buckets: bucket i holds
// [i * bucket_width, (i + 1) * bucket_width), plus one overflow bucket for everything at or
// above num_buckets * bucket_width. Count, sum, min, max and mean are exact.
// Dumped as {"count", "sum", "mean", "min", "max", "p50", "p90", "p99", "bucket_width",
// "buckets": [num_buckets counts], "overflow": count}; min, max, mean and the percentiles
// are 0 while the histogram is empty.
class Histogram final : public Stat {
 public:
  // bucket_width > 0 and num_buckets > 0 (InternalError otherwise).
  Histogram(Group& group, std::string name, std::string unit, std::string desc,
            std::uint64_t bucket_width, std::size_t num_buckets);

  void sample(std::uint64_t v) {
    // A shift for power-of-two widths (every one in llmsim): a 64-bit division is some 40
    // cycles, and the HBM and NoC models sample once per burst and per packet.
    const std::uint64_t i = m_width_shift >= 0 ? v >> m_width_shift : v / m_bucket_width;
    ++m_buckets[i < m_num_buckets ? i : m_num_buckets];
    ++m_count;
    m_sum += v;
    if (v < m_min) m_min = v;
    if (v > m_max) m_max = v;
  }

  std::uint64_t count() const { return m_count; }
  std::uint64_t sum() const { return m_sum; }
  std::uint64_t min() const { return m_count == 0 ? 0 : m_min; }
  std::uint64_t max() const { return m_max; }
  double mean() const;
  std::uint64_t bucket_width() const { return m_bucket_width; }
  // num_buckets + 1 counts; the last one is the overflow bucket.
  const std::vector<std::uint64_t>& buckets() const { return m_buckets; }

  // The p-th percentile, p in [0, 100] (InternalError otherwise), by nearest rank: the
  // ceil(p / 100 * count)-th smallest sample (at least the 1st). Resolved from the buckets:
  // returns the largest value the bucket holding that sample can hold, capped at the exact
  // max, so for the true percentile t the result r satisfies t <= r <= t + bucket_width - 1
  // (exact when bucket_width is 1). In the overflow bucket it returns the exact max. 0 when
  // empty.
  std::uint64_t percentile(double p) const;

  nlohmann::json value_json() const override;

 private:
  std::uint64_t m_bucket_width;
  int m_width_shift;  // log2(m_bucket_width) if it is a power of two, else -1
  std::size_t m_num_buckets;
  std::vector<std::uint64_t> m_buckets;  // m_num_buckets + 1, the last is the overflow
  std::uint64_t m_count = 0;
  std::uint64_t m_sum = 0;
  std::uint64_t m_min = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t m_max = 0;
};

// A value derived from other state (bandwidth, utilisation, energy), computed by `fn` only
// when dumped or asked for. Everything `fn` refers to must outlive this stat. Dumped as a
// number (a NaN or infinite result is dumped by nlohmann::json as null).
class Formula final : public Stat {
 public:
  Formula(Group& group, std::string name, std::string unit, std::string desc,
          std::function<double()> fn);

  double value() const { return m_fn(); }

  nlohmann::json value_json() const override;

 private:
  std::function<double()> m_fn;
};

}  // namespace llmsim::stats
