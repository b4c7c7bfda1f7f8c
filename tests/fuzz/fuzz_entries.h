#pragma once
// The fuzz targets' entry functions, one per reader, shared by the libFuzzer binaries
// (libfuzzer_main.cpp, built by `./dev fuzz` with clang) and the regression replay
// (replay_main.cpp, in every build). Contract of each entry: feed `data` through the same
// path as the CLI; return normally when the input is accepted or rejected as a user mistake
// (UserError and its subclasses); anything else (another exception, a signal, a sanitizer
// report, a broken contract checked here) escapes as a crash: a finding.
#include <cstddef>
#include <cstdint>
#include <string>

namespace llmsim::fuzz {

// An arch config JSON, through `llmsim validate --arch FILE`: parsed, built and validated.
void arch_config(const std::uint8_t* data, std::size_t size);
// A layer trace (the workload JSON op list), through `llmsim compile --arch edge --workload
// FILE`: parsed, written back and re-read (to_json's round-trip contract), and lowered.
void workload(const std::uint8_t* data, std::size_t size);
// A Hugging Face config.json, through `llmsim trace --model FILE`: read, and its trace built.
void hf_config(const std::uint8_t* data, std::size_t size);
// A memtest request trace, through read_memtest_trace for the hbm2-stack preset's memory,
// the result checked against the reader's contract; a short trace is also simulated
// (`llmsim memtest --arch hbm2-stack --trace FILE`).
void memtest_trace(const std::uint8_t* data, std::size_t size);

using Entry = void (*)(const std::uint8_t*, std::size_t);
// The entry of a fuzzer by name ("arch_config", ...); nullptr for an unknown name.
Entry entry(const std::string& name);

// A file that holds `size` bytes of `data` (an anonymous memory file, no disk), named by a
// path the readers can open (/proc/self/fd/N); closed when destroyed.
class MemoryFile {
 public:
  MemoryFile(const std::uint8_t* data, std::size_t size);
  ~MemoryFile();
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;
  const std::string& path() const { return m_path; }

 private:
  int m_fd;
  std::string m_path;
};

}  // namespace llmsim::fuzz
