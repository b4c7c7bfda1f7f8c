#include "sim/driver/report.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>

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

void write_file(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp);
    out << text;
    if (!out) throw UserError(tmp.string() + ": cannot write");
  }
  fs::rename(tmp, path);
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
  os << "  achieved bandwidth    " << fixed(r.achieved_bandwidth_gb_per_s, 1) << " GB/s  (peak "
     << fixed(r.peak_bandwidth_gb_per_s, 1) << " GB/s)\n";
  if (r.row_hit_rate) os << "  DRAM row-hit rate     " << fixed(100 * *r.row_hit_rate, 1) << " %\n";
  os << "  wall time             " << fixed(r.wall_seconds * 1e3, 1) << " ms\n\n";
  os << std::left << std::setw(16) << "op" << std::right << std::setw(18) << "m x k x n"
     << std::setw(20) << "tile mt x kt x nt" << std::setw(14) << "cycles" << std::setw(8) << "util"
     << std::setw(14) << "DRAM bytes"
     << "\n";
  for (const OpResult& o : r.ops) {
    const std::string shape =
        std::to_string(o.m) + "x" + std::to_string(o.k) + "x" + std::to_string(o.n);
    const std::string tile = std::to_string(o.tiling.mt) + "x" + std::to_string(o.tiling.kt) + "x" +
                             std::to_string(o.tiling.nt);
    os << std::left << std::setw(16) << o.name << std::right << std::setw(18) << shape
       << std::setw(20) << tile << std::setw(14) << o.cycles << std::setw(7)
       << fixed(100 * o.utilisation, 1) << "%" << std::setw(14)
       << (o.dram_read_bytes + o.dram_written_bytes) << "\n";
  }
}

std::string ops_csv(const RunResult& r) {
  std::ostringstream os;
  os << "op,name,m,k,n,dtype,tile_m,tile_k,tile_n,start_cycle,end_cycle,cycles,macs,utilisation,"
        "dram_read_bytes,dram_written_bytes\n";
  for (std::size_t i = 0; i < r.ops.size(); ++i) {
    const OpResult& o = r.ops[i];
    os << i << "," << o.name << "," << o.m << "," << o.k << "," << o.n << "," << o.dtype << ","
       << o.tiling.mt << "," << o.tiling.kt << "," << o.tiling.nt << "," << o.start_cycle << ","
       << o.end_cycle << "," << o.cycles << "," << o.macs << "," << fixed(o.utilisation, 6) << ","
       << o.dram_read_bytes << "," << o.dram_written_bytes << "\n";
  }
  return os.str();
}

void write_outputs(const RunResult& r, const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw UserError("--out " + dir + ": cannot create directory: " + ec.message());
  write_file(fs::path(dir) / "stats.json", r.stats.dump(2) + "\n");
  write_file(fs::path(dir) / "config.json", r.resolved_config.dump(2) + "\n");
  write_file(fs::path(dir) / "ops.csv", ops_csv(r));
}

}  // namespace llmsim::driver
