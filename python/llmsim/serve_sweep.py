"""Serving points of llmsim.sweep: sweep(arch, grid, serve={...}) runs llmsim.serve per point.

    >>> df = llmsim.sweep("datacenter", {"rate": [1, 2, 4], "serving.max_num_seqs": [64, 256]},
    ...                   serve=dict(model="llama-3-8b", num_requests=500,
    ...                              input_len=("lognormal", 512, 1.0),
    ...                              output_len=("lognormal", 128, 1.0)),
    ...                   out="serving.jsonl")
    >>> llmsim.plot.latency_throughput(df, "latency.png")

The sweep machinery (executors, the out file, resuming, record validation) is sweeps.py's;
this module builds the tasks of serving points and their records.

A point's keys: SERVE_OPTIONS ("rate", "num_requests", "input_len", "model", "cost", ...) go
to serve(), replacing the sweep's `serve` dict; any other key is a dotted config path, applied
as an override after the sweep's `overrides` (the scheduler's "serving.max_num_seqs",
"serving.max_num_batched_tokens", "serving.block_size", and every arch key).

A serving record is a sweep record (sweeps.py's docstring) with "kind": "serve" and METRICS
in place of the run metrics:

    {"id": ..., "point": {"rate": 4}, "kind": "serve", "status": "ok", "error": null,
     "error_type": null, "ttft_p50_ms": ..., ..., "max_approx_error": 0.012,
     "wall_seconds": 9.1, "stats": {<extra_stats path into summary.json>: value},
     "worker": "host:pid"}

Latencies in ms (the p50, p90 and p99 of TTFT, TPOT and end-to-end latency over the requests),
throughputs per second of simulated time, energy per output token in uJ, max_approx_error the
largest |error| of the table cost's checked iterations (null with cost "exact" or no checks),
wall_seconds the host time of the point.
"""

import collections.abc
import hashlib
import json
import os
import socket

# serve() options a point or the sweep's `serve` dict may give (timeline and log are not
# sweep options: every point would write the same file).
SERVE_OPTIONS = ("arch", "model", "requests", "rate", "num_requests", "input_len",
                 "output_len", "seed", "dtype", "cost", "calibration_layers",
                 "check_iterations", "check_seed", "slo_ttft_ms", "slo_tpot_ms")
# serve()'s defaults, written into every task so that a point's id does not depend on whether
# a default was spelled out.
_DEFAULTS = {"seed": 0, "dtype": "bf16", "cost": "table"}
_LENGTHS = ("input_len", "output_len")

# The metrics of a serving record, in DataFrame column order, with their source in
# summary.json (a path, and a scale) or the ServeResult.
METRICS = ("ttft_p50_ms", "ttft_p90_ms", "ttft_p99_ms", "tpot_p50_ms", "tpot_p90_ms",
           "tpot_p99_ms", "e2e_p50_ms", "e2e_p90_ms", "e2e_p99_ms", "output_tokens_per_s",
           "total_tokens_per_s", "requests_per_s", "goodput_requests_per_s",
           "energy_per_output_token_uj", "num_iterations", "preemptions", "max_approx_error",
           "wall_seconds")
# The METRICS that are counts (integers), and those that may be null in an "ok" record.
COUNT_METRICS = ("num_iterations", "preemptions")
NULLABLE_METRICS = ("max_approx_error",)
KIND = "serve"


def metrics_of(summary):
    """The METRICS of a run, from its summary.json document."""
    out = {}
    for name in ("ttft", "tpot", "e2e"):
        for q in ("p50", "p90", "p99"):
            out[f"{name}_{q}_ms"] = summary[f"{name}_ns"][q] / 1e6
    out.update(output_tokens_per_s=summary["output_tokens_per_s"],
               total_tokens_per_s=summary["total_tokens_per_s"],
               requests_per_s=summary["requests_per_s"],
               goodput_requests_per_s=summary["slo"]["goodput_requests_per_s"],
               energy_per_output_token_uj=summary["energy"]["per_output_token_pj"] / 1e6,
               num_iterations=summary["num_iterations"], preemptions=summary["preemptions"],
               max_approx_error=summary["cost"]["max_abs_error"],
               wall_seconds=summary["cost"]["wall_seconds"])
    return out


def check_base(serve, model, run_options):
    """The sweep's `serve` dict with model= folded in, checked: TypeError naming the key for
    an unknown option, a run()-only option given to sweep() (its run_options that differ from
    run()'s defaults), or model given twice."""
    if not isinstance(serve, collections.abc.Mapping):
        raise TypeError(f"serve must be a dict of serve() options, got {type(serve).__name__}")
    base = dict(serve)
    for key in base:
        if key not in SERVE_OPTIONS:
            raise TypeError(f"serve[{key!r}]: not a serve() option of a sweep (one of "
                            f"{', '.join(SERVE_OPTIONS)}); config keys go in the grid or in "
                            "overrides")
    for key, given in run_options.items():
        if given:
            raise TypeError(f"{key}: a run() option; a serving sweep (serve=) takes serve() "
                            f"options ({', '.join(SERVE_OPTIONS)}) in serve= or the grid")
    if model is not None:
        if "model" in base:
            raise TypeError("model given twice: as sweep(model=) and in serve=")
        base["model"] = model
    return base


def _normal(key, value):
    """A value as the task carries it: paths as str, a DataFrame or list of requests as a list
    of triples (so it pickles small and hashes canonically), a length in its JSON form.
    A value serve() will refuse is kept as it is (the point's record then says "error")."""
    from . import serving

    if isinstance(value, os.PathLike):
        return os.fspath(value)
    try:
        if key == "requests" and value is not None and not isinstance(value, str):
            return [list(t) for t in serving.request_list(value)]
        if key in _LENGTHS and value is not None:
            return serving.length_spec(value, key)
    except (TypeError, ValueError):
        return value
    return value


def make_task(point, arch, base, base_overrides, extra_stats):
    """The task of one serving point: serve() arguments, override strings and the point's id
    (a hash of "kind": "serve", the arguments, files by content, and the override list)."""
    from .sweeps import _canonical, _executable, _file_identity, _json_text

    args = dict(_DEFAULTS, arch=arch)
    args.update(base)
    config = {}
    for key, value in point.items():
        if key in SERVE_OPTIONS:
            args[key] = value
            if key == "requests":  # a point's trace replaces the generator
                for g in ("rate", "num_requests", "input_len", "output_len"):
                    if g not in point:
                        args.pop(g, None)
            elif key in ("rate", "num_requests", "input_len", "output_len") and \
                    "requests" not in point:
                args.pop("requests", None)
        else:
            config[key] = value
    args = {k: _normal(k, v) for k, v in args.items()}
    overrides = list(base_overrides) + [
        f"{k}={_json_text(config[k], k)}" for k in sorted(config)]
    identity = {k: (_file_identity(v) if k in ("arch", "model", "requests") else v)
                for k, v in args.items()}
    identity["kind"] = KIND
    identity["overrides"] = overrides
    for k, v in identity.items():
        _json_text(v, k)
    point_id = hashlib.sha256(_canonical(identity).encode()).hexdigest()[:16]
    for key in ("arch", "model", "requests"):
        if key in args:
            args[key] = _executable(args[key])
    return {"id": point_id, "point": json.loads(_canonical(point)), "kind": KIND, "args": args,
            "overrides": overrides, "extra_stats": list(extra_stats)}


def _record(task, **fields):
    from .sweeps import _record as record
    return record(task, METRICS, kind=KIND, **fields)


def run_point(task):
    """Runs one serving point and returns its record; never raises for an error of the run
    (the record says status "error"). Module-level, so executors pickle it by reference."""
    from .serving import serve
    from .sweeps import _lookup

    worker = f"{socket.gethostname()}:{os.getpid()}"
    args = dict(task["args"])
    arch, model = args.pop("arch"), args.pop("model", None)
    for key in _LENGTHS:  # the JSON form back to a tuple serve() takes
        v = args.get(key)
        if isinstance(v, dict) and "dist" in v:
            args[key] = _length_tuple(v)
    if isinstance(args.get("requests"), list):
        args["requests"] = [tuple(t) for t in args["requests"]]
    try:
        if model is None:
            raise TypeError("serve(): model is required (give it in serve= or the grid)")
        r = serve(arch, model, overrides=task["overrides"], **args)
    except Exception as e:  # noqa: BLE001 - every failure of a point is recorded, not raised
        return _record(task, status="error", error=str(e) or repr(e),
                       error_type=type(e).__name__, worker=worker)
    stats = {p: _lookup(r.summary, p) for p in task["extra_stats"]}
    return _record(task, worker=worker, stats=stats, **metrics_of(r.summary))


def _length_tuple(d):
    if d["dist"] == "fixed":
        return d["value"]
    if d["dist"] == "uniform":
        return ("uniform", d["lo"], d["hi"])
    return ("lognormal", d["mean"], d["sigma"]) + ((d["max"],) if "max" in d else ())
