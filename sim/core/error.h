#pragma once
// Two kinds of failure (after gem5's fatal vs panic):
//  - UserError and its subclasses: the user got a config, workload or command line wrong.
//    The CLI prints the message on one line and exits with code 2; Python raises ValueError.
//  - InternalError: a simulator invariant broke. Checked in release builds too; the CLI
//    reports it as a bug and exits with code 1.
#include <stdexcept>
#include <string>

namespace llmsim {

class UserError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The architecture config is wrong: the message names the key path, the value and what is
// allowed, e.g. "core.sram.banks: must be a power of two, got 12".
class ConfigError : public UserError {
 public:
  using UserError::UserError;
};

// The workload (model, trace or op list) is wrong or asks for something not modelled.
class WorkloadError : public UserError {
 public:
  using UserError::UserError;
};

class InternalError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

[[noreturn]] void throw_internal_error(const char* condition, const std::string& message,
                                       const char* file, int line);

}  // namespace llmsim

// Checks a simulator invariant in every build type (not an assert: never compiled out).
#define LLMSIM_CHECK(cond, msg)                                                    \
  do {                                                                             \
    if (!(cond)) ::llmsim::throw_internal_error(#cond, (msg), __FILE__, __LINE__); \
  } while (0)
