// The llmsim executable. It has its own main(): libsystemc's main() would print the SystemC
// banner before we could turn it off.
#include <cstdlib>
#include <iostream>

#include <systemc>

#include "sim/driver/cli.h"

int sc_main(int, char*[]) {
  return 1;
}  // required by libsystemc; never called

int main(int argc, char* argv[]) {
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
  return llmsim::driver::cli_main(std::vector<std::string>(argv + 1, argv + argc), std::cout,
                                  std::cerr);
}
