#!/usr/bin/python3
"""Metamorphic test: more hardware never makes a run slower.

    /usr/bin/python3 tools/monotonic.py [--llmsim build/llmsim] [--jobs N] [--only SUBSTRING]
                                        [--quick] [--json FILE]

For each preset (edge, datacenter, hbm2-stack) and each workload (BERT-base seq 128, GPT-2
decode of one token after 128 cached, a 1024^3 GEMM) it simulates the preset as it is (the
baseline), then raises one resource at a time with `--set` (cores, DRAM bus width and clock,
HBM stacks and channels, DMA bytes per cycle and blocks in flight, scratchpad and accumulator
capacity and banks, vector lanes, NoC link width) and prints each step's cycles against the
baseline as a Markdown table. A step more than 1 % slower than its baseline is a violation.
Only the resources the preset has are raised (a simple memory has no stacks, hbm2-stack no
NoC); the values come from the resolved config (`llmsim validate --arch PRESET`), so a key
left at its default is raised from the default.

Also in the table:
- the reproducers of issue 20: edge BERT-base with memory.bus_bytes_per_cycle 24 and 32 against
  16 (the x1.5 and x2 steps) and hbm2-stack gemm1024 with 2 and 4 cores against 1, and 4
  against 2;
- `pipelining none`, the reverse check: the presets pipeline their arrays
  (core.systolic.pipelining double_buffered), so the step takes the shadow registers away; it
  is a violation if the pipelined baseline is more than 1 % slower than the step;
and, after the table, the share of core cycles in sync of every multi-core baseline (issue 20:
BERT-base on datacenter, 12.9 % before the arrays pipelined; the target is below 4 %).

--only keeps the cases whose "preset workload step" contains SUBSTRING (the baselines they need
are run too); --quick runs one workload per preset, the fastest (gemm1024); --json FILE writes
every simulation and every step. A step whose overrides the simulator rejects (exit 2, a user
error) is reported as invalid with the simulator's message and is not a violation; any other
failure (a crash, an internal error) is, and so is a failed baseline. Exit 1 if any violation,
0 otherwise.
"""
import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRESETS = ["edge", "datacenter", "hbm2-stack"]
WORKLOADS = [
    ("bert-base s128", ["--model", "bert-base-uncased", "--seq", "128"]),
    ("gpt2 decode kv128", ["--model", "gpt2", "--phase", "decode", "--kv-len", "128"]),
    ("gemm1024", ["--workload", "gemm1024"]),
]
QUICK = "gemm1024"  # the fastest workload on every preset (0.02-0.05 s against 0.3-0.9 s)
TOLERANCE = 0.01  # a step may be at most 1 % slower than its baseline
ENV = dict(os.environ, SYSTEMC_DISABLE_COPYRIGHT_MESSAGE="1")


def resolved_config(llmsim, preset):
    """The preset with every default written out, as `llmsim validate` prints it."""
    try:
        r = subprocess.run([llmsim, "validate", "--arch", preset], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, universal_newlines=True, env=ENV)
    except OSError as e:
        raise SystemExit("%s: %s" % (llmsim, e))
    if r.returncode != 0:
        raise SystemExit("llmsim validate --arch %s: exit %d: %s" % (preset, r.returncode,
                                                                     r.stderr.strip()))
    return json.loads(r.stdout)


def raw_preset(preset):
    """The preset file as written (configs/PRESET.json), or None if there is none."""
    path = os.path.join(ROOT, "configs", preset + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def get(cfg, path):
    for key in path.split("."):
        if not isinstance(cfg, dict) or key not in cfg:
            return None
        cfg = cfg[key]
    return cfg


def num(x):
    """A number as --set takes it: integral values without a fraction."""
    return str(int(x)) if float(x) == int(x) else repr(x)


def step(resource, sets, base=(), kind="step", note=""):
    """One comparison: the run with `base + sets` against the run with `base` alone.

    kind "step": a violation if the step is more than TOLERANCE slower than the base;
    kind "reverse": the step removes hardware, a violation if the base is more than TOLERANCE
    slower than the step."""
    return {"resource": resource, "sets": list(sets), "base": list(base), "kind": kind,
            "note": note}


def steps_for(preset, cfg, raw, workload):
    """The steps of one preset and workload: one resource raised at a time."""
    out = []
    notes = []
    cores = cfg.get("num_cores", 1)
    # Cores. A mesh without explicit core_nodes places the cores on the interior nodes, then the
    # edge nodes, and spreads the memory ports over the edge nodes left (docs/configs.md); the
    # simulator rejects a count that leaves no node for the ports (reported as invalid).
    noc = cfg.get("noc")
    if noc and noc.get("core_nodes"):
        notes.append("num_cores x2 skipped: noc.core_nodes lists the cores' nodes explicitly")
    else:
        out.append(step("num_cores x2 (%d -> %d)" % (cores, 2 * cores),
                        ["num_cores=%d" % (2 * cores)]))
    if preset == "hbm2-stack" and workload == "gemm1024":  # issue 20's second reproducer
        out.append(step("num_cores 1 -> 4 (issue 20)", ["num_cores=4"]))
        out.append(step("num_cores 2 -> 4 (issue 20)", ["num_cores=4"], base=["num_cores=2"]))
    mem = cfg["memory"]
    if mem["type"] == "simple":
        bus = mem["bus_bytes_per_cycle"]
        for factor in [1.5, 2]:
            issue = " (issue 20)" if preset == "edge" and workload.startswith("bert-base") \
                else ""  # issue 20's first reproducer: 24 and 32 against 16
            out.append(step("memory.bus_bytes_per_cycle x%s (%s -> %s)%s" % (
                num(factor), num(bus), num(bus * factor), issue),
                ["memory.bus_bytes_per_cycle=%s" % num(bus * factor)]))
        clock = mem["clock_mhz"]
        out.append(step("memory.clock_mhz x1.5 (%s -> %s)" % (num(clock), num(clock * 1.5)),
                        ["memory.clock_mhz=%s" % num(clock * 1.5)]))
    elif mem["type"] == "hbm":
        org = mem["device"]["organization"]
        raw_device = get(raw, "memory.device") if raw is not None else None
        for key, value in [("stacks", org["stacks"] + 1),
                           ("channels_per_stack", 2 * org["channels_per_stack"])]:
            label = "memory.device.organization.%s %d -> %d" % (key, org[key], value)
            if isinstance(raw_device, dict) or raw is None:
                sets = ["memory.device.organization.%s=%d" % (key, value)]
            else:
                # The preset names its device ("HBM2"): refine it as an object.
                sets = ["memory.device=" + json.dumps({"preset": raw_device,
                                                       "organization": {key: value}},
                                                      separators=(",", ":"))]
            out.append(step(label, sets))
    dma = cfg["core"]["dma"]
    out.append(step("core.dma.bytes_per_cycle x2 (%s -> %s)" % (
        num(dma["bytes_per_cycle"]), num(2 * dma["bytes_per_cycle"])),
        ["core.dma.bytes_per_cycle=%s" % num(2 * dma["bytes_per_cycle"])]))
    blocks = dma.get("max_outstanding_blocks", 4)  # docs/configs.md: default 4
    out.append(step("core.dma.max_outstanding_blocks x2 (%d -> %d)" % (blocks, 2 * blocks),
                    ["core.dma.max_outstanding_blocks=%d" % (2 * blocks)]))
    for unit in ["scratchpad", "accumulator"]:
        sram = cfg["core"][unit]
        cap, banks, width = sram["capacity_bytes"], sram["banks"], sram["bank_width_bytes"]
        out.append(step("core.%s.capacity_bytes x2 (%d -> %d)" % (unit, cap, 2 * cap),
                        ["core.%s.capacity_bytes=%d" % (unit, 2 * cap)]))
        if cap % (2 * banks * width) == 0:
            out.append(step("core.%s.banks x2 (%d -> %d)" % (unit, banks, 2 * banks),
                            ["core.%s.banks=%d" % (unit, 2 * banks)]))
        else:  # keep the capacity a multiple of banks x width: double it too
            out.append(step("core.%s.banks x2 (%d -> %d), capacity x2" % (unit, banks,
                                                                          2 * banks),
                            ["core.%s.banks=%d" % (unit, 2 * banks),
                             "core.%s.capacity_bytes=%d" % (unit, 2 * cap)]))
    lanes = cfg["core"]["vector"]["lanes"]
    out.append(step("core.vector.lanes x2 (%d -> %d)" % (lanes, 2 * lanes),
                    ["core.vector.lanes=%d" % (2 * lanes)]))
    if noc:
        flit = noc["flit_bytes"]
        out.append(step("noc.flit_bytes x2 (%d -> %d)" % (flit, 2 * flit),
                        ["noc.flit_bytes=%d" % (2 * flit)]))
    pipelining = cfg["core"]["systolic"].get("pipelining", "none")
    if pipelining != "none":
        out.append(step("pipelining %s -> none (reverse: must not be faster)" % pipelining,
                        ["core.systolic.pipelining=none"], kind="reverse"))
    else:
        out.append(step("pipelining none -> double_buffered",
                        ["core.systolic.pipelining=double_buffered"]))
    return out, notes


class Runner:
    """Simulates each distinct (preset, workload, overrides) once, `jobs` at a time."""

    def __init__(self, llmsim, jobs):
        self.llmsim = llmsim
        self.pool = concurrent.futures.ThreadPoolExecutor(jobs)
        self.futures = {}
        self.lock = threading.Lock()

    def submit(self, preset, workload, sets):
        key = (preset, workload, tuple(sets))
        with self.lock:
            if key not in self.futures:
                self.futures[key] = self.pool.submit(self.simulate, preset, workload, sets)
            return self.futures[key]

    def simulate(self, preset, workload, sets):
        args = [self.llmsim, "run", "--arch", preset] + dict(WORKLOADS)[workload]
        for s in sets:
            args += ["--set", s]
        t0 = time.time()
        with tempfile.TemporaryDirectory() as out:
            result = {"preset": preset, "workload": workload, "sets": list(sets)}
            try:
                r = subprocess.run(args + ["--out", out], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, universal_newlines=True, env=ENV)
            except OSError as e:  # not a user error of the config: counted as a failure
                return dict(result, exit=-1, seconds=0.0, error=str(e))
            result.update(exit=r.returncode, seconds=round(time.time() - t0, 3))
            if r.returncode != 0:
                lines = [l for l in r.stderr.strip().splitlines() if l.strip()]
                result["error"] = lines[-1] if lines else (
                    "killed by signal %d" % -r.returncode if r.returncode < 0 else "no message")
                return result
            with open(os.path.join(out, "stats.json")) as f:
                s = json.load(f)
        result["total_cycles"] = s["total_cycles"]
        layers = s.get("layers", [])
        sync = sum(l["sync_cycles"] for l in layers)
        core_cycles = sum(l["compute_cycles"] + l["memory_stall_cycles"] + l["sync_cycles"]
                          for l in layers)
        result["sync_share"] = sync / core_cycles if core_cycles else 0.0
        result["cores"] = max([l["cores"] for l in layers] + [1])
        return result


def change(base, cycles):
    return (cycles - base) / base


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--llmsim", default=os.path.join(ROOT, "build", "llmsim"))
    p.add_argument("--jobs", type=int, default=2, help="simulations at once (default 2)")
    p.add_argument("--only", default="",
                   help='cases whose "preset workload step" contains this')
    p.add_argument("--quick", action="store_true",
                   help="one workload per preset, the fastest (%s)" % QUICK)
    p.add_argument("--json", help="write every simulation and step to this file")
    args = p.parse_args()
    if not os.path.exists(args.llmsim):
        print("%s: no such file (build the tree, or pass --llmsim)" % args.llmsim)
        return 1
    if args.jobs < 1:
        print("--jobs %d: must be at least 1" % args.jobs)
        return 1
    t0 = time.time()
    runner = Runner(args.llmsim, args.jobs)
    cases = []  # (preset, workload, step, base future, step future)
    notes = []
    for preset in PRESETS:
        cfg = resolved_config(args.llmsim, preset)
        raw = raw_preset(preset)
        for workload, _ in WORKLOADS:
            if args.quick and workload != QUICK:
                continue
            steps, skipped = steps_for(preset, cfg, raw, workload)
            notes += ["%s %s: %s" % (preset, workload, n) for n in skipped]
            for st in steps:
                if args.only not in "%s %s %s" % (preset, workload, st["resource"]):
                    continue
                base = runner.submit(preset, workload, st["base"])
                run = runner.submit(preset, workload, st["base"] + st["sets"])
                cases.append((preset, workload, st, base, run))
    if not cases:
        print("no case matches --only %r" % args.only)
        return 1

    rows, violations, invalid = [], [], []
    print("| preset | workload | resource step | baseline cycles | cycles | change % |")
    print("|---|---|---|---|---|---|")
    for preset, workload, st, base_f, run_f in cases:
        base, run = base_f.result(), run_f.result()
        label = st["resource"] + (" [base %s]" % " ".join(st["base"]) if st["base"] else "")
        row = {"preset": preset, "workload": workload, "resource": st["resource"],
               "kind": st["kind"], "base_sets": st["base"], "sets": st["sets"],
               "baseline_cycles": base.get("total_cycles"), "cycles": run.get("total_cycles")}
        where = "%s %s %s" % (preset, workload, label)
        if "error" in base:
            row["status"] = "baseline failed"
            violations.append("%s: the baseline failed (exit %d): %s" % (where, base["exit"],
                                                                        base["error"]))
            cells = ["failed", "-", "-"]
        elif "error" in run:
            cmd = " ".join("--set " + s for s in st["sets"])
            if run["exit"] == 2:  # a user error: the override is not a valid config
                row["status"] = "invalid"
                invalid.append("%s: `%s` rejected: %s" % (where, cmd, run["error"]))
                cells = ["{:,}".format(base["total_cycles"]), "invalid", "-"]
            else:
                row["status"] = "failed"
                violations.append("%s: `%s` failed (exit %d): %s" % (where, cmd, run["exit"],
                                                                     run["error"]))
                cells = ["{:,}".format(base["total_cycles"]), "failed", "-"]
        else:
            c = change(base["total_cycles"], run["total_cycles"])
            row["change"] = c
            # reverse: the baseline has the hardware the step removes
            worse = c > TOLERANCE if st["kind"] == "step" else \
                change(run["total_cycles"], base["total_cycles"]) > TOLERANCE
            row["status"] = "violation" if worse else "ok"
            mark = " **violation**" if worse else ""
            cells = ["{:,}".format(base["total_cycles"]), "{:,}".format(run["total_cycles"]),
                     "%+.2f%s" % (100 * c, mark)]
            if worse:
                if st["kind"] == "step":
                    violations.append("%s: %+.2f %% (%s -> %s cycles)" % (
                        where, 100 * c, "{:,}".format(base["total_cycles"]),
                        "{:,}".format(run["total_cycles"])))
                else:
                    violations.append("%s: the pipelined baseline is %+.2f %% slower than "
                                      "unpipelined (%s against %s cycles)" % (
                                          where, 100 * change(run["total_cycles"],
                                                              base["total_cycles"]),
                                          "{:,}".format(base["total_cycles"]),
                                          "{:,}".format(run["total_cycles"])))
        rows.append(row)
        print("| %s | %s | %s | %s |" % (preset, workload, label, " | ".join(cells)),
              flush=True)
    runner.pool.shutdown()

    sims = [f.result() for f in runner.futures.values()]
    shares = [s for s in sims if not s["sets"] and "error" not in s and s["cores"] > 1]
    if shares:
        print("\nShare of core cycles in sync (multi-core baselines; issue 20: BERT-base on "
              "datacenter below 4 %, 12.9 % before the arrays pipelined):\n")
        for s in shares:
            print("- %s %s: %.1f %% of %d cores x %s cycles" % (
                s["preset"], s["workload"], 100 * s["sync_share"], s["cores"],
                "{:,}".format(s["total_cycles"])))
    if notes:
        print("\nSkipped:\n")
        for n in notes:
            print("- " + n)
    if invalid:
        print("\nInvalid overrides (the simulator rejected them; not violations):\n")
        for n in invalid:
            print("- " + n)
    print("\nViolations (a step more than %g %% slower than its baseline): %d\n" % (
        100 * TOLERANCE, len(violations)))
    for v in violations:
        print("- " + v)
    wall = time.time() - t0
    print("\n%d steps, %d simulations, %.1f s wall (%.1f s of simulation, %d at once)" % (
        len(rows), len(sims), wall, sum(s["seconds"] for s in sims), args.jobs))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"tolerance": TOLERANCE, "steps": rows, "simulations": sims,
                       "violations": violations, "invalid": invalid, "skipped": notes,
                       "wall_seconds": round(wall, 1)}, f, indent=1)
            f.write("\n")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
