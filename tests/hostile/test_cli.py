"""Hostile inputs: the `llmsim` command line and the driver's own inputs and outputs.

Every case is a class of mistake from issue 18: a signal, a hang, nonsense accepted, a wrong
answer with exit 0, or results lost; and the conventions a user expects (--help, --version).
Each user error is exit 2 with one line naming the option, the value and what is allowed,
found before any long work (each case runs in milliseconds).
"""

import json
import os
import re
import time

import pytest

from conftest import SANITIZED, expect_ok, expect_user_error, run

# hbm2-stack: 16 pseudo channels x 4 bank groups x 4 banks x 16384 rows x 1 KiB rows = 4 GiB,
# bursts of 64 bits x BL4 = 32 bytes.
CAPACITY = 1 << 32
HBM = ("memtest", "--arch", "hbm2-stack")
NOC = ("noctest", "--arch", "datacenter")
U64_MAX = str(2**64 - 1)


def full():
    return open("/dev/full", "w")


# --- memtest: signals (SIGFPE) and hangs ---------------------------------------------------

@pytest.mark.parametrize("value", ["0", "-1", "-64", "1e3", " 64", "0x40"])
def test_memtest_bytes_not_a_positive_integer(value):
    expect_user_error(*HBM, "--bytes", value, match=rf"^error: --bytes {re.escape(value)}: "
                      r"must be a positive integer$")


def test_memtest_bytes_beyond_capacity():
    expect_user_error(*HBM, "--bytes", CAPACITY + 1,
                      match=rf"--bytes {CAPACITY + 1}: must be a positive integer at most the "
                      rf"capacity, {CAPACITY}$")


def test_memtest_mixed_bytes_beyond_half_capacity():
    # Before: m_slots / 2 == 0, a division by zero; at exactly half, 2^27 bursts per request.
    expect_user_error(*HBM, "--pattern", "mixed", "--bytes", CAPACITY // 2 + 1,
                      match=rf"--bytes {CAPACITY // 2 + 1}: must be a positive integer at most "
                      rf"half the capacity, {CAPACITY // 2}, for --pattern mixed")


def test_memtest_too_many_bursts_for_one_run():
    # Half the capacity per request is 2^31 / 32 = 67108864 bursts; 65536 such requests.
    expect_user_error(*HBM, "--pattern", "mixed", "--bytes", CAPACITY // 2,
                      match=r"--requests 65536 of --bytes 2147483648: 67108864 bursts of 32 "
                      r"bytes each, more than the 1000000000 bursts a run may simulate")


@pytest.mark.parametrize("value", ["-1", U64_MAX, "1000000001", "0", "1.5"])
def test_memtest_requests_strict_and_bounded(value):
    # Before: boost read -1 as 2^64 - 1 and the run never ended.
    expect_user_error(*HBM, "--requests", value,
                      match=rf"^error: --requests {re.escape(value)}: must be an integer from 1 "
                      r"to 1000000000$")


# --- memtest: nonsense accepted ----------------------------------------------------------

@pytest.mark.parametrize("value", ["nan", "inf", "-1", "-inf", "1e400", "fast"])
def test_memtest_rate_finite_non_negative(value):
    expect_user_error(*HBM, "--rate", value,
                      match=rf"^error: --rate {re.escape(value)}: must be a finite number >= 0$")


def test_memtest_rate_too_slow_to_finish():
    # 65536 x 64 bytes at 1e-9 GB/s = 4.2e6 s: far beyond the cycle limit.
    expect_user_error(*HBM, "--rate", "1e-9",
                      match=r"--rate 1e-09: offering 65536 requests of 64 bytes takes .* DRAM "
                      r"cycles, more than the 10000000000 a run may simulate")


@pytest.mark.parametrize("value", ["2", "-1", "nan", "1.0000001"])
def test_memtest_read_fraction_in_unit_interval(value):
    expect_user_error(*HBM, "--pattern", "mixed", "--read-fraction", value,
                      match=rf"--read-fraction {re.escape(value)}: must be a finite number in "
                      r"\[0, 1\]$")


def test_memtest_pattern_and_trace_together(tmp_path):
    trace = tmp_path / "t.txt"
    trace.write_text("0x0 R\n")
    expect_user_error(*HBM, "--pattern", "seq_read", "--trace", trace,
                      match=r"--pattern seq_read and --trace .*t\.txt: give one of them")


def test_memtest_stride_zero():
    expect_user_error(*HBM, "--pattern", "strided", "--stride", "0",
                      match=r"--stride 0: must be a positive integer$")


@pytest.mark.parametrize("args, match", [
    (("--stride", "64"), r"--stride 64: applies only to --pattern strided"),
    (("--read-fraction", "0.5"), r"--read-fraction 0.5: applies only to --pattern mixed"),
    (("--seed", "7"), r"--seed 7: applies only to --pattern mixed, random_read or random_write"),
])
def test_memtest_options_the_pattern_ignores(args, match):
    expect_user_error(*HBM, "--pattern", "seq_read", *args, match=match)


def test_memtest_options_a_trace_ignores(tmp_path):
    trace = tmp_path / "t.txt"
    trace.write_text("0x0 R\n")
    expect_user_error(*HBM, "--trace", trace, "--requests", "10",
                      match=r"--requests 10: applies only to a synthetic --pattern")
    expect_user_error(*HBM, "--trace", trace, "--bytes", "64",
                      match=r"--bytes 64: applies only to a synthetic --pattern")


def test_memtest_trace_cycle_beyond_the_limit(tmp_path):
    # A negative cycle read as 2^64 - 5 (before the trace reader rejects it) or a huge one
    # would have the controllers refresh for ever.
    trace = tmp_path / "t.txt"
    trace.write_text("0x0 R 0\n0x20 R 99999999999999\n")
    expect_user_error(*HBM, "--trace", trace,
                      match=r"t\.txt:2: cycle 99999999999999: must be an integer from 0 to "
                      r"4294967296")


def test_memtest_trace_negative_cycle(tmp_path):
    # Before: "-5" read as 2^64 - 5 by stoull; the run never ended. (The trace reader may name
    # the line instead; either way a user error.)
    trace = tmp_path / "t.txt"
    trace.write_text("0x0 R -5\n")
    expect_user_error(*HBM, "--trace", trace, match=r"(-5|18446744073709551611)")


def test_memtest_trace_address_at_the_top_of_the_address_space(tmp_path):
    # Before: address + 32 wrapped to 0, the request issued no burst and the run ended in
    # "internal error: a request never completed" (exit 1).
    trace = tmp_path / "t.txt"
    trace.write_text(f"{2**64 - 32} R\n")
    expect_user_error(*HBM, "--trace", trace, match=rf"t\.txt:1: address {2**64 - 32}: a request of 32 bytes must lie "
                      rf"within the memory's {CAPACITY} bytes")


# --- noctest ------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["-1", "65537", "1099511627776", "1.5"])
def test_noctest_payload_bounded(value):
    # Before: 1099511627776 bytes = 2^35 flits, truncated to 32 bits: a 1-flit packet; -1 was
    # read as 2^64 - 1. (0 is allowed: a packet of its header flits only, at least one flit.)
    expect_user_error(*NOC, "--payload", value,
                      match=rf"^error: --payload {value}: must be an integer from 0 to 65536 "
                      r"bytes$")


@pytest.mark.parametrize("value", ["4294967300x4", "65x4", "0x4", "4x", "4x4x4", "-4x4", "4 x4"])
def test_noctest_mesh_strict(value):
    # Before: 4294967300 wrapped to 4 in 32 bits: a 4x4 mesh.
    expect_user_error(*NOC, "--mesh", value,
                      match=rf"^error: --mesh {re.escape(value)}: (expected WxH, e\.g\. 8x8|"
                      r"width and height must be from 1 to 64)$")


def test_noctest_cycles_bounded():
    # Before: 10^12 cycles ran for hours.
    expect_user_error(*NOC, "--cycles", "1000000000000",
                      match=r"^error: --cycles 1000000000000: must be an integer from 1 to "
                      r"100000000$")


def test_noctest_warmup_bounded():
    # Before: warmup + cycles wrapped past 2^64: the window measured nothing, exit 0.
    expect_user_error(*NOC, "--warmup", U64_MAX,
                      match=rf"^error: --warmup {U64_MAX}: must be an integer from 0 to "
                      r"100000000$")
    expect_user_error(*NOC, "--warmup", "99990000", "--cycles", "10000",
                      match=r"--warmup 99990000 \+ --cycles 10000 \+ the drain of 40000 cycles: "
                      r"must be at most 100000000 network cycles")


@pytest.mark.parametrize("value", ["0", "1.5", "nan", "-0.1", "inf"])
def test_noctest_rate_in_open_unit_interval(value):
    expect_user_error(*NOC, "--rate", value,
                      match=rf"--rate {value}: must be a finite number in \(0, 1\]$")


@pytest.mark.parametrize("value", ["0", "-0.05", "nan"])
def test_noctest_rate_step(value):
    expect_user_error(*NOC, "--sweep-rate", "--rate-step", value,
                      match=rf"--rate-step {value}: must be a finite number in \(0, 1\]$")


def test_noctest_hotspot_node_beyond_the_nodes():
    # The datacenter preset's NoC is a 4x4 mesh.
    expect_user_error(*NOC, "--pattern", "hotspot", "--hotspot-node", "16",
                      match=r"--hotspot-node 16: must be a node of the network, 0 to 15$")
    expect_user_error(*NOC, "--pattern", "hotspot", "--hotspot-node", "4294967296",
                      match=r"--hotspot-node 4294967296: must be an integer from 0 to "
                      r"4294967295")


@pytest.mark.parametrize("value", ["1.5", "-0.1", "nan"])
def test_noctest_hotspot_fraction(value):
    expect_user_error(*NOC, "--pattern", "hotspot", "--hotspot-fraction", value,
                      match=rf"--hotspot-fraction {value}: must be a finite number in \[0, 1\]$")


@pytest.mark.parametrize("args, match", [
    (("--rate-step", "0.1"), r"--rate-step 0.1: applies only with --sweep-rate"),
    (("--sweep-rate", "--rate", "0.2"), r"--rate 0.2: applies only without --sweep-rate"),
    (("--sweep-rate", "--json"), r"--json: applies only without --sweep-rate"),
    (("--hotspot-node", "3"), r"--hotspot-node 3: applies only to --pattern hotspot"),
    (("--hotspot-fraction", "0.5"), r"--hotspot-fraction 0.5: applies only to --pattern hotspot"),
])
def test_noctest_options_that_would_be_ignored(args, match):
    expect_user_error(*NOC, *args, match=match)


# --- run, compile, trace, validate: arguments ---------------------------------------------

@pytest.mark.parametrize("args", [
    ("validate", "--arch", "edge", "extra"),
    ("run", "--arch", "edge", "--workload", "mlp", "extra"),
    ("compile", "--arch", "edge", "--workload", "mlp", "extra"),
    ("trace", "--model", "gpt2", "extra"),
    ("presets", "extra"),
])
def test_trailing_positional_argument(args):
    # Before: boost skipped positional arguments silently.
    expect_user_error(*args, match=rf'^error: llmsim {args[0]}: unexpected argument "extra"')


@pytest.mark.parametrize("args, option", [
    (("compile", "--arch", "edge", "--workload", "mlp", "--out", "x"), "--out"),
    (("compile", "--arch", "edge", "--workload", "mlp", "--timeline", "t.json"), "--timeline"),
    (("trace", "--model", "gpt2", "--arch", "edge"), "--arch"),
    (("validate", "--arch", "edge", "--model", "gpt2"), "--model"),
    (("validate", "--arch", "edge", "--workload", "mlp"), "--workload"),
    (("memtest", "--arch", "hbm2-stack", "--mesh", "4x4"), "--mesh"),
    (("noctest", "--arch", "datacenter", "--bytes", "64"), "--bytes"),
    (("models", "--arch", "edge"), "--arch"),
    # Abbreviations are not guessed: --lay is not --layers.
    (("trace", "--model", "gpt2", "--lay", "2"), "--lay"),
])
def test_option_of_another_command(args, option):
    expect_user_error(*args, match=rf"^error: llmsim {args[0]}: unknown option {option}; its "
                      r"options: ")


@pytest.mark.parametrize("option, value", [("batch", "2"), ("seq", "8"), ("phase", "decode"),
                                           ("kv-len", "4"), ("dtype", "fp16"), ("layers", "1")])
def test_model_options_without_a_model(option, value):
    expect_user_error("run", "--arch", "edge", "--workload", "mlp", f"--{option}", value,
                      match=rf"--{option} {value}: applies only with --model")


@pytest.mark.parametrize("option", ["batch", "seq", "kv-len", "layers"])
@pytest.mark.parametrize("value", ["-1", "0", "18446744073709551616", "1e3", "+3"])
def test_model_counts_strict(option, value):
    expect_user_error("trace", "--model", "gpt2", "--phase", "decode", f"--{option}", value,
                      match=rf"^error: --{option} {re.escape(value)}: must be a positive integer$")


def test_repeated_option():
    expect_user_error("trace", "--model", "gpt2", "--seq", "4", "--seq", "8",
                      match=r"llmsim trace: option '--seq' cannot be specified more than once")


# --- lost results -------------------------------------------------------------------------

STDOUT_FULL = r"^error: writing standard output: No space left on device$"


@pytest.mark.parametrize("args", [
    ("trace", "--model", "gpt2"),
    ("run", "--arch", "edge", "--workload", "gemm1024"),
    ("compile", "--arch", "edge", "--workload", "gemm1024"),
    ("validate", "--arch", "edge"),
    ("memtest", "--arch", "hbm2-stack", "--requests", "100", "--json"),
    ("memtest", "--arch", "hbm2-stack", "--requests", "100"),
    ("noctest", "--arch", "datacenter", "--cycles", "200"),
    ("presets",),
    ("models",),
    ("--help",),
    ("--version",),
    ("run", "--help"),
])
def test_stdout_full_is_an_error(args):
    # Before: exit 0 with the output lost (and 4096 bytes of it on a full disk).
    with full() as f:
        expect_user_error(*args, stdout=f, match=STDOUT_FULL)


def test_out_under_a_regular_file_is_found_before_simulating(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    start = time.monotonic()
    p = expect_user_error("run", "--arch", "datacenter", "--model", "gpt2", "--out",
                          blocker / "run", match=rf"^error: --out {re.escape(str(blocker))}/run: "
                          r"cannot create the directory: Not a directory$")
    elapsed = time.monotonic() - start
    assert p.stdout == ""  # no summary: nothing was simulated
    # The same run simulates for seconds (gpt2 prefill of 128 tokens on datacenter).
    assert elapsed < 1.0, elapsed


def test_timeline_into_a_missing_directory_is_found_before_simulating(tmp_path):
    p = expect_user_error("run", "--arch", "datacenter", "--model", "gpt2", "--timeline",
                          tmp_path / "missing" / "t.json",
                          match=r"^error: timeline .*missing/t\.json: not a file in an existing "
                          r"directory$")
    assert p.stdout == ""


def test_out_is_a_regular_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("keep")
    expect_user_error("run", "--arch", "edge", "--workload", "mlp", "--out", blocker,
                      match=r"cannot create the directory: ")
    assert blocker.read_text() == "keep"


def test_run_out_writes_whole_files_with_the_version(tmp_path):
    out = tmp_path / "run"
    expect_ok("run", "--arch", "edge", "--workload", "mlp", "--out", out)
    assert sorted(os.listdir(out)) == ["config.json", "ops.csv", "stats.json"]  # no .tmp left
    stats = json.loads((out / "stats.json").read_text())
    version = expect_ok("--version").stdout.split()
    assert stats["llmsim_version"] == version[1]
    assert stats["git_commit"] == version[3].rstrip(")")


# --- conventions --------------------------------------------------------------------------

@pytest.mark.parametrize("flag", ["--help", "-h", "help"])
def test_help(flag):
    p = expect_ok(flag)
    assert p.stdout.startswith("usage: llmsim <command> [options]")
    for cmd in ("run", "compile", "report", "validate", "memtest", "noctest", "trace",
                "presets", "workloads", "models"):
        assert re.search(rf"^  {cmd} ", p.stdout, re.M), cmd
    assert p.stderr == ""


@pytest.mark.parametrize("cmd, options", [
    ("run", ["--arch", "--workload", "--model", "--out", "--timeline", "--timeline-max-events",
             "--set", "--batch"]),
    ("compile", ["--arch", "--workload", "--model"]),
    ("memtest", ["--pattern", "--trace", "--requests", "--bytes", "--rate", "--stride",
                 "--read-fraction", "--seed", "--json"]),
    ("noctest", ["--pattern", "--rate", "--sweep-rate", "--rate-step", "--mesh", "--payload",
                 "--warmup", "--cycles", "--hotspot-node", "--hotspot-fraction"]),
    ("trace", ["--model", "--batch", "--seq", "--phase", "--kv-len", "--dtype", "--layers"]),
    ("validate", ["--arch", "--set"]),
])
def test_command_help(cmd, options):
    p = expect_ok(cmd, "--help")  # --arch, although required, is not asked for
    assert p.stdout.startswith(f"usage: llmsim {cmd} ")
    for option in options:
        # Each option on its own line with a description after it.
        assert re.search(rf"^  {option}( \S+)?\s+\S", p.stdout, re.M), option


def test_report_help():
    p = expect_ok("report", "--help")
    assert p.stdout.startswith("usage: llmsim report RUN_DIR")


def test_version():
    p = expect_ok("--version")
    assert re.fullmatch(r"llmsim \d+\.\d+\.\d+ \(git ([0-9a-f]{7,}(-dirty)?|unknown)\)\n",
                        p.stdout), p.stdout


def test_no_arguments_is_usage_and_exit_2():
    p = run()
    assert p.returncode == 2
    assert p.stdout == ""
    assert p.stderr.startswith("usage: llmsim <command> [options]")


def test_help_takes_no_arguments():
    expect_user_error("--help", "run", match=r"^error: llmsim --help: takes no arguments")


# --- llmsim report ------------------------------------------------------------------------

# `llmsim report` runs the Python package, which the sanitizer build does not build (an ASan-built
# extension cannot load into Debian's python): these cases run in the Release build only.
@pytest.mark.skipif(SANITIZED, reason="the sanitizer build has no Python package")
@pytest.mark.parametrize("text", ["{not json", "[1, 2, 3]", '{"total_cycles": "many"}'])
def test_report_on_a_corrupt_stats_json(tmp_path, text):
    # A real config.json beside it, so that stats.json is what the report rejects.
    (tmp_path / "config.json").write_text(expect_ok("validate", "--arch", "edge").stdout)
    (tmp_path / "stats.json").write_text(text)
    expect_user_error("report", tmp_path, match=r"stats\.json")
    assert not (tmp_path / "report.html").exists()


def test_report_arguments():
    expect_user_error("report", match=r"^error: llmsim report takes RUN_DIR, one argument")
    expect_user_error("report", "a", "b", match=r"^error: llmsim report takes RUN_DIR")
    expect_user_error("report", "--out", "x", match=r"^error: llmsim report takes RUN_DIR")
    expect_user_error("report", "/nonexistent-run", match=r"/nonexistent-run: no such run directory")
