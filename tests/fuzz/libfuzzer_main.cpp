// libFuzzer's side of one fuzzer: LLMSIM_FUZZER (a compile definition, tests/fuzz/CMakeLists.txt)
// names its entry in fuzz_entries.h. Built only by `./dev fuzz` (clang, -fsanitize=fuzzer).
#include <cstdlib>

#include "tests/fuzz/fuzz_entries.h"

// libsystemc calls sc_main from its own main(); libFuzzer's main is used instead.
extern "C" int sc_main(int, char*[]) {
  return 1;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  llmsim::fuzz::LLMSIM_FUZZER(data, size);
  return 0;
}
