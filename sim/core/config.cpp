#include "sim/core/config.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sim/core/error.h"
#include "sim/core/units.h"

namespace llmsim::config {

namespace {

// Levenshtein distance, to suggest the key a typo meant.
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

std::string short_dump(const Json& v) {
  std::string s = v.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (s.size() > 60) {
    std::size_t cut = 57;  // at a UTF-8 character boundary: never a continuation byte 10xxxxxx
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    s = s.substr(0, cut) + "...";
  }
  return s;
}

Reader::Reader(const Json& node, std::string path, Json& resolved)
    : m_node(&node), m_path(std::move(path)), m_resolved(&resolved) {
  if (!m_node->is_object()) {
    throw ConfigError((m_path.empty() ? std::string("config") : m_path) +
                      ": must be an object, got " + short_dump(*m_node));
  }
  if (!m_resolved->is_object()) *m_resolved = Json::object();
}

std::string Reader::key_path(const std::string& key) const {
  return m_path.empty() ? key : m_path + "." + key;
}

void Reader::fail(const std::string& key, const std::string& what) const {
  throw ConfigError(key_path(key) + ": " + what);
}

void Reader::fail_value(const std::string& key, const std::string& allowed, const Json& got) const {
  fail(key, "must be " + allowed + ", got " + short_dump(got));
}

void Reader::fail_missing(const std::string& key, const std::string& what) const {
  std::string msg = "is required (" + what + ")", best;
  std::size_t best_d = 3;  // point only at near misses
  for (auto it = m_node->begin(); it != m_node->end(); ++it) {
    const std::size_t d = edit_distance(it.key(), key);
    if (d < best_d) best_d = d, best = it.key();
  }
  if (!best.empty()) msg += "; found \"" + best + "\": a misspelling?";
  fail(key, msg);
}

const Json* Reader::find(const std::string& key) {
  if (std::find(m_consumed.begin(), m_consumed.end(), key) == m_consumed.end()) {
    m_consumed.push_back(key);
  }
  auto it = m_node->find(key);
  return it == m_node->end() ? nullptr : &*it;
}

bool Reader::has(const std::string& key) const {
  return m_node->contains(key);
}

bool Reader::is_string(const std::string& key) const {
  auto it = m_node->find(key);
  return it != m_node->end() && it->is_string();
}

bool Reader::is_object(const std::string& key) const {
  auto it = m_node->find(key);
  return it != m_node->end() && it->is_object();
}

bool Reader::is_null(const std::string& key) const {
  auto it = m_node->find(key);
  return it != m_node->end() && it->is_null();
}

void Reader::ignore(const std::string& key) {
  if (const Json* v = find(key)) (*m_resolved)[key] = *v;
}

std::uint64_t Reader::uint(const std::string& key, std::optional<std::uint64_t> def,
                           std::uint64_t max) {
  return read_uint(key, def, 0, max);
}

std::uint64_t Reader::count(const std::string& key, std::optional<std::uint64_t> def,
                            std::uint64_t max) {
  return read_uint(key, def, 1, max);
}

std::uint64_t Reader::read_uint(const std::string& key, std::optional<std::uint64_t> def,
                                std::uint64_t min, std::uint64_t max) {
  const std::string what = min == 0 ? "a non-negative integer" : "a positive integer";
  const Json* v = find(key);
  if (!v) {
    if (!def) fail_missing(key, what);
    (*m_resolved)[key] = *def;
    return *def;
  }
  if (!v->is_number_integer() || (!v->is_number_unsigned() && v->get<std::int64_t>() < 0)) {
    fail_value(key, what, *v);
  }
  const auto x = v->get<std::uint64_t>();
  if (x < min) fail_value(key, what, *v);
  if (x > max) {
    fail(key, "must be in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " +
                  std::to_string(x));
  }
  (*m_resolved)[key] = x;
  return x;
}

std::uint64_t Reader::power_of_two(const std::string& key, std::optional<std::uint64_t> def,
                                   std::uint64_t max) {
  const std::uint64_t x = count(key, def, max);
  if (!is_power_of_two(x)) fail(key, "must be a power of two, got " + std::to_string(x));
  return x;
}

double Reader::non_negative(const std::string& key, std::optional<double> def) {
  return read_number(key, def, "a non-negative number", false);
}

double Reader::positive(const std::string& key, std::optional<double> def) {
  return read_number(key, def, "a positive number", true);
}

double Reader::clock_mhz(const std::string& key, std::optional<double> def) {
  const double f = positive(key, def);
  if (f < kMinClockMhz || f > kMaxClockMhz) {
    std::ostringstream range;
    range << "must be a clock in [" << kMinClockMhz << ", " << kMaxClockMhz << "] MHz, got " << f;
    fail(key, range.str());
  }
  return f;
}

double Reader::read_number(const std::string& key, std::optional<double> def,
                           const std::string& what, bool strictly_positive) {
  const Json* v = find(key);
  if (!v) {
    if (!def) fail_missing(key, what);
    (*m_resolved)[key] = *def;
    return *def;
  }
  if (!v->is_number() || v->get<double>() < 0 || (strictly_positive && !(v->get<double>() > 0)) ||
      !std::isfinite(v->get<double>())) {
    fail_value(key, what, *v);
  }
  (*m_resolved)[key] = *v;
  return v->get<double>();
}

bool Reader::boolean(const std::string& key, std::optional<bool> def) {
  const Json* v = find(key);
  if (!v) {
    if (!def) fail_missing(key, "true or false");
    (*m_resolved)[key] = *def;
    return *def;
  }
  if (!v->is_boolean()) fail_value(key, "true or false", *v);
  (*m_resolved)[key] = *v;
  return v->get<bool>();
}

std::string Reader::string(const std::string& key, std::optional<std::string> def) {
  const Json* v = find(key);
  if (!v) {
    if (!def) fail_missing(key, "a string");
    (*m_resolved)[key] = *def;
    return *def;
  }
  if (!v->is_string()) fail_value(key, "a string", *v);
  (*m_resolved)[key] = *v;
  return v->get<std::string>();
}

std::string Reader::choice(const std::string& key, const std::vector<std::string>& allowed,
                           std::optional<std::string> def) {
  const std::string what = "one of " + join(allowed);
  const Json* v = m_node->contains(key) ? &m_node->at(key) : nullptr;
  if (v && !v->is_string()) {
    find(key);
    fail_value(key, what, *v);
  }
  if (!v && !def) {
    find(key);
    fail_missing(key, what);
  }
  const std::string s = string(key, def);
  if (std::find(allowed.begin(), allowed.end(), s) == allowed.end()) {
    fail(key, "must be one of " + join(allowed) + ", got \"" + s + "\"");
  }
  return s;
}

std::vector<std::string> Reader::string_list(const std::string& key,
                                             const std::vector<std::string>& allowed,
                                             std::optional<std::vector<std::string>> def) {
  const Json* v = find(key);
  if (!v) {
    if (!def) fail_missing(key, "a list of " + join(allowed));
    (*m_resolved)[key] = *def;
    return *def;
  }
  const std::string what = "a non-empty list of " + join(allowed);
  if (!v->is_array() || v->empty()) fail_value(key, what, *v);
  std::vector<std::string> out;
  for (const auto& e : *v) {
    if (!e.is_string() ||
        std::find(allowed.begin(), allowed.end(), e.get<std::string>()) == allowed.end()) {
      fail_value(key, what, *v);
    }
    if (std::find(out.begin(), out.end(), e.get<std::string>()) != out.end()) {
      fail(key, "names \"" + e.get<std::string>() + "\" twice; each of " + join(allowed) +
                    " may appear once, got " + short_dump(*v));
    }
    out.push_back(e.get<std::string>());
  }
  (*m_resolved)[key] = *v;
  return out;
}

std::vector<std::uint64_t> Reader::uint_list(const std::string& key, std::uint64_t bound,
                                             std::optional<std::vector<std::uint64_t>> def) {
  const std::string what = "a list of integers in [0, " + std::to_string(bound - 1) + "]";
  const Json* v = find(key);
  if (!v) {
    if (!def) fail_missing(key, what);
    (*m_resolved)[key] = *def;
    return *def;
  }
  if (!v->is_array()) fail_value(key, what, *v);
  std::vector<std::uint64_t> out;
  for (const auto& e : *v) {
    if (!e.is_number_unsigned() || e.get<std::uint64_t>() >= bound) fail_value(key, what, *v);
    out.push_back(e.get<std::uint64_t>());
  }
  (*m_resolved)[key] = *v;
  return out;
}

Reader Reader::child(const std::string& key) {
  static const Json kEmpty = Json::object();
  const Json* v = find(key);
  Json& sub = (*m_resolved)[key];
  return Reader(v ? *v : kEmpty, key_path(key), sub);
}

Reader Reader::child_from(const std::string& key, const Json& node) {
  find(key);
  Json& sub = (*m_resolved)[key];
  sub = Json::object();
  return Reader(node, key_path(key), sub);
}

void Reader::finish() const {
  for (auto it = m_node->begin(); it != m_node->end(); ++it) {
    if (std::find(m_consumed.begin(), m_consumed.end(), it.key()) != m_consumed.end()) continue;
    std::string best;
    std::size_t best_d = 3;  // suggest only near misses
    for (const auto& k : m_consumed) {
      const std::size_t d = edit_distance(it.key(), k);
      if (d < best_d) best_d = d, best = k;
    }
    std::string msg = "unknown key";
    if (!best.empty()) msg += " (did you mean \"" + best + "\"?)";
    msg += "; allowed here: " + join(m_consumed);
    fail(it.key(), msg);
  }
}

void apply_override(Json& doc, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw ConfigError("--set " + assignment + ": must be of the form path.to.key=value");
  }
  if (!is_utf8(assignment)) {
    throw ConfigError("--set " + printable(assignment) + ": not valid UTF-8");
  }
  const std::string path = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  // JSON when it parses, else the plain string (a syntax error only; a JSON value nested too
  // deep or with a duplicate key is an error).
  Json value;
  try {
    value = parse_json(text, "--set " + path, /*comments=*/false);
  } catch (const ConfigError& e) {
    if (std::string(e.what()).find(": not valid JSON") == std::string::npos) throw;
    value = text;
  }
  if (path.front() == '.' || path.back() == '.' || path.find("..") != std::string::npos) {
    throw ConfigError("--set " + assignment + ": empty key in path");
  }
  Json* node = &doc;
  std::stringstream ss(path);
  std::string part, walked;
  std::vector<std::string> parts;
  while (std::getline(ss, part, '.')) parts.push_back(part);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].empty()) throw ConfigError("--set " + assignment + ": empty key in path");
    if (node->is_null()) *node = Json::object();  // created by the previous step
    if (!node->is_object()) {
      throw ConfigError("--set " + assignment + ": " + walked + " is not an object");
    }
    walked += (walked.empty() ? "" : ".") + parts[i];
    node = &(*node)[parts[i]];
  }
  *node = value;
}

Json with_overrides(const Json& doc, const std::vector<std::string>& assignments) {
  Json out = doc;
  for (const auto& a : assignments) apply_override(out, a);
  return out;
}

Json load_json_file(const std::string& file) {
  if (std::filesystem::is_directory(file)) throw ConfigError(printable(file) + ": is a directory");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ConfigError(printable(file) + ": cannot open file");
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) throw ConfigError(printable(file) + ": cannot read file");
  if (std::uint64_t(size) > kMaxJsonBytes) {
    throw ConfigError(printable(file) + ": " + std::to_string(size) + " bytes, more than the " +
                      std::to_string(kMaxJsonBytes) + " a JSON input may have");
  }
  in.seekg(0);
  std::string text(std::size_t(size), '\0');
  if (!in.read(text.data(), size)) throw ConfigError(printable(file) + ": cannot read file");
  return parse_json(text, file);
}

}  // namespace llmsim::config
