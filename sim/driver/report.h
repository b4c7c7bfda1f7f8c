#pragma once
// Human and machine outputs of a run: the summary table, and the files of `--out DIR`:
// stats.json (run totals + the stats tree + units/descriptions), config.json (the resolved arch
// config) and ops.csv (one row per op).
#include <ostream>
#include <string>

#include "sim/driver/run.h"

namespace llmsim::driver {

// `x` with `digits` digits after the point, for the printed tables.
std::string fixed(double x, int digits);

void print_summary(std::ostream& os, const RunResult& r);

// Before a run: creates `dir` (and its parents) if missing and checks that it is a writable
// directory, so that a long simulation does not end in an unwritable --out. UserError naming
// --out, the path and the reason.
void prepare_output_dir(const std::string& dir);

// Writes the three files into `dir` (created if missing). Each file is written whole to a
// temporary name, every write and the close checked, then renamed: a failure (UserError naming
// the file and the reason) leaves no half-written file.
void write_outputs(const RunResult& r, const std::string& dir);

// `text` into `path` whole or not at all (a temporary name, checked writes, then rename);
// UserError "<what> PATH: <reason>" on failure.
void write_file_atomically(const std::string& path, const std::string& text,
                           const std::string& what);

std::string ops_csv(const RunResult& r);

}  // namespace llmsim::driver
