"""One HTML page for a run directory: `llmsim report RUN_DIR` (the CLI runs this module), or

    python3 -m llmsim.report RUN_DIR

RUN_DIR is what `llmsim run ... --out RUN_DIR` writes (stats.json, config.json, ops.csv). The
page, RUN_DIR/report.html, holds the run totals of stats.json, the per-layer and per-op tables
and the plots of llmsim.plot (layer cycle breakdown, roofline). The plots are also written as
PNG files beside it (layer_breakdown.png, roofline.png) and inlined in the page as base64, so
report.html can be sent on its own. Exits 2 with one line `error: PATH: what is wrong` on
stderr for a missing directory, stats.json or config.json, a file that is not valid JSON or
lacks what the page shows (naming the key path), or a page that cannot be written.
"""

import base64
import html
import os
import pathlib
import sys

from . import plot

# The totals of stats.json shown in the summary, in this order (those present).
SUMMARY_KEYS = ("arch", "workload", "total_cycles", "seconds", "core_clock_mhz", "macs",
                "array_utilisation", "dram_read_bytes", "dram_written_bytes",
                "achieved_bandwidth_gb_per_s", "peak_bandwidth_gb_per_s", "row_hit_rate",
                "compute_bound_cycles", "memory_bound_cycles", "compulsory_bytes", "energy_pj")
LAYER_COLUMNS = ("name", "ops", "start_cycle", "end_cycle", "cycles", "cores", "compute_cycles",
                 "memory_stall_cycles", "sync_cycles", "utilisation", "macs", "dram_bytes",
                 "bound")
OP_COLUMNS = ("name", "layer", "kind", "shape", "start_cycle", "end_cycle", "cycles", "cores",
              "compute_cycles", "memory_stall_cycles", "sync_cycles", "utilisation", "macs",
              "dram_read_bytes", "dram_written_bytes", "fused_into")
PLOTS = (("layer_breakdown.png", "Cycle breakdown per layer", plot.layer_breakdown),
         ("roofline.png", "Roofline of the ops", plot.roofline))

STYLE = """body { font-family: sans-serif; margin: 2em; }
table { border-collapse: collapse; margin-bottom: 2em; font-size: 0.85em; }
td, th { border: 1px solid #ccc; padding: 2px 8px; text-align: right; }
th { background: #eee; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; display: block; margin-bottom: 2em; }"""


def _cell(value):
    if isinstance(value, float):
        return f"{value:.6g}"
    return html.escape(str(value))


def _table(rows, columns):
    columns = [c for c in columns if any(c in r for r in rows)]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "\n".join("<tr>" + "".join(f"<td>{_cell(r.get(c, ''))}</td>" for c in columns) +
                     "</tr>" for r in rows)
    return f"<table>\n<tr>{head}</tr>\n{body}\n</table>"


def _named_fusions(ops):
    """The op records with fused_into (an op index in stats.json) as the matmul's name."""
    return [dict(o, fused_into=ops[o["fused_into"]]["name"]) if "fused_into" in o else o
            for o in ops]


def write_report(run_dir):
    """Writes RUN_DIR/report.html and the plot PNGs beside it; returns the page's path.

    Raises FileNotFoundError naming the missing directory, stats.json or config.json, and
    llmsim.plot.RunFileError (a ValueError) naming a corrupt or wrongly shaped file."""
    run_dir = pathlib.Path(run_dir)
    data = plot.load_run(run_dir)
    summary = [{"key": k, "value": data.stats[k]} for k in SUMMARY_KEYS if k in data.stats]
    figures = []
    for name, title, draw in PLOTS:
        png = draw(data, run_dir / name)
        encoded = base64.b64encode(png.read_bytes()).decode("ascii")
        figures.append(f'<h2>{html.escape(title)}</h2>\n<a href="{name}">'
                       f'<img alt="{html.escape(title)}" src="data:image/png;base64,{encoded}">'
                       "</a>")
    title = f"llmsim report: {data.name}"
    page = "\n".join([
        "<!DOCTYPE html>", '<html><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Run directory: <code>{html.escape(str(run_dir))}</code></p>",
        "<h2>Summary</h2>", _table(summary, ("key", "value")),
        *figures,
        "<h2>Layers</h2>",
        "<p>cycles: the layer's span; compute, memory stall and sync cycles are core-cycles "
        "summed over the <i>cores</i> that ran it (they add up to cycles x cores).</p>",
        _table(data.layers, LAYER_COLUMNS),
        "<h2>Ops</h2>",
        "<p>fused_into: the matmul whose epilogue ran the op (docs/isa.md, \"Epilogue "
        "fusion\").</p>",
        _table(_named_fusions(data.ops), OP_COLUMNS),
        "</body></html>", ""])
    out = run_dir / "report.html"
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(page)
    os.replace(tmp, out)  # never a half-written page
    return out


def main(argv=None):
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0].startswith("-"):
        print("usage: llmsim report RUN_DIR  (a directory written by `llmsim run --out`)",
              file=sys.stderr)
        return 2
    try:
        out = write_report(args[0])
    except (FileNotFoundError, plot.RunFileError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # report.html or a PNG cannot be written
        print(f"error: {e.filename or args[0]}: cannot be written ({e.strerror})",
              file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
