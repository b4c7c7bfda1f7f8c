"""llmsim: a cycle-accurate simulator of an LLM inference ASIC, from Python.

    >>> import llmsim
    >>> r = llmsim.run("edge", "gemm1024", {"core.systolic.rows": 64})
    >>> r["total_cycles"], r["chip"]["core0"]["systolic"]["macs"]

Errors in a config, a workload or an override raise ValueError with the message the CLI
prints after "error: "; a broken simulator invariant (a bug) raises RuntimeError.
Simulations in one process run one at a time (the SystemC kernel is not thread-safe); the GIL
is released while one runs.
"""

import os as _os

# The SystemC banner is printed when the first kernel context is made. The extension sets this
# too; setting it before the shared library loads covers a banner printed at load time.
_os.environ.setdefault("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1")

from . import _llmsim  # noqa: E402

__all__ = ["run", "validate", "trace", "check_trace", "export_fx", "presets", "workloads",
           "models"]


def run(arch, workload, overrides=None):
    """Simulates a workload on an architecture and returns the results as a dict.

    Args:
      arch: a preset name (see presets()), a path to an arch JSON file, or the arch config as
        a dict (the same document as a JSON file, e.g. json.load of configs/edge.json).
      workload: a bundled workload name (see workloads()), a path to a workload JSON file, or
        a dict {"ops": [...]} in the layer trace format (README.md), e.g. from trace() or
        export_fx(); run() lowers matmul ops only so far and names the first op it cannot run.
      overrides: None, a dict {"core.systolic.rows": 64, ...} whose values are JSON-encoded,
        or a list of "path.to.key=value" strings as given to the CLI's --set. Applied in order
        to the arch config before it is checked.

    Returns:
      The stats.json document the CLI writes with --out (total_cycles, seconds, macs, ...,
      "chip": the stats tree, "stat_info": units and descriptions), plus
      "ops": one dict per op (name, m, k, n, dtype, tiling {mt, kt, nt, estimate_cycles},
      start_cycle, end_cycle, cycles, macs, dram_read_bytes, dram_written_bytes,
      utilisation), "config": the resolved arch config (every default written out), and
      "wall_seconds": the host time the run took (the only field that varies between runs).
      For a dict arch or workload, "arch" / "workload" is "<dict>".

    Raises:
      ValueError: the arch, workload or overrides are wrong (the message names the key path).
      TypeError: an argument has the wrong type.
      RuntimeError: a simulator invariant broke (a bug).
    """
    return _llmsim.run(arch, workload, overrides)


def validate(arch, overrides=None):
    """Checks an arch config without simulating and returns it resolved (a dict with every
    default written out), like `llmsim validate`. Arguments as for run(); raises ValueError
    naming the offending key path."""
    return _llmsim.validate(arch, overrides)


def trace(model, batch=1, seq=None, phase="prefill", kv_len=None, dtype="int8"):
    """The layer trace of a transformer, like `llmsim trace`, as a dict in the trace format
    (README.md, "Layer trace format"); run() accepts it as its workload.

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
