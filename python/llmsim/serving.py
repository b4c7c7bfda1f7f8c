"""llmsim.serve (module llmsim.serving): many requests on one chip, as `llmsim serve` does.

    >>> import llmsim
    >>> r = llmsim.serve("datacenter", "gpt2", rate=200, num_requests=8, input_len=64,
    ...                  output_len=8)
    >>> r.ttft_p99_ms, r.tpot_p99_ms, r.output_tokens_per_s, r.max_approx_error
    >>> r.requests, r.iterations, r.tokens     # pandas DataFrames, the CSVs' columns

The scheduler, the cost modes and every metric are described in docs/serving.md; this module
only turns Python values into the simulator's and its results into DataFrames. Pandas is
imported on first use of a DataFrame property.
"""

import collections.abc
import math
import numbers
import os

from . import _llmsim

# Token counts of one request: [1, 2^24] (workloads/serving/request.h, kMaxTokens).
MAX_TOKENS = 1 << 24
MAX_REQUESTS = 10_000_000
# The request fields a list of dicts or a DataFrame must have (LLMServingSim's JSONL fields),
# and those it may have and llmsim ignores (its token ids, for prefix caching).
REQUEST_FIELDS = ("arrival_time_ns", "input_toks", "output_toks")
IGNORED_FIELDS = ("input_tok_ids", "output_tok_ids")
COSTS = ("table", "exact")

_LEN_FORMS = ('an int N, ("uniform", LO, HI), ("lognormal", MEAN, SIGMA[, MAX]) or the CLI\'s '
              'text "N", "uniform:LO:HI", "lognormal:MEAN:SIGMA[:MAX]"')


def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_real(v):
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _token_count(name, part, v, spec):
    """One token count of a length spec, an int in [1, MAX_TOKENS] (from the CLI's text, a
    decimal integer)."""
    shown = v if isinstance(v, str) else repr(v)
    if isinstance(v, str) and v.strip().isdigit():
        v = int(v)
    if not _is_int(v) or not 1 <= v <= MAX_TOKENS:
        raise ValueError(f"{name} {spec!r}: {part} {shown} must be an integer in "
                         f"[1, {MAX_TOKENS}] (tokens)")
    return int(v)


def _real(name, part, v, spec, lo, hi):
    shown = v if isinstance(v, str) else repr(v)
    if isinstance(v, str):
        try:
            v = float(v)
        except ValueError:
            pass
    if not _is_real(v) or not math.isfinite(v) or not lo <= v <= hi:
        raise ValueError(f"{name} {spec!r}: {part} {shown} must be a number in [{lo}, {hi}]")
    return float(v)


def length_spec(value, name="length"):
    """A request-length distribution as the generator's JSON form ({"dist": "fixed", "value":
    N}, {"dist": "uniform", "lo", "hi"} or {"dist": "lognormal", "mean", "sigma", "max"}).

    value: an int N (every request N tokens); ("uniform", LO, HI) (integers, both included);
      ("lognormal", MEAN, SIGMA[, MAX]) (mean of the lengths MEAN, SIGMA the standard
      deviation of their logarithm in [0, 4], clamped to [1, MAX]); or the CLI's text for
      --input-len: "N", "uniform:LO:HI", "lognormal:MEAN:SIGMA[:MAX]". Token counts are in
      [1, 2^24]. ValueError naming `name`, the value and the forms allowed otherwise.
    """
    spec = value
    if isinstance(value, str):
        parts = value.split(":")
        value = parts[0] if len(parts) == 1 else tuple(parts)
        if len(parts) == 1:
            return {"dist": "fixed", "value": _token_count(name, "N", value, spec)}
    if _is_int(value):
        return {"dist": "fixed", "value": _token_count(name, "N", value, spec)}
    if isinstance(value, collections.abc.Sequence) and value and not isinstance(value, bytes):
        kind, args = value[0], list(value[1:])
        if kind == "fixed" and len(args) == 1:
            return {"dist": "fixed", "value": _token_count(name, "N", args[0], spec)}
        if kind == "uniform" and len(args) == 2:
            lo = _token_count(name, "LO", args[0], spec)
            hi = _token_count(name, "HI", args[1], spec)
            if lo > hi:
                raise ValueError(f"{name} {spec!r}: LO {lo} must be at most HI {hi}")
            return {"dist": "uniform", "lo": lo, "hi": hi}
        if kind == "lognormal" and len(args) in (2, 3):
            out = {"dist": "lognormal",
                   "mean": _real(name, "MEAN", args[0], spec, 1, MAX_TOKENS),
                   "sigma": _real(name, "SIGMA", args[1], spec, 0, 4)}
            if len(args) == 3:
                out["max"] = _token_count(name, "MAX", args[2], spec)
            return out
    raise ValueError(f"{name} {spec!r}: must be {_LEN_FORMS}")


def _request_value(where, field, v):
    if not _is_int(v):
        raise TypeError(f"{where}: {field} must be an int, got {type(v).__name__} {v!r:.40}")
    low = 0 if field == "arrival_time_ns" else 1
    if v < low:
        raise ValueError(f"{where}: {field} must be an integer >= {low}, got {v}")
    return int(v)


def _check_fields(where, present):
    missing = [f for f in REQUEST_FIELDS if f not in present]
    if missing:
        raise ValueError(f"{where}: missing {', '.join(repr(m) for m in missing)} (each request "
                         f"needs {', '.join(REQUEST_FIELDS)})")
    extra = [f for f in present if f not in REQUEST_FIELDS + IGNORED_FIELDS]
    if extra:
        raise ValueError(f"{where}: unknown field {extra[0]!r} (a request has "
                         f"{', '.join(REQUEST_FIELDS)}; {', '.join(IGNORED_FIELDS)} are "
                         "ignored)")


def request_list(requests):
    """`requests` of serve() as what the simulator takes: a path (str), or a list of
    (arrival_ns, input_tokens, output_tokens) triples of ints. TypeError / ValueError naming
    the request and field otherwise."""
    if isinstance(requests, (str, os.PathLike)):
        return os.fsdecode(os.fspath(requests))
    if hasattr(requests, "columns") and hasattr(requests, "itertuples"):  # a DataFrame
        _check_fields("requests (DataFrame)", [str(c) for c in requests.columns])
        columns = [requests[f].tolist() for f in REQUEST_FIELDS]
        out = []
        for i, row in enumerate(zip(*columns)):
            out.append(tuple(_request_value(f"requests row {i}", f, v)
                             for f, v in zip(REQUEST_FIELDS, row)))
        return out
    if isinstance(requests, (bytes, collections.abc.Mapping)) or \
            not isinstance(requests, collections.abc.Iterable):
        raise TypeError("requests must be a path (.jsonl or .csv), a pandas DataFrame or a "
                        f"list of dicts with {', '.join(REQUEST_FIELDS)}, got "
                        f"{type(requests).__name__}")
    out = []
    for i, item in enumerate(requests):
        where = f"requests[{i}]"
        if isinstance(item, collections.abc.Mapping):
            _check_fields(where, list(item))
            out.append(tuple(_request_value(where, f, item[f]) for f in REQUEST_FIELDS))
        elif isinstance(item, collections.abc.Sequence) and not isinstance(item, (str, bytes)) \
                and len(item) == 3:
            out.append(tuple(_request_value(where, f, v) for f, v in zip(REQUEST_FIELDS, item)))
        else:
            raise TypeError(f"{where} must be a dict with {', '.join(REQUEST_FIELDS)} or a "
                            f"triple (arrival_ns, input_toks, output_toks), got "
                            f"{type(item).__name__}")
        if len(out) > MAX_REQUESTS:
            raise ValueError(f"requests: at most {MAX_REQUESTS} requests")
    if not out:
        raise ValueError("requests: empty (give at least one request)")
    return out


def generator_params(rate, num_requests, input_len, output_len, seed):
    """The generator's parameters, checked: ValueError / TypeError naming the argument."""
    given = {"rate": rate, "num_requests": num_requests, "input_len": input_len,
             "output_len": output_len}
    missing = [k for k, v in given.items() if v is None]
    if missing:
        raise TypeError(f"serve(): without requests=, {', '.join(missing)} must be given (the "
                        "generator needs rate, num_requests, input_len and output_len)")
    if not _is_real(rate):
        raise TypeError(f"rate must be a number (requests per second), got "
                        f"{type(rate).__name__}")
    if not math.isfinite(rate) or rate <= 0:
        raise ValueError(f"rate: must be a finite number > 0 (requests per second), got {rate!r}")
    if not _is_int(num_requests):
        raise TypeError(f"num_requests must be an int, got {type(num_requests).__name__}")
    if not 1 <= num_requests <= MAX_REQUESTS:
        raise ValueError(f"num_requests: must be an integer in [1, {MAX_REQUESTS}], got "
                         f"{num_requests}")
    if not _is_int(seed) or seed < 0 or seed >= 1 << 64:
        raise ValueError(f"seed: must be an integer in [0, 2^64 - 1], got {seed!r}")
    return {"rate_rps": float(rate), "num_requests": int(num_requests), "seed": int(seed),
            "input": length_spec(input_len, "input_len"),
            "output": length_spec(output_len, "output_len")}


def _ms_to_ns(value, name):
    if value is None:
        return None
    if not _is_real(value) or not math.isfinite(value) or not 0 < value <= 1e9:
        raise ValueError(f"{name}: must be a number of ms in (0, 1e9], got {value!r}")
    return float(value) * 1e6


def serve(arch, model, *, requests=None, rate=None, num_requests=None, input_len=None,
          output_len=None, seed=0, dtype="bf16", overrides=None, cost="table",
          calibration_layers=None, check_iterations=None, check_seed=None, slo_ttft_ms=None,
          slo_tpot_ms=None, timeline=None, log=None):
    """Serves a stream of requests on an architecture, as `llmsim serve` (docs/serving.md).

    Each iteration of the scheduler (continuous batching, chunked prefill, paged KV cache,
    preemption by recompute; the `serving` section of the arch config) runs on the chip as a
    workload; its time is simulated (cost="exact") or taken from calibrated tables
    (cost="table"), whose error against full simulation is measured on sampled iterations.

    Args:
      arch: a preset name (see presets()), a path to an arch JSON file, or the arch config as
        a dict, as for run().
      model: a bundled decoder model name (see models()), a path to a Hugging Face
        config.json, or such a config as a dict.
      requests: the requests, instead of the generator: a path to a trace (.jsonl with
        arrival_time_ns, input_toks, output_toks per line, or .csv with arrived_at (s),
        num_prefill_tokens, num_decode_tokens), a pandas DataFrame with columns
        arrival_time_ns, input_toks, output_toks, or a list of dicts with those keys (or of
        (arrival_ns, input_toks, output_toks) triples). Integers; arrivals not decreasing.
      rate, num_requests, input_len, output_len, seed: the generator, without requests=:
        Poisson arrivals at `rate` requests per second (> 0), `num_requests` of them (1 to
        10,000,000), lengths each an int N, ("uniform", LO, HI), ("lognormal", MEAN, SIGMA[,
        MAX]) or the CLI's text "N", "uniform:LO:HI", "lognormal:MEAN:SIGMA[:MAX]" (see
        length_spec), drawn with `seed` (default 0; equal seeds give equal lengths at any
        rate).
      dtype: of weights, activations and KV cache: "bf16" (default), "fp16", "int8", "fp32".
      overrides: config overrides as for run(), e.g. {"serving.max_num_seqs": 64}.
      cost: "table" (default: calibrated tables, the error checked) or "exact" (every
        distinct iteration simulated).
      calibration_layers: table only: layers of each calibration run (default 3, at most
        1024).
      check_iterations: table only: iterations drawn at random and simulated in full to
        measure the tables' error (default 2, at most 1000; 0: none).
      check_seed: table only: which iterations (default 0).
      slo_ttft_ms, slo_tpot_ms: the objectives for goodput (requests per second meeting every
        SLO given), in ms.
      timeline: None, or a path to write the iterations to as Chrome trace-event JSON
        (ui.perfetto.dev), as the CLI's --timeline.
      log: None, or a callable given each progress line (a str), e.g. print.

    Returns:
      A ServeResult: .summary (the summary.json document), .requests, .iterations, .tokens,
      .checks (pandas DataFrames), ttft_p99_ms, tpot_p99_ms, output_tokens_per_s,
      energy_per_output_token_uj, max_approx_error, wall_seconds; see llmsim.ServeResult.

    Raises:
      ValueError: a mistake in the arch, the model (an encoder has no KV cache), the
        overrides (e.g. "serving.max_num_seqs"), the requests (the message names the request
        or file:line and the field) or an argument's value (a bad length spec, cost, rate);
        the message is the CLI's where it has one.
      TypeError: an argument of the wrong type, naming it; requests= together with the
        generator's arguments, or the generator's arguments incomplete; calibration_layers,
        check_iterations or check_seed with cost="exact".
      RuntimeError: a simulator invariant broke (a bug).
    """
    generated = any(v is not None for v in (rate, num_requests, input_len, output_len))
    if requests is not None and (generated or seed != 0):
        raise TypeError("serve() takes requests= or the generator (rate, num_requests, "
                        "input_len, output_len, seed), not both")
    if not isinstance(cost, str):
        raise TypeError(f"cost must be a str, got {type(cost).__name__}")
    if cost not in COSTS:
        raise ValueError(f"cost: must be \"table\" or \"exact\", got {cost!r}")
    if cost == "exact":
        for name, v in (("calibration_layers", calibration_layers),
                        ("check_iterations", check_iterations), ("check_seed", check_seed)):
            if v is not None:
                raise TypeError(f"{name}: applies only with cost=\"table\"")
    if requests is not None:
        trace, generator = request_list(requests), None
    else:
        trace, generator = None, generator_params(rate, num_requests, input_len, output_len,
                                                  seed)
    raw = _llmsim.serve(arch, model, requests=trace, generator=generator, dtype=dtype,
                        overrides=overrides, cost=cost, calibration_layers=calibration_layers,
                        check_iterations=check_iterations, check_seed=check_seed,
                        slo_ttft_ns=_ms_to_ns(slo_ttft_ms, "slo_ttft_ms"),
                        slo_tpot_ns=_ms_to_ns(slo_tpot_ms, "slo_tpot_ms"), timeline=timeline,
                        log=log)
    return ServeResult(raw)


# Columns of ServeResult.checks: one sampled iteration costed both ways (summary.json
# "cost"."checks").
CHECK_COLUMNS = ("iteration", "seqs", "tokens", "table_cycles", "exact_cycles", "error",
                 "table_pj", "exact_pj", "energy_error")


class ServeResult:
    """One serving run's results (docs/serving.md for every metric's definition).

    Attributes:
      summary: the summary.json document `llmsim serve --out` writes: num_requests,
        num_iterations, duration_ns, input/output_tokens, output_tokens_per_s,
        total_tokens_per_s, requests_per_s, "slo" (the objectives, met, goodput), the
        distributions "ttft_ns", "tpot_ns", "itl_ns", "e2e_ns", "queueing_ns" (count, mean,
        p50, p90, p99, max), preemptions, batch and KV figures, "serving" (the scheduler's
        parameters, num_kv_blocks resolved), "energy", "cost" (mode, checks, max_abs_error,
        simulations, wall_seconds).
      requests: a DataFrame, one row per request, the columns of requests.csv: id,
        arrival_ns, input_tokens, output_tokens, first_scheduled_ns, first_token_ns,
        finish_ns, queueing_ns, ttft_ns, tpot_ns (NaN for one output token), e2e_ns,
        preemptions.
      tokens: a DataFrame, one row per output token, the columns of tokens.csv: request_id,
        token (from 0), time_ns.
      iterations: a DataFrame, one row per iteration, the columns of iterations.csv: index,
        start_ns, end_ns, num_seqs, num_tokens, num_prefill_tokens, num_decode_seqs,
        kv_blocks_used, num_preempted, num_waiting, cycles, energy_pj.
      checks: a DataFrame of the iterations costed both ways (cost="table"): CHECK_COLUMNS;
        error is table_cycles / exact_cycles - 1. Empty with cost="exact".
      ttft_p99_ms, tpot_p99_ms: the 99th percentiles in ms (tpot over requests of two or more
        output tokens; 0 when there are none).
      output_tokens_per_s: output tokens over the span from the first arrival to the last
        token.
      energy_per_output_token_uj: the iterations' energy over the output tokens, in uJ.
      max_approx_error: the largest |error| of the checks, None with cost="exact" or no
        checks.
      wall_seconds: host time of the run.
    """

    def __init__(self, raw):
        self.summary = raw["summary"]
        self._columns = {k: raw[k] for k in ("requests", "tokens", "iterations")}
        self._frames = {}

    def _frame(self, name):
        if name not in self._frames:
            import pandas as pd

            self._frames[name] = pd.DataFrame(self._columns[name])
        return self._frames[name]

    @property
    def requests(self):
        return self._frame("requests")

    @property
    def tokens(self):
        return self._frame("tokens")

    @property
    def iterations(self):
        return self._frame("iterations")

    @property
    def checks(self):
        import pandas as pd

        return pd.DataFrame(self.summary["cost"]["checks"], columns=list(CHECK_COLUMNS))

    @property
    def ttft_p99_ms(self):
        return self.summary["ttft_ns"]["p99"] / 1e6

    @property
    def tpot_p99_ms(self):
        return self.summary["tpot_ns"]["p99"] / 1e6

    @property
    def output_tokens_per_s(self):
        return self.summary["output_tokens_per_s"]

    @property
    def energy_per_output_token_uj(self):
        return self.summary["energy"]["per_output_token_pj"] / 1e6

    @property
    def max_approx_error(self):
        return self.summary["cost"]["max_abs_error"]

    @property
    def wall_seconds(self):
        return self.summary["cost"]["wall_seconds"]

    def __repr__(self):
        s = self.summary
        return (f"<ServeResult {s['model']} on {s['arch']}: {s['num_requests']} requests, "
                f"{s['num_iterations']} iterations, TTFT p99 {self.ttft_p99_ms:.4g} ms, TPOT p99 "
                f"{self.tpot_p99_ms:.4g} ms, {self.output_tokens_per_s:.4g} output tokens/s>")
