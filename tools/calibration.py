#!/usr/bin/python3
"""Calibration of the mapping's cost model: predicted against simulated cycles, op by op.

    /usr/bin/python3 tools/calibration.py [--llmsim build/llmsim] [--only SUBSTRING] [--jobs N]
                                          [--json FILE]

Simulates the regression set of tools/goldens.py (auto mapping; --only keeps the cases whose
name contains SUBSTRING) and compares each op's `predicted_cycles` (stats.json, ops.csv: the
cost model's prediction, docs/stats.md) with its simulated span `cycles`. Prints the median and
the quartiles of |predicted - simulated| / simulated over all predicted ops, then per preset and
per op kind, and the ratio predicted / simulated (above 1: the model is pessimistic).
"""
import argparse
import collections
import concurrent.futures
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import goldens  # noqa: E402  (the regression set and its command lines)


def ops_of(llmsim, case):
    return goldens.run_stats(llmsim, case)["ops"]


def quartiles(xs):
    if len(xs) < 2:
        return (xs[0],) * 3 if xs else (float("nan"),) * 3
    q = statistics.quantiles(xs, n=4)
    return q[0], statistics.median(xs), q[2]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--llmsim", default=os.path.join(goldens.ROOT, "build", "llmsim"))
    p.add_argument("--only", default="", help="cases whose name contains this")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--json", help="write every op's prediction and simulation here")
    args = p.parse_args()
    cases = [c for c in goldens.CASES if args.only in c["name"]]
    rows = []
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for case, ops in zip(cases, pool.map(lambda c: ops_of(args.llmsim, c), cases)):
            for o in ops:
                if o["predicted_cycles"] > 0 and o["cycles"] > 0:
                    rows.append({"case": case["name"], "arch": case["arch"], "op": o["name"],
                                 "kind": o["kind"], "cycles": o["cycles"],
                                 "predicted_cycles": o["predicted_cycles"]})
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)

    def line(label, group):
        err = [abs(r["predicted_cycles"] - r["cycles"]) / r["cycles"] for r in group]
        ratio = [r["predicted_cycles"] / r["cycles"] for r in group]
        q1, med, q3 = quartiles(err)
        print("| %s | %d | %.1f %% | %.1f %% | %.1f %% | %.2f |" % (
            label, len(group), 100 * q1, 100 * med, 100 * q3, statistics.median(ratio)))

    print("%d cases, %d predicted ops\n" % (len(cases), len(rows)))
    print("| ops | count | error, 1st quartile | median | 3rd quartile | median predicted / simulated |")
    print("|---|---|---|---|---|---|")
    line("all", rows)
    for key in ["arch", "kind"]:
        groups = collections.defaultdict(list)
        for r in rows:
            groups[r[key]].append(r)
        for name in sorted(groups):
            line(name, groups[name])
    return 0


if __name__ == "__main__":
    sys.exit(main())
