"""The value check (issue 21): `llmsim run ... --values --check` and python -m llmsim.check.

Small traces written here cover every op kind the frontend emits (matmul plain, with bias, with
a transposed weight, batched attention with GQA over a kv_write cache in prefill and decode;
embedding, kv_write, add with a residual, an input and a broadcast weight row, mul, scale,
mask, relu, gelu, silu, tanh, softmax, layernorm, rmsnorm, rope, copy) and must pass on
datacenter (fp32, bf16) and edge (bf16); GPT-2 with one layer is checked in fp32; and a planted
error in one stored output or one tensor is named by the check as the first op out of
tolerance.
"""

import json
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

from cli_helpers import cli, cli_env


def _prefill_ops():
    """A two-sequence, 8-token decoder block: 4 query heads of 16 sharing 2 KV heads (GQA)."""
    def mm(name, m, k, n, a, **kw):
        return {"op": "matmul", "name": name, "m": m, "k": k, "n": n, "a": a, **kw}

    def vec(kind, name, rows, cols, inputs, **kw):
        return {"op": kind, "name": name, "rows": rows, "cols": cols, "inputs": inputs, **kw}

    t, h = 16, 64
    return [
        {"op": "embedding", "name": "emb", "tokens": t, "vocab": 50, "hidden": h},
        vec("add", "in_add", t, h, ["emb", "input"]),
        vec("rmsnorm", "norm", t, h, ["in_add"]),
        mm("q", t, h, 64, "norm"),
        mm("k", t, h, 32, "norm"),
        mm("v", t, h, 32, "norm", bias=True),
        vec("rope", "q_rope", t, 64, ["q"], head_dim=16, tokens=8),
        vec("rope", "k_rope", t, 32, ["k"], head_dim=16, tokens=8),
        {"op": "kv_write", "name": "kw", "input": "k_rope", "batch": 2, "heads": 2,
         "head_dim": 16, "tokens": 8},
        {"op": "kv_write", "name": "vw", "input": "v", "batch": 2, "heads": 2, "head_dim": 16,
         "tokens": 8},
        mm("scores", 16, 16, 8, "q_rope", b="kw", transpose_b=True, batch=4),
        vec("scale", "scale", 64, 8, ["scores"], scalar=0.25),
        vec("mask", "mask", 64, 8, ["scale"]),
        vec("softmax", "probs", 64, 8, ["mask"]),
        mm("context", 16, 8, 16, "probs", b="vw", batch=4),
        vec("tanh", "ctx_tanh", 64, 16, ["context"]),
        mm("gate", t, h, 128, "norm"),
        vec("silu", "act", t, 128, ["gate"]),
        mm("up", t, h, 128, "norm", bias=True),
        vec("gelu", "up_act", t, 128, ["up"]),
        vec("mul", "gate_mul", t, 128, ["act", "up_act"]),
        mm("down", t, 128, h, "gate_mul"),
        vec("add", "residual", t, h, ["in_add", "down"]),
        vec("add", "bias_add", t, h, ["residual", "weight"]),
        vec("relu", "relu", t, h, ["bias_add"]),
        vec("layernorm", "ln", t, h, ["relu"]),
        vec("copy", "last", 2, h, ["ln"], row_offset=7, row_stride=8),
        mm("head", 2, h, 50, "last", transpose_b=True),
        vec("tanh", "logits", 2, 50, ["head"]),
    ]


def _decode_ops():
    """Two sequences, one new token each after 5 cached: 2 query heads on 1 KV head."""
    return [
        {"op": "matmul", "name": "q", "m": 2, "k": 32, "n": 32},
        {"op": "matmul", "name": "k", "m": 2, "k": 32, "n": 16},
        {"op": "matmul", "name": "v", "m": 2, "k": 32, "n": 16},
        {"op": "rope", "name": "q_rope", "rows": 2, "cols": 32, "inputs": ["q"], "head_dim": 16,
         "tokens": 1, "kv_len": 5},
        {"op": "rope", "name": "k_rope", "rows": 2, "cols": 16, "inputs": ["k"], "head_dim": 16,
         "tokens": 1, "kv_len": 5},
        {"op": "kv_write", "name": "kw", "input": "k_rope", "batch": 2, "heads": 1,
         "head_dim": 16, "tokens": 1, "kv_len": 5},
        {"op": "kv_write", "name": "vw", "input": "v", "batch": 2, "heads": 1, "head_dim": 16,
         "tokens": 1, "kv_len": 5},
        {"op": "matmul", "name": "scores", "batch": 2, "m": 2, "k": 16, "n": 6, "a": "q_rope",
         "b": "kw", "transpose_b": True},
        {"op": "scale", "name": "scale", "rows": 4, "cols": 6, "inputs": ["scores"],
         "scalar": 0.25},
        {"op": "softmax", "name": "probs", "rows": 4, "cols": 6, "inputs": ["scale"]},
        {"op": "matmul", "name": "context", "batch": 2, "m": 2, "k": 6, "n": 16, "a": "probs",
         "b": "vw"},
    ]


def _write_trace(tmp_path, name, ops, dtype):
    ops = [dict(op, dtype=dtype) for op in ops]
    path = tmp_path / f"{name}_{dtype}.json"
    path.write_text(json.dumps({"description": name, "ops": ops}))
    return path


def _table(stdout):
    """{op name: status} of the check's table."""
    rows = {}
    for line in stdout.splitlines():
        m = re.match(r"\s*(\d+)\s+(\S+)\s+(\S+)\s+\S+\s+\S+\s+\S+\s+\S+\s+(.*)$", line)
        if m:
            rows[m.group(2)] = m.group(4)
    return rows


CASES = [("datacenter", "fp32"), ("datacenter", "bf16"), ("edge", "bf16")]


@pytest.mark.parametrize("arch,dtype,extra", [c + ((),) for c in CASES] + [
    ("datacenter", "int8", ()), ("edge", "int8", ()), ("datacenter", "int8", ("--fusion", "off"))])
@pytest.mark.parametrize("name,ops", [("prefill", _prefill_ops()), ("decode", _decode_ops())])
def test_small_traces_pass(tmp_path, arch, dtype, extra, name, ops):
    """int8 with the parser's default steps (workloads/quant.h): the quantising reference;
    with fusion the epilogues dequantise the accumulator, without it every op is stored."""
    trace = _write_trace(tmp_path, name, ops, dtype)
    r = cli("run", "--arch", arch, "--workload", str(trace), "--values", "--check", *extra)
    # Edge cuts kv_write into 4-token chunks (datacenter into 1-token ones): the case the check
    # found storing a chunk's heads into the wrong cache rows, until the chunk was loaded head
    # by head (lowering.cpp, kv_write).
    assert r.returncode == 0, r.stdout + r.stderr
    table = _table(r.stdout)
    assert len(table) == len(ops)
    for op in ops:
        assert table[op["name"]] == "pass" or table[op["name"]].startswith("not stored"), \
            (op["name"], table[op["name"]])
    assert f"all {len(ops)} ops" in r.stdout and "0 not checked" in r.stdout


GEMM_OPS = [
    {"op": "matmul", "name": "g1", "m": 96, "k": 200, "n": 136, "bias": True},
    {"op": "matmul", "name": "g2", "m": 96, "k": 136, "n": 72, "a": "g1", "transpose_b": True},
]


@pytest.mark.parametrize("arch,dtype", CASES + [("datacenter", "int8")])
def test_gemm_passes(tmp_path, arch, dtype):
    """Two matmuls with partial tiles, a bias and a transposed weight; int8 exactly (int32 sums,
    saturated to int8)."""
    trace = _write_trace(tmp_path, "gemm", GEMM_OPS, dtype)
    r = cli("run", "--arch", arch, "--workload", str(trace), "--values", "--check")
    assert r.returncode == 0, r.stdout + r.stderr
    assert _table(r.stdout) == {"g1": "pass", "g2": "pass"}
    if dtype == "int8":  # exact: a zero error and a zero tolerance
        rows = [line.split() for line in r.stdout.splitlines() if line.strip().endswith("pass")]
        assert all(row[4:7] == ["0", "0", "0"] for row in rows), r.stdout


def test_gemm_int8_requantises(tmp_path):
    """The int8 store requantises by s_a s_b / s_out: with steps 1/64 (A), 1/128 (B) and 1/64
    (output) the multiplier is 2^-7, and the check's reference (the same fp32 product,
    rounded half to even and saturated) matches to the bit; a planted multiplier of 1 (the
    integers saturated, as before quantisation) is named."""
    ops = [dict(GEMM_OPS[0], input_scale=1 / 64, weight_scale=1 / 128, scale=1 / 64)]
    trace = _write_trace(tmp_path, "gemm_q", ops, "int8")
    out = tmp_path / "run"
    r = cli("run", "--arch", "datacenter", "--workload", str(trace), "--values", "--check",
            "--out", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    assert _table(r.stdout) == {"g1": "pass"}
    row = next(line.split() for line in r.stdout.splitlines() if " g1 " in line)
    assert row[4:7] == ["0", "0", "0"], r.stdout
    # Real outputs of rms about 1/3 (k = 200 products of U(-1, 1) and U(-1/sqrt(200),
    # 1/sqrt(200)), plus the bias) at step 1/64: |q| about 20 on average, hardly any at 127
    # (the integers saturated as they were before quantisation: nearly all).
    q = np.load(out / "values" / "00000.npy")
    assert 10 < np.abs(q).mean() < 30 and np.mean(np.abs(q) >= 127) < 0.01
    trace_json = json.loads((out / "trace.json").read_text())
    trace_json["ops"][0]["scale"] = 2.0 ** -13  # s_a s_b: the multiplier becomes 1
    (out / "wrong.json").write_text(json.dumps(trace_json))
    d = _checker(out, out / "wrong.json")
    assert d.returncode == 3 and _fail_line(d.stdout).startswith("FAIL: op 0 'g1' (matmul)")


def test_bert_base_int8_passes(tmp_path):
    """BERT-base, two layers, seq 128, int8 on datacenter: every op passes against the
    quantising reference; matmuls, adds and embeddings exactly, the others within one int8
    step."""
    out = tmp_path / "run"
    r = cli("run", "--arch", "datacenter", "--model", "bert-base-uncased", "--layers", "2",
            "--seq", "128", "--values", "--out", str(out), "--check")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 not checked" in r.stdout and "FAIL" not in r.stdout
    trace = json.loads((out / "trace.json").read_text())["ops"]
    for line in r.stdout.splitlines():
        f = line.split()
        if len(f) > 7 and f[-1] == "pass" and f[2] in ("matmul", "add", "embedding"):
            assert f[4] == "0", line
    assert all(op["dtype"] == "int8" and op["scale"] > 0 for op in trace)


def test_calibrate_measures_steps_on_an_fp32_run(tmp_path):
    """llmsim.calibrate: steps measured on an fp32 run (max calibration, percentile 100) are
    the largest |value| / 127 of each output and each input and weight tensor; the int8 run of
    the calibrated trace passes the check and stays within 2 % (rms) of the fp32 outputs."""
    from llmsim.calibrate import calibrate
    f32 = tmp_path / "f32"
    trace = _write_trace(tmp_path, "gemm", GEMM_OPS, "fp32")
    r = cli("run", "--arch", "datacenter", "--workload", str(trace), "--fusion", "off",
            "--values", "--check", "--out", str(f32))
    assert r.returncode == 0, r.stdout + r.stderr
    cal = calibrate(str(f32), json.loads((f32 / "trace.json").read_text()), percentile=100)
    tensors = {(t["op"], t["role"]): np.load(f32 / "values" / t["file"])
               for t in _index(f32)["tensors"]}
    g1, g2 = cal["ops"]
    assert g1["dtype"] == g2["dtype"] == "int8"
    assert g1["scale"] == float(np.abs(np.load(f32 / "values" / "00000.npy")).max()) / 127
    assert g1["input_scale"] == float(np.abs(tensors[(0, "a")]).max()) / 127
    assert g1["weight_scale"] == float(np.abs(tensors[(0, "b")]).max()) / 127
    assert g2["weight_scale"] == float(np.abs(tensors[(1, "b")]).max()) / 127
    assert "input_scale" not in g2  # its A is g1's output, at g1's step
    path = tmp_path / "cal.json"
    path.write_text(json.dumps(cal))
    i8 = tmp_path / "i8"
    r = cli("run", "--arch", "datacenter", "--workload", str(path), "--values", "--check",
            "--out", str(i8))
    assert r.returncode == 0, r.stdout + r.stderr
    for i, op in enumerate(cal["ops"]):
        q = np.load(i8 / "values" / f"{i:05d}.npy") * op["scale"]
        f = np.load(f32 / "values" / f"{i:05d}.npy")
        assert np.linalg.norm(q - f) / np.linalg.norm(f) < 0.02


def test_check_needs_values():
    r = cli("run", "--arch", "edge", "--workload", "mlp", "--check")
    assert r.returncode == 2
    assert r.stderr.strip() == "error: --check: needs --values"


def _checker(run_dir, trace, *extra):
    return subprocess.run([sys.executable, "-m", "llmsim.check", str(run_dir), str(trace),
                           *extra], capture_output=True, text=True, env=cli_env())


def _fail_line(stdout):
    return next(line for line in stdout.splitlines() if line.startswith("FAIL: "))


def test_gpt2_one_layer_fp32(tmp_path):
    """GPT-2 (one layer, 16 tokens, 12 heads) in fp32 on datacenter passes every op: the
    attention context is stored token-major ([16 tokens] x [12 heads x 64]), as the output
    projection reads it and as docs/workloads.md says. (It was stored [12 heads][16][64]
    densely before, which o_proj read as [16] x [768] row after row, mixing heads and tokens.)"""
    out = tmp_path / "run"
    r = cli("run", "--arch", "datacenter", "--model", "gpt2", "--layers", "1", "--seq", "16",
            "--dtype", "fp32", "--values", "--check", "--out", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "FAIL" not in r.stdout and "0 not checked" in r.stdout
    table = _table(r.stdout)
    assert table["layer0.context"] == "pass" and table["layer0.attn_residual"] == "pass"
    ctx = next(line for line in r.stdout.splitlines() if "layer0.context" in line)
    assert " 16x768 " in ctx


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("planted")
    trace = _write_trace(tmp, "prefill", _prefill_ops(), "fp32")
    out = tmp / "run"
    r = cli("run", "--arch", "datacenter", "--workload", str(trace), "--values", "--check",
            "--out", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    return out


def _index(run_dir):
    return json.loads((run_dir / "values" / "index.json").read_text())


def _plant(path, row, col, delta):
    a = np.load(path)
    a[row, col] += delta
    np.save(path, a)


def test_planted_output_error_is_named(small_run):
    """One element of the stored softmax output moved by 1e-3 (its tolerance in fp32 is about
    1e-6 of its largest value): the check names the softmax first, with the element."""
    ops = {o["name"]: o for o in _index(small_run)["outputs"]}
    f = small_run / "values" / ops["probs"]["file"]
    _plant(f, 5, 3, 1e-3)
    r = _checker(small_run, small_run / "trace.json")
    _plant(f, 5, 3, -1e-3)
    assert r.returncode == 3, r.stdout + r.stderr
    line = _fail_line(r.stdout)
    assert line.startswith("FAIL: op 13 'probs' (softmax)")
    assert "at row 5, col 3" in line
    table = _table(r.stdout)
    assert table["kw"] == "pass" and table["mask"].startswith("not stored")


def test_planted_tensor_error_is_named(small_run):
    """The weight of `k` as the check reads it differs from what the run computed with in one
    element: the check names k (op 4), the first op that reads it."""
    idx = _index(small_run)
    t = next(t for t in idx["tensors"] if t["op"] == 4 and t["role"] == "b")
    f = small_run / "values" / t["file"]
    _plant(f, 0, 0, 0.5)
    r = _checker(small_run, small_run / "trace.json")
    _plant(f, 0, 0, -0.5)
    assert r.returncode == 3, r.stdout + r.stderr
    assert _fail_line(r.stdout).startswith("FAIL: op 4 'k' (matmul)")
    assert _checker(small_run, small_run / "trace.json").returncode == 0


def test_keep_going_names_every_planted_error(small_run):
    """Two planted errors, in k's weight and in the stored tanh of the context: --keep-going names both
    and only them (each op is judged on its producers' stored outputs, so k's error does not
    spread to k_rope)."""
    idx = _index(small_run)
    t = next(t for t in idx["tensors"] if t["op"] == 4 and t["role"] == "b")
    ctx = next(o for o in idx["outputs"] if o["name"] == "ctx_tanh")
    plants = [(small_run / "values" / t["file"], 0, 0, 0.5),
              (small_run / "values" / ctx["file"], 7, 9, -0.25)]
    for f, r, c, d in plants:
        _plant(f, r, c, d)
    r = _checker(small_run, small_run / "trace.json", "--keep-going")
    for f, r_, c, d in plants:
        _plant(f, r_, c, -d)
    assert r.returncode == 3, r.stdout + r.stderr
    fails = [line.split(" is out")[0] for line in r.stdout.splitlines()
             if line.startswith("FAIL: ")]
    assert fails == ["FAIL: op 4 'k' (matmul)", "FAIL: op 15 'ctx_tanh' (tanh)"]
    assert ", 2 FAILED" in r.stdout
    assert "at row 7, col 9: got" in r.stdout


def test_gpt2_int8_kv_write_slots_are_not_overwritten(tmp_path):
    """GPT-2, two layers, 64 tokens, int8 on datacenter passes every op. Operand slots were one
    count of free slots, taken round robin: layer1.v_cache_write frees its slots from the store
    queue, and the next op (layer1.scores, which does not read it) frees its own earlier from
    the compute queue, so a load of scores took the slot whose store had not yet read it (4
    cache rows of head 6 held stale bytes). Each slot now has its own semaphore."""
    out = tmp_path / "run"
    r = cli("run", "--arch", "datacenter", "--model", "gpt2", "--layers", "2", "--seq", "64",
            "--values", "--check", "--out", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "FAIL" not in r.stdout and "0 not checked" in r.stdout
    assert _table(r.stdout)["layer1.v_cache_write"] == "pass"
