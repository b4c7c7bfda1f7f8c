#pragma once
// The `llmsim` command line. Exit codes: 0 ok, 2 the user's mistake (bad config, workload or
// arguments; one line on stderr naming the key), 1 an internal error (a simulator bug).
#include <ostream>
#include <string>
#include <vector>

namespace llmsim::driver {

int cli_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace llmsim::driver
