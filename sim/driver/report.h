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

// Writes the three files into `dir` (created if missing). Each file is written to a temporary
// name first and renamed, so a failed run leaves no half-written file.
void write_outputs(const RunResult& r, const std::string& dir);

std::string ops_csv(const RunResult& r);

}  // namespace llmsim::driver
