// The command line's strict argument parsing, its help and version, and its checked outputs
// (issue 18): the hostile suite (tests/hostile/test_cli.py) drives the binary; these check the
// same rules in-process, where a failing stream can be made without a full disk.
#include <catch2/catch.hpp>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "sim/core/error.h"
#include "sim/driver/cli.h"
#include "sim/driver/cli_args.h"
#include "sim/driver/memtest.h"
#include "sim/driver/presets.h"
#include "sim/driver/report.h"
#include "sim/driver/version.h"
#include "tests/support/cli_result.h"

namespace llmsim::driver {

namespace {

using testing::cli;
using testing::CliResult;

// A stream whose every write fails as a full disk's does.
class FullBuf : public std::streambuf {
 protected:
  int overflow(int) override {
    errno = ENOSPC;
    return traits_type::eof();
  }
  std::streamsize xsputn(const char*, std::streamsize) override {
    errno = ENOSPC;
    return 0;
  }
};

}  // namespace

TEST_CASE("cli args: integers are decimal digits within the range", "[cli]") {
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  CHECK(count_option("n", "18446744073709551615") == kMax);
  CHECK(count_option("n", "007") == 7);
  CHECK(integer_option("n", "0", 0, 10) == 0);
  for (const char* bad : {"-1", "0", "18446744073709551616", "+3", " 3", "3 ", "1e3", "0x10", ""}) {
    CHECK_THROWS_WITH(count_option("n", bad),
                      std::string("--n ") + bad + ": must be a positive integer");
  }
  CHECK_THROWS_WITH(integer_option("n", "11", 0, 10), "--n 11: must be an integer from 0 to 10");
  CHECK_THROWS_WITH(integer_option("n", "1", 2, kMax, " bytes"),
                    "--n 1: must be an integer >= 2 bytes");
}

TEST_CASE("cli args: reals are finite and in range", "[cli]") {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  CHECK(real_option("r", "0.25", 0, 1) == 0.25);
  CHECK(real_option("r", "1e-3", 0, kInf) == 0.001);
  CHECK(real_option("r", "1", 0, 1, true) == 1);
  for (const char* bad : {"nan", "inf", "-inf", "1e400", " 1", "1 ", "1x", "", "-0.5"}) {
    CHECK_THROWS_WITH(real_option("r", bad, 0, kInf),
                      std::string("--r ") + bad + ": must be a finite number >= 0");
  }
  CHECK_THROWS_WITH(real_option("r", "0", 0, 1, true), "--r 0: must be a finite number in (0, 1]");
  CHECK_THROWS_WITH(real_option("r", "1.5", 0, 1), "--r 1.5: must be a finite number in [0, 1]");
}

TEST_CASE("cli: a failed write on standard output is exit 2 naming the reason", "[cli]") {
  FullBuf buf;
  std::ostream out(&buf);
  std::ostringstream err;
  CHECK(cli_main({"presets"}, out, err) == 2);
  CHECK(err.str() == "error: writing standard output: No space left on device\n");
  // A user error stays the first line; the lost output is reported after it.
  std::ostream out2(&buf);
  std::ostringstream err2;
  CHECK(cli_main({"validate", "--arch", "nosuch-preset"}, out2, err2) == 2);
  CHECK(err2.str().rfind("error: --arch nosuch-preset: ", 0) == 0);
}

TEST_CASE("cli: --help, COMMAND --help and --version exit 0", "[cli]") {
  const CliResult h = cli({"--help"});
  CHECK(h.code == 0);
  CHECK(h.out == usage());
  CHECK(cli({"-h"}).out == usage());
  CHECK(cli({"help"}).out == usage());
  const CliResult none = cli({});
  CHECK(none.code == 2);
  CHECK(none.out.empty());
  CHECK(none.err == usage());
  for (const CommandHelp& c : commands()) {
    if (c.name == "report") continue;  // RUN_DIR, no options
    const CliResult r = cli({c.name, "--help"});
    CHECK(r.code == 0);
    CHECK(r.out.rfind("usage: llmsim " + c.name + " ", 0) == 0);
    CHECK(r.out.find("  -h [ --help ]") != std::string::npos);
  }
  const CliResult run = cli({"run", "--help"});
  CHECK(run.out.find("--out DIR") != std::string::npos);
  CHECK(run.out.find("--timeline-max-events N") != std::string::npos);
  const CliResult v = cli({"--version"});
  CHECK(v.code == 0);
  CHECK(v.out == std::string("llmsim ") + version() + " (git " + git_commit() + ")\n");
  CHECK(std::string(version()) == "0.1.0");
}

TEST_CASE("cli: unknown options name the command and list its options", "[cli]") {
  const CliResult r = cli({"compile", "--arch", "edge", "--workload", "mlp", "--out", "x"});
  CHECK(r.code == 2);
  CHECK(r.err.rfind("error: llmsim compile: unknown option --out; its options: --arch, --set, "
                    "--workload, ",
                    0) == 0);
  CHECK(r.err.find("--help\n") != std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}

TEST_CASE("cli: run --out is made ready before the simulation", "[cli]") {
  const auto dir = std::filesystem::temp_directory_path() / "llmsim_cli_args";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "file") << "x";
  const std::string under_file = (dir / "file" / "run").string();
  const CliResult r = cli({"run", "--arch", "edge", "--workload", "mlp", "--out", under_file});
  CHECK(r.code == 2);
  CHECK(r.out.empty());  // no summary: nothing simulated
  CHECK(r.err == "error: --out " + under_file + ": cannot create the directory: Not a directory\n");
  // The files of a run, each whole (no .tmp left), stats.json naming the build.
  const auto out = dir / "run";
  REQUIRE(cli({"run", "--arch", "edge", "--workload", "mlp", "--out", out.string()}).code == 0);
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(out)) {
    files.push_back(e.path().filename().string());
  }
  std::sort(files.begin(), files.end());
  CHECK(files == std::vector<std::string>{"config.json", "ops.csv", "stats.json"});
  std::ifstream stats(out / "stats.json");
  const auto s = config::Json::parse(stats);
  CHECK(s["llmsim_version"] == version());
  CHECK(s["git_commit"] == git_commit());
}

TEST_CASE("cli: a file is written whole or not at all", "[cli]") {
  const auto dir = std::filesystem::temp_directory_path() / "llmsim_cli_atomic";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "f.txt").string();
  write_file_atomically(path, "hello\n", "--out ");
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(text == "hello\n");
  CHECK_THROWS_WITH(write_file_atomically((dir / "missing" / "f").string(), "x", "--out "),
                    Catch::Contains("No such file or directory"));
  CHECK(!std::filesystem::exists(dir / "missing"));
}

TEST_CASE("memtest: a trace address at the top of the address space is a user error",
          "[cli][hbm]") {
  // Before: address + 32 bytes wrapped to 0, the request issued no burst and the run ended in
  // "internal error: a request never completed".
  const auto path = std::filesystem::temp_directory_path() / "llmsim_top_trace.txt";
  std::ofstream(path) << "18446744073709551584 R\n";
  MemtestOptions o;
  o.trace_file = path.string();
  CHECK_THROWS_AS(run_memtest(load_arch("hbm2-stack"), {}, o), UserError);
}

TEST_CASE("memtest: a request not a multiple of the burst covers the bursts it touches",
          "[cli][hbm]") {
  // 48-byte requests at 0, 48, 96, 144: bursts 0-1, 1-2, 3-4, 4-5 of 32 bytes.
  MemtestOptions o;
  o.requests = 4;
  o.request_bytes = 48;
  const MemtestResult r = run_memtest(load_arch("hbm2-stack"), {}, o);
  CHECK(r.requests == 4);
  CHECK(r.bytes == 4 * 48);
  std::uint64_t reads = 0;  // RD commands over the pseudo channels (stats "chX_pcY")
  for (const auto& [name, pc] : r.stats.items()) {
    if (pc.is_object() && pc.contains("rd_commands"))
      reads += pc["rd_commands"].get<std::uint64_t>();
  }
  CHECK(reads == 8);
}

}  // namespace llmsim::driver
