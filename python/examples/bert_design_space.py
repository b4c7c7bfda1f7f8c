"""A design-space sweep for BERT-base: systolic array size x scratchpad size x HBM generation,
on the datacenter preset (4 cores, 3 HBM stacks), ending in the Pareto front of latency and
energy.

    PYTHONPATH=build/python /usr/bin/python3 python/examples/bert_design_space.py --out out/dse
    ... --small                        # 4 points (CI runs this size)
    ... --scheduler tcp://host:8786    # on a Dask cluster (docs/python.md, "Past one machine: Dask")

Writes OUT/sweep.jsonl (one line per finished point; rerunning the same command resumes
there), OUT/results.csv (one row per point), OUT/pareto.csv (the points no other point
beats on both latency and energy), OUT/pareto.png (every point, the front marked) and
OUT/latency_heatmap.png (latency by array size and HBM generation, averaged over the
scratchpad sizes), and prints the front. Exits 1 if no point simulated.

Energy is llmsim.Result.energy_pj: every unit's dynamic and leakage energy (docs/stats.md, "Energy";
"Energy").
"""

import argparse
import itertools
import os
import pathlib
import sys

import llmsim
import llmsim.plot

ARRAYS = (32, 64, 128, 256)  # rows = cols
SCRATCHPADS_MIB = (2, 4, 8, 16)  # per core
HBM = ("HBM2", "HBM2E", "HBM3")
SMALL = {"arrays": (64, 128), "scratchpads_mib": (8,), "hbm": ("HBM2", "HBM3"), "seq": 32}
OBJECTIVES = ("seconds", "energy_pj")


def design_points(arrays, scratchpads_mib, hbm):
    """Irregular points (a list of dicts): rows and cols move together."""
    return [{"core.systolic.rows": a, "core.systolic.cols": a,
             "core.scratchpad.capacity_bytes": s << 20, "memory.device.preset": h}
            for a, s, h in itertools.product(arrays, scratchpads_mib, hbm)]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--arch", default="datacenter", help="preset or arch JSON (datacenter)")
    p.add_argument("--model", default="bert-base-uncased")
    p.add_argument("--seq", type=int, default=128, help="tokens per sequence (128)")
    p.add_argument("--workload", help="a workload instead of --model")
    p.add_argument("--small", action="store_true", help="4 points, seq 32: the CI size")
    p.add_argument("--out", default="out/bert_design_space", help="output folder")
    p.add_argument("--fresh", action="store_true", help="discard earlier results in --out")
    p.add_argument("--workers", type=int, help="local processes (default: every core)")
    p.add_argument("--scheduler", help="a Dask scheduler address, e.g. tcp://host:8786")
    args = p.parse_args(argv)

    if args.small:
        points = design_points(SMALL["arrays"], SMALL["scratchpads_mib"], SMALL["hbm"])
        args.seq = SMALL["seq"]
    else:
        points = design_points(ARRAYS, SCRATCHPADS_MIB, HBM)
    run = {"workload": args.workload} if args.workload else {"model": args.model,
                                                             "seq": args.seq}
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.fresh and (out / "sweep.jsonl").exists():
        os.remove(out / "sweep.jsonl")

    client = None
    if args.scheduler:
        from distributed import Client

        client = Client(args.scheduler)
    try:
        df = llmsim.sweep(args.arch, points, **run, out=out / "sweep.jsonl",
                          executor=client.get_executor() if client else None,
                          max_workers=args.workers)
    finally:
        if client is not None:
            client.close()
    df.to_csv(out / "results.csv", index=False)

    ok = df[df["status"] == "ok"]
    for _, row in df[df["status"] != "ok"].iterrows():
        print(f"point {row['id']} {row['status']}: {row['error']}", file=sys.stderr)
    if ok.empty:
        print("no point simulated", file=sys.stderr)
        return 1
    front = llmsim.plot.pareto_front(ok, *OBJECTIVES)
    front.to_csv(out / "pareto.csv", index=False)
    llmsim.plot.pareto(ok, *OBJECTIVES, path=out / "pareto.png")
    llmsim.plot.heatmap(ok, "core.systolic.rows", "memory.device.preset", "seconds",
                        out / "latency_heatmap.png")
    shown = [c for c in df.columns if c.startswith(("core.", "memory."))] + list(OBJECTIVES)
    print(f"{len(ok)} of {len(df)} points simulated; Pareto front of {', '.join(OBJECTIVES)}:")
    print(front[shown].to_string(index=False))
    print(f"results in {out}/ (results.csv, pareto.csv, pareto.png, latency_heatmap.png, "
          "sweep.jsonl)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
