#pragma once
// The one way llmsim reads JSON text: arch configs, workload and trace files, Hugging Face
// config.json files, --set values and the dicts Python hands over all come through
// parse_json(). On top of nlohmann's syntax check it bounds what a hostile or careless input
// can cost, and rejects what nlohmann would silently accept:
//  - size: at most kMaxJsonBytes of text (a DOM takes about ten times its text);
//  - nesting: at most kMaxJsonDepth levels of objects and arrays, checked by a scan of the
//    text before nlohmann's recursive parser (and every recursive copy, comparison and
//    destruction of the document after it) runs; real configs nest fewer than 8 levels;
//  - duplicate keys in an object: an error naming the key path and the line (nlohmann keeps
//    the last one silently);
//  - invalid UTF-8 in a string: nlohmann's lexer rejects it (the document could not be
//    written back out).
// Every error is a ConfigError of one line that starts with `source` (a file name or
// "--set a.b=..."), and every message is valid UTF-8.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace llmsim::config {

using Json = nlohmann::json;

inline constexpr std::size_t kMaxJsonDepth = 64;
inline constexpr std::uint64_t kMaxJsonBytes = std::uint64_t(256) << 20;  // 256 MiB

// Parses `text` read from `source`. `comments`: // and /* */ comments are allowed (files).
//   "FILE: JSON nested deeper than 64 levels at line 3"
//   "FILE: duplicate key core.systolic.rows at line 12 (a key may appear once per object)"
//   "FILE: not valid JSON: syntax error ... at line 2, column 9"
Json parse_json(const std::string& text, const std::string& source, bool comments = true);

// Whether `s` is well-formed UTF-8 (no overlong forms, surrogates or code points > U+10FFFF).
bool is_utf8(const std::string& s);
// `s` with every byte that is not part of well-formed UTF-8 replaced by '?', for messages.
std::string printable(const std::string& s);

}  // namespace llmsim::config
