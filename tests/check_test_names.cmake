# ctest `release_only names`: every name in NAMES_FILE (one per line) is a TEST_CASE of
# TEST_BINARY, so that renaming a case in the release_only list of tests/CMakeLists.txt cannot
# quietly move it back into the sanitized run (set_tests_properties in a ctest file ignores a
# name it does not know).
cmake_minimum_required(VERSION 3.24)
# Catch2 v2 exits with the number of tests listed (at most 255), so the exit code says nothing.
execute_process(COMMAND ${TEST_BINARY} --list-test-names-only OUTPUT_VARIABLE listed)
if(listed STREQUAL "")
  message(FATAL_ERROR "${TEST_BINARY} --list-test-names-only listed nothing")
endif()
string(REPLACE "\n" ";" listed "${listed}")
file(STRINGS ${NAMES_FILE} names)
set(missing 0)
foreach(name IN LISTS names)
  if(NOT name IN_LIST listed)
    message(SEND_ERROR "no TEST_CASE named \"${name}\" in ${TEST_BINARY}")
    set(missing 1)
  endif()
endforeach()
list(LENGTH names n)
if(NOT missing)
  message(STATUS "all ${n} names are test cases")
endif()
