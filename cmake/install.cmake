# `cmake --install BUILD [--prefix PREFIX]` (default prefix /usr/local):
#   PREFIX/bin/llmsim
#   PREFIX/share/llmsim/configs/*.json           the presets
#   PREFIX/share/llmsim/workloads/gemm/*.json    the bundled workloads
#   PREFIX/share/llmsim/workloads/models/*.json  the bundled models
#   PREFIX/share/llmsim/install.json             the marker sim/core/data_dir.h looks for, with
#                                                where the Python package went
#   PREFIX/<python_dir>/llmsim/                  the Python package: python/llmsim/*.py and the
#                                                _llmsim extension
# python_dir is the directory of /usr/bin/python3's own path under PREFIX, chosen at install
# time by cmake/python_install_dir.py (lib/python3.11/dist-packages for /usr/local,
# lib/python3.11/site-packages for ~/.local, lib/python3/dist-packages for /usr); for any
# other prefix PYTHONPATH must name it, and the install says so.
set(LLMSIM_SHARE_DIR share/llmsim)
install(TARGETS llmsim RUNTIME DESTINATION bin)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/configs/ DESTINATION ${LLMSIM_SHARE_DIR}/configs
        FILES_MATCHING PATTERN "*.json")
install(DIRECTORY ${CMAKE_SOURCE_DIR}/workloads/gemm/
        DESTINATION ${LLMSIM_SHARE_DIR}/workloads/gemm FILES_MATCHING PATTERN "*.json")
install(DIRECTORY ${CMAKE_SOURCE_DIR}/workloads/models/
        DESTINATION ${LLMSIM_SHARE_DIR}/workloads/models FILES_MATCHING PATTERN "*.json")

if(LLMSIM_BUILD_PYTHON)
  set(LLMSIM_INSTALL_EXTENSION "$<TARGET_FILE:_llmsim>")
else()
  set(LLMSIM_INSTALL_EXTENSION "")
endif()
install(CODE "
  set(LLMSIM_PYTHON \"${Python3_EXECUTABLE}\")
  set(LLMSIM_SOURCE_DIR \"${CMAKE_SOURCE_DIR}\")
  set(LLMSIM_SHARE_DIR \"${LLMSIM_SHARE_DIR}\")
  set(LLMSIM_INSTALL_EXTENSION \"${LLMSIM_INSTALL_EXTENSION}\")")
install(SCRIPT ${CMAKE_SOURCE_DIR}/cmake/install_python.cmake)
