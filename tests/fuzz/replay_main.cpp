// Replays inputs through a fuzzer's entry (fuzz_entries.h), each in a fresh process bounded in
// CPU time and memory, so that `./dev test` checks the seed corpus and every regression a
// fuzzer found without clang or libFuzzer:
//   llmsim_fuzz_replay FUZZER PATH...    a PATH is an input file or a directory of them
// An input must be accepted or rejected as a user error, except one whose file name starts
// with "xfail-": a known finding whose fix is not in this tree yet, which must still fail
// (when it passes, the fix has landed: drop the prefix). Exit 0 when every input behaved as
// expected, 1 otherwise, listing each that did not with its output.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "sim/core/sanitizers.h"
#include "tests/fuzz/fuzz_entries.h"

namespace fs = std::filesystem;

extern "C" int sc_main(int, char*[]) {
  return 1;
}

namespace {

constexpr rlim_t kCpuSeconds = 60;
constexpr rlim_t kMemoryBytes = rlim_t(4) << 30;

// Runs one input in this process: exit 0 when the entry returns.
int run_one(llmsim::fuzz::Entry entry, const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::cerr << file << ": cannot open\n";
    return 3;
  }
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  entry(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  return 0;
}

struct Outcome {
  bool passed = false;
  std::string how, output;
};

// Runs `self --one FUZZER FILE` in a child bounded like the fuzzers (-rss_limit_mb 4096).
Outcome run_child(const std::string& self, const std::string& fuzzer, const std::string& file) {
  int fds[2];
  if (pipe(fds) != 0) return {false, std::string("pipe: ") + std::strerror(errno), ""};
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    close(fds[1]);
    const rlimit cpu{kCpuSeconds, kCpuSeconds};
    setrlimit(RLIMIT_CPU, &cpu);
#ifdef LLMSIM_ASAN
    // AddressSanitizer reserves terabytes of address space: bound the resident set instead.
    std::string options = getenv("ASAN_OPTIONS") ? getenv("ASAN_OPTIONS") : "";
    options += ":hard_rss_limit_mb=4096:max_allocation_size_mb=4096";
    setenv("ASAN_OPTIONS", options.c_str(), 1);
#else
    const rlimit memory{kMemoryBytes, kMemoryBytes};
    setrlimit(RLIMIT_AS, &memory);
#endif
    execl(self.c_str(), self.c_str(), "--one", fuzzer.c_str(), file.c_str(), nullptr);
    _exit(127);
  }
  close(fds[1]);
  Outcome o;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n > 0) {
      o.output.append(buf, std::size_t(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) {
    o.how = std::string("signal ") + strsignal(WTERMSIG(status));
  } else if (WEXITSTATUS(status) != 0) {
    o.how = "exit " + std::to_string(WEXITSTATUS(status));
  } else {
    o.passed = true;
    o.how = "accepted or a user error";
  }
  return o;
}

}  // namespace

int main(int argc, char* argv[]) {
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 3 && args[0] == "--one") {
    const auto entry = llmsim::fuzz::entry(args[1]);
    return entry ? run_one(entry, args[2]) : 3;
  }
  if (args.size() < 2 || !llmsim::fuzz::entry(args[0])) {
    std::cerr << "usage: llmsim_fuzz_replay arch_config|workload|hf_config|memtest_trace PATH...\n";
    return 2;
  }
  std::vector<fs::path> files;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (fs::is_directory(args[i])) {
      for (const auto& e : fs::directory_iterator(args[i])) {
        if (e.is_regular_file()) files.push_back(e.path());
      }
    } else if (fs::is_regular_file(args[i])) {
      files.push_back(args[i]);
    } else {
      std::cerr << args[i] << ": no such file or directory\n";
      return 2;
    }
  }
  std::sort(files.begin(), files.end());
  const std::string self = fs::canonical("/proc/self/exe").string();
  int unexpected = 0;
  for (const fs::path& f : files) {
    const bool xfail = f.filename().string().rfind("xfail-", 0) == 0;
    const Outcome o = run_child(self, args[0], f.string());
    const bool ok = o.passed != xfail;
    std::cout << (ok ? "ok    " : "FAIL  ") << f.string() << ": " << o.how
              << (xfail ? (o.passed ? " (an xfail- input passes: its fix has landed, drop the "
                                      "prefix)"
                                    : " (xfail: a known finding)")
                        : "")
              << "\n";
    if (!ok) {
      ++unexpected;
      std::cout << o.output << "\n";
    }
  }
  std::cout << files.size() << " inputs, " << unexpected << " not as expected\n";
  return unexpected == 0 ? 0 : 1;
}
