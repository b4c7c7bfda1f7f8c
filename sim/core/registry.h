#pragma once
// Named implementations of an interface, chosen by a config key (after ramulator2's
// RAMULATOR_REGISTER_IMPLEMENTATION). Registration is one line next to the implementation:
//   LLMSIM_REGISTER(MemoryBackend, "simple", SimpleMemory);
// It runs in a static initialiser, so the library is linked whole (see CMakeLists.txt).
// The table is filled before main() and only read afterwards: not mutable simulator state.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sim/core/error.h"

namespace llmsim {

template <class Interface, class... Args>
class Registry {
 public:
  using Factory = std::function<std::unique_ptr<Interface>(Args...)>;

  static Registry& instance() {
    static Registry r;
    return r;
  }

  bool add(const std::string& name, Factory f) {
    LLMSIM_CHECK(m_factories.count(name) == 0, "implementation registered twice: " + name);
    m_factories.emplace(name, std::move(f));
    return true;
  }

  // Throws ConfigError naming `key_path` and the valid names if `name` is unknown.
  std::unique_ptr<Interface> create(const std::string& name, const std::string& key_path,
                                    Args... args) const {
    auto it = m_factories.find(name);
    if (it == m_factories.end()) {
      std::string valid;
      for (const auto& n : names()) valid += (valid.empty() ? "" : ", ") + n;
      throw ConfigError(key_path + ": unknown implementation \"" + name + "\"; valid: " + valid);
    }
    return it->second(std::forward<Args>(args)...);
  }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [n, f] : m_factories) out.push_back(n);
    return out;
  }

 private:
  std::map<std::string, Factory> m_factories;
};

}  // namespace llmsim

#define LLMSIM_REGISTRY_CAT2(a, b) a##b
#define LLMSIM_REGISTRY_CAT(a, b) LLMSIM_REGISTRY_CAT2(a, b)
// Registers `factory` (a callable returning std::unique_ptr<Interface>) under `name` in
// `RegistryType` (an alias of Registry<Interface, Args...>).
#define LLMSIM_REGISTER(RegistryType, name, factory)                                      \
  namespace {                                                                             \
  const bool LLMSIM_REGISTRY_CAT(llmsim_registered_,                                      \
                                 __LINE__) = RegistryType::instance().add(name, factory); \
  }
