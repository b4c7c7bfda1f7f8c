"""The object llmsim.run() returns: the stats of one simulation and pandas views of them.

Pandas is imported on first use of .per_op or .per_layer, so `import llmsim` stays light.
"""

import collections.abc

# Keys of the driver's result that are not part of the stats.json document.
_EXTRA_KEYS = ("ops", "config", "wall_seconds")

# per_layer takes these from the driver's layer records (stats "layers"): a layer's breakdown
# covers its span, which is not the sum of its ops' spans.
_LAYER_BREAKDOWN = ("cores", "compute_cycles", "memory_stall_cycles", "sync_cycles")

# per_layer sums these per_op columns (and every column ending in one of _SUMMED_SUFFIXES).
_SUMMED = ("cycles", "macs")
_SUMMED_SUFFIXES = ("_bytes", "_macs", "_energy_pj")


def _flatten(d, prefix=""):
    """{"tiling": {"mt": 4}} -> {"tiling.mt": 4}."""
    out = {}
    for key, value in d.items():
        if isinstance(value, dict):
            out.update(_flatten(value, prefix + key + "."))
        else:
            out[prefix + key] = value
    return out


class Result(collections.abc.Mapping):
    """One simulation's results.

    Attributes:
      total_cycles: core cycles from the start of the run to the end of its last op.
      seconds: total_cycles at the core clock.
      energy_pj: the chip's energy for the run in pJ, dynamic plus leakage, as the simulator
        totals it (stats["energy"]["total_pj"]; docs/stats.md, "Energy"). Units whose config gives
        no energies add nothing (the simple memory reports none); 0 when none does.
      energy_breakdown_pj: {unit: pJ}, the terms of energy_pj summed over cores
        (stats["energy"]["by_unit"]: "systolic", "scratchpad", "accumulator", "vector", "dma",
        "noc", "memory"). Before the energy model it was keyed by stat path.
      energy: the whole stats["energy"] object: total_pj, leakage_pj, by_unit,
        leakage_by_unit, average_power_w, and tokens and per_token_pj when the trace says
        how many tokens it processes.
      stats: the stats.json document the CLI writes with --out: run totals at the top level
        (total_cycles, seconds, macs, array_utilisation, dram_*_bytes, ...), "chip" (the stats
        tree, nested dicts), "stat_info" (unit and description of every stat), "arch",
        "workload".
      config: the resolved arch config (every default written out), as config.json.
      ops: one dict per simulated op, as the driver reports it.
      per_op: ops as a pandas DataFrame, one row per op, nested keys flattened with dots
        (tiling.mt, ...), plus "layer" and "op" (the kind) from the trace. compute_cycles,
        memory_stall_cycles and sync_cycles classify the cycles of the op's span on each of the
        `cores` that ran it, summed over them (they add up to cycles x cores).
      per_layer: per_op grouped by "layer", in order of first appearance: ops (count),
        start_cycle (min), end_cycle (max), span_cycles (end - start), cycles, macs and every
        *_bytes column summed, utilisation (macs / (span_cycles x peak MACs per cycle)), and
        the cycle breakdown of the layer's span from stats "layers": cores, compute_cycles,
        memory_stall_cycles, sync_cycles (core-cycles summed over the cores that ran it).
      trace: the trace that ran, when run() built it (model=) or was given it as a dict; else
        None.
      wall_seconds: host time of the simulation (the one field that varies between runs).
      values: with run(values=True), {op name: its output as a float32 array (rows, cols)},
        for every op whose output reached DRAM (docs/values.md), in op order; else None.
      tensors: with run(values=True), the external operands (weights, inputs, tables,
        caches) as the run filled them: a list of dicts {"op": index, "role": ..., "data":
        float32 array (rows, cols), row-major whatever the layout in DRAM}; else None.

    For code written against the dict run() returned before, a Result also reads as that
    dict: r["total_cycles"], r["chip"], r["ops"], r["config"], r["wall_seconds"]; to_dict()
    returns it.
    """

    def __init__(self, raw, trace=None, workload=None):
        """raw: the dict _llmsim.run returns; trace: the trace dict that ran, if known;
        workload: otherwise the workload name or path (read again for the layer names)."""
        raw = dict(raw)
        values, self.tensors = raw.pop("values", None), raw.pop("tensors", None)
        self.values = None if values is None else \
            {v["name"]: v["data"] for v in values if v["stored"]}
        self._raw = raw
        self.trace = trace
        self._workload = workload
        self.stats = {k: v for k, v in raw.items() if k not in _EXTRA_KEYS}
        self.config = raw["config"]
        self.ops = raw["ops"]
        self.wall_seconds = raw["wall_seconds"]
        self.total_cycles = raw["total_cycles"]
        self.seconds = raw["seconds"]
        self.energy = raw["energy"]
        self.energy_breakdown_pj = dict(self.energy["by_unit"])
        self.energy_pj = self.energy["total_pj"]
        self._per_op = None
        self._per_layer = None

    # The Mapping view of the raw dict.
    def __getitem__(self, key):
        return self._raw[key]

    def __iter__(self):
        return iter(self._raw)

    def __len__(self):
        return len(self._raw)

    def to_dict(self):
        """The dict run() returned before Result: the stats.json document plus "ops",
        "config" and "wall_seconds"."""
        return dict(self._raw)

    def __repr__(self):
        return (f"<llmsim.Result arch={self.stats.get('arch')!r} "
                f"workload={self.stats.get('workload')!r} total_cycles={self.total_cycles} "
                f"energy_pj={self.energy_pj:.6g}>")

    def _trace_ops(self):
        """The trace's ops with defaults written out (layer, op), or [] if unknown."""
        if self.trace is None and self._workload is not None:
            from . import _llmsim

            self.trace = _llmsim.check_trace(self._workload)
        return self.trace.get("ops", []) if self.trace else []

    @property
    def per_op(self):
        if self._per_op is None:
            import pandas as pd

            info = {op.get("name"): op for op in self._trace_ops()}
            rows = []
            for op in self.ops:
                row = _flatten(op)
                traced = info.get(row.get("name"), {})
                row.setdefault("op", traced.get("op"))
                row.setdefault("layer", traced.get("layer", row.get("name")))
                rows.append(row)
            df = pd.DataFrame(rows)
            first = [c for c in ("name", "op", "layer") if c in df.columns]
            self._per_op = df[first + [c for c in df.columns if c not in first]]
        return self._per_op.copy()

    def _peak_macs_per_cycle(self):
        core = self.config.get("core", {})
        systolic = core.get("systolic", {}) if isinstance(core, dict) else {}
        rows, cols = systolic.get("rows"), systolic.get("cols")
        if not (isinstance(rows, int) and isinstance(cols, int)):
            return None
        return self.config.get("num_cores", 1) * rows * cols

    @property
    def per_layer(self):
        if self._per_layer is None:
            import pandas as pd

            ops = self.per_op
            if ops.empty:
                self._per_layer = pd.DataFrame(columns=["layer", "ops"])
                return self._per_layer.copy()
            summed = [c for c in ops.columns
                      if c in _SUMMED or (c.endswith(_SUMMED_SUFFIXES) and
                                          pd.api.types.is_numeric_dtype(ops[c]))]
            agg = {"ops": ("name", "size")}
            if {"start_cycle", "end_cycle"} <= set(ops.columns):
                agg["start_cycle"] = ("start_cycle", "min")
                agg["end_cycle"] = ("end_cycle", "max")
            agg.update({c: (c, "sum") for c in summed})
            df = ops.groupby("layer", sort=False).agg(**agg).reset_index()
            if "end_cycle" in df.columns:
                df.insert(4, "span_cycles", df["end_cycle"] - df["start_cycle"])
            peak = self._peak_macs_per_cycle()
            if peak and "macs" in df.columns and "span_cycles" in df.columns:
                span = df["span_cycles"].where(df["span_cycles"] > 0)
                df["utilisation"] = (df["macs"] / (span * peak)).fillna(0.0)
            records = {l["name"]: l for l in self.stats.get("layers", [])}
            for c in _LAYER_BREAKDOWN:
                if all(c in records.get(name, {}) for name in df["layer"]):
                    df[c] = [records[name][c] for name in df["layer"]]
            self._per_layer = df
        return self._per_layer.copy()
