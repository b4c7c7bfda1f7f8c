#include "tests/fuzz/fuzz_entries.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace llmsim::fuzz {

Entry entry(const std::string& name) {
  if (name == "arch_config") return &arch_config;
  if (name == "workload") return &workload;
  if (name == "hf_config") return &hf_config;
  if (name == "memtest_trace") return &memtest_trace;
  return nullptr;
}

MemoryFile::MemoryFile(const std::uint8_t* data, std::size_t size)
    : m_fd(memfd_create("llmsim-fuzz", MFD_CLOEXEC)) {
  if (m_fd < 0) throw std::runtime_error(std::string("memfd_create: ") + std::strerror(errno));
  for (std::size_t done = 0; done < size;) {
    const ssize_t n = write(m_fd, data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(m_fd);
      throw std::runtime_error(std::string("write to a memory file: ") + std::strerror(errno));
    }
    done += std::size_t(n);
  }
  m_path = "/proc/self/fd/" + std::to_string(m_fd);
}

MemoryFile::~MemoryFile() {
  close(m_fd);
}

}  // namespace llmsim::fuzz
