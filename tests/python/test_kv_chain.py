"""GPT-2 with 2 layers in prefill, then in decode with the KV cache the prefill filled (issue 21).

The prefill (16 tokens) runs with values (Python); each layer's k_cache_write / v_cache_write output is
the whole cache after its writes, [12 heads x 16 rows, 64]. The decode trace (one new token,
kv_len 16) names those arrays as its kv_writes' "cache" parameter ("params": {"cache": NAME}),
and runs with --values-params and --check: every op passes, and the cache tensors the decode
read (its rows 0..15 of each head's block of 17) are exactly the prefill's caches: the decode's
scores and context, computed on the chip and checked against PyTorch on those tensors, attended
to the prefill's K and V. The weights are seeded per tensor, so they are not the prefill's.
"""

import json

import numpy as np
import pytest

import llmsim
from cli_helpers import cli


def _values(run_dir):
    return json.loads((run_dir / "values" / "index.json").read_text())


def _passes_check(r, trace):
    assert r.returncode == 0, r.stdout + r.stderr
    n = len(trace["ops"])
    assert "FAIL" not in r.stdout and f"all {n} ops" in r.stdout, r.stdout
    assert "0 not checked" in r.stdout, r.stdout


def _trace(*args):
    t = cli("trace", "--model", "gpt2", "--layers", "2", *args)
    assert t.returncode == 0, t.stderr
    return json.loads(t.stdout)


@pytest.mark.parametrize("arch,dtype", [("datacenter", "fp32"), ("datacenter", "bf16")])
def test_gpt2_decode_reads_the_prefill_cache(tmp_path, arch, dtype):
    heads, d, kv = 12, 64, 16
    prefill = llmsim.run(arch, workload=_trace("--seq", str(kv), "--dtype", dtype), values=True)
    # Each kv_write's output: the whole cache after its writes, [12 heads x 16 rows, 64].
    caches = {k: v for k, v in prefill.values.items() if k.endswith("_cache_write")}
    assert sorted(caches) == [f"layer{i}.{kv_}_cache_write" for i in (0, 1) for kv_ in "kv"]
    for v in caches.values():
        assert v.shape == (heads * kv, d) and np.isfinite(v).all() and np.abs(v).max() > 0.1

    trace = _trace("--phase", "decode", "--kv-len", str(kv), "--dtype", dtype)
    named = 0
    for op in trace["ops"]:
        if op["op"] == "kv_write":
            assert op["name"] in caches and op["kv_len"] == kv and op["tokens"] == 1
            op["params"] = {"cache": "prefill." + op["name"]}
            named += 1
    assert named == 4
    trace_path = tmp_path / "decode.json"
    trace_path.write_text(json.dumps(trace))
    params = tmp_path / "params"
    llmsim.write_params({"prefill." + k: v for k, v in caches.items()}, params)

    dec = tmp_path / "decode"
    r = cli("run", "--arch", arch, "--workload", str(trace_path), "--values", "--values-params",
            str(params), "--check", "--out", str(dec))
    _passes_check(r, trace)

    # The cache tensors the decode read (and the check's reference with them): rows 0..15 of
    # each head's block of 17 are exactly the prefill's (already rounded to the dtype).
    idx = _values(dec)
    index_of = {o["name"]: o["op"] for o in idx["outputs"]}
    for name, cache in caches.items():
        t = next(t for t in idx["tensors"] if t["op"] == index_of[name] and t["role"] == "cache")
        assert t["params"] == {"cache": "prefill." + name}
        assert t["shape"] == [heads * (kv + 1), d]
        read = np.load(dec / "values" / t["file"]).reshape(heads, kv + 1, d)
        np.testing.assert_array_equal(read[:, :kv], cache.reshape(heads, kv, d))


def _kv_trace(tmp_path, kv_len, params):
    op = {"op": "kv_write", "name": "kw", "input": "input", "batch": 2, "heads": 1,
          "head_dim": 16, "tokens": 1, "kv_len": kv_len, "dtype": "fp32", "params": params}
    path = tmp_path / "kv.json"
    path.write_text(json.dumps({"description": "kv", "ops": [op]}))
    return path


def test_small_cache_is_laid_head_block_by_head_block(tmp_path):
    """batch 2, 1 head, kv_len 5, 1 new token: the array's 10 rows fill rows 0..4 and 6..10 of
    the 12-row cache tensor; the check passes."""
    a = np.arange(10 * 16, dtype=np.float32).reshape(10, 16) / 64
    llmsim.write_params({"c": a}, tmp_path / "p")
    out = tmp_path / "run"
    r = cli("run", "--arch", "datacenter", "--workload", str(_kv_trace(tmp_path, 5, {"cache": "c"})),
            "--values", "--values-params", str(tmp_path / "p"), "--check", "--out", str(out))
    assert r.returncode == 0 and "FAIL" not in r.stdout, r.stdout + r.stderr
    t = next(t for t in _values(out)["tensors"] if t["role"] == "cache")
    read = np.load(out / "values" / t["file"]).reshape(2, 6, 16)
    np.testing.assert_array_equal(read[:, :5], a.reshape(2, 5, 16))


def test_cache_param_errors(tmp_path):
    llmsim.write_params({"c": np.zeros((10, 8), np.float32)}, tmp_path / "p")
    trace = _kv_trace(tmp_path, 5, {"cache": "c"})
    r = cli("run", "--arch", "datacenter", "--workload", str(trace), "--values",
            "--values-params", str(tmp_path / "p"))
    assert r.returncode == 2, r.stdout + r.stderr
    assert "'c' (op 'kw' (ops[0]) cache, expected shape 10x16): shape 10x8 in" in r.stderr
    trace = _kv_trace(tmp_path, 5, {"cache": "missing"})
    r = cli("run", "--arch", "datacenter", "--workload", str(trace), "--values",
            "--values-params", str(tmp_path / "p"))
    assert r.returncode == 2 and "'missing' (op 'kw'" in r.stderr and "no such name" in r.stderr
    trace = _kv_trace(tmp_path, 0, {"cache": "c"})
    r = cli("run", "--arch", "datacenter", "--workload", str(trace))
    assert r.returncode == 2, r.stdout + r.stderr
    assert "params.cache: this kv_write has no cached rows to name (kv_len 0)" in r.stderr
    trace = _kv_trace(tmp_path, 5, {"cache": {"name": "c", "transpose": True}})
    r = cli("run", "--arch", "datacenter", "--workload", str(trace))
    assert r.returncode == 2 and "params.cache.transpose: only a matmul's b" in r.stderr
