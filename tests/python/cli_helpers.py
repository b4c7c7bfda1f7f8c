"""The llmsim command line, for the Python tests that compare with it or drive it."""

import os
import pathlib
import subprocess

import pytest

import llmsim


def cli_binary():
    """The llmsim CLI: $LLMSIM_BIN, else the build tree holding the imported module."""
    path = os.environ.get("LLMSIM_BIN")
    if path:
        return pathlib.Path(path)
    guess = pathlib.Path(llmsim.__file__).resolve().parents[2] / "llmsim"
    if guess.is_file():
        return guess
    pytest.skip("set LLMSIM_BIN to the llmsim binary")


def cli_env():
    return dict(os.environ, SYSTEMC_DISABLE_COPYRIGHT_MESSAGE="1")


def cli(*args, check=False):
    """Runs `llmsim ARGS...`; the CompletedProcess with its text output."""
    return subprocess.run([str(cli_binary()), *args], capture_output=True, text=True,
                          env=cli_env(), check=check)
