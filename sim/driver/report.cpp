#include "sim/driver/report.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <vector>

#include "arch/systolic/timing.h"
#include "sim/core/error.h"

namespace llmsim::driver {

namespace fs = std::filesystem;

std::string fixed(double x, int digits) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(digits) << x;
  return os.str();
}

namespace {

std::string bytes_str(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) b /= 1024, ++u;
  return fixed(b, u ? 2 : 0) + " " + units[u];
}

std::string time_str(double s) {
  if (s >= 1) return fixed(s, 3) + " s";
  if (s >= 1e-3) return fixed(s * 1e3, 3) + " ms";
  return fixed(s * 1e6, 3) + " us";
}

// pJ in the largest unit that keeps the number at or above 1 (up to J).
std::string energy_str(double pj) {
  const char* units[] = {"pJ", "nJ", "uJ", "mJ", "J"};
  int u = 0;
  while (pj >= 1000 && u < 4) pj /= 1000, ++u;
  return fixed(pj, u ? 3 : 1) + " " + units[u];
}

// Energy per inference and per token, average power and the share of every unit.
void print_energy(std::ostream& os, const RunResult& r) {
  const RunEnergy& e = r.energy;
  if (!e.reported) {
    os << "  energy                not modelled (no unit of the config gives energies)\n";
    return;
  }
  const auto pct = [&](double pj) {
    return e.total_pj > 0 ? fixed(100 * pj / e.total_pj, 1) : std::string("0.0");
  };
  os << "  energy per inference  " << energy_str(e.total_pj) << "  (leakage " << pct(e.leakage_pj)
     << " %)\n";
  if (e.per_token_pj) {
    os << "  energy per token      " << energy_str(*e.per_token_pj) << "  (" << *e.tokens
       << " tokens)\n";
  }
  os << "  average power         " << fixed(e.average_power_w, 3) << " W\n";
  std::vector<std::size_t> order(e.by_unit.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return e.by_unit[a].second > e.by_unit[b].second;
  });
  for (std::size_t i : order) {
    const std::string& unit = e.by_unit[i].first;  // not a structured binding: the lambda
    const double pj = e.by_unit[i].second;         // below captures it (C++20, clang 14)
    os << "    " << std::left << std::setw(18) << unit << std::right << std::setw(14)
       << energy_str(pj) << std::setw(7) << pct(pj) << " %";
    const auto leak = std::find_if(e.leakage_by_unit.begin(), e.leakage_by_unit.end(),
                                   [&](const auto& l) { return l.first == unit; });
    if (leak != e.leakage_by_unit.end()) os << "  (leakage " << energy_str(leak->second) << ")";
    os << "\n";
  }
}

}  // namespace

void print_summary(std::ostream& os, const RunResult& r) {
  const double bytes = double(r.dram_read_bytes + r.dram_written_bytes);
  os << "llmsim run  arch=" << r.arch_name << "  workload=" << r.workload_name << "\n";
  os << "  total cycles          " << r.total_cycles << "\n";
  os << "  time at " << fixed(r.clock_mhz, 0) << " MHz"
     << std::string(r.clock_mhz >= 1000 ? 6 : 7, ' ') << time_str(r.seconds) << "\n";
  os << "  array utilisation     " << fixed(100 * r.array_utilisation, 1) << " %  (" << r.macs
     << " MACs, peak " << r.peak_macs_per_cycle << " per cycle)\n";
  os << "  DRAM bytes moved      " << bytes_str(bytes) << "  (read "
     << bytes_str(double(r.dram_read_bytes)) << ", written "
     << bytes_str(double(r.dram_written_bytes)) << ")\n";
  os << "  DRAM footprint        " << bytes_str(double(r.dram_footprint_bytes))
     << "  (weights, inputs, live activations)\n";
  os << "  achieved bandwidth    " << fixed(r.achieved_bandwidth_gb_per_s, 1) << " GB/s  (peak "
     << fixed(r.peak_bandwidth_gb_per_s, 1) << " GB/s)\n";
  if (r.row_hit_rate) os << "  DRAM row-hit rate     " << fixed(100 * *r.row_hit_rate, 1) << " %\n";
  // How far from the lower bounds: cycles / bound (1.00x would be ideal).
  const auto from = [&](double bound) {
    return bound > 0 ? fixed(double(r.total_cycles) / bound, 2) + "x" : std::string("-");
  };
  os << "  compute bound         " << fixed(r.compute_bound_cycles, 0) << " cycles  (run is "
     << from(r.compute_bound_cycles) << ")\n";
  os << "  memory bound          " << fixed(r.memory_bound_cycles, 0) << " cycles  ("
     << bytes_str(double(r.compulsory_bytes)) << " compulsory; run is "
     << from(r.memory_bound_cycles) << ")\n";
  print_energy(os, r);
  os << "  wall time             " << fixed(r.wall_seconds * 1e3, 1) << " ms (mapping "
     << fixed(r.mapping_seconds * 1e3, 1) << " ms, "
     << fixed(r.wall_seconds > 0 ? 100 * r.mapping_seconds / r.wall_seconds : 0, 1) << " %, "
     << r.dram_patterns_measured << " DRAM patterns measured)\n\n";

  // Per layer when the trace has layers of several ops, else per op.
  const bool by_layer = r.layers.size() < r.ops.size();
  if (by_layer) {
    os << std::left << std::setw(14) << "layer" << std::right << std::setw(6) << "ops"
       << std::setw(12) << "cycles" << std::setw(8) << "util" << std::setw(12) << "DRAM bytes"
       << std::setw(12) << "bound" << std::setw(12) << "bound cyc"
       << "\n";
    for (const LayerResult& l : r.layers) {
      os << std::left << std::setw(14) << l.name << std::right << std::setw(6) << l.ops
         << std::setw(12) << l.cycles << std::setw(7) << fixed(100 * l.utilisation, 1) << "%"
         << std::setw(12) << bytes_str(double(l.dram_bytes)) << std::setw(12) << l.bound()
         << std::setw(12) << fixed(std::max(l.compute_bound_cycles, l.memory_bound_cycles), 0)
         << "\n";
    }
    os << "(per op: ops.csv with --out)\n";
    return;
  }
  os << std::left << std::setw(16) << "op" << std::right << std::setw(18) << "shape"
     << std::setw(20) << "tile mt x kt x nt" << std::setw(14) << "cycles" << std::setw(8) << "util"
     << std::setw(14) << "DRAM bytes"
     << "\n";
  for (const OpResult& o : r.ops) {
    const std::string tile =
        o.kind == "matmul"
            ? std::to_string(o.plan.tiling.mt) + "x" + std::to_string(o.plan.tiling.kt) + "x" +
                  std::to_string(o.plan.tiling.nt) + (o.plan.tiling.a_resident ? " A" : "")
        : o.plan.fused_into >= 0 ? o.kind + " (epilogue)"
                                 : o.kind;
    os << std::left << std::setw(16) << o.name << std::right << std::setw(18) << o.shape
       << std::setw(20) << tile << std::setw(14) << o.cycles << std::setw(7)
       << fixed(100 * o.utilisation, 1) << "%" << std::setw(14)
       << (o.dram_read_bytes + o.dram_written_bytes) << "\n";
  }
}

std::string ops_csv(const RunResult& r) {
  std::ostringstream os;
  os << "op,name,layer,kind,shape,m,k,n,batch,dtype,tile_m,tile_k,tile_n,split,chunk_rows,"
        "start_cycle,end_cycle,cycles,compute_cycles,macs,utilisation,dram_read_bytes,"
        "dram_written_bytes,compulsory_bytes,cores,memory_stall_cycles,sync_cycles,a_resident,"
        "fused_into,predicted_cycles,dataflow\n";
  for (std::size_t i = 0; i < r.ops.size(); ++i) {
    const OpResult& o = r.ops[i];
    const bool mm = o.kind == "matmul";
    os << i << "," << o.name << "," << o.layer << "," << o.kind << "," << o.shape << "," << o.m
       << "," << o.k << "," << o.n << "," << o.batch << "," << o.dtype << "," << o.plan.tiling.mt
       << "," << o.plan.tiling.kt << "," << o.plan.tiling.nt << ","
       << (mm ? workloads::to_string(o.plan.tiling.split) : "") << "," << o.plan.chunk_rows << ","
       << o.start_cycle << "," << o.end_cycle << "," << o.cycles << ","
       << o.breakdown.compute_cycles << "," << o.macs << "," << fixed(o.utilisation, 6) << ","
       << o.dram_read_bytes << "," << o.dram_written_bytes << "," << o.plan.compulsory_bytes << ","
       << o.breakdown.cores << "," << o.breakdown.memory_stall_cycles << ","
       << o.breakdown.sync_cycles << "," << (mm && o.plan.tiling.a_resident ? 1 : 0) << ","
       << (o.plan.fused_into >= 0 ? r.ops[std::size_t(o.plan.fused_into)].name : "") << ","
       << fixed(o.plan.predicted_cycles, 0) << ","
       << (mm ? systolic::to_string(o.plan.tiling.dataflow) : "") << "\n";
  }
  return os.str();
}

void prepare_output_dir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw UserError("--out " + dir + ": cannot create the directory: " + ec.message());
  if (!fs::is_directory(dir)) throw UserError("--out " + dir + ": not a directory");
  if (access(dir.c_str(), W_OK | X_OK) != 0) {
    throw UserError("--out " + dir + ": cannot write into the directory: " + std::strerror(errno));
  }
}

void write_file_atomically(const std::string& path, const std::string& text,
                           const std::string& what) {
  const std::string tmp = path + ".tmp";
  auto fail = [&](const std::string& reason) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw UserError(what + path + ": " + reason);
  };
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) fail(std::string("cannot create ") + tmp + ": " + std::strerror(errno));
  const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const int write_errno = errno;
  const bool closed = std::fclose(f) == 0;
  if (!written || !closed) {
    fail(std::string("writing failed: ") + std::strerror(written ? errno : write_errno));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) fail("cannot rename " + tmp + " to it: " + ec.message());
}

void write_outputs(const RunResult& r, const std::string& dir) {
  prepare_output_dir(dir);
  const std::string d = (fs::path(dir) / "").string();
  write_file_atomically(d + "stats.json", r.stats.dump(2) + "\n", "--out ");
  write_file_atomically(d + "config.json", r.resolved_config.dump(2) + "\n", "--out ");
  write_file_atomically(d + "ops.csv", ops_csv(r), "--out ");
}

}  // namespace llmsim::driver
