"""Hostile inputs: the command line itself (unknown commands and options, missing files)."""

from conftest import expect_user_error


def test_unknown_command_names_the_valid_ones():
    expect_user_error("frobnicate", match=r'unknown command "frobnicate"; commands: run')


def test_missing_arch_file_is_named():
    expect_user_error("validate", "--arch", "/nonexistent/arch.json", match=r"/nonexistent/arch\.json")


def test_unknown_option_is_named():
    expect_user_error("validate", "--arch", "edge", "--frobnicate", "3", match=r"frobnicate")
