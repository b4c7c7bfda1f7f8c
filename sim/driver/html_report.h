#pragma once
// `llmsim report RUN_DIR`: one HTML page (RUN_DIR/report.html) with a run's totals, its
// per-layer and per-op tables and its plots. The plots are matplotlib's, so the page is written
// by the Python package (python/llmsim/report.py), run with the interpreter and package
// directory this build was configured with.
#include <ostream>
#include <string>
#include <vector>

namespace llmsim::driver {

// Checks RUN_DIR (UserError naming a missing directory or stats.json), then runs
// `python3 -m llmsim.report RUN_DIR`; its standard output goes to `out`, its standard error to
// `err`. Returns the CLI exit code: 0, 2 (the module's user error, "error: ..." on its stderr)
// or 1 (any other exit code or a signal: a bug).
int html_report(const std::string& run_dir, std::ostream& out, std::ostream& err);

// Runs `python3 -m MODULE ARGS...` with the interpreter this build was configured with and the
// package directory (python_package_dir()) first on PYTHONPATH; the child's standard output is
// written to `out` and its standard error to `err` once it ends. Returns its exit code, or minus
// the signal that ended it. UserError when the interpreter cannot be started.
int run_python_module(const std::string& module, const std::vector<std::string>& args,
                      std::ostream& out, std::ostream& err);

}  // namespace llmsim::driver
