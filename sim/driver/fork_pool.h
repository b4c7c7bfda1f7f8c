#pragma once
// Independent simulations side by side: the SystemC kernel is not thread-safe, so each job runs
// in a child process (fork) with a kernel of its own, at most `width` at once, and returns its
// result as bytes through a pipe. Used by `llmsim serve` for the table cost's calibration runs
// and for the full simulations of sampled iterations.
//
// A job that throws fails the whole call: run_in_children throws InternalError naming the job
// and carrying the child's message (a UserError in a job is the caller's bug: its inputs were
// checked before). With width 1, or when fork fails, the jobs run in this process, in order.
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace llmsim::driver {

// `forked`, if given, is set to one flag per job: whether it ran in a child process (whose
// counters, unlike this process's, did not see it).
std::vector<std::string> run_in_children(std::size_t jobs,
                                         const std::function<std::string(std::size_t)>& job,
                                         unsigned width, std::vector<bool>* forked = nullptr);

// The cores this process may use (at least 1).
unsigned available_cores();

}  // namespace llmsim::driver
