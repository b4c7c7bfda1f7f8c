#!/usr/bin/python3
"""Calibrated int8 steps from an fp32 value run (docs/workloads.md, "int8 quantisation"):

    llmsim run ... --dtype fp32 --fusion off --values --check --out RUN_DIR
    python3 -m llmsim.calibrate RUN_DIR RUN_DIR/trace.json [--percentile P] > int8.json
    llmsim run ... --workload int8.json --values --check

Prints the trace with every op in int8 and its steps measured on the run's real values (post-
training calibration, as TensorRT's): an op's `scale` is the P-th percentile of its stored
output's |value| / 127 (default P = 99.99: the rare larger values saturate; 100 is max
calibration); `input_scale` and `weight_scale` the largest |value| / 127 of its input and weight
tensors (a matmul's weight, a parameter row, gamma and beta, a rope table: per tensor), and an
embedding's `scale` its table's. A copy or kv_write keeps its input's step. An op whose output
the run did not store (fused into a matmul's epilogue: run with --fusion off to store every
op) keeps the default step of the magnitude rule. The int8 run's seeded fill quantises the same
real values (same seed) at these steps, so its outputs compare with the fp32 run's.
"""

import argparse
import json
import os
import sys

import numpy as np

EXTERNAL = ("input", "weight", "kv_cache")
MIN_STEP, MAX_STEP = 1e-12, 1e12


def _step(top):
    """top / 127 within the steps a trace allows; 1/127 for an all-zero tensor."""
    return min(max(top / 127.0, MIN_STEP), MAX_STEP) if top > 0 else 1.0 / 127.0


def calibrate(run_dir, trace, percentile=99.99):
    """The trace (a dict with "ops") with int8 dtypes and measured steps."""
    vdir = os.path.join(run_dir, "values")
    with open(os.path.join(vdir, "index.json")) as f:
        index = json.load(f)
    outputs = index["outputs"]
    ops = [dict(op) for op in trace["ops"]]
    if len(ops) != len(outputs):
        raise ValueError(f"trace has {len(ops)} ops, the run {len(outputs)}: not the trace "
                         "that ran")
    tops = {}  # (op, role) -> largest |value| of its tensors
    for t in index.get("tensors", []):
        a = np.load(os.path.join(vdir, t["file"]))
        key = (t["op"], t["role"])
        tops[key] = max(tops.get(key, 0.0), float(np.abs(a).max()) if a.size else 0.0)
    names = {op.get("name", f"op{i}"): i for i, op in enumerate(ops)}
    for i, op in enumerate(ops):
        op["dtype"] = "int8"
        for k in ("scale", "input_scale", "weight_scale"):
            op.pop(k, None)
        kind = op.get("op")
        if kind == "embedding":
            op["scale"] = _step(tops.get((i, "table"), 0.0))
            continue
        src = op.get("input") if kind == "kv_write" else (op.get("inputs") or [None])[0]
        if kind in ("kv_write", "copy") and src in names:
            op["scale"] = ops[names[src]]["scale"]
        elif outputs[i].get("stored"):
            a = np.abs(np.load(os.path.join(vdir, outputs[i]["file"])))
            op["scale"] = _step(float(np.percentile(a, percentile)) if a.size else 0.0)
        if kind == "kv_write":
            continue
        inputs = [tops.get((i, r), 0.0) for r in ("a", "input")]
        weights = [tops.get((i, r), 0.0) for r in ("param", "rope_table")]
        b = tops.get((i, "b"), 0.0)
        (weights if op.get("b", "weight") == "weight" else inputs).append(b)
        if any(inputs):
            op["input_scale"] = _step(max(inputs))
        if any(weights):
            op["weight_scale"] = _step(max(weights))
    out = dict(trace)
    out["ops"] = ops
    return out


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m llmsim.calibrate",
                                description="int8 steps measured on an fp32 value run.")
    p.add_argument("run_dir")
    p.add_argument("trace")
    p.add_argument("--percentile", type=float, default=99.99,
                   help="of an output's |value| that maps to 127 (default 99.99; 100: max)")
    args = p.parse_args(argv)
    if not 0 < args.percentile <= 100:
        print(f"error: --percentile {args.percentile}: must be in (0, 100]", file=sys.stderr)
        return 2
    try:
        with open(args.trace) as f:
            trace = json.load(f)
        if isinstance(trace, list):
            trace = {"ops": trace}
        out = calibrate(args.run_dir, trace, args.percentile)
    except (OSError, ValueError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    json.dump(out, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
