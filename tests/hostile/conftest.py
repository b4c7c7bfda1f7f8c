"""The hostile-input suite's harness: run `llmsim` as a careless user or script would, and check
that a bad input is a clear user error (exit 2, one line on stderr naming the input, the value
and what is allowed), never a signal, a hang, an out-of-memory or an internal error (exit 1).

The binary is $LLMSIM_BIN. Under the sanitizer build ($LLMSIM_SANITIZED=1) the address-space
limit is left off (AddressSanitizer reserves terabytes of shadow memory) and AddressSanitizer's
own RSS limit takes its place; every report a sanitizer prints fails the case.
"""

import os
import pathlib
import re
import resource
import signal
import subprocess

import pytest

# Generous bounds for inputs that must be rejected before any long work or large allocation:
# a correct rejection takes milliseconds and a few MiB.
TIMEOUT_SECONDS = 60
MEMORY_LIMIT_BYTES = 4 << 30

SANITIZED = os.environ.get("LLMSIM_SANITIZED") == "1"
SANITIZER_REPORT = re.compile(r"(ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|"
                              r"SUMMARY: UndefinedBehaviorSanitizer)")


def binary():
    path = os.environ.get("LLMSIM_BIN")
    if not path:
        pytest.skip("set LLMSIM_BIN to the llmsim binary")
    return pathlib.Path(path)


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))


def run(*args, stdin=None, stdout=subprocess.PIPE, timeout=TIMEOUT_SECONDS, cwd=None, env=None):
    """Runs `llmsim ARGS...` with a time and memory bound; the CompletedProcess (text output).

    `stdout` may be a file object (for /dev/full). A hang is a test failure naming the command.
    """
    full_env = dict(os.environ, SYSTEMC_DISABLE_COPYRIGHT_MESSAGE="1")
    if SANITIZED:
        full_env.setdefault("ASAN_OPTIONS", "")
        full_env["ASAN_OPTIONS"] += ":hard_rss_limit_mb=4096"
    full_env.update(env or {})
    cmd = [str(binary()), *map(str, args)]
    try:
        p = subprocess.run(cmd, input=stdin, stdout=stdout, stderr=subprocess.PIPE, text=True,
                           timeout=timeout, cwd=cwd, env=full_env,
                           preexec_fn=None if SANITIZED else _limit_memory)
    except subprocess.TimeoutExpired:
        pytest.fail(f"hang: {' '.join(cmd)} ran past {timeout} s")
    if p.returncode < 0:
        pytest.fail(f"signal {signal.Signals(-p.returncode).name}: {' '.join(cmd)}\n{p.stderr}")
    if SANITIZER_REPORT.search(p.stderr or ""):
        pytest.fail(f"sanitizer report: {' '.join(cmd)}\n{p.stderr}")
    return p


def expect_user_error(*args, match, **kwargs):
    """Runs llmsim and checks a user error: exit 2 and `match` (a regex) found in the first line
    of stderr. Returns the CompletedProcess."""
    p = run(*args, **kwargs)
    cmd = " ".join(map(str, args))
    assert p.returncode == 2, f"exit {p.returncode} for `llmsim {cmd}`; stderr:\n{p.stderr}"
    first = p.stderr.splitlines()[0] if p.stderr else ""
    assert first.startswith("error: "), f"`llmsim {cmd}`: stderr does not start 'error: ':\n{p.stderr}"
    assert re.search(match, first), f"`llmsim {cmd}`: {match!r} not in {first!r}"
    return p


def expect_ok(*args, **kwargs):
    """Runs llmsim and checks exit 0; returns the CompletedProcess."""
    p = run(*args, **kwargs)
    assert p.returncode == 0, f"exit {p.returncode} for llmsim {' '.join(map(str, args))}:\n{p.stderr}"
    return p
