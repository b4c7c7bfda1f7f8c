#include "sim/driver/html_report.h"

#include <poll.h>
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

// Reads both pipes to their ends (the child may fill either first).
void drain(int out_fd, int err_fd, std::string& out, std::string& err) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  std::string* text[2] = {&out, &err};
  int open = 2;
  while (open > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        text[i]->append(buf, std::size_t(n));
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;  // poll skips negative descriptors
        --open;
      }
    }
  }
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

  const int code = run_python_module("llmsim.report", {run_dir}, out, err);
  if (code < 0) {
    err << "llmsim: internal error: python -m llmsim.report ended by signal " << -code << "\n";
    return 1;
  }
  // The module's exit code: 0, 2 for the user's mistake (its one-line "error: ..." forwarded
  // as it is), anything else (a traceback) a bug.
  return code == 0 ? 0 : code == 2 ? 2 : 1;
}

int run_python_module(const std::string& module, const std::vector<std::string>& module_args,
                      std::ostream& out, std::ostream& err) {
  // The child's standard output and error, each through its own pipe.
  int out_pipe[2], err_pipe[2];
  if (pipe(out_pipe) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  if (pipe(err_pipe) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addclose(&actions, out_pipe[0]);
  posix_spawn_file_actions_addclose(&actions, err_pipe[0]);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  posix_spawn_file_actions_addclose(&actions, out_pipe[1]);
  posix_spawn_file_actions_addclose(&actions, err_pipe[1]);
  std::vector<std::string> args = {LLMSIM_PYTHON, "-m", module};
  args.insert(args.end(), module_args.begin(), module_args.end());
  std::vector<std::string> env = child_environment();
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, LLMSIM_PYTHON, &actions, nullptr, c_strings(args).data(),
                                  c_strings(env).data());
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (spawned != 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    throw UserError(std::string("python -m ") + module + ": cannot run " + LLMSIM_PYTHON + ": " +
                    std::strerror(spawned));
  }
  std::string child_out, child_err;
  drain(out_pipe[0], err_pipe[0], child_out, child_err);
  close(out_pipe[0]);
  close(err_pipe[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  out << child_out;
  err << child_err;
  if (!WIFEXITED(status)) return -(WIFSIGNALED(status) ? WTERMSIG(status) : 1);
  return WEXITSTATUS(status);
}

}  // namespace llmsim::driver
