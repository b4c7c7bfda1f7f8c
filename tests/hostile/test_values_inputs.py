"""Hostile inputs to value mode's inputs and weights: --tokens (a count that is not the
embedding's tokens, an id not below the vocab, text that is not an id, an empty list, a missing
file), --values-params (without --values, a missing directory, a directory without index.json
or with a malformed one, a name it lacks, a wrong shape, rows beyond the array, a corrupt or
truncated .npy, a dtype that is not a number), a trace's "params" (unknown keys, transpose
of a vector, bad rows) and --values-keep (without --values, a value not all or none, none with
--check). Each is a user error (exit 2) before the simulation starts, naming the
option or the tensor, the op and what was expected.

The trace: an embedding of 4 tokens (vocab 10, hidden 8) into a matmul 4x8x2 with a bias, whose
weight is named as nn.Linear stores it (2 x 8, transposed)."""

import json
import re

import numpy as np
import pytest

from conftest import expect_ok, expect_user_error

TRACE = {"ops": [
    {"op": "embedding", "name": "emb", "tokens": 4, "vocab": 10, "hidden": 8, "dtype": "fp32",
     "params": {"table": "emb.weight"}},
    {"op": "matmul", "name": "fc", "m": 4, "k": 8, "n": 2, "a": "emb", "bias": True,
     "dtype": "fp32", "params": {"b": {"name": "fc.weight", "transpose": True},
                                 "bias": "fc.bias"}}]}
GOOD = {"emb.weight": np.ones((10, 8), np.float32), "fc.weight": np.ones((2, 8), np.float32),
        "fc.bias": np.zeros(2, np.float32)}


def trace_file(tmp_path, trace=TRACE):
    f = tmp_path / "trace.json"
    f.write_text(json.dumps(trace))
    return f


def params_dir(tmp_path, arrays=GOOD, name="params"):
    d = tmp_path / name
    d.mkdir()
    index = {}
    for i, (key, a) in enumerate(arrays.items()):
        index[key] = f"{i:05d}.npy"
        np.save(d / index[key], a)
    (d / "index.json").write_text(json.dumps({"params": index}))
    return d


def run_(tmp_path, *extra, trace=TRACE):
    return ("run", "--arch", "datacenter", "--workload", trace_file(tmp_path, trace), *extra)


# --tokens ---------------------------------------------------------------------------------

def test_good_tokens_and_params_run(tmp_path):
    expect_ok(*run_(tmp_path, "--values", "--values-params", params_dir(tmp_path),
                    "--tokens", "1,2,3,9"))
    expect_ok(*run_(tmp_path, "--tokens", "1 2\n3,9"))  # timing only; any separators


def test_token_count_names_both_numbers(tmp_path):
    expect_user_error(*run_(tmp_path, "--tokens", "1,2,3"),
                      match=r"tokens: 3 ids given, but embedding op 'emb' \(ops\[0\]\) reads 4 "
                            r"\(its tokens, batch x seq\)")
    expect_user_error(*run_(tmp_path, "--tokens", "1,2,3,4,5"), match=r"5 ids given.* reads 4")


@pytest.mark.parametrize("ids,bad,pos", [("1,2,10,3", 10, 2), ("18446744073709551615,0,0,0",
                                                                 18446744073709551615, 0)])
def test_token_id_not_below_the_vocab(tmp_path, ids, bad, pos):
    expect_user_error(*run_(tmp_path, "--tokens", ids),
                      match=rf"tokens: id {bad} \(position {pos}\) is not below the vocab 10 of "
                            r"embedding op 'emb'")


@pytest.mark.parametrize("ids,bad,pos", [("1,x,2,3", "x", 1), ("1,2,-1,3", "-1", 2),
                                         ("1.5,2,3,4", "1.5", 0), ("0x1,2,3,4", "0x1", 0),
                                         ("1,2,3,18446744073709551616", "18446744073709551616",
                                          3)])
def test_token_id_that_is_not_a_non_negative_integer(tmp_path, ids, bad, pos):
    expect_user_error(*run_(tmp_path, "--tokens", ids),
                      match=rf'--tokens: id "{bad}" \(position {pos}\) must be a non-negative '
                            r"integer below 2\^64")


@pytest.mark.parametrize("ids", ["", ",,", " "])
def test_no_token_ids(tmp_path, ids):
    expect_user_error(*run_(tmp_path, "--tokens", ids), match=r"--tokens: no ids given")


def test_token_file(tmp_path):
    (tmp_path / "ids.txt").write_text("1\n2\n3\nseven\n")
    expect_user_error(*run_(tmp_path, "--tokens", f"@{tmp_path / 'ids.txt'}"),
                      match=r'--tokens @.*ids.txt: id "seven" \(position 3\)')
    expect_user_error(*run_(tmp_path, "--tokens", f"@{tmp_path / 'missing.txt'}"),
                      match=r"--tokens @.*missing.txt: no such file")
    expect_user_error(*run_(tmp_path, "--tokens", f"@{tmp_path}"), match=r"no such file")


def test_tokens_for_a_workload_without_an_embedding(tmp_path):
    expect_user_error("compile", "--arch", "edge", "--workload", "gemm1024", "--tokens", "1,2",
                      match=r"tokens: 2 ids given, but workload 'gemm1024' has no embedding op")


# --values-params ---------------------------------------------------------------------------

def test_values_params_needs_values(tmp_path):
    expect_user_error(*run_(tmp_path, "--values-params", params_dir(tmp_path)),
                      match=r"--values-params: needs --values")


def test_missing_params_directory_or_index(tmp_path):
    expect_user_error(*run_(tmp_path, "--values", "--values-params", tmp_path / "nowhere"),
                      match=r"--values-params .*nowhere: no such directory")
    (tmp_path / "empty").mkdir()
    expect_user_error(*run_(tmp_path, "--values", "--values-params", tmp_path / "empty"),
                      match=r"--values-params .*empty: no index.json in it")


@pytest.mark.parametrize("index,match", [
    ("{", r"not valid JSON"),
    ('{"tensors": {}}', r'index.json must be \{"params"'),
    ('{"params": {"fc.bias": 3}}', r"index.json params.fc.bias: must be a file name"),
])
def test_malformed_params_index(tmp_path, index, match):
    d = params_dir(tmp_path)
    (d / "index.json").write_text(index)
    expect_user_error(*run_(tmp_path, "--values", "--values-params", d), match=match)


def test_a_name_the_params_lack(tmp_path):
    d = params_dir(tmp_path, {k: v for k, v in GOOD.items() if k != "fc.bias"})
    expect_user_error(*run_(tmp_path, "--values", "--values-params", d),
                      match=r"--values-params .*: 'fc.bias' \(op 'fc' \(ops\[1\]\) bias, expected "
                            r"shape 2\): no such name in .*index.json")


@pytest.mark.parametrize("name,shape,expected", [
    ("fc.weight", (8, 2), r"'fc.weight' \(op 'fc' \(ops\[1\]\) b, expected shape 2x8, "
                          r"transposed\): shape 8x2 in 00001.npy"),
    ("fc.bias", (2, 1), r"'fc.bias' .* expected shape 2\): shape 2x1"),
    ("fc.bias", (3,), r"'fc.bias' .* expected shape 2\): shape 3 in"),
    ("emb.weight", (10, 8, 1), r"'emb.weight' \(op 'emb' \(ops\[0\]\) table, expected shape "
                               r"10x8\): shape 10x8x1"),
    ("fc.bias", (), r"expected shape 2\): shape \(\)"),
])
def test_a_wrong_shape(tmp_path, name, shape, expected):
    d = params_dir(tmp_path, dict(GOOD, **{name: np.zeros(shape, np.float32)}))
    expect_user_error(*run_(tmp_path, "--values", "--values-params", d), match=expected)


def test_rows_beyond_the_array(tmp_path):
    trace = json.loads(json.dumps(TRACE))
    trace["ops"][1]["params"]["bias"] = {"name": "fc.bias", "rows": [1, 3]}
    expect_user_error(*run_(tmp_path, "--values", "--values-params", params_dir(tmp_path),
                            trace=trace),
                      match=r"'fc.bias' .*expected shape 2 in rows 1..3 of its first dimension\): "
                            r"shape 2 in 00002.npy has no rows 1..3")


@pytest.mark.parametrize("content,match", [
    (b"not numpy at all", r"not a NumPy .npy file"),
    (b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f4'", r"truncated .npy header"),
    (b"\x93NUMPY\x09\x00\x10\x00", r"unknown .npy format version 9"),
    (b"\x93NUMPY\x01\x00\x0a\x00{'shape':}", r"corrupt .npy header \(no 'descr'"),
])
def test_a_corrupt_npy(tmp_path, content, match):
    d = params_dir(tmp_path)
    (d / "00001.npy").write_bytes(content)
    expect_user_error(*run_(tmp_path, "--values", "--values-params", d),
                      match=r"'fc.weight' \(op 'fc' .*00001.npy: " + match)


def test_a_truncated_npy(tmp_path):
    d = params_dir(tmp_path)
    data = (d / "00000.npy").read_bytes()
    (d / "00000.npy").write_bytes(data[:-4])
    expect_user_error(*run_(tmp_path, "--values", "--values-params", d),
                      match=r"'emb.weight' .*00000.npy: truncated: its shape and dtype need 320 "
                            r"bytes of data, the file holds 316")


@pytest.mark.parametrize("array,descr", [
    (np.zeros((2, 8), np.complex64), "<c8"),
    (np.array([["a"] * 8] * 2), "<U1"),
    (np.zeros((2, 8), "datetime64[s]"), "<M8[s]"),
])
def test_a_dtype_that_is_not_a_number(tmp_path, array, descr):
    d = params_dir(tmp_path, dict(GOOD, **{"fc.weight": array}))
    expect_user_error(*run_(tmp_path, "--values", "--values-params", d),
                      match=rf"'fc.weight' .*dtype '{re.escape(descr)}' cannot be converted "
                            r"to numbers")


def test_convertible_dtypes_orders_and_leading_ones_are_accepted(tmp_path):
    d = params_dir(tmp_path, {"emb.weight": np.ones((10, 8), ">f8"),
                              "fc.weight": np.asfortranarray(np.ones((2, 8), np.int16)),
                              "fc.bias": np.zeros((1, 1, 2), np.bool_)})
    expect_ok(*run_(tmp_path, "--values", "--values-params", d))


# the trace's "params" ----------------------------------------------------------------------

@pytest.mark.parametrize("params,match", [
    ({"table": "x", "gamma": "y"}, r"ops\[0\].params.gamma: this op has no such parameter; its "
                                   r"parameters: table"),
    ({"table": ""}, r"ops\[0\].params.table: must be a non-empty string"),
    ({"table": 3}, r"ops\[0\].params.table: must be a non-empty string"),
    ({"table": {"name": "x", "transpose": True}}, r"ops\[0\].params.table.transpose: only a "
                                                 r"matmul's b"),
    ({"table": {"name": "x", "rows": [3, 3]}}, r"ops\[0\].params.table.rows: must be \[begin, "
                                               r"end\] with 0 <= begin < end"),
    ({"table": {"name": "x", "rows": [-1, 3]}}, r"params.table.rows: must be"),
    ({"table": {"name": "x", "cols": [0, 3]}}, r"ops\[0\].params.table.cols: unknown key"),
    ({"table": {"transpose": False}}, r"ops\[0\].params.table.name: is required"),
    ([1], r"ops\[0\].params: must be an object"),
])
def test_bad_trace_params(tmp_path, params, match):
    trace = json.loads(json.dumps(TRACE))
    trace["ops"][0]["params"] = params
    expect_user_error(*run_(tmp_path, trace=trace), match=match)


def test_params_of_an_op_without_parameters(tmp_path):
    trace = {"ops": [{"op": "relu", "rows": 4, "cols": 4, "inputs": ["input"],
                      "params": {"weight": "w"}}]}
    expect_user_error(*run_(tmp_path, trace=trace),
                      match=r"ops\[0\].params: unknown key.*allowed here: op, name, layer, dtype, "
                            r"rows, cols, inputs$")


# --values-keep ------------------------------------------------------------------------------

def test_values_keep_needs_values(tmp_path):
    expect_user_error(*run_(tmp_path, "--values-keep", "none"),
                      match=r"^error: --values-keep: needs --values$")


def test_values_keep_names_the_choices(tmp_path):
    expect_user_error(*run_(tmp_path, "--values", "--values-keep", "some"),
                      match=r"^error: --values-keep some: must be all or none$")


def test_values_keep_none_with_check_is_refused(tmp_path):
    expect_user_error(*run_(tmp_path, "--values", "--values-keep", "none", "--check"),
                      match=r"--values-keep none: --check needs every op's output \(all\)")


def test_values_keep_none_with_out_writes_no_values(tmp_path):
    out = tmp_path / "out"
    expect_ok(*run_(tmp_path, "--values", "--values-keep", "none", "--out", out))
    assert (out / "stats.json").is_file() and not (out / "values").exists()
    out2 = tmp_path / "out2"
    expect_ok(*run_(tmp_path, "--values", "--out", out2))  # --out keeps all by default
    index = json.loads((out2 / "values" / "index.json").read_text())
    assert [o["name"] for o in index["outputs"]] == ["emb", "fc"]
