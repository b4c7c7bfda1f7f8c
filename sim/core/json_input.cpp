#include "sim/core/json_input.h"

#include <algorithm>
#include <unordered_set>
#include <vector>

#include "sim/core/error.h"

namespace llmsim::config {

namespace {

// Walks JSON text outside strings and comments, in one pass and without recursion: `open(line,
// object)` at each '{' or '[', `close()` at each '}' or ']', `comma()` at each ',', and
// `key(line, first, last)` for each string followed by ':' (an object key; [first, last) is its
// literal, quotes included). Malformed text is walked too (nlohmann reports it afterwards).
template <class Open, class Close, class Comma, class Key>
void scan(const std::string& t, bool comments, Open open, Close close, Comma comma, Key key) {
  const std::size_t n = t.size();
  std::size_t line = 1, i = 0;
  bool after_string = false;
  std::size_t string_line = 0, string_first = 0, string_last = 0;
  while (i < n) {
    const char c = t[i];
    if (c == '"') {
      string_line = line, string_first = i++;
      while (i < n && t[i] != '"') {
        if (t[i] == '\n') ++line;
        i += t[i] == '\\' ? 2 : 1;
      }
      string_last = i = std::min(i + 1, n);
      after_string = true;
      continue;
    }
    if (c == '\n') ++line;
    if (c == '\n' || c == ' ' || c == '\t' || c == '\r') {
      ++i;
      continue;
    }
    if (comments && c == '/' && i + 1 < n && t[i + 1] == '/') {
      while (i < n && t[i] != '\n') ++i;
      continue;
    }
    if (comments && c == '/' && i + 1 < n && t[i + 1] == '*') {
      i += 2;
      while (i < n && !(t[i] == '*' && i + 1 < n && t[i + 1] == '/')) line += t[i++] == '\n';
      i += 2;
      continue;
    }
    if (c == ':' && after_string) key(string_line, string_first, string_last);
    after_string = false;
    if (c == '{' || c == '[') open(line, c == '{');
    if (c == '}' || c == ']') close();
    if (c == ',') comma();
    ++i;
  }
}

// An open object or array of the text being scanned, for key paths and duplicate keys. Small
// objects keep their keys in a list, large ones in a hash set.
struct Frame {
  bool object = false;
  std::string key;        // object: the last key read
  std::size_t index = 0;  // array: the element being read
  std::vector<std::string> keys;
  std::unordered_set<std::string> many;

  // Records `k`; false if the object has it already.
  bool add(const std::string& k) {
    constexpr std::size_t kSmall = 16;
    if (many.empty() && keys.size() < kSmall) {
      if (std::find(keys.begin(), keys.end(), k) != keys.end()) return false;
      keys.push_back(k);
      return true;
    }
    if (many.empty()) many.insert(keys.begin(), keys.end());
    return many.insert(k).second;
  }
};

std::string path_of(const std::vector<Frame>& frames) {
  std::string out;
  for (const Frame& f : frames) {
    if (f.object) {
      out += (out.empty() ? "" : ".") + f.key;
    } else {
      out += "[" + std::to_string(f.index) + "]";
    }
  }
  return out;
}

// nlohmann's parse error without its "[json.exception.parse_error.101] parse error " prefix.
std::string syntax_message(const std::string& what) {
  const std::string tag = "parse error ";
  const auto at = what.find(tag);
  return at == std::string::npos ? what : what.substr(at + tag.size());
}

}  // namespace

bool is_utf8(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned c = p[i];
    std::size_t len = 0;
    unsigned lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // > U+10FFFF
    } else {
      return false;
    }
    if (i + len > n || p[i + 1] < lo || p[i + 1] > hi) return false;
    for (std::size_t j = 2; j < len; ++j) {
      if (p[i + j] < 0x80 || p[i + j] > 0xBF) return false;
    }
    i += len;
  }
  return true;
}

std::string printable(const std::string& s) {
  if (is_utf8(s)) return s;
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    // Keep each byte that starts a well-formed sequence; replace the rest.
    std::size_t len = 1;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0xC2 && c <= 0xF4) len = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (c >= 0x80 && (len == 1 || !is_utf8(s.substr(i, len)))) {
      out += '?';
      continue;
    }
    out += s.substr(i, len);
    i += len - 1;
  }
  return out;
}

Json parse_json(const std::string& text, const std::string& source, bool comments) {
  const std::string where = printable(source);
  if (text.size() > kMaxJsonBytes) {
    throw ConfigError(where + ": " + std::to_string(text.size()) + " bytes of JSON, more than " +
                      "the " + std::to_string(kMaxJsonBytes) + " an input may have");
  }
  // Depth and duplicate keys first, in one pass without recursion: nlohmann's parser, and every
  // recursive copy, comparison and destruction of the document, would overflow the stack long
  // before memory runs out. (nlohmann's callback parser could see the keys, but it searches
  // the enclosing array after every object it closes: quadratic in a trace's op count.)
  std::vector<Frame> frames;
  scan(
      text, comments,
      [&](std::size_t line, bool object) {
        if (frames.size() >= kMaxJsonDepth) {
          throw ConfigError(where + ": JSON nested deeper than " + std::to_string(kMaxJsonDepth) +
                            " levels at line " + std::to_string(line));
        }
        frames.emplace_back();
        frames.back().object = object;
      },
      [&] {
        if (!frames.empty()) frames.pop_back();
      },
      [&] {
        if (!frames.empty() && !frames.back().object) ++frames.back().index;
      },
      [&](std::size_t line, std::size_t first, std::size_t last) {
        if (frames.empty() || !frames.back().object) return;  // malformed: nlohmann says so
        std::string k = text.substr(first + 1, last - first - 2);
        if (k.find('\\') != std::string::npos) {  // escapes: compare keys as decoded
          const Json decoded = Json::parse(text.substr(first, last - first), nullptr, false);
          if (decoded.is_string()) k = decoded.get<std::string>();
        }
        Frame& f = frames.back();
        f.key = k;
        if (!f.add(k)) {
          throw ConfigError(where + ": duplicate key " + printable(path_of(frames)) + " at line " +
                            std::to_string(line) + " (a key may appear once per object)");
        }
      });
  try {
    return Json::parse(text, nullptr, /*allow_exceptions=*/true, comments);
  } catch (const Json::parse_error& e) {
    throw ConfigError(where + ": not valid JSON " + printable(syntax_message(e.what())));
  } catch (const Json::exception& e) {  // out_of_range 406: a number past a double's range
    throw ConfigError(where + ": not valid JSON: " + printable(e.what()));
  }
}

}  // namespace llmsim::config
