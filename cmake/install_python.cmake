# Install-time part of cmake/install.cmake (the prefix is known only now): the Python package
# into the directory of /usr/bin/python3's path under the prefix, and share/llmsim/install.json
# recording it. Set by install.cmake: LLMSIM_PYTHON, LLMSIM_SOURCE_DIR, LLMSIM_SHARE_DIR,
# LLMSIM_INSTALL_EXTENSION (the _llmsim module, or empty when the build has none).
set(prefix "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}")
set(marker "${prefix}/${LLMSIM_SHARE_DIR}/install.json")
if(LLMSIM_INSTALL_EXTENSION STREQUAL "")
  message(STATUS "llmsim: this build has no Python module (LLMSIM_BUILD_PYTHON off)")
  file(WRITE "${marker}" "{\"python_dir\": \"\"}\n")
  return()
endif()
execute_process(
  COMMAND "${LLMSIM_PYTHON}" "${LLMSIM_SOURCE_DIR}/cmake/python_install_dir.py"
          "${CMAKE_INSTALL_PREFIX}"
  OUTPUT_VARIABLE python_dir OUTPUT_STRIP_TRAILING_WHITESPACE
  ERROR_VARIABLE python_note ERROR_STRIP_TRAILING_WHITESPACE
  COMMAND_ERROR_IS_FATAL ANY)
file(GLOB sources "${LLMSIM_SOURCE_DIR}/python/llmsim/*.py")
file(INSTALL ${sources} "${LLMSIM_INSTALL_EXTENSION}" DESTINATION "${prefix}/${python_dir}/llmsim")
file(WRITE "${marker}" "{\"python_dir\": \"${python_dir}\"}\n")
message(STATUS "Installing: ${marker}")
if(python_note)
  message(STATUS "llmsim: ${python_note}")
endif()
