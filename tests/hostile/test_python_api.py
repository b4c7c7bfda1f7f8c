"""Hostile inputs through the Python API (python/llmsim/): run() arguments of the wrong type or
range, C++ messages that are not valid UTF-8, sweep files with garbage lines, unusable `out`
paths and sweep arguments, a sweep killed with -9, export_fx's example inputs, and `llmsim
report` on a corrupt stats.json. Each mistake is a TypeError / ValueError naming the argument
(or, for the report, exit 2 and one line `error: PATH: ...`), never a crash or a raw traceback.

Run by the ctest `hostile: test_python_api` with PYTHONPATH=build/python. The calls that cannot
crash by construction (argument checks before any simulation) run in this process; a sweep
killed with -9 and the report command run in subprocesses.
"""

import concurrent.futures as cf
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import SANITIZED, expect_ok, expect_user_error

if SANITIZED and "asan" not in os.environ.get("LD_PRELOAD", ""):
    # An extension built with AddressSanitizer aborts a Python without its runtime preloaded.
    pytest.skip("the sanitizer build's extension needs LD_PRELOAD=libasan",
                allow_module_level=True)

import llmsim  # noqa: E402
from llmsim.sweeps import METRICS  # noqa: E402

U64_MAX = 2**64 - 1
# A GEMM that simulates in milliseconds on the edge preset.
GEMM = {"ops": [{"op": "matmul", "name": "g", "m": 64, "k": 64, "n": 64}]}


# run(): integers past 64 bits, wrong types, NUL characters ------------------------------------

@pytest.mark.parametrize("kwargs,name,value", [
    ({"batch": 2**70}, "batch", 2**70),
    ({"seq": 2**64}, "seq", 2**64),
    ({"batch": -1}, "batch", -1),
    ({"seq": 0}, "seq", 0),
])
def test_run_integers_out_of_range_name_the_argument_and_range(kwargs, name, value):
    with pytest.raises(ValueError, match=rf"^{name}: must be an integer in "
                                         rf"\[1, {U64_MAX}\], got {value}$"):
        llmsim.run("edge", model="gpt2", **kwargs)


def test_run_kv_len_and_timeline_cap_past_64_bits(tmp_path):
    with pytest.raises(ValueError, match=rf"^kv_len: must be an integer in \[0, {U64_MAX}\], "
                                         rf"got {2**64}$"):
        llmsim.run("edge", model="gpt2", phase="decode", kv_len=2**64)
    with pytest.raises(ValueError, match=rf"^timeline_max_events: must be an integer in "
                                         rf"\[1, {U64_MAX}\], got {2**70}$"):
        llmsim.run("edge", workload=GEMM, timeline=tmp_path / "t.json",
                   timeline_max_events=2**70)
    assert not (tmp_path / "t.json").exists()


def test_override_past_64_bits_is_the_config_error():
    # JSON numbers past 64 bits arrive as doubles: the config reader names the key.
    with pytest.raises(ValueError, match=r"^core\.systolic\.rows: must be a positive integer, "
                                         r"got 1\.18059\d+e\+21$"):
        llmsim.run("edge", workload=GEMM, overrides={"core.systolic.rows": 2**70})


@pytest.mark.parametrize("kwargs,error,match", [
    ({"batch": 1.5}, TypeError, r"^batch must be an int or None, got float$"),
    ({"batch": True}, TypeError, r"^batch must be an int or None, got bool$"),
    ({"seq": "128"}, TypeError, r"^seq must be an int or None, got str$"),
    ({"kv_len": 2.0}, TypeError, r"^kv_len must be an int or None, got float$"),
    ({"phase": None}, TypeError, r"^phase must be a str, got NoneType$"),
    ({"phase": "a\0b"}, ValueError, r"^phase: 'a\\x00b' contains a NUL character$"),
    ({"dtype": 8}, TypeError, r"^dtype must be a str, got int$"),
    ({"dtype": "\udc80"}, ValueError, r"^dtype: '\\udc80' is not valid Unicode text"),
    ({"model": 5}, TypeError, r"^model must be a bundled model name, a path or a config dict"),
    ({"model": ""}, ValueError, r"^model: '' is empty"),
])
def test_run_trace_options_of_the_wrong_type(kwargs, error, match):
    args = dict({"model": "gpt2", "seq": 4}, **kwargs)
    with pytest.raises(error, match=match):
        llmsim.run("edge", **args)


@pytest.mark.parametrize("arch,kwargs,error,match", [
    (None, {}, TypeError, r"^arch must be a preset name, a path or a dict, got NoneType$"),
    ("edge\0x", {}, ValueError, r"^arch: 'edge\\x00x' contains a NUL character"),
    ("edge", {"workload": 3}, TypeError, r"^workload must be a bundled workload name"),
    ("edge", {"mapping": None}, TypeError, r"^mapping must be a str, got NoneType$"),
    ("edge", {"split": ""}, ValueError, r"^split: must not be empty \(None: the default\)$"),
    ("edge", {"fusion": 1}, TypeError, r"^fusion must be True, False or None, got int$"),
    ("edge", {"weights": b"tiled"}, TypeError, r"^weights must be a str or None, got bytes$"),
    ("edge", {"timeline": 7}, TypeError, r"^timeline must be a path .* got int$"),
    ("edge", {"overrides": 5}, TypeError, r"^overrides must be None, a dict or a list"),
    ("edge", {"overrides": [5]}, TypeError, r'^overrides\[0\] must be a "path.to.key=value" '
                                            r"str, got int$"),
    ("edge", {"overrides": {5: 1}}, TypeError, r"^overrides: keys must be str, got int 5$"),
    ("edge", {"overrides": {"core.clock_mhz": float("nan")}}, ValueError,
     r'^overrides\["core.clock_mhz"\]: Out of range float values are not JSON compliant'),
    ("edge", {"overrides": {"core.clock_mhz": object()}}, TypeError,
     r'^overrides\["core.clock_mhz"\]: cannot convert a object to JSON$'),
    ({"core": {"clock_mhz": float("inf")}}, {}, ValueError, r"^arch: Out of range float"),
])
def test_run_arguments_of_the_wrong_type(arch, kwargs, error, match):
    args = dict({"workload": GEMM}, **kwargs)
    with pytest.raises(error, match=match):
        llmsim.run(arch, **args)


# Messages that are not valid UTF-8 ------------------------------------------------------------

def test_a_message_with_invalid_utf8_keeps_its_text():
    # A path the file system could not decode ("\udcff" is the byte 0xff) is echoed in the
    # message; undecodable bytes become U+FFFD instead of emptying the message.
    with pytest.raises(ValueError, match="^--arch /nonexistent/\ufffd.json: no such file"):
        llmsim.run("/nonexistent/\udcff.json", workload=GEMM)


def test_a_long_value_is_cut_at_a_character_boundary():
    # The config reader shows at most 57 bytes of a value: a 2-byte character straddling the
    # cut is left out whole (the message was empty when the cut split it).
    with pytest.raises(ValueError) as info:
        llmsim.run("edge", workload={"ops": [{"op": "matmul", "name": "g", "m": "a" + "é" * 40,
                                              "k": 8, "n": 8}]})
    # short_dump: '"' + 'a' + 27 x 'é' (55 bytes) ends at byte 56; byte 57 would split an é.
    assert str(info.value) == '<dict>: ops[0].m: must be a positive integer, got "a' + \
        "é" * 27 + "..."


# Sweeps: failing points, garbage in the out file, out, arguments ------------------------------

def _sweep(grid, **kwargs):
    with cf.ThreadPoolExecutor(max_workers=1) as pool:
        return llmsim.sweep("edge", grid, workload=GEMM, executor=pool, progress=False,
                            **kwargs)


def test_a_failing_point_records_the_real_message(tmp_path):
    out = tmp_path / "s.jsonl"
    df = _sweep([{"core.scratchpad.banks": 12}, {"arch": "/nonexistent/\udcff.json"},
                 {"batch": 2**70, "model": "gpt2"}], out=out)
    assert df["status"].tolist() == ["error"] * 3
    assert df["error_type"].tolist() == ["ValueError"] * 3
    assert df["error"][0] == "core.scratchpad.banks: must be a power of two, got 12"
    assert df["error"][1].startswith("--arch /nonexistent/\ufffd.json: no such file")
    assert df["error"][2] == f"batch: must be an integer in [1, {U64_MAX}], got {2**70}"
    assert [json.loads(line)["error"] for line in out.read_text().splitlines()] == \
        df["error"].tolist()


def test_garbage_foreign_and_incomplete_lines_are_skipped_by_line_and_rerun(tmp_path):
    out = tmp_path / "s.jsonl"
    grid = {"core.systolic.rows": [8, 16, 32, 64, 128]}
    good = _sweep(grid, out=out)
    assert good["status"].tolist() == ["ok"] * 5
    records = [json.loads(line) for line in out.read_text().splitlines()]
    by_rows = {r["point"]["core.systolic.rows"]: r for r in records}
    ids = good["id"].tolist()
    missing = dict(by_rows[16])
    del missing["total_cycles"]
    mangled = dict(by_rows[32], total_cycles="lots")
    negative = dict(by_rows[64], dram_read_bytes=-1)
    lines = [json.dumps(by_rows[8]),              # 1: kept
             "garbage",                           # 2
             "[1, 2]",                            # 3: foreign
             json.dumps({"id": ids[4]}),          # 4: no point
             json.dumps(missing),                 # 5: "ok" without total_cycles
             json.dumps(mangled),                 # 6: "ok" with garbage metrics
             json.dumps(negative),                # 7
             "[" * 100000,                        # 8: nested past the parser's depth
             json.dumps(by_rows[128])[:-9]]       # 9: torn
    out.write_text("\n".join(lines))
    expected = (r"skipped 8 line\(s\) that are not sweep records \(their points run again\): "
                r"line 2: not JSON .*; line 3: a JSON list, not a sweep record .*; "
                r'line 4: no "point" .*; line 5: status "ok" without "total_cycles"; '
                r'line 6: status "ok" with "total_cycles" "lots": must be an integer >= 0; '
                r'line 7: status "ok" with "dram_read_bytes" -1: must be an integer >= 0; '
                r"line 8: not JSON .*; line 9: not JSON")
    with pytest.warns(RuntimeWarning, match=expected):
        frame = llmsim.read_sweep(out)
    assert frame["id"].tolist() == [ids[0]]

    rerun = []
    with pytest.warns(RuntimeWarning, match=expected):
        df = _sweep(grid, out=out, on_point=lambda r: rerun.append(r["id"]))
    assert sorted(rerun) == sorted(ids[1:])  # every point but the one valid line's
    assert df["status"].tolist() == ["ok"] * 5
    assert df[list(METRICS[:-1])].equals(good[list(METRICS[:-1])])  # wall_seconds varies
    with pytest.warns(RuntimeWarning, match="skipped 8 line"):  # still in the file, skipped
        assert sorted(llmsim.read_sweep(out)["id"]) == sorted(ids)


def test_read_sweep_of_a_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.jsonl: no such sweep file"):
        llmsim.read_sweep(tmp_path / "nope.jsonl")


@pytest.mark.parametrize("make_out,error,match", [
    (lambda d: d, ValueError, r"^out .*: is a directory; name a file in it, e\.g\. "
                              r".*sweep\.jsonl$"),
    (lambda d: str(d) + os.sep, ValueError, r"^out .*: is a directory"),
    (lambda d: d / "file" / "s.jsonl", ValueError, r"^out .*file/s\.jsonl: cannot be used "
                                                   r"\(Not a directory\)$"),
    (lambda d: "/dev/null", ValueError, r"^out /dev/null: not a regular file"),
    (lambda d: "/proc/llmsim-sweep.jsonl", ValueError,
     r"^out /proc/llmsim-sweep\.jsonl: cannot be opened for appending"),
    (lambda d: "", ValueError, r"^out '': is empty"),
    (lambda d: 5, TypeError, r"^out must be a path \(str or os\.PathLike\) or None, got int$"),
])
def test_out_is_checked_before_the_first_point(tmp_path, make_out, error, match):
    (tmp_path / "file").write_text("")
    ran = []
    with pytest.raises(error, match=match):
        _sweep({"core.systolic.rows": [8, 16]}, out=make_out(tmp_path), on_point=ran.append)
    assert ran == []


@pytest.mark.parametrize("kwargs,error,match", [
    ({"extra_stats": [5]}, TypeError, r"^extra_stats\[0\] must be a dotted stat path \(str\), "
                                      r"got int 5$"),
    ({"extra_stats": "chip.x"}, TypeError, r"^extra_stats must be a list of dotted stat paths"),
    ({"extra_stats": ["chip..x"]}, ValueError, r"^extra_stats\[0\] 'chip\.\.x': must be a "
                                               r"dotted stat path"),
    ({"executor": 4}, TypeError, r"^executor must be a concurrent\.futures\.Executor"),
    ({"max_workers": 0}, ValueError, r"^max_workers: must be >= 1 \(None: one per CPU\), "
                                     r"got 0$"),
    ({"max_workers": 2.5}, TypeError, r"^max_workers must be an int or None, got float$"),
    ({"on_point": "print"}, TypeError, r"^on_point must be a callable or None, got str$"),
    ({"progress": "yes"}, TypeError, r"^progress must be True, False or None, got str$"),
    ({"grid": 5}, TypeError, r"^grid must be a dict \{key: \[values\]\} or a list of dicts"),
    ({"grid": {"core.systolic.rows": 16}}, TypeError,
     r"^grid\['core\.systolic\.rows'\] must be a list of values, got int$"),
    ({"grid": [{"core.clock_mhz": float("nan")}]}, ValueError,
     r"^grid point 0: core\.clock_mhz: Out of range float values are not JSON compliant"),
    ({"overrides": [5]}, TypeError, r"^overrides\[0\] must be a \"path\.to\.key=value\" str"),
    ({"batch": object()}, TypeError, r"^batch: cannot convert a object to JSON"),
])
def test_sweep_arguments_are_checked_before_the_first_point(tmp_path, kwargs, error, match):
    args = dict({"grid": {"core.systolic.rows": [8]}, "workload": GEMM, "progress": False,
                 "out": tmp_path / "s.jsonl"}, **kwargs)
    with pytest.raises(error, match=match):
        llmsim.sweep("edge", args.pop("grid"), **args)
    assert not (tmp_path / "s.jsonl").exists()


# Workers die with their parent ----------------------------------------------------------------

KILLED_SWEEP = textwrap.dedent("""
    import os, sys, time
    import llmsim

    def slow(task):
        open(os.path.join(sys.argv[1], f"worker.{os.getpid()}"), "w").close()
        time.sleep(300)

    if __name__ == "__main__":
        llmsim.sweep("edge", {"core.systolic.rows": [8, 16]}, workload="mlp", max_workers=2,
                     progress=False, _runner=slow)
""")


def _alive(pid):
    """True while `pid` runs (a zombie, dead but not yet reaped by init, is not running)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_pool_workers_die_with_a_killed_sweep(tmp_path):
    script = tmp_path / "killed_sweep.py"
    script.write_text(KILLED_SWEEP)
    sweep = subprocess.Popen([sys.executable, str(script), str(tmp_path)],
                             stderr=subprocess.DEVNULL)
    workers = []
    try:
        deadline = time.monotonic() + 60
        while len(workers) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
            workers = [int(p.suffix[1:]) for p in tmp_path.glob("worker.*")]
        assert len(workers) == 2, "the sweep's workers did not start"
        sweep.send_signal(signal.SIGKILL)
        sweep.wait()
        deadline = time.monotonic() + 5
        while any(map(_alive, workers)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(map(_alive, workers)), f"workers {workers} outlived their sweep"
    finally:
        if sweep.poll() is None:
            sweep.kill()
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


# export_fx ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def test_export_fx_names_what_is_wrong_with_the_example_inputs(torch):
    nn = torch.nn
    net = nn.Sequential(nn.Embedding(100, 16), nn.Linear(16, 4)).eval()
    ids = torch.zeros(1, 8, dtype=torch.long)
    assert len(llmsim.export_fx(net, (ids,))["ops"]) == 2  # the right inputs export
    with pytest.raises(ValueError, match=r"^example_inputs \(1, 8\) float32: the module fails "
                                         r"on them at fx node '_0' \(call_module 0 \(Embedding\)\)"
                                         r": RuntimeError: Expected tensor for argument #1 "
                                         r"'indices' to have one of the following scalar types"):
        llmsim.export_fx(net, (torch.zeros(1, 8),))
    with pytest.raises(ValueError, match=r"^example_inputs: forward takes 1 input\(s\) "
                                         r"\(input\), got 2$"):
        llmsim.export_fx(net, (ids, ids))
    with pytest.raises(ValueError, match=r"^example_inputs: forward takes 1 input\(s\) "
                                         r"\(input\), got 0$"):
        llmsim.export_fx(net, ())
    with pytest.raises(TypeError, match=r"^example_inputs\[0\] must be a torch\.Tensor, got "
                                        r"list$"):
        llmsim.export_fx(net, ([[0] * 8],))
    with pytest.raises(TypeError, match=r"^example_inputs must be a tensor or a tuple of "
                                        r"tensors .* got dict$"):
        llmsim.export_fx(net, {"input": ids})
    with pytest.raises(ValueError, match=r"^example_inputs\[0\]: shape \(0, 8\): every "
                                         r"dimension must be at least 1"):
        llmsim.export_fx(net, (torch.zeros(0, 8, dtype=torch.long),))
    linear = nn.Linear(16, 4).eval()
    with pytest.raises(ValueError, match=r"^example_inputs \(2, 8\) float32: the module fails "
                                         r"on them at fx node 'linear' .*: RuntimeError: mat1 "
                                         r"and mat2 shapes cannot be multiplied \(2x8 and "
                                         r"16x4\)$"):
        llmsim.export_fx(linear, (torch.zeros(2, 8),))
    with pytest.raises(TypeError, match=r"^module must be a torch\.nn\.Module, got NoneType$"):
        llmsim.export_fx(None, (ids,))


def test_export_fx_out_is_checked_before_tracing(torch, tmp_path):
    linear = torch.nn.Linear(16, 4).eval()
    with pytest.raises(ValueError, match=r"^out .*: is a directory; name a file"):
        llmsim.export_fx(linear, (torch.zeros(2, 16),), out=tmp_path)
    with pytest.raises(ValueError, match=r"^out .*: its folder .*missing does not exist$"):
        llmsim.export_fx(linear, (torch.zeros(2, 16),), out=tmp_path / "missing" / "t.json")


# llmsim report ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A real run directory (stats.json, config.json) of a small GEMM."""
    d = tmp_path_factory.mktemp("run")
    workload = d / "gemm.json"
    workload.write_text(json.dumps(GEMM))
    expect_ok("run", "--arch", "edge", "--workload", workload, "--out", d / "out")
    return d / "out"


def _with_stats(run_dir, tmp_path, text):
    d = tmp_path / "run"
    d.mkdir()
    (d / "config.json").write_text((run_dir / "config.json").read_text())
    (d / "stats.json").write_text(text)
    return d


def _stats(run_dir, change):
    stats = json.loads((run_dir / "stats.json").read_text())
    change(stats)
    return json.dumps(stats)


@pytest.mark.parametrize("make_text,match", [
    (lambda r: '{"total_cycles": ', r"stats\.json: not valid JSON \(Expecting value: line 1 "),
    (lambda r: "[1, 2]", r"stats\.json: must be a JSON object \(the stats document\), got a "
                         r"list$"),
    (lambda r: "[" * 100000, r"stats\.json: not valid JSON \(nested too deeply\)$"),
    (lambda r: _stats(r, lambda s: s.pop("core_clock_mhz")),
     r"stats\.json: core_clock_mhz: missing \(must be a positive number\)$"),
    (lambda r: _stats(r, lambda s: s["ops"][0].update(macs="many")),
     r'stats\.json: ops\[0\]\.macs: must be a number >= 0, got "many"$'),
    (lambda r: _stats(r, lambda s: s.update(layers={"a": 1})),
     r'stats\.json: layers: must be a list of layer records, got \{"a": 1\}$'),
    (lambda r: _stats(r, lambda s: s["ops"][0].update(fused_into=7)),
     r"stats\.json: ops\[0\]\.fused_into: must be the index of an op \(0 to 0\), got 7$"),
])
def test_report_on_a_corrupt_stats_json_is_one_line_and_exit_2(run_dir, tmp_path, make_text,
                                                                match):
    d = _with_stats(run_dir, tmp_path, make_text(run_dir))
    p = expect_user_error("report", d, match=rf"^error: {d}/{match}")
    assert p.stderr.count("\n") == 1, p.stderr
    assert not (d / "report.html").exists()
    module = subprocess.run([sys.executable, "-m", "llmsim.report", str(d)], text=True,
                            capture_output=True, timeout=60, check=False)
    assert module.returncode == 2 and module.stderr == p.stderr


def test_report_on_a_corrupt_config_json_is_one_line_and_exit_2(run_dir, tmp_path):
    d = _with_stats(run_dir, tmp_path, (run_dir / "stats.json").read_text())
    (d / "config.json").write_text('{"core": {"systolic": {"rows": 0, "cols": 8}}}')
    expect_user_error("report", d, match=rf"^error: {d}/config\.json: core\.systolic\.rows: "
                                         r"must be a positive integer, got 0$")
    (d / "config.json").unlink()
    expect_user_error("report", d, match=rf"^error: {d}/config\.json: not found")
