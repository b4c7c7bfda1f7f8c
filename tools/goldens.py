#!/usr/bin/python3
"""Regression goldens: the inference cycles of BERT, GPT-2 and Llama-shaped models on every preset.

    /usr/bin/python3 tools/goldens.py regen [--llmsim build/llmsim] [--only SUBSTRING]
                                            [--missing] [--unpipelined] [--jobs N]
        re-simulates the cases (auto and fixed mapping), N at once, updates
        tests/golden/goldens.json after each and prints what changed; with --unpipelined also
        the auto mapping with core.systolic.pipelining=none (SCALE-Sim v2's array timing),
        which is otherwise kept as it is
    /usr/bin/python3 tools/goldens.py check-unpipelined NAME [--llmsim build/llmsim]
        simulates one case with the auto mapping and pipelining none and fails unless its
        cycles equal the golden unpipelined_cycles
    /usr/bin/python3 tools/goldens.py check NAME [--llmsim build/llmsim]
        simulates one case with the auto mapping and fails unless its cycles equal the golden,
        respect both lower bounds, and are not more than the fixed mapping's golden (run by
        ctest; regen simulates both mappings, so the fixed golden is as current as the auto one)
    /usr/bin/python3 tools/goldens.py values [NAME ...] [--only SUBSTRING] [--jobs N]
                                             [--llmsim build/llmsim] [--mem-limit GB]
                                             [--no-timing]
        simulates the cases (all, those named, or those whose name contains SUBSTRING) with
        --values --values-keep none (every value computed, no op's output kept: the DRAM
        image's memory alone), each also timing-only unless --no-timing, and fails unless the
        cycles with values equal the golden and every layer's cycles equal the timing-only
        run's; prints a table with both wall times and the value run's peak memory (ctest
        runs a few; the full set is run by hand: docs/testing.md)
    /usr/bin/python3 tools/goldens.py list
        the case names (CMake registers one ctest per case)
    /usr/bin/python3 tools/goldens.py table
        the goldens as the Markdown table of docs/testing.md: auto mapping, pipelined
        (unpipelined)

The cases are defined here (CASES); the numbers live in tests/golden/goldens.json.
"""
import argparse
import concurrent.futures
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN = os.environ.get("LLMSIM_GOLDEN_FILE", os.path.join(ROOT, "tests", "golden", "goldens.json"))
PRESETS = ["edge", "datacenter", "hbm2-stack"]


def _cases():
    cases = []
    for preset in PRESETS:
        for model in ["bert-base-uncased", "bert-large-uncased"]:
            for seq in [128, 512]:
                for batch in [1, 8]:
                    cases.append({"arch": preset, "model": model, "seq": seq, "batch": batch,
                                  "phase": "prefill"})
        # Decoders: prefill of 128 tokens and decode of one token after 128 cached. The
        # Llama-shaped models keep 2 of their 32 layers (same shapes per layer; docs/testing.md).
        for model, layers in [("gpt2", None), ("llama-2-7b", 2), ("llama-3-8b", 2)]:
            for phase in ["prefill", "decode"]:
                c = {"arch": preset, "model": model, "batch": 1, "phase": phase}
                if phase == "prefill":
                    c["seq"] = 128
                else:
                    c["kv_len"] = 128
                if layers:
                    c["layers"] = layers
                cases.append(c)
    for c in cases:
        parts = [c["model"], c["arch"], c["phase"], "b%d" % c["batch"]]
        parts.append("s%d" % c["seq"] if "seq" in c else "kv%d" % c["kv_len"])
        if "layers" in c:
            parts.append("l%d" % c["layers"])
        c["name"] = "_".join(parts)
    return cases


CASES = _cases()


UNPIPELINED = ["--set", "core.systolic.pipelining=none"]


def run_args(llmsim, case, mapping="auto", extra=()):
    """The `llmsim run` command line of one case."""
    args = [llmsim, "run", "--arch", case["arch"], "--model", case["model"], "--batch",
            str(case["batch"]), "--phase", case["phase"], "--mapping", mapping] + list(extra)
    for key, opt in [("seq", "--seq"), ("kv_len", "--kv-len"), ("layers", "--layers")]:
        if key in case:
            args += [opt, str(case[key])]
    return args


def run_stats(llmsim, case, mapping="auto", extra=()):
    """stats.json of `llmsim run` on one case (also tools/calibration.py)."""
    args = run_args(llmsim, case, mapping, extra)
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(args + ["--out", out], check=True, stdout=subprocess.DEVNULL,
                       env=dict(os.environ, SYSTEMC_DISABLE_COPYRIGHT_MESSAGE="1"))
        with open(os.path.join(out, "stats.json")) as f:
            return json.load(f)


def simulate(llmsim, case, mapping, extra=()):
    s = run_stats(llmsim, case, mapping, extra)
    return {"total_cycles": s["total_cycles"], "compute_bound_cycles": s["compute_bound_cycles"],
            "memory_bound_cycles": s["memory_bound_cycles"]}


def run_cli(llmsim, case, extra=(), mem_limit_gb=None):
    """`llmsim run` on one case (auto mapping) without --out, its summary read from standard
    output: {"total_cycles", "layers": [(layer, cycles)], "wall" (s, the whole process),
    "rss" (peak, bytes), "error" (None, or why the run failed)}. --values writes each op's
    output only with --out (gigabytes for the large cases), so the cycles come from the printed
    summary and per-layer table, not from stats.json and ops.csv."""
    args = run_args(llmsim, case, "auto", extra)

    def limit():
        if mem_limit_gb:
            n = int(mem_limit_gb * (1 << 30))
            resource.setrlimit(resource.RLIMIT_AS, (n, n))

    t0 = time.time()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(args, stdout=out, stderr=err, preexec_fn=limit,
                                env=dict(os.environ, SYSTEMC_DISABLE_COPYRIGHT_MESSAGE="1"))
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.time() - t0
        out.seek(0)
        err.seek(0)
        text, errtext = out.read().decode(), err.read().decode()
    r = {"total_cycles": None, "layers": [], "wall": wall, "rss": usage.ru_maxrss * 1024,
         "error": None}
    if proc.returncode != 0:
        last = (errtext.strip().splitlines() or ["(no message)"])[-1]
        if proc.returncode < 0:
            r["error"] = "killed by signal %d (%s): %s" % (
                -proc.returncode, signal.Signals(-proc.returncode).name, last)
        else:
            r["error"] = "exit %d: %s" % (proc.returncode, last)
        if mem_limit_gb and ("bad_alloc" in errtext or "memory" in errtext):
            r["error"] += " (memory limit %g GB)" % mem_limit_gb
        return r
    in_table = False
    for line in text.splitlines():
        m = re.match(r"\s*total cycles\s+(\d+)$", line)
        if m:
            r["total_cycles"] = int(m.group(1))
        if line.startswith("layer ") and "cycles" in line:
            in_table = True
            continue
        if in_table:
            f = line.split()
            if len(f) < 3 or not f[2].isdigit():
                in_table = False
                continue
            r["layers"].append((f[0], int(f[2])))
    if r["total_cycles"] is None or not r["layers"]:
        r["error"] = "no total cycles or per-layer table in the output"
    return r


def load():
    if not os.path.exists(GOLDEN):
        return {}
    with open(GOLDEN) as f:
        return {g["name"]: g for g in json.load(f)["cases"]}


def save(goldens):
    # Merge with what is on disk now (another regen may have added cases meanwhile).
    on_disk = load()
    on_disk.update(goldens)
    goldens = on_disk
    ordered = [goldens[c["name"]] for c in CASES if c["name"] in goldens]
    with open(GOLDEN + ".tmp", "w") as f:
        json.dump({"description": "Inference cycles of the regression set; regenerate with "
                   "/usr/bin/python3 tools/goldens.py regen", "cases": ordered}, f, indent=1)
        f.write("\n")
    os.replace(GOLDEN + ".tmp", GOLDEN)


def regen(args):
    old = load()
    goldens = dict(old)
    lock = threading.Lock()

    def one(case):
        t0 = time.time()
        auto = simulate(args.llmsim, case, "auto")
        fixed = simulate(args.llmsim, case, "fixed")
        before = old.get(case["name"], {})
        g = dict(case, total_cycles=auto["total_cycles"], fixed_cycles=fixed["total_cycles"])
        if args.unpipelined:
            g["unpipelined_cycles"] = simulate(args.llmsim, case, "auto",
                                               UNPIPELINED)["total_cycles"]
        elif "unpipelined_cycles" in before:
            g["unpipelined_cycles"] = before["unpipelined_cycles"]
        change = ""
        keys = ["total_cycles", "fixed_cycles", "unpipelined_cycles"]
        if [before.get(k) for k in keys] != [g.get(k) for k in keys]:
            change = "  CHANGED from %s" % " / ".join(str(before.get(k)) for k in keys)
        with lock:  # each finished case is saved at once: an interrupted regen keeps its work
            goldens[case["name"]] = g
            save(goldens)
            print("%-50s auto %12d  fixed %12d  unpipelined %12s  %6.1f s%s" % (
                case["name"], g["total_cycles"], g["fixed_cycles"],
                g.get("unpipelined_cycles", "-"), time.time() - t0, change), flush=True)

    todo = [c for c in CASES if args.only in c["name"]
            and not (args.missing and c["name"] in old)]
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for f in [pool.submit(one, c) for c in todo]:
            f.result()
    return 0


def check(args):
    golden = load().get(args.name)
    if golden is None:
        print("no golden for %s: run tools/goldens.py regen" % args.name)
        return 1
    case = next(c for c in CASES if c["name"] == args.name)
    auto = simulate(args.llmsim, case, "auto")
    errors = []
    if auto["total_cycles"] != golden["total_cycles"]:
        errors.append("%d cycles, golden %d" % (auto["total_cycles"], golden["total_cycles"]))
    for bound in ["compute_bound_cycles", "memory_bound_cycles"]:
        if auto["total_cycles"] < auto[bound]:
            errors.append("%d cycles below the %s %.0f" % (auto["total_cycles"], bound,
                                                           auto[bound]))
    if auto["total_cycles"] > golden["fixed_cycles"]:
        errors.append("auto (%d) slower than fixed (%d)" % (auto["total_cycles"],
                                                             golden["fixed_cycles"]))
    for e in errors:
        print(args.name + ": " + e)
    if not errors:
        print("%s: %d cycles (fixed %d); bounds %.0f compute, %.0f memory" % (
            args.name, auto["total_cycles"], golden["fixed_cycles"],
            auto["compute_bound_cycles"], auto["memory_bound_cycles"]))
    return 1 if errors else 0


def check_unpipelined(args):
    golden = load().get(args.name)
    if golden is None or "unpipelined_cycles" not in golden:
        print("no unpipelined golden for %s: run tools/goldens.py regen --unpipelined" % args.name)
        return 1
    case = next(c for c in CASES if c["name"] == args.name)
    cycles = simulate(args.llmsim, case, "auto", UNPIPELINED)["total_cycles"]
    if cycles != golden["unpipelined_cycles"]:
        print("%s: pipelining none: %d cycles, golden %d" % (args.name, cycles,
                                                            golden["unpipelined_cycles"]))
        return 1
    print("%s: pipelining none: %d cycles" % (args.name, cycles))
    return 0


def values(args):
    """Cycles with --values against the goldens (issue 21: values ride the timing model and
    must not move it)."""
    goldens = load()
    names = [c["name"] for c in CASES]
    for n in args.names:
        if n not in names:
            print("values: no case %s (tools/goldens.py list)" % n)
            return 2
    # In the order named (a long run can put its quick cases first), else in CASES order.
    todo = [c for n in (args.names or names) for c in CASES
            if c["name"] == n and args.only in n]
    if not todo:
        print("values: no case matches")
        return 2
    results = {}
    lock = threading.Lock()
    head = "%-44s %12s %12s %12s %5s %6s %9s %9s %6s %7s" % (
        "case", "golden", "timing-only", "with values", "equal", "layers", "timing s",
        "values s", "ratio", "GB")

    def row(case, t, v):
        golden = goldens.get(case["name"], {}).get("total_cycles")
        problems = []
        if golden is None:
            problems.append("no golden")
        if v["error"]:
            problems.append("values run: " + v["error"])
        elif v["total_cycles"] != golden:
            problems.append("with values %s cycles, golden %s" % (v["total_cycles"], golden))
        layers = "-"
        if t is not None:
            if t["error"]:
                problems.append("timing-only run: " + t["error"])
            elif not v["error"]:
                layers = "yes" if t["layers"] == v["layers"] else "NO"
                for (ln, tc), (vn, vc) in zip(t["layers"], v["layers"]):
                    if (ln, tc) != (vn, vc):
                        problems.append("layer %s: %d cycles timing-only, %s %d with values" % (
                            ln, tc, vn, vc))
                if len(t["layers"]) != len(v["layers"]):
                    problems.append("%d layers timing-only, %d with values" % (
                        len(t["layers"]), len(v["layers"])))
        fmt = lambda x: "-" if x is None else str(x)
        line = "%-44s %12s %12s %12s %5s %6s %9s %9.1f %6s %7.2f" % (
            case["name"], fmt(golden), fmt(t and t["total_cycles"]), fmt(v["total_cycles"]),
            "NO" if problems else "yes", layers, "-" if t is None else "%.1f" % t["wall"],
            v["wall"], "-" if t is None else "%.1fx" % (v["wall"] / t["wall"]),
            v["rss"] / 2 ** 30)
        return line, problems

    def one(case):
        t = None if args.no_timing else run_cli(args.llmsim, case)
        v = run_cli(args.llmsim, case, ["--values", "--values-keep", "none"], args.mem_limit)
        line, problems = row(case, t, v)
        with lock:
            results[case["name"]] = (line, problems, t, v)
            print(line, flush=True)
            for p in problems:
                print("    " + p, flush=True)

    t0 = time.time()
    print(head, flush=True)
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for f in [pool.submit(one, c) for c in todo]:
            f.result()
    if len(todo) > 1:  # the table again, in case order, with the totals
        print("\n" + head)
        for c in todo:
            print(results[c["name"]][0])
    bad = [c["name"] for c in todo if results[c["name"]][1]]
    tw = sum(r[2]["wall"] for r in results.values() if r[2])
    vw = sum(r[3]["wall"] for r in results.values())
    print("%d cases, %d with cycles unchanged by --values, %d not%s; wall: %s%.1f s with values, "
          "%.1f s in all (%d at once)" % (
              len(todo), len(todo) - len(bad), len(bad),
              (" (" + ", ".join(bad) + ")") if bad else "",
              "" if args.no_timing else "%.1f s timing-only, " % tw, vw, time.time() - t0,
              args.jobs))
    return 1 if bad else 0


def table():
    goldens = load()
    print("| model | phase | batch | seq / kv_len | " + " | ".join(PRESETS) + " |")
    print("|---|---|---|---|" + "---|" * len(PRESETS))
    seen = []
    for c in CASES:
        key = (c["model"], c["phase"], c["batch"], c.get("seq"), c.get("kv_len"), c.get("layers"))
        if key in seen:
            continue
        seen.append(key)
        cells = []
        for preset in PRESETS:
            name = c["name"].replace("_%s_" % c["arch"], "_%s_" % preset)
            g = goldens.get(name)
            if not g:
                cells.append("-")
            elif "unpipelined_cycles" in g:
                cells.append("{:,} ({:,})".format(g["total_cycles"], g["unpipelined_cycles"]))
            else:
                cells.append("{:,}".format(g["total_cycles"]))
        model = c["model"] + (" (%d layers)" % c["layers"] if "layers" in c else "")
        shape = "seq %d" % c["seq"] if "seq" in c else "kv_len %d" % c["kv_len"]
        print("| %s | %s | %d | %s | %s |" % (model, c["phase"], c["batch"], shape,
                                             " | ".join(cells)))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    default = os.path.join(ROOT, "build", "llmsim")
    r = sub.add_parser("regen")
    r.add_argument("--llmsim", default=default)
    r.add_argument("--only", default="", help="cases whose name contains this")
    r.add_argument("--missing", action="store_true", help="only cases without a golden")
    r.add_argument("--unpipelined", action="store_true",
                   help="also re-simulate with core.systolic.pipelining=none")
    r.add_argument("--jobs", type=int, default=os.cpu_count(), help="simulations at once")
    for name in ["check", "check-unpipelined"]:
        c = sub.add_parser(name)
        c.add_argument("name")
        c.add_argument("--llmsim", default=default)
    v = sub.add_parser("values")
    v.add_argument("names", nargs="*", metavar="NAME", help="these cases (default: all)")
    v.add_argument("--only", default="", help="cases whose name contains this")
    v.add_argument("--llmsim", default=default)
    v.add_argument("--jobs", type=int, default=1, help="cases at once (each up to two runs)")
    v.add_argument("--mem-limit", type=float, default=None, metavar="GB",
                   help="address-space limit of each run (a case over it fails, named)")
    v.add_argument("--no-timing", action="store_true",
                   help="skip the timing-only runs (no wall-time ratio, no per-layer check)")
    sub.add_parser("list")
    sub.add_parser("table")
    args = p.parse_args()
    if args.cmd == "list":
        for case in CASES:
            print(case["name"])
        return 0
    if args.cmd == "table":
        return table()
    if args.cmd == "values":
        return values(args)
    if args.cmd == "check-unpipelined":
        return check_unpipelined(args)
    return regen(args) if args.cmd == "regen" else check(args)


if __name__ == "__main__":
    sys.exit(main())
