#!/usr/bin/python3
"""Benchmark (issue 21): the wall time of BERT-base seq 128 on datacenter with `--values --check`
against the timing-only run's; the target is within 10x.

    /usr/bin/python3 bench/bench_values.py [--llmsim build/llmsim] [--pairs N]
                                           [--dtype int8 --dtype fp32 ...]

For each dtype (default int8, the CLI's default, then fp32), N pairs (default 3) of runs, each
pair a timing-only `llmsim run` then `llmsim run --values --check --out DIR`, alternating so that
this VM's drifting speed (tens of percent within minutes) falls on both alike. Every time is a
whole process, as a user waits for it (model loading and lowering included). The values run is
split where the CLI starts the check (its "value check against PyTorch" line): the simulation
with values plus writing them, then `python -m llmsim.check`.

A check that fails stops at the first op out of tolerance, so its time covers only the ops up
to there. The bench says so, and then times the whole check on the same run's values:
`python -m llmsim.check DIR DIR/trace.json --context-layout dense --keep-going` (dense: how the
lowering writes the attention context today; keep-going: every op, whatever fails), and reports
the ratio with that check in place of the stopped one too. Prints figures; fails only when a
run cannot be made (speed is judged by reading them).
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASE = ["--arch", "datacenter", "--model", "bert-base-uncased", "--seq", "128"]
TARGET = 10.0


def timed(args, env, marker=None):
    """(wall s, wall s when a line starting with `marker` was printed or None, exit code,
    standard output)."""
    t0 = time.time()
    mark = None
    lines = []
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                          text=True) as p:
        for line in p.stdout:
            if marker and mark is None and line.startswith(marker):
                mark = time.time() - t0
            lines.append(line)
    return time.time() - t0, mark, p.returncode, "".join(lines)


def verdict(text):
    """The check's outcome in one line, from its output."""
    m = re.search(r"^FAIL: op (\d+) '([^']*)'", text, re.M)
    failed = re.search(r"(\d+) FAILED", text)
    summary = re.search(r"^all (\d+) ops: .*$", text, re.M)
    if failed and m:  # --keep-going: the count; the first failure
        return "%s ops FAILED, the first op %s %s" % (failed.group(1), m.group(1), m.group(2))
    if m:
        return "FAILED at op %s %s" % (m.group(1), m.group(2))
    return "passed (%s)" % summary.group(0) if summary else "no summary"


def bench(llmsim, dtype, pairs, env, work):
    print("\nBERT-base seq 128 on datacenter, %s: timing-only vs --values --check, %d "
          "alternating pairs" % (dtype, pairs), flush=True)
    print("%4s %10s %14s %12s %9s %8s  %s" % ("pair", "timing s", "values+check s", "sim+values s",
                                            "check s", "ratio", "check"), flush=True)
    rows = []
    for i in range(pairs):
        t, _, rc, out = timed([llmsim, "run"] + CASE + ["--dtype", dtype], env)
        if rc != 0:
            sys.exit("bench_values: the timing-only run failed (exit %d):\n%s" % (rc, out))
        run_dir = os.path.join(work, "run")
        shutil.rmtree(run_dir, ignore_errors=True)
        w, mark, rc, out = timed([llmsim, "run"] + CASE + ["--dtype", dtype, "--values", "--check",
                                                           "--out", run_dir],
                                 env, "value check against PyTorch")
        if rc not in (0, 3) or mark is None:
            sys.exit("bench_values: the values run failed (exit %d):\n%s" % (rc, out[-3000:]))
        row = {"t": t, "w": w, "sim": mark, "check": w - mark, "ok": rc == 0,
               "verdict": verdict(out)}
        note = row["verdict"]
        if rc == 3:
            # The check stopped early: time the whole of it on the same values.
            c, _, rc2, out2 = timed(["/usr/bin/python3", "-m", "llmsim.check", run_dir,
                                     os.path.join(run_dir, "trace.json"), "--context-layout",
                                     "dense", "--keep-going"], env)
            if rc2 not in (0, 3):
                sys.exit("bench_values: the dense check failed (exit %d):\n%s" % (rc2, out2))
            row["full_check"] = c
            note += "; whole check (dense, keep-going) %.1f s: %s" % (c, verdict(out2))
        shutil.rmtree(run_dir, ignore_errors=True)
        rows.append(row)
        print("%4d %10.1f %14.1f %12.1f %9.1f %7.1fx  %s" % (i + 1, t, w, mark, w - mark, w / t,
                                                            note), flush=True)
    med = lambda k: statistics.median(r[k] for r in rows)
    t, w = med("t"), med("w")
    print("median: timing-only %.1f s; --values --check %.1f s (simulation with values %.1f s, "
          "check %.1f s): %.1fx, target within %gx: %s" % (
              t, w, med("sim"), med("check"), w / t, TARGET,
              "met" if w / t <= TARGET else "NOT met"))
    if not all(r["ok"] for r in rows):
        full = med("sim") + med("full_check")
        print("  the check FAILED (%s), so its %.1f s cover only the ops up to the failure; with "
              "the whole check (--context-layout dense --keep-going, %.1f s) the values run "
              "would take %.1f s: %.1fx, target within %gx: %s" % (
                  rows[-1]["verdict"], med("check"), med("full_check"), full, full / t, TARGET,
                  "met" if full / t <= TARGET else "NOT met"))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--llmsim", default=os.path.join(ROOT, "build", "llmsim"))
    p.add_argument("--pairs", type=int, default=3, help="alternating pairs of runs per dtype")
    p.add_argument("--dtype", action="append", choices=["int8", "fp16", "bf16", "fp32"],
                   help="repeatable; default int8 and fp32")
    args = p.parse_args()
    if args.pairs < 1:
        p.error("--pairs %d: must be at least 1" % args.pairs)
    llmsim = os.path.abspath(args.llmsim)
    pythonpath = os.path.join(os.path.dirname(llmsim), "python")
    env = dict(os.environ, SYSTEMC_DISABLE_COPYRIGHT_MESSAGE="1",
               PYTHONPATH=pythonpath + (":" + os.environ["PYTHONPATH"]
                                        if os.environ.get("PYTHONPATH") else ""))
    with tempfile.TemporaryDirectory(prefix="llmsim-bench-values-") as work:
        for dtype in args.dtype or ["int8", "fp32"]:
            bench(llmsim, dtype, args.pairs, env, work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
