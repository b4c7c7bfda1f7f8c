"""Hostile inputs: arch configs and --set overrides (nesting, duplicate keys, UTF-8, sizes, clock
and cycle-count ranges, repeated list entries). Each is a user error (exit 2) naming the input."""

import re

from conftest import expect_ok, expect_user_error


def test_arch_nested_a_million_levels_is_refused_before_parsing(tmp_path):
    # SIGSEGV in nlohmann's recursive parser before.
    deep = tmp_path / "deep.json"
    deep.write_text('{"a":' * 1_000_000 + "1" + "}" * 1_000_000)
    expect_user_error("validate", "--arch", deep,
                      match=r"deep\.json: JSON nested deeper than 64 levels at line 1$")


def test_arch_nested_ten_thousand_levels_inside_a_value(tmp_path):
    # 10,000 levels overflowed the stack in the recursive copy of with_overrides under ASan.
    text = '{"description": "x",\n"core": ' + "[" * 10_000 + "]" * 10_000 + "}"
    f = tmp_path / "a.json"
    f.write_text(text)
    expect_user_error("validate", "--arch", f, match=r"a\.json: JSON nested deeper than 64 levels at line 2")


def test_set_value_nested_too_deep():
    expect_user_error("validate", "--arch", "edge", "--set", "core.x=" + "[" * 1000 + "]" * 1000,
                      match=r"^error: --set core\.x: JSON nested deeper than 64 levels")


def test_duplicate_key_names_path_and_line(tmp_path):
    f = tmp_path / "dup.json"
    f.write_text('{"core": {"clock_mhz": 1000,\n  "clock_mhz": 900}}')
    expect_user_error("validate", "--arch", f,
                      match=r"dup\.json: duplicate key core\.clock_mhz at line 2")


def test_invalid_utf8_in_a_set_value():
    # type_error 316 (exit 1) when the resolved config was dumped, before.
    expect_user_error("validate", "--arch", "edge", "--set", b"core.systolic.dataflow=\xff".decode(
        "utf-8", "surrogateescape"), match=r"--set core\.systolic\.dataflow=\?: not valid UTF-8")


def test_invalid_utf8_in_a_file_string(tmp_path):
    f = tmp_path / "bad.json"
    f.write_bytes(b'{"description": "\xff\xfe"}')
    expect_user_error("validate", "--arch", f, match=r"bad\.json: not valid JSON at line 1.*UTF-8")


def test_number_past_a_double(tmp_path):
    f = tmp_path / "big.json"
    f.write_text('{"core": {"clock_mhz": 1e400}}')
    expect_user_error("validate", "--arch", f, match=r"big\.json: not valid JSON: .*number overflow")


def test_syntax_error_names_line_and_column(tmp_path):
    f = tmp_path / "s.json"
    f.write_text('{"core": {\n  "clock_mhz": 1000,\n}}')
    expect_user_error("validate", "--arch", f, match=r"s\.json: not valid JSON at line 3, column 1")


def test_workload_path_is_a_directory(tmp_path):
    expect_user_error("run", "--arch", "edge", "--workload", tmp_path, match=r": is a directory$")


def test_core_clock_out_of_range():
    for value, shown in [("1e-300", "1e-300"), ("1e308", "1e+308"), ("0.5", "0.5"),
                         ("200000", "200000")]:
        expect_user_error("validate", "--arch", "edge", "--set", f"core.clock_mhz={value}",
                          match=r"core\.clock_mhz: must be a clock in \[1, 100000\] MHz, got "
                                + re.escape(shown) + "$")


def test_memory_clock_out_of_range():
    # 1e-300 pinned time at the 2^63 fs limit with exit 0 before.
    expect_user_error("validate", "--arch", "edge", "--set", "memory.clock_mhz=1e-300",
                      match=r"memory\.clock_mhz: must be a clock in \[1, 100000\] MHz, got 1e-300")


def test_latency_cycles_bounded():
    # 2^64 - 1 wrapped to fewer cycles than the default before.
    expect_user_error("validate", "--arch", "edge", "--set",
                      "memory.latency_cycles=18446744073709551615",
                      match=r"memory\.latency_cycles: must be in \[0, 1048576\], "
                            r"got 18446744073709551615")


def test_count_past_its_bound():
    expect_user_error("validate", "--arch", "edge", "--set", "core.dma.bytes_per_cycle=4294967297",
                      match=r"core\.dma\.bytes_per_cycle: must be in \[1, 4294967296\], "
                            r"got 4294967297")
    expect_user_error("validate", "--arch", "edge", "--set", "core.scratchpad.banks=4294967296",
                      match=r"core\.scratchpad\.banks: must be in \[1, 65536\], got 4294967296")


def test_hbm_timing_bounded():
    expect_user_error("validate", "--arch", "hbm2-stack", "--set",
                      'memory.device={"preset": "HBM2", "timing_ck": {"tREFI": 4294967295}}',
                      match=r"memory\.device\.timing_ck\.tREFI: must be in \[1, 1048576\]")


def test_repeated_dtype():
    expect_user_error("validate", "--arch", "edge", "--set", 'core.systolic.dtypes=["int8","int8"]',
                      match=r'core\.systolic\.dtypes: names "int8" twice')


def test_limits_leave_the_presets_alone():
    for preset in ["edge", "datacenter", "hbm2-stack"]:
        expect_ok("validate", "--arch", preset)


def test_array_pipelining_names_what_is_allowed():
    expect_user_error("validate", "--arch", "datacenter", "--set", "core.systolic.pipelining=double",
                      match=r'^error: core\.systolic\.pipelining: must be one of none, '
                            r'double_buffered, got "double"$')
    expect_user_error("validate", "--arch", "edge", "--set", "core.systolic.pipelining=true",
                      match=r"^error: core\.systolic\.pipelining: ")
