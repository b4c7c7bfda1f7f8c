#pragma once
// Reads keys of a Hugging Face config.json by name, for model_config.cpp. Unlike
// config::Reader it ignores the keys it is never asked for (a real config carries dozens that
// change values, not shapes), except near misses: an unread key within two edits of a key it
// asked for and did not find is a misspelling. A key may have aliases (GPT-2's n_embd for
// hidden_size): the first name is the one messages use, and two names that disagree are an
// error. A null value counts as absent (Hugging Face's "use the default"). Errors are
// WorkloadErrors "<model>: <key>: <what>".
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/config.h"

namespace llmsim::workloads {

class HfReader {
 public:
  HfReader(const config::Json& doc, std::string model_name);

  [[noreturn]] void fail(const std::string& key, const std::string& what) const;

  // The value under the first present, non-null name; nullptr if none.
  const config::Json* find(std::initializer_list<const char*> names);
  // An integer in [1, max] ([0, max] with allow_zero).
  std::uint64_t count(std::initializer_list<const char*> names,
                      std::optional<std::uint64_t> def = std::nullopt, bool allow_zero = false,
                      std::uint64_t max = std::uint64_t(1) << 32);
  bool boolean(std::initializer_list<const char*> names, bool def);
  std::string string(std::initializer_list<const char*> names, std::optional<std::string> def);

  // Throws for an unread key one or two edits away from a key asked for and absent.
  void check_near_misses() const;

 private:
  [[noreturn]] void missing(const std::string& key, const std::string& what) const;

  const config::Json& m_doc;
  std::string m_name;
  std::vector<std::string> m_asked;
};

}  // namespace llmsim::workloads
