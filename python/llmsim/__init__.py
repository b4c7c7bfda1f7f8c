"""llmsim: a cycle-accurate simulator of an LLM inference ASIC, from Python.

    >>> import llmsim
    >>> r = llmsim.run("edge", workload="gemm1024", overrides={"core.systolic.rows": 64})
    >>> r.total_cycles, r.energy_pj, r.stats["chip"]["core0"]["systolic"]["macs"]
    >>> r.per_op, r.per_layer                      # pandas DataFrames
    >>> df = llmsim.sweep("edge", {"core.systolic.rows": [16, 32, 64]}, workload="mlp",
    ...                   out="sweep.jsonl")       # one row per point; resumes from sweep.jsonl
    >>> s = llmsim.serve("datacenter", "gpt2", rate=200, num_requests=8, input_len=64,
    ...                  output_len=8)             # serving: s.ttft_p99_ms, s.requests, ...

Errors in a config, a workload or an override raise ValueError with the message the CLI
prints after "error: "; a broken simulator invariant (a bug) raises RuntimeError.
Simulations in one process run one at a time (the SystemC kernel is not thread-safe); the GIL
is released while one runs. Each simulation gets a fresh SystemC context, so one process may
run many (tests/python/test_run.py proves they equal runs in fresh processes).
"""

import collections.abc as _abc
import os as _os

# The SystemC banner is printed when the first kernel context is made. The extension sets this
# too; setting it before the shared library loads covers a banner printed at load time.
_os.environ.setdefault("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1")

from . import _llmsim  # noqa: E402
from .result import Result  # noqa: E402
from .serving import ServeResult, serve  # noqa: E402
from .sweeps import grid_points, read_sweep, sweep  # noqa: E402

__all__ = ["run", "serve", "ServeResult", "sweep", "grid_points", "read_sweep", "Result", "validate", "trace",
           "check_trace", "export_fx", "write_params", "presets", "workloads", "models"]

# The trace options of run() with their defaults; they apply to model= only.
_TRACE_DEFAULTS = {"seq": None, "batch": 1, "phase": "prefill", "kv_len": None, "dtype": "int8"}


def run(arch, model=None, *, workload=None, seq=None, batch=1, phase="prefill", kv_len=None,
        dtype="int8", overrides=None, mapping="auto", split=None, fusion=None, weights=None,
        tiles=None, timeline=None, timeline_max_events=None, values=False, values_seed=None,
        params=None, tokens=None, values_keep="all"):
    """Simulates a model or a workload on an architecture.

    Args:
      arch: a preset name (see presets()), a path to an arch JSON file, or the arch config as
        a dict (the same document as a JSON file, e.g. json.load of configs/edge.json).
      model: a bundled model name (see models()), a path to a Hugging Face config.json, or such
        a config as a dict. run() builds its layer trace with trace(model, batch, seq, phase,
        kv_len, dtype) and simulates that.
      workload: instead of model: a bundled workload name (see workloads()), a path to a
        workload JSON file, or a dict {"ops": [...]} in the layer trace format (docs/workloads.md),
        e.g. from trace() or export_fx(). Exactly one of model and workload.
      seq, batch, phase, kv_len, dtype: the trace options (see trace()); model= only.
      overrides: None, a dict {"core.systolic.rows": 64, ...} whose values are JSON-encoded,
        or a list of "path.to.key=value" strings as given to the CLI's --set. Applied in order
        to the arch config before it is checked.
      mapping, split, fusion, weights: the CLI's --mapping ("auto" or "fixed"), --split
        (None, or "tiles", "rows", "cols", "batch" for every matmul), --fusion (None: on with
        auto, off with fixed; True or False) and --weights (None: "tiled" with auto,
        "row_major" with fixed): docs/isa.md, "Mapping" and "Epilogue fusion".
      tiles: None, or "MxKxN" as the CLI's --tiles: every matmul's tile sizes (at most its
        own); the search then chooses residency, dataflow, split and cores.
      values: True runs in value mode (docs/values.md): the programs compute real numbers on
        seeded weights and inputs, with the same cycles; the Result then has .values (each
        op's output) and .tensors (the external operands).
      values_seed: the seed of those weights and inputs (default 0); values=True only.
      values_keep: values=True only: "all" (default) keeps each op's output and the external
        operands for .values and .tensors; "none" keeps neither (.values and .tensors None):
        the run still computes every value at the same cycles, in far less memory for a large
        workload (the CLI's --values-keep).
      params: values=True only: the parameter arrays the trace names (its ops' "params", as
        export_fx writes them: docs/workloads.md), laid into DRAM where the lowering placed
        them: a state dict (module.state_dict(), or any mapping of names to torch tensors or
        NumPy arrays), or the path of a directory written by write_params() (as the CLI's
        --values-params). Every name the trace gives must be there with the shape the op
        expects (else ValueError naming the tensor, the op and the expected shape); the
        tensors without a name keep the seeded values; extra entries are ignored.
      tokens: the token ids of the first embedding op (the CLI's --tokens): a sequence of ints,
        a NumPy array or a torch tensor (flattened, row-major: batch x seq ids), each below the
        vocab; they set the gather's addresses, so they apply without values too. None: a
        fixed hash of the position.
      timeline: None, or a path (str or os.PathLike) to write the run's timeline to, as the
        CLI's --timeline: Chrome trace-event JSON that ui.perfetto.dev opens (docs/stats.md,
        "Timeline").
      timeline_max_events: the cap of timeline spans (default 1,000,000); past it the
        recording stops, the file says so, and run() warns (RuntimeWarning).

    Returns:
      A Result: .total_cycles, .seconds, .energy_pj, .stats (the stats.json document, nested
      dicts), .config, .ops, .per_op and .per_layer (pandas DataFrames), .trace,
      .wall_seconds; see llmsim.Result.

    Raises:
      ValueError: the arch, model, workload or overrides are wrong (the message names the key
        path, as the CLI's), or the workload has an op the target cannot run (the message
        names the op: "ops[0] 'fc' (matmul): dtype fp16 is not supported by the systolic
        array (core.systolic.dtypes)").
      ValueError: an argument's value is out of range: an int outside [1, 2^64 - 1] (kv_len
        [0, 2^64 - 1]), an empty str or one with a NUL character; the message names the
        argument and the allowed range ("batch: must be an integer in [1,
        18446744073709551615], got 1180591620717411303424").
      TypeError: an argument has the wrong type (a float or bool where an int is expected,
        None where a str is), naming the argument; or not exactly one of model and workload.
      RuntimeError: a simulator invariant broke (a bug).
    """
    if (model is None) == (workload is None):
        raise TypeError("run() takes exactly one of model= and workload=")
    tokens = _token_list(tokens)
    if params is not None and values is not True:
        raise TypeError("params: needs values=True")
    if params is not None and not isinstance(params, (str, _os.PathLike)):
        import tempfile

        with tempfile.TemporaryDirectory(prefix="llmsim-params-") as tmp:
            write_params(params, tmp)
            return _run(arch, model, workload, seq, batch, phase, kv_len, dtype, overrides,
                        mapping, split, fusion, weights, tiles, timeline, timeline_max_events,
                        values, values_seed, tokens, tmp, "params", values_keep)
    if params is not None:
        params = _os.fspath(params)
        return _run(arch, model, workload, seq, batch, phase, kv_len, dtype, overrides, mapping,
                    split, fusion, weights, tiles, timeline, timeline_max_events, values,
                    values_seed, tokens, params, f"params {params}", values_keep)
    return _run(arch, model, workload, seq, batch, phase, kv_len, dtype, overrides, mapping,
                split, fusion, weights, tiles, timeline, timeline_max_events, values,
                values_seed, tokens, None, None, values_keep)


def _token_list(tokens):
    """tokens as a list (a tensor or array flattened row-major), or None."""
    if tokens is None or isinstance(tokens, (str, bytes)):
        return tokens
    if hasattr(tokens, "tolist") and hasattr(tokens, "reshape"):
        kind = getattr(getattr(tokens, "dtype", None), "kind", None)
        if kind is not None and kind not in "iub":
            raise TypeError(f"tokens: must hold integers, got an array of {tokens.dtype}")
        if hasattr(tokens, "is_floating_point") and \
                (tokens.is_floating_point() or tokens.is_complex()):
            raise TypeError(f"tokens: must hold integers, got a tensor of {tokens.dtype}")
        return tokens.reshape(-1).tolist()
    return tokens


def write_params(params, directory):
    """Writes a state dict (module.state_dict(), or a mapping of names to torch tensors or
    NumPy arrays) as a parameter directory for `llmsim run --values --values-params DIR` and
    run(params=DIR): one float .npy file per entry (NNNNN.npy, in order; bf16 and other float
    dtypes as float32, integers and bools as they are) and DIR/index.json,
    {"params": {name: file}}. Creates the directory if missing. TypeError naming the entry
    for a key that is not a str or a value that is not an array."""
    import json

    import numpy as np

    if not isinstance(params, _abc.Mapping):
        raise TypeError("params must be a mapping of names to arrays (e.g. module.state_dict())"
                        f" or a directory path, got {type(params).__name__}")
    _os.makedirs(directory, exist_ok=True)
    index = {}
    for i, (name, value) in enumerate(params.items()):
        if not isinstance(name, str):
            raise TypeError(f"params: key {name!r} must be a str (a state-dict name)")
        if hasattr(value, "detach"):  # a torch tensor
            value = value.detach().cpu()
            if value.is_floating_point() and value.element_size() < 4 or \
                    str(value.dtype) == "torch.bfloat16":
                value = value.float()
            value = value.numpy()
        if not isinstance(value, np.ndarray):
            raise TypeError(f"params[{name!r}]: must be a torch tensor or a NumPy array, got "
                            f"{type(value).__name__}")
        file = f"{i:05d}.npy"
        np.save(_os.path.join(directory, file), np.ascontiguousarray(value))
        index[name] = file
    with open(_os.path.join(directory, "index.json"), "w") as f:
        json.dump({"params": index}, f, indent=1)
        f.write("\n")


def _run(arch, model, workload, seq, batch, phase, kv_len, dtype, overrides, mapping, split,
         fusion, weights, tiles, timeline, timeline_max_events, values, values_seed, tokens,
         params_dir, params_label, values_keep):
    if model is not None:
        try:
            built = _llmsim.trace(model, batch, seq, phase, kv_len, dtype)
        except ValueError as e:
            if isinstance(model, str) and model in _llmsim.workloads() \
                    and model not in _llmsim.models():
                raise ValueError(f"{e} (\"{model}\" is a bundled workload: "
                                 f"run(arch, workload=\"{model}\"))") from None
            raise
        return Result(_llmsim.run(arch, built, overrides, timeline, timeline_max_events,
                                  mapping, split, fusion, weights, tiles, values, values_seed,
                                  tokens, params_dir, params_label, values_keep),
                      trace=built)
    given = {"seq": seq, "batch": batch, "phase": phase, "kv_len": kv_len, "dtype": dtype}
    stray = [k for k, v in given.items() if v != _TRACE_DEFAULTS[k]]
    if stray:
        raise TypeError(f"{', '.join(stray)}: trace options apply to model= only (a workload "
                        "carries its own shapes)")
    raw = _llmsim.run(arch, workload, overrides, timeline, timeline_max_events, mapping, split,
                      fusion, weights, tiles, values, values_seed, tokens, params_dir,
                      params_label, values_keep)
    if isinstance(workload, _abc.Mapping):
        return Result(raw, trace=workload)
    return Result(raw, workload=workload)


def validate(arch, overrides=None):
    """Checks an arch config without simulating and returns it resolved (a dict with every
    default written out), like `llmsim validate`. Arguments as for run(); raises ValueError
    naming the offending key path."""
    return _llmsim.validate(arch, overrides)


def trace(model, batch=1, seq=None, phase="prefill", kv_len=None, dtype="int8"):
    """The layer trace of a transformer, like `llmsim trace`, as a dict in the trace format
    (docs/workloads.md, "Layer trace format"); run() accepts it as its workload.

    Args:
      model: a bundled model name (see models()), a path to a Hugging Face config.json, or
        such a config as a dict.
      batch: sequences.
      seq: tokens per sequence; prefill: default 128; decode: 1 (the default; one new token).
      phase: "prefill" or "decode" (decoders only).
      kv_len: decode: tokens already in the KV cache per sequence (required, >= 1).
      dtype: of every op: "int8" (default), "fp16", "bf16" or "fp32".

    Raises:
      ValueError: the model config or the options are wrong (the message names the key).
    """
    return _llmsim.trace(model, batch, seq, phase, kv_len, dtype)


def check_trace(trace):
    """Validates a trace (a dict, a path or a bundled workload name) as run() would read it
    and returns it with every default written out; raises ValueError naming the op and key."""
    return _llmsim.check_trace(trace)


def export_fx(module, example_inputs, dtype="int8", model=None, out=None):
    """Traces a torch.nn.Module with torch.fx into the trace format; see
    llmsim.fx_export.export_fx. Imports torch on first use."""
    from .fx_export import export_fx as _export_fx

    return _export_fx(module, example_inputs, dtype=dtype, model=model, out=out)


def models():
    """Names of the bundled models (workloads/models/*.json), sorted."""
    return _llmsim.models()


def presets():
    """Names of the architecture presets (configs/*.json), sorted."""
    return _llmsim.presets()


def workloads():
    """Names of the bundled workloads (workloads/gemm/*.json), sorted."""
    return _llmsim.workloads()
