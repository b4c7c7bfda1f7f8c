#pragma once
// `llmsim report RUN_DIR`: one HTML page (RUN_DIR/report.html) with a run's totals, its
// per-layer and per-op tables and its plots. The plots are matplotlib's, so the page is written
// by the Python package (python/llmsim/report.py), run with the interpreter and package
// directory this build was configured with.
#include <ostream>
#include <string>

namespace llmsim::driver {

// Checks RUN_DIR (UserError naming a missing directory or stats.json), then runs
// `python3 -m llmsim.report RUN_DIR`; its standard output goes to `out`, its standard error to
// `err`. Returns the CLI exit code: 0, 2 (the module's user error, "error: ..." on its stderr)
// or 1 (any other exit code or a signal: a bug).
int html_report(const std::string& run_dir, std::ostream& out, std::ostream& err);

}  // namespace llmsim::driver
