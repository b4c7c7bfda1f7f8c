#!/usr/bin/python3
"""The pipelined array against Gemmini RTL: prints the table of docs/timing.md.

    /usr/bin/python3 tools/gemmini_rtl.py [--llmsim build/llmsim]

Runs each GEMM whose Gemmini RTL cycles ONNXim's repository holds (PSAL-POSTECH/ONNXim,
tests/operatons/GemmWSTest.cc: its "GT" values, 8x8 int8 weight-stationary Gemmini) on the
Gemmini-like core of tests/system/gemmini_like.json and prints llmsim's cycles, the RTL's and
their ratio. tests/system/test_gemmini_rtl.cpp checks five of the shapes in CI.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARCH = os.path.join(ROOT, "tests", "system", "gemmini_like.json")
# (ONNXim test, M, K, N, Gemmini RTL cycles)
SHAPES = [
    ("GemmWS1x512x1000Test", 1, 512, 1000, 66360),
    ("GemmWS1x2048x1000Test", 1, 2048, 1000, 270431),
    ("Bert_512x512x1024", 512, 512, 1024, 4227300),
    ("Bert_512x1024x2", 512, 1024, 2, 67553),
    ("Bert_512x1024x512", 512, 1024, 512, 4228207),
    ("Bert_512x1024x1024", 512, 1024, 1024, 8458619),
    ("Bert_512x1024x3072", 512, 1024, 3072, 25390266),
    ("Bert_512x1024x4096", 512, 1024, 4096, 33912072),
    ("Bert_512x4096x1024", 512, 4096, 1024, 33912533),
    ("GPT_512x512x768", 512, 512, 768, 3171978),
    ("GPT_512x768x512", 512, 768, 512, 3170315),
    ("GPT_512x768x768", 512, 768, 768, 4756894),
    ("GPT_512x768x2304", 512, 768, 2304, 14266861),
]


def simulate(llmsim, m, k, n):
    with tempfile.TemporaryDirectory() as d:
        w = os.path.join(d, "w.json")
        with open(w, "w") as f:
            json.dump({"ops": [{"op": "matmul", "name": "g", "m": m, "k": k, "n": n}]}, f)
        subprocess.run([llmsim, "run", "--arch", ARCH, "--workload", w, "--out", d], check=True,
                       stdout=subprocess.DEVNULL,
                       env=dict(os.environ, SYSTEMC_DISABLE_COPYRIGHT_MESSAGE="1"))
        with open(os.path.join(d, "stats.json")) as f:
            return json.load(f)["total_cycles"]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--llmsim", default=os.path.join(ROOT, "build", "llmsim"))
    args = p.parse_args()
    print("| ONNXim test | M x K x N | Gemmini RTL | llmsim | llmsim / RTL |")
    print("|---|---|---|---|---|")
    for name, m, k, n, rtl in SHAPES:
        c = simulate(args.llmsim, m, k, n)
        print("| %s | %dx%dx%d | {:,} | {:,} | %.3f |".format(rtl, c) % (name, m, k, n, c / rtl))
    return 0


if __name__ == "__main__":
    sys.exit(main())
