"""Hostile inputs: a reconfigurable array's dataflows (core.systolic.dataflows,
dataflow_switch_cycles) and a trace matmul naming a dataflow. Each mistake is a user error
(exit 2) naming the key or op, the value and what is allowed; the right spelling runs, and an
array that offers more dataflows but is never asked to switch keeps the cycles."""

import csv
import json

from conftest import expect_ok, expect_user_error

# The presets give `dataflow`; null removes it so that `dataflows` may take its place.
NO_SINGLE = ("--set", "core.systolic.dataflow=null")


def two(switch="--set=core.systolic.dataflow_switch_cycles=50"):
    return (*NO_SINGLE, "--set", 'core.systolic.dataflows=["ws", "os"]', switch)


def test_empty_list():
    expect_user_error("validate", "--arch", "edge", *NO_SINGLE, "--set", "core.systolic.dataflows=[]",
                      match=r"^error: core\.systolic\.dataflows: must be a non-empty list of ws, "
                            r"os, is, got \[\]$")


def test_unknown_name():
    expect_user_error("validate", "--arch", "edge", *NO_SINGLE, "--set",
                      'core.systolic.dataflows=["ws", "rs"]',
                      match=r"^error: core\.systolic\.dataflows: must be a non-empty list of ws, "
                            r'os, is, got \["ws","rs"\]$')


def test_not_a_list():
    expect_user_error("validate", "--arch", "edge", *NO_SINGLE, "--set", "core.systolic.dataflows=ws",
                      match=r'core\.systolic\.dataflows: must be a non-empty list .*got "ws"$')


def test_duplicate_name():
    expect_user_error("validate", "--arch", "edge", *NO_SINGLE, "--set",
                      'core.systolic.dataflows=["os", "ws", "os"]',
                      "--set", "core.systolic.dataflow_switch_cycles=5",
                      match=r'core\.systolic\.dataflows: names "os" twice; each of ws, os, is '
                            r"may appear once")


def test_both_keys():
    expect_user_error("validate", "--arch", "datacenter", "--set",
                      'core.systolic.dataflows=["ws", "os"]',
                      match=r"^error: core\.systolic\.dataflows: give either dataflow \(one\) or "
                            r"dataflows \(a list\), not both; remove one \(--set "
                            r"core\.systolic\.dataflow=null\)$")


def test_neither_key():
    expect_user_error("validate", "--arch", "edge", *NO_SINGLE,
                      match=r"^error: core\.systolic\.dataflow: is required: one of ws, os, is, or "
                            r"give dataflows")


def test_switch_cycles_missing_with_two():
    expect_user_error("validate", "--arch", "edge", *NO_SINGLE, "--set",
                      'core.systolic.dataflows=["ws", "os"]',
                      match=r"^error: core\.systolic\.dataflow_switch_cycles: is required with two "
                            r"or more dataflows \(an integer in \[0, 1048576\]")


def test_switch_cycles_with_one_dataflow():
    expect_user_error("validate", "--arch", "edge", "--set", "core.systolic.dataflow_switch_cycles=8",
                      match=r"^error: core\.systolic\.dataflow_switch_cycles: only an array that "
                            r"lists two or more dataflows \(dataflows\) switches; it offers one, "
                            r"ws: remove the key$")


def test_switch_cycles_with_a_one_entry_list():
    expect_user_error("validate", "--arch", "edge", *NO_SINGLE, "--set",
                      'core.systolic.dataflows=["is"]', "--set",
                      "core.systolic.dataflow_switch_cycles=0",
                      match=r"dataflow_switch_cycles: only an array .* it offers one, is")


def test_switch_cycles_negative():
    expect_user_error("validate", "--arch", "edge", *two("--set=core.systolic.dataflow_switch_cycles=-3"),
                      match=r"^error: core\.systolic\.dataflow_switch_cycles: must be a "
                            r"non-negative integer, got -3$")


def test_switch_cycles_huge():
    expect_user_error("validate", "--arch", "edge",
                      *two("--set=core.systolic.dataflow_switch_cycles=18446744073709551616"),
                      match=r"^error: core\.systolic\.dataflow_switch_cycles: must be a "
                            r"non-negative integer, got 1\.8446744073709552e\+19$")  # read as a double
    expect_user_error("validate", "--arch", "edge",
                      *two("--set=core.systolic.dataflow_switch_cycles=1048577"),
                      match=r"^error: core\.systolic\.dataflow_switch_cycles: must be in "
                            r"\[0, 1048576\], got 1048577$")


def test_switch_cycles_not_an_integer():
    for value, shown in (("2.5", "2.5"), ("ten", '"ten"'), ("true", "true")):
        expect_user_error("validate", "--arch", "edge",
                          *two(f"--set=core.systolic.dataflow_switch_cycles={value}"),
                          match=r"^error: core\.systolic\.dataflow_switch_cycles: must be a "
                                r"non-negative integer, got " + shown.replace(".", r"\.") + "$")


def test_valid_config_validates():
    p = expect_ok("validate", "--arch", "edge", *two())
    assert "error" not in p.stderr


def matmul_trace(tmp_path, dataflow):
    t = tmp_path / "t.json"
    t.write_text(json.dumps({"ops": [
        {"op": "matmul", "name": "fc1", "m": 64, "k": 64, "n": 64},
        {"op": "matmul", "name": "fc2", "m": 64, "k": 64, "n": 64, "a": "fc1",
         "dataflow": dataflow}]}))
    return t


def test_trace_matmul_in_a_dataflow_the_array_does_not_offer(tmp_path):
    t = matmul_trace(tmp_path, "os")
    for cmd in ("run", "compile"):
        expect_user_error(cmd, "--arch", "edge", "--workload", t,
                          match=r"'fc2' \(matmul\): dataflow os is not offered by the systolic "
                                r"array, which offers ws \(core\.systolic\.dataflows\)")


def test_trace_matmul_unknown_dataflow(tmp_path):
    expect_user_error("run", "--arch", "edge", "--workload", matmul_trace(tmp_path, "row"),
                      match=r'ops\[1\]\.dataflow: must be one of ws, os, is, got "row"')
    expect_user_error("run", "--arch", "edge", "--workload", matmul_trace(tmp_path, 1),
                      match=r"ops\[1\]\.dataflow: must be one of ws, os, is, got 1")


def run_cycles(out, *args):
    expect_ok("run", *args, "--out", out)
    stats = json.loads((out / "stats.json").read_text())
    with open(out / "ops.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return stats, rows


def test_more_dataflows_same_cycles_when_all_gemms_use_the_default(tmp_path):
    base, base_rows = run_cycles(tmp_path / "a", "--arch", "edge", "--workload", "gemm1024")
    multi, rows = run_cycles(tmp_path / "b", "--arch", "edge", "--workload", "gemm1024", *two())
    assert multi["total_cycles"] == base["total_cycles"]
    assert [r["dataflow"] for r in rows] == ["ws"] == [r["dataflow"] for r in base_rows]
    assert multi["chip"]["core0"]["systolic"]["dataflow_switches"] == 0


def test_trace_matmul_in_an_offered_dataflow_switches(tmp_path):
    # fc1 in the default WS, fc2 in OS: the array switches once per core that runs both.
    stats, rows = run_cycles(tmp_path / "o", "--arch", "edge", "--workload",
                             matmul_trace(tmp_path, "os"), *two())
    assert [r["dataflow"] for r in rows] == ["ws", "os"]
    assert stats["chip"]["core0"]["systolic"]["dataflow_switches"] == 1
    assert stats["chip"]["core0"]["systolic"]["switch_cycles"] == 50


def test_timeline_shows_the_switch(tmp_path):
    # edge's core clock is 800 MHz: the 50-cycle switch is a 62.5 ns = 0.0625 us span on the
    # systolic track, right before fc2's first GEMM span.
    tl = tmp_path / "tl.json"
    expect_ok("run", "--arch", "edge", "--workload", matmul_trace(tmp_path, "os"), *two(),
              "--timeline", tl)
    events = json.loads(tl.read_text())["traceEvents"]
    switches = [e for e in events if e["name"] == "dataflow switch"]
    assert len(switches) == 1
    assert switches[0]["args"]["cycles"] == 50
    assert abs(switches[0]["dur"] - 0.0625) < 1e-6
    gemms = [e for e in events if e["name"] == "gemm" and e["tid"] == switches[0]["tid"]
             and e["pid"] == switches[0]["pid"] and e["ts"] >= switches[0]["ts"]]
    assert abs(min(g["ts"] for g in gemms) - (switches[0]["ts"] + 0.0625)) < 1e-6
