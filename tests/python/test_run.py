"""The Python binding (python/module.cpp) against the CLI, and repeated runs in one process.

Run by ctest (test `python: test_run`), which sets PYTHONPATH to build/python and LLMSIM_BIN to the
CLI binary. By hand:
    PYTHONPATH=build/python LLMSIM_BIN=build/llmsim /usr/bin/python3 -m pytest -q tests/python
"""

import copy
import csv
import json
import pathlib
import subprocess
import sys

import pytest

import llmsim
from cli_helpers import cli, cli_env

REPO = pathlib.Path(__file__).resolve().parents[2]
EDGE_JSON = REPO / "configs" / "edge.json"

# Fields of the result dict that are not simulation results.
NON_DETERMINISTIC = {"wall_seconds"}


def _cli(*args, check=True):
    return cli(*args, check=check)


def _deterministic(result):
    return {k: v for k, v in result.items() if k not in NON_DETERMINISTIC}


def _run_in_fresh_process(arch, workload):
    """llmsim.run in a new interpreter (nothing simulated before it), as a dict."""
    code = ("import json, sys, llmsim\n"
            "r = llmsim.run(sys.argv[1], workload=sys.argv[2])\n"
            "json.dump(r.to_dict(), sys.stdout)\n")
    out = subprocess.run([sys.executable, "-c", code, arch, workload], capture_output=True,
                         text=True, env=cli_env(), check=True)
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

    r = llmsim.run("edge", workload="gemm1024")

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
    by_name = llmsim.run("edge", workload="gemm1024")
    by_path = llmsim.run(str(EDGE_JSON), workload=REPO / "workloads" / "gemm" / "gemm1024.json")
    assert by_path["total_cycles"] == by_name["total_cycles"]
    assert by_path["chip"] == by_name["chip"]


# (b) several runs in one process equal runs in fresh processes -----------------------------

def test_runs_in_one_process_equal_fresh_processes():
    # Different arches and workloads back to back, then the first again: each must equal the
    # same run in a process that simulated nothing before (the KernelSession reset).
    sequence = [("edge", "gemm1024"), ("datacenter", "mlp"), ("edge", "gemm1024")]
    in_process = [llmsim.run(arch, workload=workload) for arch, workload in sequence]
    fresh = {case: _run_in_fresh_process(*case) for case in set(sequence)}

    for case, r in zip(sequence, in_process):
        f = fresh[case]
        assert r["total_cycles"] == f["total_cycles"], case
        assert r["chip"] == f["chip"], case
        assert _deterministic(r) == _deterministic(f), case
    assert _deterministic(in_process[0]) == _deterministic(in_process[2])
    assert in_process[0]["total_cycles"] != in_process[1]["total_cycles"]


def test_failed_run_leaves_the_process_usable():
    before = llmsim.run("edge", workload="gemm1024")
    with pytest.raises(ValueError):
        llmsim.run("edge", workload="gemm1024", overrides={"core.systolic.rowz": 64})
    with pytest.raises(ValueError):
        llmsim.run("edge", workload={"ops": [{"op": "matmul", "m": -3, "k": 1, "n": 1}]})
    after = llmsim.run("edge", workload="gemm1024")
    assert _deterministic(after) == _deterministic(before)


# (c) dict arch, dict workload and overrides ------------------------------------------------

def test_dict_arch_and_overrides_change_cycles():
    base = llmsim.run("edge", workload="gemm1024")

    arch = _edge_dict()
    assert arch["core"]["systolic"]["rows"] != 64
    arch["core"]["systolic"]["rows"] = 64
    from_dict = llmsim.run(arch, workload="gemm1024")
    assert from_dict["total_cycles"] != base["total_cycles"]
    assert from_dict["config"]["core"]["systolic"]["rows"] == 64
    assert from_dict["arch"] == "<dict>"

    # The same change as an override (dict or CLI-style list) gives the same result, and so
    # does the CLI's --set.
    from_overrides = llmsim.run("edge", workload="gemm1024", overrides={"core.systolic.rows": 64})
    from_list = llmsim.run("edge", workload="gemm1024", overrides=["core.systolic.rows=64"])
    assert from_overrides["total_cycles"] == from_dict["total_cycles"]
    assert from_overrides["chip"] == from_dict["chip"]
    assert from_list["chip"] == from_overrides["chip"]
    cli = _cli("run", "--arch", "edge", "--workload", "gemm1024", "--set", "core.systolic.rows=64")
    assert f"total cycles          {from_overrides['total_cycles']}\n" in cli.stdout

    # The caller's dict is not modified, and string values are JSON-encoded correctly.
    untouched = copy.deepcopy(arch)
    os_run = llmsim.run(arch, workload="gemm1024", overrides={"core.systolic.dataflow": "os"})
    assert arch == untouched
    assert os_run["config"]["core"]["systolic"]["dataflow"] == "os"


def test_dict_workload():
    doc = json.loads((REPO / "workloads" / "gemm" / "gemm1024.json").read_text())
    r = llmsim.run("edge", workload=doc)
    named = llmsim.run("edge", workload="gemm1024")
    assert r["total_cycles"] == named["total_cycles"]
    assert r["workload"] == "<dict>"

    small = llmsim.run("edge",
                       workload={"ops": [{"op": "matmul", "name": "x", "m": 64, "k": 64, "n": 64}]})
    assert 0 < small["total_cycles"] < named["total_cycles"]
    assert small["ops"][0]["name"] == "x" and small["ops"][0]["macs"] == 64 ** 3


# (d) errors ---------------------------------------------------------------------------------

def test_mapping_options():
    # A matmul and the relu after it: with fusion (auto's default) the relu runs in the matmul's
    # epilogue, and its input (64 x 256 int8) neither goes to DRAM nor comes back.
    w = {"ops": [{"op": "matmul", "name": "a", "m": 64, "k": 256, "n": 256},
                 {"op": "relu", "name": "r", "rows": 64, "cols": 256, "inputs": ["a"]}]}
    fused = llmsim.run("edge", workload=w)
    separate = llmsim.run("edge", workload=w, fusion=False)
    assert fused.ops[1]["fused_into"] == 0 and "fused_into" not in separate.ops[1]

    def moved(r):
        return r.stats["dram_read_bytes"] + r.stats["dram_written_bytes"]
    assert moved(separate) - moved(fused) == 2 * 64 * 256
    fixed = llmsim.run("edge", workload=w, mapping="fixed", split="rows")
    assert "fused_into" not in fixed.ops[1] and fixed.ops[0]["split"] == "rows"
    assert llmsim.run("edge", workload=w, mapping="fixed", fusion=True).ops[1]["fused_into"] == 0
    with pytest.raises(ValueError, match="--mapping best: must be auto or fixed"):
        llmsim.run("edge", workload=w, mapping="best")
    with pytest.raises(ValueError, match="--split diagonal"):
        llmsim.run("edge", workload=w, split="diagonal")
    with pytest.raises(TypeError, match="fusion must be True, False or None"):
        llmsim.run("edge", workload=w, fusion="on")


def test_weight_layout_option():
    # A 128 x 2048 x 2048 int8 matmul on datacenter's HBM: the weight's tiles (128 rows of
    # 128 B, 2 KiB apart, row major) are read as one contiguous 16 KiB block each when tiled.
    # Same bytes either way, other cycles; auto tiles by default, fixed does not.
    w = {"ops": [{"op": "matmul", "name": "a", "m": 128, "k": 2048, "n": 2048}]}
    tiled = llmsim.run("datacenter", workload=w, weights="tiled")
    rows = llmsim.run("datacenter", workload=w, weights="row_major")
    assert tiled.total_cycles != rows.total_cycles
    assert tiled.stats["dram_read_bytes"] == rows.stats["dram_read_bytes"]
    assert llmsim.run("datacenter", workload=w).total_cycles == tiled.total_cycles
    fixed = llmsim.run("datacenter", workload=w, mapping="fixed")
    assert fixed.total_cycles == llmsim.run("datacenter", workload=w, mapping="fixed",
                                            weights="row_major").total_cycles
    with pytest.raises(ValueError, match="--weights packed: must be tiled or row_major"):
        llmsim.run("edge", workload=w, weights="packed")
    with pytest.raises(TypeError, match="weights must be a str or None"):
        llmsim.run("edge", workload=w, weights=True)


def test_misspelled_key_raises_value_error_naming_the_path():
    with pytest.raises(ValueError, match=r"core\.systolic\.rowz") as info:
        llmsim.run("edge", workload="gemm1024", overrides={"core.systolic.rowz": 64})
    # The message is what the CLI prints after "error: ".
    cli = _cli("run", "--arch", "edge", "--workload", "gemm1024", "--set",
               "core.systolic.rowz=64", check=False)
    assert cli.returncode == 2
    assert cli.stderr.strip() == "error: " + str(info.value)

    arch = _edge_dict()
    arch["core"]["systolic"]["rowz"] = 64
    with pytest.raises(ValueError, match=r"core\.systolic\.rowz"):
        llmsim.run(arch, workload="gemm1024")
    with pytest.raises(ValueError, match=r"core\.systolic\.rowz"):
        llmsim.validate(arch)


def test_unknown_preset_lists_presets():
    with pytest.raises(ValueError) as info:
        llmsim.run("edgy", workload="gemm1024")
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
        llmsim.run("edge", workload="no_such_workload")
    with pytest.raises(ValueError, match=r"ops\[0\]\.m"):
        llmsim.run("edge", workload={"ops": [{"op": "matmul", "m": -3, "k": 1, "n": 1}]})
    with pytest.raises(TypeError):
        llmsim.run(3, workload="gemm1024")
    with pytest.raises(TypeError):
        llmsim.run("edge", workload="gemm1024", overrides=[64])
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


# (f) the Result object ----------------------------------------------------------------------

# Four matmuls in three layers (the last op's layer defaults to its name).
LAYERED = {"ops": [
    {"op": "matmul", "name": "l0.up", "layer": "l0", "m": 64, "k": 128, "n": 256},
    {"op": "matmul", "name": "l0.down", "layer": "l0", "m": 64, "k": 256, "n": 128, "a": "l0.up"},
    {"op": "matmul", "name": "l1.up", "layer": "l1", "m": 64, "k": 128, "n": 256,
     "a": "l0.down"},
    {"op": "matmul", "name": "head", "m": 64, "k": 256, "n": 16, "a": "l1.up"},
]}


def test_result_fields():
    r = llmsim.run("edge", workload=LAYERED)
    assert isinstance(r, llmsim.Result)
    assert r.total_cycles == r.stats["total_cycles"] == r["total_cycles"] > 0
    # edge runs its core at 800 MHz.
    assert r.seconds == pytest.approx(r.total_cycles / 800e6, rel=1e-12)
    assert r.stats["chip"]["core0"]["systolic"]["macs"] == r.stats["macs"]
    assert not {"ops", "config", "wall_seconds"} & set(r.stats)
    assert r.config["core"]["systolic"]["rows"] == 32
    assert r.ops == r["ops"] and r.wall_seconds == r["wall_seconds"]
    assert r.trace is LAYERED
    assert r.to_dict() == dict(r)


def test_per_op_and_per_layer():
    r = llmsim.run("edge", workload=LAYERED)
    per_op = r.per_op
    assert per_op["name"].tolist() == ["l0.up", "l0.down", "l1.up", "head"]
    assert per_op["layer"].tolist() == ["l0", "l0", "l1", "head"]
    assert per_op["op"].tolist() == ["matmul"] * 4
    assert per_op["macs"].tolist() == [64 * 128 * 256, 64 * 256 * 128, 64 * 128 * 256,
                                       64 * 256 * 16]
    assert per_op["cycles"].tolist() == [op["cycles"] for op in r.ops]
    assert per_op["tiling.mt"].tolist() == [op["tiling"]["mt"] for op in r.ops]

    per_layer = r.per_layer
    assert per_layer["layer"].tolist() == ["l0", "l1", "head"]
    assert per_layer["ops"].tolist() == [2, 1, 1]
    l0 = per_layer.iloc[0]
    assert l0["start_cycle"] == r.ops[0]["start_cycle"]
    assert l0["end_cycle"] == max(op["end_cycle"] for op in r.ops[:2])
    assert l0["span_cycles"] == l0["end_cycle"] - l0["start_cycle"]
    assert l0["cycles"] == r.ops[0]["cycles"] + r.ops[1]["cycles"]
    assert l0["dram_read_bytes"] == r.ops[0]["dram_read_bytes"] + r.ops[1]["dram_read_bytes"]
    # One 32x32 array: utilisation = MACs / (span x 1024 MACs per cycle).
    assert l0["utilisation"] == pytest.approx(l0["macs"] / (l0["span_cycles"] * 1024))
    assert per_layer["macs"].sum() == r.stats["macs"]
    assert per_layer["end_cycle"].max() == r.total_cycles

    # A named workload: layers read from its file (each op its own layer by default).
    named = llmsim.run("edge", workload="mlp").per_layer
    assert named["layer"].tolist() == ["ffn_up", "ffn_down", "proj"]


def test_energy_is_the_simulators_total_of_every_unit_once():
    small = {"ops": [{"op": "matmul", "name": "g", "m": 256, "k": 256, "n": 256}]}
    r = llmsim.run("datacenter", workload=small)
    chip = r.stats["chip"]
    # chip.memory.energy_pj is the sum of the pseudo channels' energy_pj: counted once.
    assert chip["memory"]["energy_pj"] == pytest.approx(
        sum(v["energy_pj"] for k, v in chip["memory"].items() if k.startswith("ch")))
    cores = [chip[f"core{i}"] for i in range(4)]
    by_unit = {"memory": chip["memory"]["energy_pj"], "noc": chip["noc"]["energy_pj"]}
    for unit in ("scratchpad", "accumulator", "systolic", "vector", "dma"):
        by_unit[unit] = sum(c[unit]["energy_pj"] for c in cores)
        # Every unit's energy_pj is its dynamic plus its leakage energy.
        for c in cores:
            assert c[unit]["energy_pj"] == pytest.approx(
                c[unit]["dynamic_energy_pj"] + c[unit]["leakage_energy_pj"])
    assert r.energy_breakdown_pj.keys() == by_unit.keys()
    for unit, pj in by_unit.items():
        assert r.energy_breakdown_pj[unit] == pytest.approx(pj, rel=1e-12)
    # The Python total is the C++ one, which is the sum over the units.
    assert r.energy_pj == r.stats["energy"]["total_pj"]
    assert r.energy_pj == pytest.approx(sum(by_unit.values()), rel=1e-12)
    # Leakage: per core 123 + 336 + 122 + 15 + 6.4 = 602.4 mW for the run's time, 16 routers
    # x 200 mW over the network's time (its last advanced cycle; a little shorter).
    core_leak = 602.4e-3 * r.seconds * 1e12 * 4
    assert r.energy["leakage_pj"] == pytest.approx(
        core_leak + chip["noc"]["leakage_energy_pj"], rel=1e-9)
    assert chip["noc"]["leakage_energy_pj"] == pytest.approx(3.2 * r.seconds * 1e12, rel=0.01)
    # W = pJ / s x 1e-12; a GEMM trace has no tokens.
    assert r.energy["average_power_w"] == pytest.approx(r.energy_pj * 1e-12 / r.seconds)
    assert "per_token_pj" not in r.energy and "tokens" not in r.energy

    # A config without energies reports none: 0, not NaN, and no unit.
    arch = json.loads(EDGE_JSON.read_text())
    del arch["core"]["systolic"]["energy_pj_per_mac"], arch["core"]["systolic"]["leakage_mw"]
    bare = llmsim.run(arch, workload=small)
    assert "energy_pj" not in bare.stats["chip"]["core0"]["systolic"]
    assert "systolic" not in bare.energy_breakdown_pj
    assert bare.energy_pj == pytest.approx(sum(bare.energy_breakdown_pj.values()), rel=1e-12)


def test_energy_per_token_of_a_model_trace():
    # Prefill: tokens = batch x seq = 2 x 16.
    r = llmsim.run("edge", model="bert-base-uncased", seq=16, batch=2,
                   overrides={"core.systolic.rows": 16, "core.systolic.cols": 16})
    assert r.energy["tokens"] == 32
    assert r.energy["per_token_pj"] == pytest.approx(r.energy_pj / 32)


# (g) model= -------------------------------------------------------------------------------

def test_model_runs_its_trace():
    # run(model=...) runs exactly the trace llmsim.trace builds: the same as passing that trace.
    trace = llmsim.trace("bert-base-uncased", seq=16)
    by_model = llmsim.run("edge", model="bert-base-uncased", seq=16)
    by_trace = llmsim.run("edge", workload=trace)
    assert by_model.total_cycles == by_trace.total_cycles > 0
    assert list(by_model.per_op["name"]) == [op["name"] for op in trace["ops"]]
    layers = list(by_model.per_layer.index) if "layer" not in by_model.per_layer.columns \
        else list(by_model.per_layer["layer"])
    assert layers[0] == "embeddings" and layers[-1] == "head" and len(layers) == 2 + 12


def test_run_arguments():
    with pytest.raises(TypeError, match="exactly one of model= and workload="):
        llmsim.run("edge")
    with pytest.raises(TypeError, match="exactly one of model= and workload="):
        llmsim.run("edge", "gpt2", workload="mlp")
    with pytest.raises(TypeError, match="seq"):
        llmsim.run("edge", workload="mlp", seq=64)
    # The old positional workload: the error says what to write instead.
    with pytest.raises(ValueError, match=r'run\(arch, workload="mlp"\)'):
        llmsim.run("edge", "mlp")
    with pytest.raises(ValueError, match="kv_len"):
        llmsim.run("edge", model="gpt2", phase="decode")


def test_values_mode_returns_outputs_and_tensors_with_the_same_cycles():
    # A 64x96x80 fp32 matmul with a bias on datacenter: the output is A x B + bias of the
    # tensors the run filled (fp32 sums of 96 products: within 1e-5 of the largest value), and
    # the cycles are those of the timing-only run.
    import numpy as np
    w = {"ops": [{"op": "matmul", "name": "fc", "m": 64, "k": 96, "n": 80, "dtype": "fp32",
                  "bias": True}]}
    timing = llmsim.run("datacenter", workload=w)
    r = llmsim.run("datacenter", workload=w, values=True, values_seed=5)
    assert r.total_cycles == timing.total_cycles
    assert timing.values is None and timing.tensors is None
    t = {x["role"]: x["data"].astype(np.float64) for x in r.tensors}
    assert t["a"].shape == (64, 96) and t["b"].shape == (96, 80) and t["bias"].shape == (1, 80)
    ref = t["a"] @ t["b"] + t["bias"]
    assert list(r.values) == ["fc"]
    assert np.abs(r.values["fc"] - ref).max() <= 1e-5 * np.abs(ref).max()
    # Another seed, other values; the same seed, the same values.
    assert not np.array_equal(llmsim.run("datacenter", workload=w, values=True).values["fc"],
                              r.values["fc"])
    again = llmsim.run("datacenter", workload=w, values=True, values_seed=5)
    assert np.array_equal(again.values["fc"], r.values["fc"])
    # Not a Mapping key: the dict view stays the stats document.
    assert "values" not in r and "tensors" not in r


def test_values_and_tiles_arguments_are_checked():
    w = {"ops": [{"op": "matmul", "name": "fc", "m": 64, "k": 96, "n": 80}]}
    with pytest.raises(TypeError, match="values must be True or False"):
        llmsim.run("edge", workload=w, values=1)
    with pytest.raises(TypeError, match="values_seed: needs values=True"):
        llmsim.run("edge", workload=w, values_seed=3)
    with pytest.raises(ValueError, match="--tiles 64x96: must be MxKxN"):
        llmsim.run("edge", workload=w, tiles="64x96")
    r = llmsim.run("edge", workload=w, tiles="32x32x16")
    assert r.ops[0]["tiling"]["mt"] == 32 and r.ops[0]["tiling"]["nt"] == 16
