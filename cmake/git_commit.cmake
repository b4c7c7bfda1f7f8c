# Writes OUT, a header defining LLMSIM_GIT_COMMIT as the source tree's commit
# (`git describe --always --dirty --abbrev=7 --exclude=*`: the short hash, "-dirty" when the
# tree has uncommitted changes; "unknown" outside a git checkout). Run at every build; the file
# is rewritten only when its text changes, so an unchanged commit rebuilds nothing.
# Usage: cmake -DSOURCE_DIR=... -DOUT=... -P git_commit.cmake
set(commit unknown)
find_package(Git QUIET)
if(GIT_FOUND)
  execute_process(
    COMMAND ${GIT_EXECUTABLE} describe --always --dirty --abbrev=7 --exclude=*
    WORKING_DIRECTORY ${SOURCE_DIR}
    OUTPUT_VARIABLE described
    RESULT_VARIABLE failed
    OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(NOT failed AND described)
    set(commit ${described})
  endif()
endif()
set(text "#pragma once\n#define LLMSIM_GIT_COMMIT \"${commit}\"\n")
if(EXISTS ${OUT})
  file(READ ${OUT} old)
endif()
if(NOT "${old}" STREQUAL "${text}")
  file(WRITE ${OUT} "${text}")
endif()
