#pragma once
// The version of llmsim and the git commit this binary was built from. Only version.cpp sees
// the build's commit (a header regenerated at build time, rewritten only when the commit
// changes), so a new commit recompiles one file.

namespace llmsim::driver {

// The project version, e.g. "0.1.0".
const char* version();

// `git describe --always --dirty` of the source tree at build time, e.g. "50242b7" or
// "50242b7-dirty"; "unknown" when built outside a git checkout.
const char* git_commit();

}  // namespace llmsim::driver
