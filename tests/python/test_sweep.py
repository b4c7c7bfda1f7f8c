"""llmsim.sweep (python/llmsim/sweeps.py): grids, point ids, a process pool, a Dask
LocalCluster, failing points, and resuming from the out file.

Run by ctest (test `python: test_sweep`) with PYTHONPATH=build/python; workers (spawned processes,
Dask workers) find llmsim through it. The points are small GEMMs on the edge preset
(milliseconds each), so the time goes to starting processes.
"""

import concurrent.futures as cf
import json
import os
import pathlib
import subprocess
import sys

import pytest

import llmsim
from llmsim.sweeps import make_task
from sweep_helpers import DASK_GRID, SMALL_GEMM, crash_at_rows_64, raise_at_rows_64

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
BAD_BANKS = "core.scratchpad.banks: must be a power of two, got 12"


def _lines(path):
    return [json.loads(line) for line in pathlib.Path(path).read_text().splitlines()]


def _cycles_in_process(point):
    return llmsim.run("edge", workload=SMALL_GEMM, overrides=point).total_cycles


def _cli_error(*sets):
    """The CLI's one-line error for `llmsim validate --arch edge --set ...`, without "error: "."""
    binary = os.environ.get("LLMSIM_BIN")
    if not binary:
        pytest.skip("set LLMSIM_BIN to the llmsim binary")
    args = [binary, "validate", "--arch", "edge"]
    for s in sets:
        args += ["--set", s]
    cli = subprocess.run(args, capture_output=True, text=True, check=False)
    assert cli.returncode == 2
    return cli.stderr.strip().removeprefix("error: ")


# Grids and ids ------------------------------------------------------------------------------

def test_grid_points_order_and_irregular_points():
    grid = {"core.systolic.rows": [16, 32], "core.systolic.dataflow": ["ws", "os", "is"]}
    points = llmsim.grid_points(grid)
    assert len(points) == 6
    # Cartesian product, keys in the grid's order, the last key varying fastest.
    assert points[:4] == [{"core.systolic.rows": 16, "core.systolic.dataflow": "ws"},
                          {"core.systolic.rows": 16, "core.systolic.dataflow": "os"},
                          {"core.systolic.rows": 16, "core.systolic.dataflow": "is"},
                          {"core.systolic.rows": 32, "core.systolic.dataflow": "ws"}]
    irregular = [{"core.systolic.rows": 64, "core.systolic.cols": 64}, {"seq": 32}]
    assert llmsim.grid_points(irregular) == irregular
    assert llmsim.grid_points({}) == [{}]
    with pytest.raises(TypeError, match="core.systolic.rows"):
        llmsim.grid_points({"core.systolic.rows": 16})
    with pytest.raises(TypeError):
        llmsim.grid_points([{"core.systolic.rows": 16}, 3])


def test_point_ids_are_stable_and_cover_the_inputs(tmp_path):
    base = {"arch": "edge", "model": None, "workload": "mlp", "seq": None, "batch": 1,
            "phase": "prefill", "kv_len": None, "dtype": "int8"}

    def pid(point, overrides=(), **changes):
        return make_task(point, dict(base, **changes), list(overrides), ())["id"]

    a = pid({"core.systolic.rows": 16, "core.systolic.dataflow": "os"})
    assert a == pid({"core.systolic.dataflow": "os", "core.systolic.rows": 16})  # key order
    assert a != pid({"core.systolic.rows": 32, "core.systolic.dataflow": "os"})
    assert a != pid({"core.systolic.rows": 16, "core.systolic.dataflow": "os"},
                    overrides=["num_cores=2"])
    assert a != pid({"core.systolic.rows": 16, "core.systolic.dataflow": "os"}, arch="datacenter")
    # NumPy values are the same point as the plain values.
    np = pytest.importorskip("numpy")
    assert a == pid({"core.systolic.rows": np.int64(16), "core.systolic.dataflow": "os"})

    # A file argument counts by content: a copy elsewhere is the same point, an edit is not.
    arch = json.loads((REPO / "configs" / "edge.json").read_text())
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps(arch))
    second.write_text(json.dumps(arch))
    assert pid({}, arch=str(first)) == pid({}, arch=second)
    assert make_task({}, dict(base, arch=str(first)), [], ())["args"]["arch"] == str(first)
    arch["core"]["systolic"]["rows"] = 64
    second.write_text(json.dumps(arch))
    assert pid({}, arch=str(first)) != pid({}, arch=second)
    # The mapping options join a point's id only when they differ from run()'s defaults, so a
    # sweep recorded before they existed resumes under the same ids.
    mapped = dict(base, mapping="auto", split=None, fusion=None, weights=None)
    assert make_task({}, mapped, [], ())["id"] == make_task({}, base, [], ())["id"]
    assert make_task({"fusion": False}, mapped, [], ())["id"] != make_task({}, mapped, [], ())["id"]
    assert make_task({"fusion": False}, mapped, [], ())["args"]["fusion"] is False
    # A point may set run() options; model= then replaces the sweep's workload=.
    task = make_task({"model": "gpt2", "seq": 32}, base, [], ())
    assert task["args"]["model"] == "gpt2" and task["args"]["workload"] is None
    assert task["args"]["seq"] == 32 and task["overrides"] == []


# A process pool ------------------------------------------------------------------------------

def test_sweep_on_a_process_pool_records_a_failing_point(tmp_path):
    out = tmp_path / "sweep.jsonl"
    grid = {"core.systolic.rows": [16, 32, 64], "core.scratchpad.banks": [8, 12]}
    df = llmsim.sweep("edge", grid, workload=SMALL_GEMM, out=out, max_workers=2,
                      progress=False, extra_stats=["chip.core0.systolic.macs", "chip.nope"])

    assert len(df) == 6
    assert df.columns[:2].tolist() == ["core.systolic.rows", "core.scratchpad.banks"]
    assert df["core.systolic.rows"].tolist() == [16, 16, 32, 32, 64, 64]
    ok = df[df["core.scratchpad.banks"] == 8]
    bad = df[df["core.scratchpad.banks"] == 12]
    assert ok["status"].tolist() == ["ok"] * 3
    # The failing points carry the CLI's message and the sweep went on past them.
    assert bad["status"].tolist() == ["error"] * 3
    assert bad["error"].tolist() == [BAD_BANKS] * 3
    assert BAD_BANKS == _cli_error("core.scratchpad.banks=12")
    assert bad["error_type"].tolist() == ["ValueError"] * 3
    assert bad["total_cycles"].isna().all()

    # Each point ran in a worker process and equals the same run in this process.
    assert not ok["worker"].str.endswith(f":{os.getpid()}").any()
    for _, row in ok.iterrows():
        point = {"core.systolic.rows": row["core.systolic.rows"], "core.scratchpad.banks": 8}
        assert row["total_cycles"] == _cycles_in_process(point)
    assert (ok["macs"] == 128 * 256 * 128).all()
    assert (ok["chip.core0.systolic.macs"] == ok["macs"]).all()
    assert df["chip.nope"].isna().all()
    # The edge preset's units report energy (the simple memory does not); a bigger array
    # leaks more per cycle, so no two points agree.
    assert (ok["energy_pj"] > 0).all() and ok["energy_pj"].is_unique
    assert ok["total_cycles"].is_monotonic_decreasing  # bigger arrays, fewer cycles

    # One line per point, in completion order, each with its id.
    lines = _lines(out)
    assert sorted(line["id"] for line in lines) == sorted(df["id"])
    assert {line["status"] for line in lines} == {"ok", "error"}

    # A second sweep over the same file runs nothing and returns the same frame.
    ran = []
    again = llmsim.sweep("edge", grid, workload=SMALL_GEMM, out=out, max_workers=2,
                         progress=False, on_point=ran.append)
    assert ran == []
    assert again.equals(df)
    assert len(_lines(out)) == 6
    # retry_errors runs the failed points (only) again.
    llmsim.sweep("edge", grid, workload=SMALL_GEMM, out=out, max_workers=2, progress=False,
                 retry_errors=True, on_point=ran.append)
    assert sorted(r["id"] for r in ran) == sorted(bad["id"])


def test_a_point_that_kills_its_worker_is_lost_and_the_sweep_goes_on(tmp_path):
    out = tmp_path / "sweep.jsonl"
    grid = {"core.systolic.rows": [16, 32, 64, 128]}
    df = llmsim.sweep("edge", grid, workload=SMALL_GEMM, out=out, max_workers=2,
                      progress=False, _runner=crash_at_rows_64)
    assert df["status"].tolist() == ["ok", "ok", "lost", "ok"]
    assert "worker process died running this point alone" in df["error"][2]
    for i in (0, 1, 3):
        point = {"core.systolic.rows": int(df["core.systolic.rows"][i])}
        assert df["total_cycles"][i] == _cycles_in_process(point)
    # A lost point is not finished: resuming runs it (and only it) again.
    ran = []
    df = llmsim.sweep("edge", grid, workload=SMALL_GEMM, out=out, max_workers=2,
                      progress=False, on_point=ran.append)
    assert [r["point"] for r in ran] == [{"core.systolic.rows": 64}]
    assert df["status"].tolist() == ["ok"] * 4


# Resume --------------------------------------------------------------------------------------

def test_resume_after_interruption_runs_only_the_missing_points(tmp_path):
    out = tmp_path / "sweep.jsonl"
    grid = {"core.systolic.rows": [8, 16, 32], "core.systolic.dataflow": ["ws", "os"]}
    with cf.ThreadPoolExecutor(max_workers=1) as pool:
        ids = llmsim.sweep("edge", grid, workload=SMALL_GEMM, executor=pool,
                           progress=False)["id"].tolist()
    assert not out.exists()

    first = []

    def interrupt_after_two(record):
        first.append(record["id"])
        if len(first) == 2:
            raise KeyboardInterrupt

    with cf.ThreadPoolExecutor(max_workers=1) as pool, pytest.raises(KeyboardInterrupt):
        llmsim.sweep("edge", grid, workload=SMALL_GEMM, executor=pool, out=out,
                     progress=False, on_point=interrupt_after_two)
    assert [line["id"] for line in _lines(out)] == first

    # A kill mid-write leaves a torn last line: skipped with a warning, its point runs again.
    torn = json.dumps({"id": ids[5], "point": {}, "status": "ok"})[:-7]
    with open(out, "a") as f:
        f.write(torn)

    second = []
    with pytest.warns(RuntimeWarning, match=r"skipped 1 line\(s\) .*: line 3: not JSON"):
        df = llmsim.sweep("edge", grid, workload=SMALL_GEMM, out=out, max_workers=2,
                          progress=False, on_point=lambda r: second.append(r["id"]))
    assert sorted(second) == sorted(set(ids) - set(first))
    assert df["id"].tolist() == ids
    assert df["status"].tolist() == ["ok"] * 6
    for _, row in df.iterrows():
        point = {"core.systolic.rows": row["core.systolic.rows"],
                 "core.systolic.dataflow": row["core.systolic.dataflow"]}
        assert row["total_cycles"] == _cycles_in_process(point)
    with pytest.warns(RuntimeWarning, match=r"line 3: not JSON"):  # (still in the file)
        records = llmsim.read_sweep(out)
    assert sorted(records["id"]) == sorted(ids)


def test_an_executor_failure_makes_the_point_lost(tmp_path):
    out = tmp_path / "sweep.jsonl"
    grid = {"core.systolic.rows": [32, 64]}
    with cf.ThreadPoolExecutor(max_workers=2) as pool:
        df = llmsim.sweep("edge", grid, workload=SMALL_GEMM, executor=pool, out=out,
                          progress=False, _runner=raise_at_rows_64)
    assert df["status"].tolist() == ["ok", "lost"]
    assert df["error_type"][1] == "ConnectionError"
    assert "the worker went away" in df["error"][1]


def test_one_sweep_per_out_file(tmp_path):
    out = tmp_path / "sweep.jsonl"
    with pytest.raises(RuntimeError, match="another sweep is writing this file"):
        with cf.ThreadPoolExecutor(max_workers=1) as pool:
            llmsim.sweep("edge", {"core.systolic.rows": [16, 32]}, workload=SMALL_GEMM,
                         executor=pool, out=out, progress=False,
                         on_point=lambda r: llmsim.sweep("edge", {}, workload=SMALL_GEMM,
                                                         out=out, progress=False))
    assert len(_lines(out)) == 1


# Dask ----------------------------------------------------------------------------------------

def test_sweep_on_a_dask_local_cluster(tmp_path):
    pytest.importorskip("distributed")
    out = tmp_path / "dask.jsonl"
    proc = subprocess.run([sys.executable, str(HERE / "sweep_helpers.py"), "dask", str(out)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    rows = result["rows"]
    assert len(rows) == 12 == len(llmsim.grid_points(DASK_GRID))
    assert [r["status"] for r in rows] == ["ok"] * 12
    assert not any(r["worker"].endswith(f":{result['client_pid']}") for r in rows)
    for r in rows:
        point = {k: r[k] for k in DASK_GRID}
        assert r["total_cycles"] == _cycles_in_process(point), point
    assert len(_lines(out)) == 12
    assert result["rerun"] == 0  # the second sweep resumed: every point was in the file
