"""llmsim.serve (python/llmsim/serving.py), its sweep (serve_sweep.py) and plot.

Run by ctest (test `python_tests`). The model is a tiny Llama (hidden 256, 2 layers) on the
datacenter preset, a handful of requests: every serve() here simulates in well under a second.
"""

import json
import math
import pathlib
import warnings

import pandas as pd
import pytest

import llmsim
import llmsim.plot
from cli_helpers import cli
from llmsim.serve_sweep import METRICS, metrics_of
from llmsim.serving import length_spec
from llmsim.sweeps import read_records, record_problem

TINY_LLAMA = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
    "hidden_size": 256, "intermediate_size": 512, "num_attention_heads": 4,
    "num_key_value_heads": 2, "num_hidden_layers": 2, "max_position_embeddings": 512,
    "vocab_size": 1024, "rms_norm_eps": 1e-5, "tie_word_embeddings": False,
}
ARCH = "datacenter"
GEN = {"rate": 2000, "num_requests": 4, "input_len": 24, "output_len": 3}
REQUEST_COLUMNS = ["id", "arrival_ns", "input_tokens", "output_tokens", "first_scheduled_ns",
                   "first_token_ns", "finish_ns", "queueing_ns", "ttft_ns", "tpot_ns", "e2e_ns",
                   "preemptions"]
ITERATION_COLUMNS = ["index", "start_ns", "end_ns", "num_seqs", "num_tokens",
                     "num_prefill_tokens", "num_decode_seqs", "kv_blocks_used", "num_preempted",
                     "num_waiting", "cycles", "energy_pj"]
TOKEN_COLUMNS = ["request_id", "token", "time_ns"]
# The summary fields that are host time, not simulation.
WALL = ("wall_seconds", "check_wall_seconds")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny-llama.json"
    path.write_text(json.dumps(TINY_LLAMA))
    return path


def _no_wall(summary):
    s = json.loads(json.dumps(summary))
    for k in WALL:
        s["cost"].pop(k)
    return s


@pytest.mark.parametrize("cost", ["exact", "table"])
def test_serve_equals_cli(tiny, tmp_path, cost):
    """serve() gives the CLI's summary.json and CSV tables for the same inputs."""
    # The table's calibration runs hold more activations than the largest iteration the KV
    # cache's automatic size allows for: with this tiny model the cache takes the rest of the
    # 48 GiB and a calibration run then needs 72 KiB more than the memory (a C++ issue,
    # reported); so the table case sizes the cache.
    extra = ["--check-iterations", "2", "--set", "serving.num_kv_blocks=4096"] \
        if cost == "table" else []
    p = cli("serve", "--arch", ARCH, "--model", str(tiny), "--rate", "2000", "--num-requests",
            "4", "--input-len", "24", "--output-len", "3", "--cost", cost, *extra, "--quiet",
            "--out", str(tmp_path))
    assert p.returncode == 0, p.stderr
    r = llmsim.serve(ARCH, str(tiny), **GEN, cost=cost,
                     **({"check_iterations": 2, "overrides": ["serving.num_kv_blocks=4096"]}
                        if cost == "table" else {}))
    expected = json.loads((tmp_path / "summary.json").read_text())
    assert _no_wall(r.summary) == _no_wall(expected)
    for name in ("requests", "tokens", "iterations"):
        # tpot_ns is real (the CSV may hold only whole numbers), energy_pj too.
        pd.testing.assert_frame_equal(getattr(r, name), pd.read_csv(
            tmp_path / f"{name}.csv", dtype={"tpot_ns": float, "energy_pj": float}))
    if cost == "table":
        assert len(r.checks) == 2
        assert r.max_approx_error == max(abs(e) for e in r.checks["error"])
    else:
        assert r.max_approx_error is None and r.checks.empty


def test_frames_and_properties(tiny):
    r = llmsim.serve(ARCH, TINY_LLAMA, **GEN, cost="exact")
    assert list(r.requests.columns) == REQUEST_COLUMNS
    assert list(r.iterations.columns) == ITERATION_COLUMNS
    assert list(r.tokens.columns) == TOKEN_COLUMNS
    assert len(r.requests) == 4
    assert len(r.tokens) == 4 * 3  # one row per output token
    assert len(r.iterations) == r.summary["num_iterations"] > 0
    assert list(r.requests["input_tokens"]) == [24] * 4
    s = r.summary
    assert r.ttft_p99_ms == s["ttft_ns"]["p99"] / 1e6
    assert r.tpot_p99_ms == s["tpot_ns"]["p99"] / 1e6
    assert r.output_tokens_per_s == s["output_tokens_per_s"]
    assert s["output_tokens_per_s"] == pytest.approx(12 / (s["duration_ns"] / 1e9), rel=1e-12)
    assert r.energy_per_output_token_uj == pytest.approx(
        r.iterations["energy_pj"].sum() / 12 / 1e6, rel=1e-12)
    assert r.wall_seconds > 0
    # The p99 of 4 TTFTs: x[2] + 0.97 (x[3] - x[2]) of the sorted values (numpy's default).
    assert r.summary["ttft_ns"]["p99"] == pytest.approx(r.requests["ttft_ns"].quantile(0.99))
    # A dict model serves as its file does (the name aside).
    f = llmsim.serve(ARCH, str(tiny), **GEN, cost="exact")
    pd.testing.assert_frame_equal(f.requests, r.requests)


def test_one_request_alone_by_hand():
    """One request: TTFT is its prefill iteration's end minus its arrival; each further token
    is one decode iteration, back to back, so TPOT is their mean duration; each iteration
    lasts ceil(cycles x 1000 / MHz) ns."""
    r = llmsim.serve(ARCH, TINY_LLAMA, cost="exact",
                     requests=[{"arrival_time_ns": 5000, "input_toks": 20, "output_toks": 4}])
    it, req = r.iterations, r.requests.iloc[0]
    assert list(it["num_prefill_tokens"]) == [20, 0, 0, 0]
    assert list(it["num_decode_seqs"]) == [0, 1, 1, 1]
    assert it["start_ns"].iloc[0] == 5000 == req["first_scheduled_ns"]
    assert list(it["start_ns"].iloc[1:]) == list(it["end_ns"].iloc[:-1])
    mhz = r.summary["clock_mhz"]
    assert list(it["end_ns"] - it["start_ns"]) == \
        [math.ceil(c * 1000 / mhz) for c in it["cycles"]]
    assert req["ttft_ns"] == it["end_ns"].iloc[0] - 5000
    decode = (it["end_ns"] - it["start_ns"]).iloc[1:]
    assert req["tpot_ns"] == pytest.approx(decode.mean(), rel=1e-15)
    assert req["e2e_ns"] == it["end_ns"].iloc[-1] - 5000
    assert list(r.tokens["time_ns"]) == list(it["end_ns"])
    assert req["queueing_ns"] == 0 and req["preemptions"] == 0


def test_requests_forms_agree(tmp_path):
    """The generator's requests fed back as a DataFrame, a list of dicts, a list of triples and
    a JSONL file give the same run."""
    g = llmsim.serve(ARCH, TINY_LLAMA, **GEN, cost="exact")
    rows = [{"arrival_time_ns": int(a), "input_toks": int(i), "output_toks": int(o)}
            for a, i, o in g.requests[["arrival_ns", "input_tokens", "output_tokens"]].values]
    path = tmp_path / "trace.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in rows))
    for requests in (pd.DataFrame(rows), rows,
                     [(x["arrival_time_ns"], x["input_toks"], x["output_toks"]) for x in rows],
                     path):
        r = llmsim.serve(ARCH, TINY_LLAMA, requests=requests, cost="exact")
        assert _no_wall(r.summary) == _no_wall(g.summary)
        pd.testing.assert_frame_equal(r.tokens, g.tokens)


def test_length_forms():
    assert length_spec(64) == {"dist": "fixed", "value": 64} == length_spec("64")
    assert length_spec(("uniform", 8, 16)) == {"dist": "uniform", "lo": 8, "hi": 16} == \
        length_spec("uniform:8:16")
    assert length_spec(("lognormal", 512, 1.0)) == \
        {"dist": "lognormal", "mean": 512.0, "sigma": 1.0} == length_spec("lognormal:512:1")
    assert length_spec("lognormal:512:1:4096")["max"] == 4096
    r = llmsim.serve(ARCH, TINY_LLAMA, rate=2000, num_requests=5, input_len=("uniform", 8, 16),
                     output_len="uniform:2:3", cost="exact", seed=3)
    assert r.requests["input_tokens"].between(8, 16).all()
    assert r.requests["output_tokens"].between(2, 3).all()


@pytest.mark.parametrize("kwargs, error, match", [
    ({"input_len": "normal:5:1"}, ValueError, r"input_len 'normal:5:1': must be an int N, "
     r"\(\"uniform\", LO, HI\)"),
    ({"input_len": ("uniform", 9, 3)}, ValueError, r"input_len .*LO 9 must be at most HI 3"),
    ({"output_len": 0}, ValueError, r"output_len 0: N 0 must be an integer in \[1, 16777216\]"),
    ({"input_len": "lognormal:512:9"}, ValueError,
     r"input_len 'lognormal:512:9': SIGMA 9 must be a number in \[0, 4\]"),
    ({"rate": -1}, ValueError, r"rate: must be a finite number > 0 .*got -1"),
    ({"rate": 0}, ValueError, r"rate: must be a finite number > 0"),
    ({"rate": float("nan")}, ValueError, r"rate: must be a finite number > 0"),
    ({"num_requests": 0}, ValueError, r"num_requests: must be an integer in \[1, 10000000\]"),
    ({"cost": "fast"}, ValueError, r"cost: must be \"table\" or \"exact\", got 'fast'"),
    ({"cost": "exact", "check_iterations": 1}, TypeError,
     r"check_iterations: applies only with cost=\"table\""),
    ({"check_iterations": 1001}, ValueError, r"check_iterations: must be an integer in "
     r"\[0, 1000\], got 1001"),
    ({"slo_ttft_ms": 0}, ValueError, r"slo_ttft_ms: must be a number of ms in \(0, 1e9\]"),
    ({"dtype": "fp8"}, ValueError, r"dtype: must be one of .*got \"fp8\""),
    ({"overrides": {"serving.max_num_seqs": 0}}, ValueError, r"serving\.max_num_seqs"),
    ({"overrides": {"serving.bogus": 1}}, ValueError, r"serving\.bogus"),
    ({"num_requests": None}, TypeError, r"without requests=, num_requests must be given"),
])
def test_argument_errors(kwargs, error, match):
    args = dict(GEN, cost="exact")
    args.update(kwargs)
    if "check_iterations" in kwargs and "cost" not in kwargs:
        args["cost"] = "table"
    with pytest.raises(error, match=match):
        llmsim.serve(ARCH, TINY_LLAMA, **args)


@pytest.mark.parametrize("requests, error, match", [
    ([{"arrival_time_ns": 0, "input_toks": 8}], ValueError,
     r"requests\[0\]: missing 'output_toks' \(each request needs arrival_time_ns, input_toks, "
     r"output_toks\)"),
    (pd.DataFrame({"arrival_time_ns": [0], "output_toks": [3]}), ValueError,
     r"requests \(DataFrame\): missing 'input_toks'"),
    ([{"arrival_time_ns": 0, "input_toks": 8, "output_toks": 2, "prio": 1}], ValueError,
     r"requests\[0\]: unknown field 'prio'"),
    ([{"arrival_time_ns": 0, "input_toks": 8.5, "output_toks": 2}], TypeError,
     r"requests\[0\]: input_toks must be an int, got float 8.5"),
    ([{"arrival_time_ns": 0, "input_toks": 0, "output_toks": 2}], ValueError,
     r"requests\[0\]: input_toks must be an integer >= 1, got 0"),
    ([], ValueError, r"requests: empty"),
    ([(10, 8, 2), (5, 8, 2)], ValueError, r"request 1.*arriv"),
    ([(0, 600, 2)], ValueError, r"request 0 \(input 600 \+ output 2 tokens\) reaches position "
     r"601, past .*max_position_embeddings 512"),
])
def test_request_errors(requests, error, match):
    with pytest.raises(error, match=match):
        llmsim.serve(ARCH, TINY_LLAMA, requests=requests, cost="exact")


def test_trace_file_errors_name_the_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"arrival_time_ns": 0, "input_toks": 8, "output_toks": 2}\n{"arrival\n')
    with pytest.raises(ValueError, match=r"bad\.jsonl:2"):
        llmsim.serve(ARCH, TINY_LLAMA, requests=bad, cost="exact")
    with pytest.raises(ValueError, match=r"missing\.jsonl"):
        llmsim.serve(ARCH, TINY_LLAMA, requests=tmp_path / "missing.jsonl", cost="exact")
    with pytest.raises(TypeError, match=r"requests= or the generator"):
        llmsim.serve(ARCH, TINY_LLAMA, requests=bad, rate=1)


def test_encoder_has_no_kv_cache():
    with pytest.raises(ValueError, match=r"encoder|KV cache|decoder"):
        llmsim.serve(ARCH, "bert-base-uncased", **GEN, cost="exact")


def test_timeline(tmp_path):
    path = tmp_path / "serve.json"
    r = llmsim.serve(ARCH, TINY_LLAMA, **GEN, cost="exact", timeline=path)
    doc = json.loads(path.read_text())
    events = doc["traceEvents"] if isinstance(doc, dict) else doc
    spans = [e for e in events if e.get("ph") == "X"]
    assert len(spans) == len(r.iterations)
    with pytest.raises(ValueError, match=r"timeline .*cannot write"):
        llmsim.serve(ARCH, TINY_LLAMA, **GEN, cost="exact", timeline=tmp_path / "no" / "t.json")


def test_log_lines():
    lines = []
    llmsim.serve(ARCH, TINY_LLAMA, **GEN, cost="exact", log=lines.append)
    assert any(line.startswith("serve: 4 requests, KV cache of ") for line in lines)


# --- sweeps ---------------------------------------------------------------------------------

SWEEP_SERVE = {"model": TINY_LLAMA, "num_requests": 3, "input_len": 16, "output_len": 3,
               "cost": "exact"}


def test_sweep_over_rate_and_resume(tmp_path):
    out = tmp_path / "s.jsonl"
    grid = {"rate": [500, 4000], "serving.max_num_seqs": [1, 8]}
    df = llmsim.sweep(ARCH, grid, serve=SWEEP_SERVE, out=out, max_workers=2, progress=False)
    assert list(df["status"]) == ["ok"] * 4, df["error"].tolist()
    assert list(df.columns[:2]) == ["rate", "serving.max_num_seqs"]
    assert list(df.columns[2:2 + len(METRICS)]) == list(METRICS)
    records = read_records(out)
    assert len(records) == 4
    for rec in records.values():
        assert rec["kind"] == "serve" and record_problem(rec) is None
        assert rec["max_approx_error"] is None  # exact cost
    # A point equals serve() run directly; max_num_seqs 1 serialises the requests.
    direct = llmsim.serve(ARCH, TINY_LLAMA, rate=500, num_requests=3, input_len=16,
                          output_len=3, cost="exact", overrides={"serving.max_num_seqs": 1})
    row = df[(df["rate"] == 500) & (df["serving.max_num_seqs"] == 1)].iloc[0]
    for m, v in metrics_of(direct.summary).items():
        if m != "wall_seconds":
            assert row[m] == v or (v is None and math.isnan(row[m])), m
    assert direct.iterations["num_seqs"].max() == 1
    # Resume: nothing runs again; a new rate runs alone; a run sweep's reader reads the file.
    ran = []
    again = llmsim.sweep(ARCH, grid, serve=SWEEP_SERVE, out=out, on_point=ran.append,
                         progress=False)
    assert ran == []
    pd.testing.assert_frame_equal(again, df)
    grid["rate"].append(8000)
    llmsim.sweep(ARCH, grid, serve=SWEEP_SERVE, out=out, on_point=ran.append,
                 max_workers=2, progress=False)
    assert sorted(r["point"]["serving.max_num_seqs"] for r in ran) == [1, 8]
    assert all(r["point"]["rate"] == 8000 for r in ran)
    assert len(llmsim.read_sweep(out)) == 6


def test_sweep_length_spellings_share_an_id():
    from llmsim.serve_sweep import make_task

    a = make_task({"rate": 1}, ARCH, dict(SWEEP_SERVE, input_len="uniform:8:16"), [], [])
    b = make_task({"rate": 1}, ARCH, dict(SWEEP_SERVE, input_len=("uniform", 8, 16)), [], [])
    c = make_task({"rate": 2}, ARCH, dict(SWEEP_SERVE, input_len=("uniform", 8, 16)), [], [])
    assert a["id"] == b["id"] != c["id"]
    # A trace as a DataFrame, a list of dicts or triples: one id, carried as triples.
    rows = [{"arrival_time_ns": 0, "input_toks": 8, "output_toks": 2}]
    base = {"model": TINY_LLAMA, "cost": "exact"}
    tasks = [make_task({}, ARCH, dict(base, requests=r), [], [])
             for r in (rows, pd.DataFrame(rows), [(0, 8, 2)])]
    assert len({t["id"] for t in tasks}) == 1
    assert tasks[1]["args"]["requests"] == [[0, 8, 2]]


def test_sweep_errors_and_mangled_records(tmp_path):
    with pytest.raises(TypeError, match=r"serve\['timeline'\]: not a serve\(\) option"):
        llmsim.sweep(ARCH, {"rate": [1]}, serve=dict(SWEEP_SERVE, timeline="t.json"))
    with pytest.raises(TypeError, match=r"seq: a run\(\) option"):
        llmsim.sweep(ARCH, {"rate": [1]}, serve=SWEEP_SERVE, seq=128)
    out = tmp_path / "s.jsonl"
    df = llmsim.sweep(ARCH, {"rate": [1000, -1]}, serve=SWEEP_SERVE, out=out, max_workers=1,
                      progress=False, extra_stats=["serving.max_num_seqs", "cost.mode"])
    assert list(df["status"]) == ["ok", "error"]
    assert df["serving.max_num_seqs"].iloc[0] == 256 and df["cost.mode"].iloc[0] == "exact"
    assert df["error"].iloc[1].startswith("rate: must be a finite number > 0")
    good = _lines(out)[0]
    bad = dict(good, ttft_p99_ms=-1.0)
    count = dict(good, id="x" * 16, num_iterations=2.5)
    assert record_problem(bad) == 'status "ok" with "ttft_p99_ms" -1.0: must be a number >= 0'
    assert record_problem(count) == \
        'status "ok" with "num_iterations" 2.5: must be an integer >= 0'
    assert record_problem(dict(good, max_approx_error=None)) is None
    assert record_problem(dict(good, kind="other")).startswith('"kind" "other"')
    with open(out, "a") as f:
        f.write(json.dumps(bad) + "\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert len(llmsim.read_sweep(out)) == 2
    assert "line 3: status \"ok\" with \"ttft_p99_ms\"" in str(caught[0].message)


def _lines(path):
    return [json.loads(line) for line in pathlib.Path(path).read_text().splitlines()]


def test_latency_throughput_plot(tmp_path):
    rows = []
    for seqs, scale in ((64, 1.0), (256, 0.7)):
        for rate in (4, 1, 2):  # out of order: the lines follow the rate
            rows.append({"rate": rate, "serving.max_num_seqs": seqs,
                         **{m: 1.0 for m in METRICS}, "ttft_p99_ms": 10.0 * rate * scale,
                         "tpot_p99_ms": 5.0 + rate, "output_tokens_per_s": 100.0 * rate,
                         "status": "ok"})
    rows.append(dict(rows[0], rate=8, status="error"))  # left out
    df = pd.DataFrame(rows)
    lines = llmsim.plot.latency_throughput_lines(df)
    assert [label for label, _ in lines] == ["serving.max_num_seqs=64",
                                             "serving.max_num_seqs=256"]
    assert [p["rate"] for p in lines[0][1]] == [1, 2, 4]
    assert [p["ttft_p99_ms"] for p in lines[1][1]] == pytest.approx([7, 14, 28])
    assert [p["output_tokens_per_s"] for p in lines[1][1]] == [100, 200, 400]
    assert len(llmsim.plot.latency_throughput_lines(df, design=[])) == 1
    path = llmsim.plot.latency_throughput(df, tmp_path / "lt.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match=r"design: 'cores' is not a column"):
        llmsim.plot.latency_throughput(df, tmp_path / "x.png", design="cores")
    with pytest.raises(ValueError, match=r"no column 'ttft_p99_ms'"):
        llmsim.plot.latency_throughput(df.drop(columns="ttft_p99_ms"), tmp_path / "y.png")


def test_threads_take_turns():
    """serve() releases the GIL while it runs; two threads (one with a log callback, which
    takes the GIL back for each line) both finish with the result of a lone run."""
    import threading

    alone = llmsim.serve(ARCH, TINY_LLAMA, **GEN, cost="exact")
    results, lines = [None, None], []

    def work(i):
        results[i] = llmsim.serve(ARCH, TINY_LLAMA, **GEN, cost="exact",
                                  log=lines.append if i else None)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    for r in results:
        pd.testing.assert_frame_equal(r.iterations, alone.iterations)
    assert lines


def test_slo_goodput():
    """slo_ttft_ms counts the requests whose TTFT is at most the objective (no TPOT SLO)."""
    base = llmsim.serve(ARCH, TINY_LLAMA, **GEN, cost="exact")
    ttft = sorted(base.requests["ttft_ns"])
    slo_ms = (ttft[1] + 0.5) / 1e6
    r = llmsim.serve(ARCH, TINY_LLAMA, **GEN, cost="exact", slo_ttft_ms=slo_ms)
    met = sum(t <= ttft[1] + 0.5 for t in ttft)
    assert r.summary["slo"]["ttft_ns"] == pytest.approx(ttft[1] + 0.5, rel=1e-15)
    assert r.summary["slo"]["tpot_ns"] is None
    assert r.summary["slo"]["met"] == met >= 2
    assert r.summary["slo"]["goodput_requests_per_s"] == pytest.approx(
        met / (r.summary["duration_ns"] / 1e9), rel=1e-12)
    assert base.summary["slo"]["met"] == 4  # no SLO: every request meets it


# The automatic KV cache leaves room for the activations of a whole budget of prompts
# (serve.cpp, resolve_blocks): 8 prompts arriving together fit beside it.
def test_requests_arriving_together_fit():
    r = llmsim.serve(ARCH, TINY_LLAMA, requests=[(0, 24, 3)] * 8, cost="exact")
    assert r.iterations["num_prefill_tokens"].iloc[0] == 8 * 24
