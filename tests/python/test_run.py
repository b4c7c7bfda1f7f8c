"""The Python binding (python/module.cpp) against the CLI, and repeated runs in one process.

Run by ctest (test `python_tests`), which sets PYTHONPATH to build/python and LLMSIM_BIN to the
CLI binary. By hand:
    PYTHONPATH=build/python LLMSIM_BIN=build/llmsim /usr/bin/python3 -m pytest -q tests/python
"""

import copy
import csv
import json
import os
import pathlib
import subprocess
import sys

import pytest

import llmsim

REPO = pathlib.Path(__file__).resolve().parents[2]
EDGE_JSON = REPO / "configs" / "edge.json"

# Fields of the result dict that are not simulation results.
NON_DETERMINISTIC = {"wall_seconds"}


def _cli_binary():
    """The llmsim CLI: $LLMSIM_BIN, else the build tree holding the imported module."""
    path = os.environ.get("LLMSIM_BIN")
    if path:
        return pathlib.Path(path)
    guess = pathlib.Path(llmsim.__file__).resolve().parents[2] / "llmsim"
    if guess.is_file():
        return guess
    pytest.skip("set LLMSIM_BIN to the llmsim binary")


def _env():
    env = dict(os.environ)
    env["SYSTEMC_DISABLE_COPYRIGHT_MESSAGE"] = "1"
    return env


def _cli(*args, check=True):
    return subprocess.run([str(_cli_binary()), *args], capture_output=True, text=True,
                          env=_env(), check=check)


def _deterministic(result):
    return {k: v for k, v in result.items() if k not in NON_DETERMINISTIC}


def _run_in_fresh_process(arch, workload):
    """llmsim.run in a new interpreter (nothing simulated before it), as a dict."""
    code = ("import json, sys, llmsim\n"
            "r = llmsim.run(sys.argv[1], sys.argv[2])\n"
            "json.dump(r, sys.stdout)\n")
    out = subprocess.run([sys.executable, "-c", code, arch, workload], capture_output=True,
                         text=True, env=_env(), check=True)
    return json.loads(out.stdout)


def _edge_dict():
    return json.loads(EDGE_JSON.read_text())


# (a) the binding and the CLI agree ---------------------------------------------------------

def test_run_matches_cli(tmp_path):
    out = tmp_path / "out"
    _cli("run", "--arch", "edge", "--workload", "gemm1024", "--out", str(out))
    cli_stats = json.loads((out / "stats.json").read_text())
    cli_config = json.loads((out / "config.json").read_text())
    with open(out / "ops.csv", newline="") as f:
        cli_ops = list(csv.DictReader(f))

    r = llmsim.run("edge", "gemm1024")

    assert r["total_cycles"] > 0
    assert r["total_cycles"] == cli_stats["total_cycles"]
    assert r["chip"] == cli_stats["chip"]
    # The whole stats.json document, not only the cycles.
    assert {k: r[k] for k in cli_stats} == cli_stats
    assert set(r) == set(cli_stats) | {"ops", "config", "wall_seconds"}
    assert r["config"] == cli_config
    assert r["arch"] == "edge" and r["workload"] == "gemm1024"

    assert len(r["ops"]) == len(cli_ops)
    for op, row in zip(r["ops"], cli_ops):
        assert op["name"] == row["name"]
        assert op["dtype"] == row["dtype"]
        for key in ("m", "k", "n", "start_cycle", "end_cycle", "cycles", "macs",
                    "dram_read_bytes", "dram_written_bytes"):
            assert op[key] == int(row[key]), key
        assert (op["tiling"]["mt"], op["tiling"]["kt"], op["tiling"]["nt"]) == (
            int(row["tile_m"]), int(row["tile_k"]), int(row["tile_n"]))
        assert op["utilisation"] == pytest.approx(float(row["utilisation"]), abs=1e-6)
    assert sum(op["macs"] for op in r["ops"]) == r["macs"]
    assert r["ops"][-1]["end_cycle"] == r["total_cycles"]


def test_arch_and_workload_paths_match_names():
    by_name = llmsim.run("edge", "gemm1024")
    by_path = llmsim.run(str(EDGE_JSON), REPO / "workloads" / "gemm" / "gemm1024.json")
    assert by_path["total_cycles"] == by_name["total_cycles"]
    assert by_path["chip"] == by_name["chip"]


# (b) several runs in one process equal runs in fresh processes -----------------------------

def test_runs_in_one_process_equal_fresh_processes():
    # Different arches and workloads back to back, then the first again: each must equal the
    # same run in a process that simulated nothing before (the KernelSession reset).
    sequence = [("edge", "gemm1024"), ("datacenter", "mlp"), ("edge", "gemm1024")]
    in_process = [llmsim.run(arch, workload) for arch, workload in sequence]
    fresh = {case: _run_in_fresh_process(*case) for case in set(sequence)}

    for case, r in zip(sequence, in_process):
        f = fresh[case]
        assert r["total_cycles"] == f["total_cycles"], case
        assert r["chip"] == f["chip"], case
        assert _deterministic(r) == _deterministic(f), case
    assert _deterministic(in_process[0]) == _deterministic(in_process[2])
    assert in_process[0]["total_cycles"] != in_process[1]["total_cycles"]


def test_failed_run_leaves_the_process_usable():
    before = llmsim.run("edge", "gemm1024")
    with pytest.raises(ValueError):
        llmsim.run("edge", "gemm1024", {"core.systolic.rowz": 64})
    with pytest.raises(ValueError):
        llmsim.run("edge", {"ops": [{"op": "matmul", "m": -3, "k": 1, "n": 1}]})
    after = llmsim.run("edge", "gemm1024")
    assert _deterministic(after) == _deterministic(before)


# (c) dict arch, dict workload and overrides ------------------------------------------------

def test_dict_arch_and_overrides_change_cycles():
    base = llmsim.run("edge", "gemm1024")

    arch = _edge_dict()
    assert arch["core"]["systolic"]["rows"] != 64
    arch["core"]["systolic"]["rows"] = 64
    from_dict = llmsim.run(arch, "gemm1024")
    assert from_dict["total_cycles"] != base["total_cycles"]
    assert from_dict["config"]["core"]["systolic"]["rows"] == 64
    assert from_dict["arch"] == "<dict>"

    # The same change as an override (dict or CLI-style list) gives the same result, and so
    # does the CLI's --set.
    from_overrides = llmsim.run("edge", "gemm1024", {"core.systolic.rows": 64})
    from_list = llmsim.run("edge", "gemm1024", ["core.systolic.rows=64"])
    assert from_overrides["total_cycles"] == from_dict["total_cycles"]
    assert from_overrides["chip"] == from_dict["chip"]
    assert from_list["chip"] == from_overrides["chip"]
    cli = _cli("run", "--arch", "edge", "--workload", "gemm1024", "--set", "core.systolic.rows=64")
    assert f"total cycles          {from_overrides['total_cycles']}\n" in cli.stdout

    # The caller's dict is not modified, and string values are JSON-encoded correctly.
    untouched = copy.deepcopy(arch)
    os_run = llmsim.run(arch, "gemm1024", {"core.systolic.dataflow": "os"})
    assert arch == untouched
    assert os_run["config"]["core"]["systolic"]["dataflow"] == "os"


def test_dict_workload():
    doc = json.loads((REPO / "workloads" / "gemm" / "gemm1024.json").read_text())
    r = llmsim.run("edge", doc)
    named = llmsim.run("edge", "gemm1024")
    assert r["total_cycles"] == named["total_cycles"]
    assert r["workload"] == "<dict>"

    small = llmsim.run("edge", {"ops": [{"op": "matmul", "name": "x", "m": 64, "k": 64, "n": 64}]})
    assert 0 < small["total_cycles"] < named["total_cycles"]
    assert small["ops"][0]["name"] == "x" and small["ops"][0]["macs"] == 64 ** 3


# (d) errors ---------------------------------------------------------------------------------

def test_misspelled_key_raises_value_error_naming_the_path():
    with pytest.raises(ValueError, match=r"core\.systolic\.rowz") as info:
        llmsim.run("edge", "gemm1024", {"core.systolic.rowz": 64})
    # The message is what the CLI prints after "error: ".
    cli = _cli("run", "--arch", "edge", "--workload", "gemm1024", "--set",
               "core.systolic.rowz=64", check=False)
    assert cli.returncode == 2
    assert cli.stderr.strip() == "error: " + str(info.value)

    arch = _edge_dict()
    arch["core"]["systolic"]["rowz"] = 64
    with pytest.raises(ValueError, match=r"core\.systolic\.rowz"):
        llmsim.run(arch, "gemm1024")
    with pytest.raises(ValueError, match=r"core\.systolic\.rowz"):
        llmsim.validate(arch)


def test_unknown_preset_lists_presets():
    with pytest.raises(ValueError) as info:
        llmsim.run("edgy", "gemm1024")
    message = str(info.value)
    assert "edgy" in message
    presets = llmsim.presets()
    assert {"edge", "datacenter"} <= set(presets)
    for name in presets:
        assert name in message
    cli = _cli("run", "--arch", "edgy", "--workload", "gemm1024", check=False)
    assert cli.stderr.strip() == "error: " + message


def test_bad_workload_and_bad_types():
    with pytest.raises(ValueError, match="gemm1024"):  # lists the bundled workloads
        llmsim.run("edge", "no_such_workload")
    with pytest.raises(ValueError, match=r"ops\[0\]\.m"):
        llmsim.run("edge", {"ops": [{"op": "matmul", "m": -3, "k": 1, "n": 1}]})
    with pytest.raises(TypeError):
        llmsim.run(3, "gemm1024")
    with pytest.raises(TypeError):
        llmsim.run("edge", "gemm1024", [64])
    with pytest.raises(ValueError):  # NaN is not JSON
        llmsim.validate("edge", {"core.clock_mhz": float("nan")})


# (e) validate and presets -------------------------------------------------------------------

def test_validate_resolves_defaults():
    resolved = llmsim.validate("edge")
    assert resolved["core"]["scratchpad"]["ports"] == "1r1w"
    assert resolved["core"]["systolic"]["rows"] == 32

    # A default the preset leaves out is written out.
    arch = _edge_dict()
    del arch["core"]["scratchpad"]["ports"]
    assert llmsim.validate(arch)["core"]["scratchpad"]["ports"] == "1r1w"

    assert llmsim.validate("edge", {"core.systolic.rows": 64})["core"]["systolic"]["rows"] == 64

    cli = _cli("validate", "--arch", "edge")
    assert json.loads(cli.stdout) == resolved


def test_presets_and_workloads():
    assert llmsim.presets() == sorted(p.stem for p in (REPO / "configs").glob("*.json"))
    assert "gemm1024" in llmsim.workloads()
