"""llmsim.run(..., timeline=PATH): a Chrome trace-event JSON file that Perfetto opens.

Run by ctest (test `python: test_timeline`) with PYTHONPATH=build/python.
"""

import json
import warnings

import pytest

import llmsim

# A 128x128x128 int8 matmul and a GELU of its output.
MATMUL_GELU = {"ops": [
    {"op": "matmul", "name": "fc", "m": 128, "k": 128, "n": 128, "dtype": "int8"},
    {"op": "gelu", "name": "act", "rows": 128, "cols": 128, "inputs": ["fc"]},
]}


def _spans(doc):
    return [e for e in doc["traceEvents"] if e["ph"] == "X"]


def test_timeline_is_trace_event_json(tmp_path):
    path = tmp_path / "edge.json"
    r = llmsim.run("edge", workload=MATMUL_GELU, timeline=path)
    with open(path) as f:
        doc = json.load(f)
    events = doc["traceEvents"]
    assert isinstance(events, list) and events
    for e in events:
        assert {"name", "ph", "ts", "pid", "tid"} <= e.keys()
        if e["ph"] == "X":
            assert e["dur"] >= 0
    # Spans of one track never overlap (Perfetto shows only nested ones); times are exact
    # decimals of femtoseconds, so 1e-9 us of slack covers reading them as floats.
    by_track = {}
    for e in _spans(doc):
        by_track.setdefault(e["tid"], []).append((e["ts"], e["dur"]))
    for spans in by_track.values():
        spans.sort()
        assert all(b[0] >= a[0] + a[1] - 1e-9 for a, b in zip(spans, spans[1:]))
    names = {e["args"]["name"] for e in events if e["name"] == "thread_name"}
    assert names == {"dma", "systolic", "vector"}
    assert [e["args"]["name"] for e in events if e["name"] == "process_name"] == ["core0"]
    # The array's spans add up to its busy cycles (args) and, at 800 MHz, to its busy time.
    gemms = [e for e in _spans(doc) if e["name"] == "gemm"]
    busy = r.stats["chip"]["core0"]["systolic"]["busy_cycles"]
    assert sum(e["args"]["cycles"] for e in gemms) == busy
    assert sum(e["dur"] for e in gemms) * 800 == pytest.approx(busy, rel=1e-9)
    assert {e["args"]["op"] for e in gemms} == {"fc"}
    assert doc["otherData"]["truncated"] is False
    # The same simulation as without a timeline.
    assert r.total_cycles == llmsim.run("edge", workload=MATMUL_GELU).total_cycles


def test_timeline_cap_warns_and_marks(tmp_path):
    path = tmp_path / "capped.json"
    with pytest.warns(RuntimeWarning, match="truncated at 4 spans"):
        llmsim.run("edge", workload=MATMUL_GELU, timeline=str(path), timeline_max_events=4)
    with open(path) as f:
        doc = json.load(f)
    assert len(_spans(doc)) == 4
    marks = [e for e in doc["traceEvents"] if e["ph"] == "i"]
    assert [m["name"] for m in marks] == ["timeline truncated"]
    assert marks[0]["args"]["max_events"] == 4
    assert doc["otherData"]["truncated"] is True


def test_timeline_arguments_checked(tmp_path):
    with pytest.raises(ValueError, match="not a file in an existing directory"):
        llmsim.run("edge", workload=MATMUL_GELU, timeline=tmp_path / "missing" / "t.json")
    with pytest.raises(ValueError, match=r"timeline_max_events: must be an integer in "
                                         r"\[1, 18446744073709551615\], got 0"):
        llmsim.run("edge", workload=MATMUL_GELU, timeline=tmp_path / "t.json",
                   timeline_max_events=0)
    with pytest.raises(TypeError, match="needs timeline=PATH"):
        llmsim.run("edge", workload=MATMUL_GELU, timeline_max_events=10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning for a complete timeline
        llmsim.run("edge", workload=MATMUL_GELU, timeline=tmp_path / "t.json")
