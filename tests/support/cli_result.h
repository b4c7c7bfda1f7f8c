#pragma once
// Runs the `llmsim` command line in process (driver::cli_main) and keeps its exit code and
// both output streams, for the CLI tests.
#include <sstream>
#include <string>
#include <vector>

#include "sim/driver/cli.h"

namespace llmsim::testing {

struct CliResult {
  int code;
  std::string out, err;
};

inline CliResult cli(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  const int code = driver::cli_main(args, out, err);
  return {code, out.str(), err.str()};
}

}  // namespace llmsim::testing
