// Catch2's main for the test binary, and the sc_main symbol libsystemc needs (never called).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#include <systemc>

int sc_main(int, char*[]) {
  return 1;
}
