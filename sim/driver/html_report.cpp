#include "sim/driver/html_report.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "sim/core/error.h"
#include "sim/driver/presets.h"

extern char** environ;

namespace llmsim::driver {

namespace fs = std::filesystem;

namespace {

// The environment of this process with the package directory (installed or this build's)
// first on PYTHONPATH.
std::vector<std::string> child_environment() {
  std::vector<std::string> env;
  std::string pythonpath = python_package_dir();
  for (char** e = environ; *e; ++e) {
    const std::string var = *e;
    if (var.rfind("PYTHONPATH=", 0) == 0) {
      if (var.size() > 11) pythonpath += ":" + var.substr(11);
    } else {
      env.push_back(var);
    }
  }
  env.push_back("PYTHONPATH=" + pythonpath);
  env.push_back("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1");
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (std::string& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

int html_report(const std::string& run_dir, std::ostream& out, std::ostream& err) {
  if (!fs::is_directory(run_dir)) throw UserError(run_dir + ": no such run directory");
  const fs::path stats = fs::path(run_dir) / "stats.json";
  if (!fs::is_regular_file(stats)) {
    throw UserError(stats.string() +
                    ": not found (a run directory is what `llmsim run ... --out DIR` writes)");
  }
  const fs::path module = fs::path(python_package_dir()) / "llmsim" / "report.py";
  if (!fs::is_regular_file(module)) {
    throw UserError("llmsim report needs the Python package of this build, " + module.string() +
                    " is missing: build the llmsim_python_package target");
  }

  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[1]);
  std::vector<std::string> args = {LLMSIM_PYTHON, "-m", "llmsim.report", run_dir};
  std::vector<std::string> env = child_environment();
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, LLMSIM_PYTHON, &actions, nullptr, c_strings(args).data(),
                                  c_strings(env).data());
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (spawned != 0) {
    close(pipe_fds[0]);
    throw UserError(std::string("llmsim report: cannot run ") + LLMSIM_PYTHON + ": " +
                    std::strerror(spawned));
  }
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(pipe_fds[0], buf, sizeof buf);
    if (n > 0) {
      text.append(buf, std::size_t(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(pipe_fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  (code == 0 ? out : err) << text;
  return code == 0 ? 0 : code == 2 ? 2 : 1;
}

}  // namespace llmsim::driver
