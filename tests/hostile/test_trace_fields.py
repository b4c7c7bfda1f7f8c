"""Hostile inputs: the value-carrying fields of trace ops (issue 21): a scale's `scalar`, a rope's
`head_dim`, `tokens` and `kv_len`, an int8 op's quantisation steps. Each mistake is a user error
(exit 2) naming the op and the key, the value given and what is allowed."""

import json

import pytest

from conftest import expect_ok, expect_user_error


def trace(tmp_path, op):
    f = tmp_path / "t.json"
    f.write_text(json.dumps({"ops": [dict({"name": "x", "dtype": "fp16", "inputs": ["input"]},
                                          **op)]}))
    return f


def rope(**fields):
    return dict({"op": "rope", "rows": 8, "cols": 16}, **fields)


def compile_(tmp_path, op):
    return ("compile", "--arch", "edge", "--workload", trace(tmp_path, op))


def test_valid_fields_are_accepted(tmp_path):
    expect_ok(*compile_(tmp_path, rope(head_dim=4, tokens=4, kv_len=3)))
    expect_ok(*compile_(tmp_path, {"op": "scale", "rows": 4, "cols": 4, "scalar": -0.125}))


@pytest.mark.parametrize("value, allowed", [
    ("0.125", r"must be a finite number, got \"0.125\""),
    (None, r"must be a finite number, got null"),
    ([1], r"must be a finite number, got \[1\]"),
])
def test_scale_scalar_not_a_number(tmp_path, value, allowed):
    expect_user_error(*compile_(tmp_path, {"op": "scale", "rows": 4, "cols": 4, "scalar": value}),
                      match=r"ops\[0\]\.scalar: " + allowed)


def test_scalar_on_another_kind_is_an_unknown_key(tmp_path):
    expect_user_error(*compile_(tmp_path, {"op": "relu", "rows": 4, "cols": 4, "scalar": 2}),
                      match=r"ops\[0\].*scalar")


@pytest.mark.parametrize("head_dim", [3, 6, 32])
def test_rope_head_dim_odd_or_not_dividing_cols(tmp_path, head_dim):
    expect_user_error(*compile_(tmp_path, rope(head_dim=head_dim)),
                      match=r"ops\[0\]\.head_dim: rope rotates pairs within each head, so "
                            r"head_dim \(default cols\) must be even and divide cols = 16, got "
                            + str(head_dim))


def test_rope_head_dim_zero(tmp_path):
    expect_user_error(*compile_(tmp_path, rope(head_dim=0)), match=r"ops\[0\]\.head_dim: .*got 0")


def test_rope_default_head_dim_of_odd_cols(tmp_path):
    expect_user_error(*compile_(tmp_path, rope(cols=15)),
                      match=r"ops\[0\]\.head_dim: .*must be even and divide cols = 15, got 15")


@pytest.mark.parametrize("tokens", [3, 16])
def test_rope_tokens_not_dividing_rows(tmp_path, tokens):
    expect_user_error(*compile_(tmp_path, rope(tokens=tokens)),
                      match=r"ops\[0\]\.tokens: must divide rows = 8 \(rows are whole sequences "
                            r"of tokens\), got " + str(tokens))


@pytest.mark.parametrize("kv_len, allowed", [
    (-1, r"ops\[0\]\.kv_len: must be"),
    (4294967297, r"ops\[0\]\.kv_len: must be"),
    ("5", r"ops\[0\]\.kv_len: must be"),
])
def test_rope_kv_len_out_of_range(tmp_path, kv_len, allowed):
    expect_user_error(*compile_(tmp_path, rope(kv_len=kv_len)), match=allowed)


def test_rope_fields_on_another_kind_are_unknown_keys(tmp_path):
    expect_user_error(*compile_(tmp_path, {"op": "softmax", "rows": 4, "cols": 4, "head_dim": 2}),
                      match=r"ops\[0\].*head_dim")


# int8 quantisation steps (workloads/quant.h, docs/workloads.md "int8 quantisation").
def relu8(**fields):
    return dict({"op": "relu", "rows": 4, "cols": 4, "dtype": "int8"}, **fields)


def test_int8_steps_are_accepted(tmp_path):
    expect_ok(*compile_(tmp_path, relu8(scale=0.5, input_scale=1e-12, weight_scale=1e12)))


@pytest.mark.parametrize("key", ["scale", "input_scale", "weight_scale"])
@pytest.mark.parametrize("value, shown", [
    (0, "0"), (-0.5, "-0.5"), (1e13, "10000000000000.0"), (1e-13, "1e-13"), ("0.5", "\"0.5\""),
    (None, "null"), (True, "true")])
def test_int8_step_out_of_range_or_not_a_number(tmp_path, key, value, shown):
    expect_user_error(*compile_(tmp_path, relu8(**{key: value})),
                      match=r"ops\[0\]\." + key + r": must be a number in \[1e-12, 1e12\] \(a "
                            r"quantisation step: real value = int8 x step\), got " + shown)


def test_int8_step_on_a_float_op(tmp_path):
    expect_user_error(*compile_(tmp_path, {"op": "relu", "rows": 4, "cols": 4, "scale": 0.5}),
                      match=r"ops\[0\]\.scale: is a quantisation step, for int8 ops only; this "
                            r"op is fp16")


def test_int8_kv_write_step_differs_from_its_input(tmp_path):
    f = tmp_path / "kv.json"
    f.write_text(json.dumps({"ops": [
        relu8(name="r", rows=2, cols=2, inputs=["input"], scale=0.25),
        {"op": "kv_write", "name": "kw", "input": "r", "batch": 1, "heads": 1, "head_dim": 2,
         "tokens": 2, "scale": 0.5}]}))
    expect_user_error("compile", "--arch", "edge", "--workload", f,
                      match=r"ops\[1\] \(kw\): scale: a kv_write copies its input's bytes, so its "
                            r"step must be its input's 0\.250000, got 0\.500000")
