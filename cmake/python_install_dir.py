#!/usr/bin/python3
"""Prints where `cmake --install` puts the Python package for an install prefix, relative to it:
the directory of this interpreter's own path (sys.path, or the user site for ~/.local) that lies
under PREFIX, so that `import llmsim` works without PYTHONPATH; for a prefix this interpreter
does not search, its posix_prefix scheme's directory, and a note on stderr naming the
PYTHONPATH to set.

    /usr/bin/python3 cmake/python_install_dir.py PREFIX
"""
import os
import re
import site
import sys
import sysconfig

PACKAGES = re.compile(r"lib/python3(\.\d+)?/(dist|site)-packages")


def main():
    prefix = os.path.realpath(sys.argv[1])
    searched = list(sys.path) + [site.getusersitepackages()]
    for path in searched:
        if not path:
            continue
        rel = os.path.relpath(os.path.realpath(path), prefix)
        if PACKAGES.fullmatch(rel):
            print(rel)
            return
    purelib = sysconfig.get_path("purelib", "posix_prefix", vars={"base": prefix, "platbase": prefix})
    rel = os.path.relpath(purelib, prefix)
    print(rel)
    print(f"{sys.executable} does not search {purelib}: set PYTHONPATH={purelib} to import llmsim",
          file=sys.stderr)


if __name__ == "__main__":
    main()
