#include "sim/driver/fork_pool.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <thread>

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim/core/error.h"

namespace llmsim::driver {

namespace {

struct Child {
  pid_t pid;
  int fd;
  std::size_t index;
};

void write_all(int fd, const std::string& bytes) {
  for (std::size_t done = 0; done < bytes.size();) {
    const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += std::size_t(n);
  }
}

// The child's bytes: a status byte ('o' ok, 'e' error) then the result or the message.
std::string collect(const Child& c) {
  std::string bytes;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = read(c.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    bytes.append(buf, std::size_t(n));
  }
  close(c.fd);
  int status = 0;
  while (waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {
  }
  const bool exited = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (!exited || bytes.empty() || bytes[0] != 'o') {
    const std::string why = bytes.size() > 1 ? bytes.substr(1)
                            : WIFSIGNALED(status)
                                ? "killed by signal " + std::to_string(WTERMSIG(status))
                                : "no result";
    throw InternalError("simulation job " + std::to_string(c.index) +
                        " failed in its child process: " + why);
  }
  return bytes.substr(1);
}

}  // namespace

unsigned available_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return unsigned(n);
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

std::vector<std::string> run_in_children(std::size_t jobs,
                                         const std::function<std::string(std::size_t)>& job,
                                         unsigned width, std::vector<bool>* forked) {
  std::vector<std::string> out(jobs);
  if (forked) forked->assign(jobs, false);
  std::vector<Child> running;
  const auto reap_first = [&] {
    const Child c = running.front();
    running.erase(running.begin());
    out[c.index] = collect(c);
  };
  try {
    for (std::size_t i = 0; i < jobs; ++i) {
      int fds[2] = {-1, -1};
      pid_t pid = -1;
      if (width > 1 && pipe(fds) == 0) {
        std::cout.flush(), std::cerr.flush(), std::fflush(nullptr);
        pid = fork();
        if (pid < 0) close(fds[0]), close(fds[1]);
      }
      if (pid == 0) {  // the child: run, report, leave without running any destructor
        close(fds[0]);
        std::string msg;
        try {
          msg = "o" + job(i);
        } catch (const std::exception& e) {
          msg = std::string("e") + e.what();
        } catch (...) {
          msg = "eunknown exception";
        }
        write_all(fds[1], msg);
        _exit(0);
      }
      if (pid < 0) {
        out[i] = job(i);
        continue;
      }
      if (forked) (*forked)[i] = true;
      close(fds[1]);
      running.push_back({pid, fds[0], i});
      if (running.size() >= width) reap_first();
    }
    while (!running.empty()) reap_first();
  } catch (...) {
    for (const Child& c : running) {
      kill(c.pid, SIGKILL);
      close(c.fd);
      waitpid(c.pid, nullptr, 0);
    }
    throw;
  }
  return out;
}

}  // namespace llmsim::driver
