"""A serving sweep: Llama-3-8B on the datacenter preset, 500 requests with Poisson arrivals at
six rates and log-normal lengths (mean input 512, mean output 128), ending in the
latency-throughput plot (p99 TTFT and p99 TPOT against output tokens per second).

    PYTHONPATH=build/python /usr/bin/python3 python/examples/serving_sweep.py --out out/serving
    ... --max-num-seqs 64 256          # a second design: one line per scheduler cap
    ... --budgets 256 512              # or per token budget
    ... --model gpt2 --num-requests 6 --rates 100 200 --input-len 64 --output-len 8   # smoke

Writes OUT/sweep.jsonl (one line per finished point; rerunning the same command resumes
there), OUT/results.csv and OUT/latency_throughput.png, and prints the table. With one worker
(--workers 1, the default) the points share one calibration of the table cost (about 3 min on
two cores for Llama-3-8B at a token budget of 256), then each point's two checks take about
1.5 min (--check-iterations 0: about a second a point); each point prints its table cost's
measured error (max_approx_error). Exits 1 if no point finished.
"""

import argparse
import os
import pathlib
import sys

import llmsim
import llmsim.plot

RATES = (2, 3, 4, 5, 6, 7)  # requests per second: datacenter saturates near 7
COLUMNS = ("rate", "ttft_p50_ms", "ttft_p99_ms", "tpot_p50_ms", "tpot_p99_ms",
           "output_tokens_per_s", "requests_per_s", "energy_per_output_token_uj",
           "max_approx_error", "wall_seconds")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--arch", default="datacenter", help="preset or arch JSON (datacenter)")
    p.add_argument("--model", default="llama-3-8b", help="decoder model (llama-3-8b)")
    p.add_argument("--rates", type=float, nargs="+", default=list(RATES),
                   help=f"request rates, per second ({' '.join(map(str, RATES))})")
    p.add_argument("--num-requests", type=int, default=500, help="requests per point (500)")
    p.add_argument("--input-len", default="lognormal:512:1.0:4096",
                   help="prompt lengths, as llmsim serve --input-len (lognormal:512:1.0:4096)")
    p.add_argument("--output-len", default="lognormal:128:1.0:2048",
                   help="output lengths (lognormal:128:1.0:2048)")
    p.add_argument("--max-num-seqs", type=int, nargs="+",
                   help="designs: serving.max_num_seqs values (default: the preset's)")
    p.add_argument("--budgets", type=int, nargs="+",
                   help="designs: serving.max_num_batched_tokens values, the token budget of an "
                        "iteration (default: the preset's or --set's)")
    p.add_argument("--cost", default="table", choices=("table", "exact"))
    p.add_argument("--check-iterations", type=int, default=None,
                   help="table: iterations per point simulated in full to measure the error "
                        "(default 2)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="config override for every point (repeatable), e.g. "
                        "serving.max_num_batched_tokens=256")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="out/serving_sweep", help="output folder")
    p.add_argument("--fresh", action="store_true", help="discard earlier results in --out")
    p.add_argument("--workers", type=int, default=1,
                   help="points simulated at once (1: the machine stays usable)")
    args = p.parse_args(argv)

    grid = {"rate": args.rates}
    if args.max_num_seqs:
        grid["serving.max_num_seqs"] = args.max_num_seqs
    if args.budgets:
        grid["serving.max_num_batched_tokens"] = args.budgets
    serve = {"model": args.model, "num_requests": args.num_requests,
             "input_len": args.input_len, "output_len": args.output_len, "seed": args.seed,
             "cost": args.cost}
    if args.check_iterations is not None:
        serve["check_iterations"] = args.check_iterations
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.fresh and (out / "sweep.jsonl").exists():
        os.remove(out / "sweep.jsonl")

    df = llmsim.sweep(args.arch, grid, serve=serve, out=out / "sweep.jsonl",
                      overrides=args.set or None, max_workers=args.workers)
    df.to_csv(out / "results.csv", index=False)
    ok = df[df["status"] == "ok"]
    for _, row in df[df["status"] != "ok"].iterrows():
        print(f"point {dict((k, row[k]) for k in grid)}: {row['status']}: {row['error']}",
              file=sys.stderr)
    if ok.empty:
        print("no point finished", file=sys.stderr)
        return 1
    columns = [c for c in COLUMNS if c in ok.columns] + \
        [k for k in grid if k != "rate"]
    print(ok[columns].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    path = llmsim.plot.latency_throughput(df, out / "latency_throughput.png")
    print(f"wrote {out / 'sweep.jsonl'}, {out / 'results.csv'}, {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
