"""Pictures of runs and sweeps, drawn with matplotlib (Agg, no display) and saved as PNG.

    >>> import llmsim, llmsim.plot as lp
    >>> r = llmsim.run("datacenter", model="bert-base-uncased", seq=128)
    >>> lp.layer_breakdown(r, "layers.png")     # or a run directory of `llmsim run --out`
    >>> lp.roofline(r, "roofline.png")
    >>> df = llmsim.sweep("edge", grid, workload="mlp")
    >>> lp.heatmap(df, "core.systolic.rows", "core.scratchpad.capacity_bytes", "seconds", "h.png")
    >>> lp.pareto(df, "seconds", "energy_pj", "pareto.png")
    >>> df = llmsim.sweep("datacenter", {"rate": [1, 2, 4]}, serve=dict(model="gpt2", ...))
    >>> lp.latency_throughput(df, "latency.png")   # p99 TTFT and TPOT against tokens/s

Every function returns the path it wrote. A run is an llmsim.Result, the dict run() used to
return, or a run directory (stats.json and config.json, as `llmsim run --out DIR` writes).

The cycle breakdown: the driver classifies every core cycle of a layer's span as compute (the
systolic array or vector unit busy), memory stall (no unit busy, a DMA block of the core in
flight) or sync (neither: waiting at a barrier or idle), and reports core-cycles summed over the
cores that ran the layer (stats.json "layers": cores, compute_cycles, memory_stall_cycles,
sync_cycles). layer_breakdown divides them by the cores, so each bar is the layer's span.
"""

import json
import math
import pathlib

BREAKDOWN = (("compute_cycles", "compute", "#4c72b0"),
             ("memory_stall_cycles", "memory stall", "#dd8452"),
             ("sync_cycles", "sync", "#8c8c8c"))


class RunData:
    """What the plots need of one run: totals (the stats.json document), ops, layers, config."""

    def __init__(self, stats, ops, layers, config, name):
        self.stats, self.ops, self.layers, self.config, self.name = (stats, ops, layers,
                                                                     config, name)

    @property
    def clock_hz(self):
        return self.stats["core_clock_mhz"] * 1e6

    @property
    def peak_macs_per_cycle(self):
        core = self.config["core"]["systolic"]
        return self.config.get("num_cores", 1) * core["rows"] * core["cols"]


class RunFileError(ValueError):
    """A file of a run directory is not what `llmsim run --out` writes: the message is
    "PATH: what is wrong" (the key path, the value and what is allowed)."""


def _read_json(path):
    try:
        data = path.read_bytes()
    except OSError as e:
        raise RunFileError(f"{path}: cannot be read ({e.strerror})") from None
    try:
        return json.loads(data)
    except UnicodeDecodeError:
        raise RunFileError(f"{path}: not UTF-8 text (a corrupt file?)") from None
    except RecursionError:
        raise RunFileError(f"{path}: not valid JSON (nested too deeply)") from None
    except ValueError as e:
        raise RunFileError(f"{path}: not valid JSON ({e})") from None


def _is_number(v):
    return type(v) in (int, float) and math.isfinite(v)


_MISSING = object()


def _need(ok, path, key, value, allowed):
    if ok:
        return
    if value is _MISSING:
        raise RunFileError(f"{path}: {key}: missing (must be {allowed})")
    shown = json.dumps(value, allow_nan=True, default=str)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    raise RunFileError(f"{path}: {key}: must be {allowed}, got {shown}")


def _top_level(doc, path, what):
    if not isinstance(doc, dict):
        raise RunFileError(f"{path}: must be a JSON object ({what}), got a "
                           f"{type(doc).__name__}")


def _check_stats(stats, path):
    """The parts of stats.json the report and the plots read, checked: RunFileError naming the
    key path otherwise (never a KeyError or TypeError from deep inside a plot)."""
    _top_level(stats, path, "the stats document")
    for key in ("core_clock_mhz", "peak_bandwidth_gb_per_s"):
        v = stats.get(key, _MISSING)
        _need(_is_number(v) and v > 0, path, key, v, "a positive number")
    ops = stats.get("ops", [])
    _need(isinstance(ops, list), path, "ops", ops, "a list of op records")
    for i, op in enumerate(ops):
        _need(isinstance(op, dict), path, f"ops[{i}]", op, "an object")
        name = op.get("name", _MISSING)
        _need(isinstance(name, str), path, f"ops[{i}].name", name, "a str")
        for key in ("macs", "dram_read_bytes", "dram_written_bytes", "cycles"):
            v = op.get(key, _MISSING)
            _need(_is_number(v) and v >= 0, path, f"ops[{i}].{key}", v, "a number >= 0")
        if "fused_into" in op:
            v = op["fused_into"]
            _need(type(v) is int and 0 <= v < len(ops), path, f"ops[{i}].fused_into", v,
                  f"the index of an op (0 to {len(ops) - 1})")
    layers = stats.get("layers", [])
    _need(isinstance(layers, list), path, "layers", layers, "a list of layer records")
    for i, layer in enumerate(layers):
        _need(isinstance(layer, dict), path, f"layers[{i}]", layer, "an object")
        name = layer.get("name", _MISSING)
        _need(isinstance(name, str), path, f"layers[{i}].name", name, "a str")
        v = layer.get("cores", _MISSING)
        _need(type(v) is int and v >= 0, path, f"layers[{i}].cores", v, "an integer >= 0")
        for key, _, _ in BREAKDOWN:
            v = layer.get(key, _MISSING)
            _need(_is_number(v) and v >= 0, path, f"layers[{i}].{key}", v, "a number >= 0")


def _check_config(config, path):
    """The parts of config.json the plots read (the array size, the core count)."""
    _top_level(config, path, "the resolved arch config")
    core = config.get("core", _MISSING)
    _need(isinstance(core, dict), path, "core", core, "an object")
    systolic = core.get("systolic", _MISSING)
    _need(isinstance(systolic, dict), path, "core.systolic", systolic, "an object")
    for key in ("rows", "cols"):
        v = systolic.get(key, _MISSING)
        _need(type(v) is int and v > 0, path, f"core.systolic.{key}", v, "a positive integer")
    v = config.get("num_cores", 1)
    _need(type(v) is int and v > 0, path, "num_cores", v, "a positive integer")


def load_run(run):
    """A RunData from an llmsim.Result, its dict, or a run directory (str or Path).

    Raises FileNotFoundError naming the missing directory, stats.json or config.json, and
    RunFileError (a ValueError) "PATH: what is wrong" for a file that is not valid JSON or
    lacks what the plots read."""
    if isinstance(run, RunData):
        return run
    if isinstance(run, (str, pathlib.Path)):
        d = pathlib.Path(run)
        if not d.is_dir():
            raise FileNotFoundError(f"{d}: no such run directory")
        stats_path, config_path = d / "stats.json", d / "config.json"
        for path in (stats_path, config_path):
            if not path.is_file():
                raise FileNotFoundError(f"{path}: not found (a run directory is what "
                                        "`llmsim run ... --out DIR` writes)")
        stats = _read_json(stats_path)
        _check_stats(stats, stats_path)
        config = _read_json(config_path)
        _check_config(config, config_path)
        return RunData(stats, stats.get("ops", []), stats.get("layers", []), config,
                       f"{stats.get('workload')} on {stats.get('arch')}")
    stats = run.stats if hasattr(run, "stats") else run  # Result, else its dict
    ops = run.ops if hasattr(run, "ops") else run["ops"]
    config = run.config if hasattr(run, "config") else run["config"]
    return RunData(stats, ops, stats.get("layers", []), config,
                   f"{stats.get('workload')} on {stats.get('arch')}")


def _subplots(figsize):
    """A figure and its axes drawn by Agg into files only: matplotlib's object API, not pyplot,
    so no display is needed, the caller's pyplot backend and figures are left alone, and
    matplotlib is imported on the first plot (a report's input checks run without it)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    return fig, fig.subplots()


def _save(fig, path):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def layer_breakdown(run, path):
    """Stacked bars, one per layer: compute, memory stall and sync cycles per core (the
    core-cycles of stats.json "layers" over the cores that ran the layer), so that each bar is
    the layer's span in core cycles."""
    data = load_run(run)
    layers = [l for l in data.layers if l.get("cores")]
    fig, ax = _subplots((max(6.0, 0.45 * len(layers) + 2), 4.2))
    names = [l["name"] for l in layers]
    bottom = [0.0] * len(layers)
    for key, label, color in BREAKDOWN:
        heights = [l[key] / l["cores"] for l in layers]
        ax.bar(names, heights, bottom=bottom, label=label, color=color)
        bottom = [b + h for b, h in zip(bottom, heights)]
    ax.set_ylabel("cycles per core")
    ax.set_title(f"Cycle breakdown per layer: {data.name}")
    ax.tick_params(axis="x", labelrotation=60)
    ax.legend()
    return _save(fig, path)


def roofline_points(run):
    """(name, arithmetic intensity in ops/byte, achieved ops/s) of every op with MACs and DRAM
    traffic; ops = 2 x MACs, bytes = DRAM bytes read + written, time = the op's span."""
    data = load_run(run)
    points = []
    for op in data.ops:
        moved = op["dram_read_bytes"] + op["dram_written_bytes"]
        if op["macs"] > 0 and moved > 0 and op["cycles"] > 0:
            flops = 2 * op["macs"]
            points.append((op["name"], flops / moved, flops / (op["cycles"] / data.clock_hz)))
    return points


def roofline(run, path):
    """The ops of a run on the roofline of its config: arithmetic intensity (2 x MACs / DRAM
    bytes) against achieved ops/s, under the peak compute (2 x PEs of all cores x clock) and
    the peak DRAM bandwidth (stats peak_bandwidth_gb_per_s) lines."""
    data = load_run(run)
    points = roofline_points(data)
    peak_ops = 2 * data.peak_macs_per_cycle * data.clock_hz
    peak_bw = data.stats["peak_bandwidth_gb_per_s"] * 1e9
    ridge = peak_ops / peak_bw
    xs = [p[1] for p in points]
    lo = min(xs + [ridge]) / 4
    hi = max(xs + [ridge]) * 4
    fig, ax = _subplots((6.5, 4.5))
    grid = [lo * (hi / lo) ** (i / 200) for i in range(201)]
    ax.plot(grid, [min(peak_ops, peak_bw * x) for x in grid], color="black", lw=1.5,
            label=f"roofline: {peak_ops / 1e12:.3g} Tops/s, {peak_bw / 1e9:.4g} GB/s")
    ax.axvline(ridge, color="gray", ls=":", lw=1)
    if points:
        ax.scatter(xs, [p[2] for p in points], s=18, color="#c44e52", zorder=3, label="ops")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (ops / DRAM byte)")
    ax.set_ylabel("achieved ops / s")
    ax.set_title(f"Roofline: {data.name}")
    ax.legend(fontsize=8)
    return _save(fig, path)


def heatmap(df, x, y, value, path):
    """One cell per (x, y) of a sweep DataFrame, coloured and labelled by `value` (the mean
    where several rows share a cell; NaN cells, e.g. failed points, stay blank)."""
    table = df.pivot_table(index=y, columns=x, values=value, aggfunc="mean")
    fig, ax = _subplots((1.2 * len(table.columns) + 2.5, 0.8 * len(table.index) + 1.8))
    image = ax.imshow(table.to_numpy(dtype=float), cmap="viridis", aspect="auto",
                      origin="lower")
    ax.set_xticks(range(len(table.columns)), [str(c) for c in table.columns])
    ax.set_yticks(range(len(table.index)), [str(i) for i in table.index])
    for (i, j), v in _cells(table):
        if not math.isnan(v):  # dark text on the light end of the colour map
            color = "black" if image.norm(v) > 0.5 else "white"
            ax.text(j, i, f"{v:.3g}", ha="center", va="center", color=color, fontsize=8)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    fig.colorbar(image, ax=ax, label=value)
    return _save(fig, path)


def _cells(table):
    values = table.to_numpy(dtype=float)
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            yield (i, j), values[i, j]


def pareto_front(df, x="seconds", y="energy_pj"):
    """The rows of df that no other row dominates, both columns minimised: a row is dominated
    when another is <= on both and < on one (so exact twins both stay). Rows with NaN in x or y
    (failed points) are left out. Sorted by x, then y."""
    rows = df.dropna(subset=[x, y]).sort_values([x, y], kind="mergesort")
    keep = []
    best_y = math.inf  # the least y among rows of smaller x
    xs, ys = rows[x].to_numpy(), rows[y].to_numpy()
    i = 0
    while i < len(rows):
        j = i
        while j < len(rows) and xs[j] == xs[i]:
            j += 1
        # Rows i..j-1 share x and are sorted by y: only those with the least y can be kept,
        # and only if no row of smaller x is as good on y.
        least = ys[i]
        keep.extend(k for k in range(i, j) if ys[k] == least and least < best_y)
        best_y = min(best_y, least)
        i = j
    return rows.iloc[keep]


def pareto(df, x="seconds", y="energy_pj", path="pareto.png"):
    """Every point of a sweep DataFrame (x against y), with the Pareto front (pareto_front)
    marked and joined."""
    points = df.dropna(subset=[x, y])
    front = pareto_front(points, x, y)
    fig, ax = _subplots((6.5, 4.5))
    ax.scatter(points[x], points[y], s=20, color="#8c8c8c", label="design points")
    ax.plot(front[x], front[y], "-o", color="#c44e52", ms=6, label="Pareto front")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(f"Pareto front: {len(front)} of {len(points)} points")
    ax.legend()
    return _save(fig, path)


# The sweep frame's columns that are not grid keys (sweeps._frame: keys first, then these).
_NOT_KEYS = ("status", "error", "error_type", "id", "worker")


def _design_keys(df, design):
    """design as a list of columns: None -> the grid keys of a serving sweep frame (its
    columns before the first serving metric) other than "rate"."""
    from .serve_sweep import METRICS

    if design is None:
        keys = []
        for c in df.columns:
            if c in METRICS:
                break
            keys.append(c)
        return [k for k in keys if k != "rate" and k not in _NOT_KEYS]
    if isinstance(design, str):
        design = [design]
    design = list(design)
    for key in design:
        if key not in df.columns:
            raise ValueError(f"design: {key!r} is not a column of the sweep (its columns: "
                             f"{', '.join(map(str, df.columns))})")
    return design


def latency_throughput_lines(df, design=None):
    """The lines latency_throughput draws: [(label, rows)], a line per design in order of
    first appearance, its rows {"rate", "output_tokens_per_s", "ttft_p99_ms", "tpot_p99_ms"}
    ordered by rate (by throughput without a "rate" column; "rate" is then None). Rows whose
    status is not "ok" or that lack a value are left out. ValueError for a frame without the
    serving metrics or a design that names no column."""
    for col in ("output_tokens_per_s", "ttft_p99_ms", "tpot_p99_ms"):
        if col not in df.columns:
            raise ValueError(f"df: no column {col!r}; latency_throughput draws a serving sweep "
                             "(sweep(..., serve=...))")
    keys = _design_keys(df, design)
    order = "rate" if "rate" in df.columns else "output_tokens_per_s"
    rows = df[df["status"] == "ok"] if "status" in df.columns else df
    rows = rows.dropna(subset=["output_tokens_per_s", "ttft_p99_ms", "tpot_p99_ms"])
    if not len(rows):
        return []
    by = keys[0] if len(keys) == 1 else keys  # a one-key list warns in pandas 2
    groups = list(rows.groupby(by, sort=False, dropna=False)) if keys else [((), rows)]
    lines = []
    for name, group in groups:
        name = name if isinstance(name, tuple) else (name,)
        label = ", ".join(f"{k}={v}" for k, v in zip(keys, name)) or "all points"
        group = group.sort_values(order, kind="mergesort")
        points = [{"rate": float(g["rate"]) if order == "rate" else None,
                   "output_tokens_per_s": float(g["output_tokens_per_s"]),
                   "ttft_p99_ms": float(g["ttft_p99_ms"]),
                   "tpot_p99_ms": float(g["tpot_p99_ms"])} for _, g in group.iterrows()]
        lines.append((label, points))
    return lines


def latency_throughput(df, path, design=None):
    """Latency against throughput of a serving sweep (sweep(..., serve=...) or read_sweep):
    two panels, p99 TTFT and p99 TPOT in ms (log scale when they span more than a decade)
    against output tokens per second, one line per design, its points ordered by request rate
    and labelled with it (latency_throughput_lines). Points whose status is not "ok" are left out.

    design: the column(s) naming a design: None (default) takes every grid key but "rate"
      (the frame's columns before its first serving metric); a str or a list of column names.
      A line per distinct combination of their values.
    """
    from matplotlib.figure import Figure

    lines = latency_throughput_lines(df, design)
    fig = Figure(figsize=(11.5, 4.5))
    axes = fig.subplots(1, 2)
    for label, points in lines:
        x = [p["output_tokens_per_s"] for p in points]
        for ax, col in zip(axes, ("ttft_p99_ms", "tpot_p99_ms")):
            y = [p[col] for p in points]
            (line,) = ax.plot(x, y, "-o", ms=5, label=label)
            for p, xi, yi in zip(points, x, y):
                if p["rate"] is not None:
                    ax.annotate(f"{p['rate']:g}", (xi, yi), textcoords="offset points",
                                xytext=(4, 4), fontsize=7, color=line.get_color())
    labelled = any(p["rate"] is not None for _, points in lines for p in points)
    for ax, what, col in zip(axes, ("TTFT", "TPOT"), ("ttft_p99_ms", "tpot_p99_ms")):
        ax.set_xlabel("output tokens / s")
        ax.set_ylabel(f"p99 {what} (ms)")
        values = [p[col] for _, points in lines for p in points]
        if values and min(values) > 0 and max(values) > 10 * min(values):
            ax.set_yscale("log")  # latencies near saturation span decades
        ax.grid(True, which="both", alpha=0.3)
        ax.set_title(f"p99 {what} against throughput" +
                     (" (labels: requests / s)" if labelled else ""))
    if lines:
        axes[0].legend(fontsize=8)
    return _save(fig, path)
