#include "workloads/hf_reader.h"

#include <algorithm>

#include "sim/core/error.h"

namespace llmsim::workloads {

using config::Json;

namespace {

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      cur[j] =
          std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

constexpr std::size_t kNearMiss = 2;  // edits

}  // namespace

HfReader::HfReader(const Json& doc, std::string model_name)
    : m_doc(doc), m_name(std::move(model_name)) {
  if (!doc.is_object()) throw WorkloadError(m_name + ": must be a JSON object (a config.json)");
}

void HfReader::fail(const std::string& key, const std::string& what) const {
  throw WorkloadError(m_name + ": " + key + ": " + what);
}

const Json* HfReader::find(std::initializer_list<const char*> names) {
  const Json* found = nullptr;
  std::string found_name;
  for (const char* n : names) {
    m_asked.push_back(n);
    auto it = m_doc.find(n);
    if (it == m_doc.end() || it->is_null()) continue;
    if (found && *found != *it) {
      fail(n, "disagrees with " + found_name + " (" + config::short_dump(*found) + " vs " +
                  config::short_dump(*it) + ")");
    }
    if (!found) found = &*it, found_name = n;
  }
  return found;
}

std::uint64_t HfReader::count(std::initializer_list<const char*> names,
                              std::optional<std::uint64_t> def, bool allow_zero,
                              std::uint64_t max) {
  const Json* v = find(names);
  const char* key = *names.begin();
  if (!v) {
    if (!def) missing(key, allow_zero ? "a non-negative integer" : "a positive integer");
    return *def;
  }
  // A JSON 0 parses as an unsigned number, so zero is checked on the value, not the sign
  // (found by the hf_config fuzzer: num_key_value_heads 0 divided by zero).
  if (!v->is_number_integer() || (!v->is_number_unsigned() && v->get<std::int64_t>() < 0) ||
      (!allow_zero && v->get<std::uint64_t>() == 0)) {
    fail(key, std::string("must be a ") + (allow_zero ? "non-negative" : "positive") +
                  " integer, got " + config::short_dump(*v));
  }
  const auto x = v->get<std::uint64_t>();
  if (x > max) {
    fail(key, "must be in [" + std::string(allow_zero ? "0" : "1") + ", " + std::to_string(max) +
                  "], got " + std::to_string(x));
  }
  return x;
}

bool HfReader::boolean(std::initializer_list<const char*> names, bool def) {
  const Json* v = find(names);
  if (!v) return def;
  if (!v->is_boolean())
    fail(*names.begin(), "must be true or false, got " + config::short_dump(*v));
  return v->get<bool>();
}

std::string HfReader::string(std::initializer_list<const char*> names,
                             std::optional<std::string> def) {
  const Json* v = find(names);
  if (!v) {
    if (!def) missing(*names.begin(), "a string");
    return *def;
  }
  if (!v->is_string()) fail(*names.begin(), "must be a string, got " + config::short_dump(*v));
  return v->get<std::string>();
}

void HfReader::check_near_misses() const {
  for (auto it = m_doc.begin(); it != m_doc.end(); ++it) {
    if (std::find(m_asked.begin(), m_asked.end(), it.key()) != m_asked.end()) continue;
    for (const auto& a : m_asked) {
      if (!m_doc.contains(a) && edit_distance(it.key(), a) <= kNearMiss) {
        fail(it.key(), "unknown key (did you mean \"" + a + "\"?)");
      }
    }
  }
}

void HfReader::missing(const std::string& key, const std::string& what) const {
  std::string msg = "is required (" + what + ")";
  for (auto it = m_doc.begin(); it != m_doc.end(); ++it) {
    if (edit_distance(it.key(), key) <= kNearMiss) {
      msg += "; found \"" + it.key() + "\": a misspelling?";
      break;
    }
  }
  fail(key, msg);
}

}  // namespace llmsim::workloads
