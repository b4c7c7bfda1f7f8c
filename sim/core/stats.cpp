#include "sim/core/stats.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include <nlohmann/json.hpp>

#include "sim/core/error.h"

namespace llmsim::stats {

namespace {

void check_name(const std::string& name) {
  LLMSIM_CHECK(!name.empty() && name.find('.') == std::string::npos,
               "stat or group name '" + name + "' must be non-empty and contain no '.'");
}

// Splits "a.b.c" into {"a", "b", "c"}; "" into {""}.
std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = path.find('.', start);
    parts.push_back(path.substr(start, dot - start));
    if (dot == std::string::npos) return parts;
    start = dot + 1;
  }
}

const Group* child_named(const Group& g, const std::string& name) {
  for (const Group* c : g.children()) {
    if (c->name() == name) return c;
  }
  return nullptr;
}

const Stat* stat_named(const Group& g, const std::string& name) {
  for (const Stat* s : g.stats()) {
    if (s->name() == name) return s;
  }
  return nullptr;
}

void describe_under(const Group& g, const std::string& prefix, nlohmann::json& out) {
  for (const Stat* s : g.stats()) {
    out[prefix + s->name()] = {{"unit", s->unit()}, {"desc", s->desc()}};
  }
  for (const Group* c : g.children()) describe_under(*c, prefix + c->name() + ".", out);
}

}  // namespace

// ---- Group ----

Group::Group(std::string name) : m_name(std::move(name)) {
  check_name(m_name);
}

Group::Group(Group& parent, std::string name) : m_name(std::move(name)), m_parent(&parent) {
  check_name(m_name);
  parent.check_name_free(m_name);
  parent.m_children.push_back(this);
}

Group::~Group() {
  if (m_parent != nullptr) {
    auto& siblings = m_parent->m_children;
    siblings.erase(std::find(siblings.begin(), siblings.end(), this));
  }
  for (Group* c : m_children) c->m_parent = nullptr;
  for (Stat* s : m_stats) s->m_group = nullptr;
}

std::string Group::path() const {
  return m_parent == nullptr ? m_name : m_parent->path() + "." + m_name;
}

void Group::check_name_free(const std::string& name) const {
  LLMSIM_CHECK(child_named(*this, name) == nullptr && stat_named(*this, name) == nullptr,
               "duplicate stat or group name '" + name + "' in group '" + path() + "'");
}

void Group::add_stat(Stat* s) {
  check_name(s->name());
  check_name_free(s->name());
  m_stats.push_back(s);
}

void Group::remove_stat(Stat* s) {
  m_stats.erase(std::find(m_stats.begin(), m_stats.end(), s));
}

nlohmann::json Group::values_json() const {
  nlohmann::json out = nlohmann::json::object();
  for (const Stat* s : m_stats) out[s->name()] = s->value_json();
  for (const Group* c : m_children) out[c->name()] = c->values_json();
  return out;
}

void Group::describe(nlohmann::json& out) const {
  describe_under(*this, path() + ".", out);
}

const Group* Group::find_group(const std::string& relative_path) const {
  if (relative_path.empty()) return this;
  const Group* g = this;
  for (const std::string& part : split_path(relative_path)) {
    g = child_named(*g, part);
    if (g == nullptr) return nullptr;
  }
  return g;
}

const Stat* Group::find(const std::string& relative_path) const {
  const std::size_t dot = relative_path.rfind('.');
  if (dot == std::string::npos) return stat_named(*this, relative_path);
  const Group* g = find_group(relative_path.substr(0, dot));
  return g == nullptr ? nullptr : stat_named(*g, relative_path.substr(dot + 1));
}

std::uint64_t Group::counter_value(const std::string& relative_path) const {
  const auto* c = dynamic_cast<const Counter*>(find(relative_path));
  LLMSIM_CHECK(c != nullptr, "no counter '" + relative_path + "' under '" + path() + "'");
  return c->value();
}

// ---- Stat ----

Stat::Stat(Group& group, std::string name, std::string unit, std::string desc)
    : m_group(&group),
      m_text(std::make_unique<const Text>(Text{std::move(name), std::move(unit), std::move(desc)})) {
  group.add_stat(this);
}

Stat::~Stat() {
  if (m_group != nullptr) m_group->remove_stat(this);
}

std::string Stat::path() const {
  return m_group == nullptr ? name() : m_group->path() + "." + name();
}

// ---- Counter ----

nlohmann::json Counter::value_json() const {
  return m_value;
}

// ---- Occupancy ----

Occupancy::Occupancy(Group& group, std::string name, std::string unit, std::string desc,
                     const ClockDomain& domain)
    : Stat(group, std::move(name), std::move(unit), std::move(desc)), m_domain(domain) {}

void Occupancy::went_back() const {
  throw_internal_error("now >= m_last",
                       "occupancy '" + path() + "' set at a cycle before its last set", __FILE__,
                       __LINE__);
}

double Occupancy::mean(Cycles end) const {
  LLMSIM_CHECK(end >= m_last, "occupancy '" + path() + "' read at a cycle before its last set");
  if (end.count() == 0) return 0.0;
  const std::uint64_t area = m_area + m_level * (end - m_last).count();
  return double(area) / double(end.count());
}

nlohmann::json Occupancy::value_json() const {
  return {{"mean", mean(llmsim::max(m_domain.now(), m_last))}, {"max", m_max}};
}

// ---- Histogram ----

Histogram::Histogram(Group& group, std::string name, std::string unit, std::string desc,
                     std::uint64_t bucket_width, std::size_t num_buckets)
    : Stat(group, std::move(name), std::move(unit), std::move(desc)),
      m_bucket_width(bucket_width),
      m_width_shift(bucket_width != 0 && (bucket_width & (bucket_width - 1)) == 0
                        ? __builtin_ctzll(bucket_width)
                        : -1),
      m_num_buckets(num_buckets) {
  LLMSIM_CHECK(bucket_width > 0 && num_buckets > 0,
               "histogram '" + path() + "' needs a positive bucket width and bucket count");
  LLMSIM_CHECK(num_buckets <= std::numeric_limits<std::uint64_t>::max() / bucket_width,
               "histogram '" + path() + "' covers more than the uint64 range");
  m_buckets.assign(num_buckets + 1, 0);
}

double Histogram::mean() const {
  return m_count == 0 ? 0.0 : static_cast<double>(m_sum) / static_cast<double>(m_count);
}

std::uint64_t Histogram::percentile(double p) const {
  LLMSIM_CHECK(p >= 0.0 && p <= 100.0, "percentile must be in [0, 100]");
  if (m_count == 0) return 0;
  // Nearest rank; p * count is exact for integral p, so a whole rank is not rounded up.
  const double exact_rank = std::ceil(p * static_cast<double>(m_count) / 100.0);
  const std::uint64_t rank =
      std::clamp<std::uint64_t>(static_cast<std::uint64_t>(exact_rank), 1, m_count);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < m_num_buckets; ++i) {
    seen += m_buckets[i];
    if (seen >= rank) return std::min<std::uint64_t>((i + 1) * m_bucket_width - 1, m_max);
  }
  return m_max;  // in the overflow bucket
}

nlohmann::json Histogram::value_json() const {
  return {{"count", m_count},
          {"sum", m_sum},
          {"mean", mean()},
          {"min", min()},
          {"max", m_max},
          {"p50", percentile(50)},
          {"p90", percentile(90)},
          {"p99", percentile(99)},
          {"bucket_width", m_bucket_width},
          {"buckets", std::vector<std::uint64_t>(m_buckets.begin(), m_buckets.end() - 1)},
          {"overflow", m_buckets.back()}};
}

// ---- Formula ----

Formula::Formula(Group& group, std::string name, std::string unit, std::string desc,
                 std::function<double()> fn)
    : Stat(group, std::move(name), std::move(unit), std::move(desc)), m_fn(std::move(fn)) {
  LLMSIM_CHECK(static_cast<bool>(m_fn), "formula '" + path() + "' has no function");
}

nlohmann::json Formula::value_json() const {
  return m_fn();
}

}  // namespace llmsim::stats
