"""Hostile inputs: the command line itself (unknown commands and options, missing files)."""

import pytest
from conftest import expect_user_error


def test_unknown_command_names_the_valid_ones():
    expect_user_error("frobnicate", match=r'unknown command "frobnicate"; commands: run')


def test_missing_arch_file_is_named():
    expect_user_error("validate", "--arch", "/nonexistent/arch.json", match=r"/nonexistent/arch\.json")


def test_unknown_option_is_named():
    expect_user_error("validate", "--arch", "edge", "--frobnicate", "3", match=r"frobnicate")


# --tiles MxKxN (issue 20): three integers from 1 to 2^32 - 1; tiles that do not fit the SRAMs
# are a workload error naming them.
@pytest.mark.parametrize("tiles", ["0x128x128", "128x128", "128x128x128x1", "axbxc", "-1x2x3",
                                   "128x128x", "4294967296x1x1", "99999999999x1x1", "1e3x1x1"])
def test_bad_tiles_are_named(tiles):
    expect_user_error("run", "--arch", "edge", "--workload", "gemm1024", "--tiles", tiles,
                      match=r"^error: --tiles .*: must be MxKxN, three integers from 1 to 4294967295")


def test_tiles_that_do_not_fit_are_named():
    # edge: 512 KiB scratchpad, 2 x 64 KiB accumulator slots; 1024 x 1024 int32 C is 4 MiB.
    expect_user_error("run", "--arch", "edge", "--workload", "gemm1024", "--tiles", "1024x32x1024",
                      match=r'the tiles 1024x32x1024 \(--tiles\) do not fit the SRAMs')


# --values (issue 21) takes no value; --values-seed an integer from 0 to 2^64 - 1, with --values.
def test_values_seed_needs_values():
    expect_user_error("run", "--arch", "edge", "--workload", "gemm1024", "--values-seed", "3",
                      match=r"^error: --values-seed: needs --values")


@pytest.mark.parametrize("seed", ["-1", "x", "18446744073709551616", "1.5"])
def test_bad_values_seed_is_named(seed):
    expect_user_error("run", "--arch", "edge", "--workload", "gemm1024", "--values",
                      "--values-seed", seed, match=r"^error: --values-seed .*: must be an integer")
