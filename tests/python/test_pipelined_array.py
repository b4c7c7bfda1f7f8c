"""Issue 19's targets for the pipelined array, on the datacenter preset (docs/timing.md, Pipelined
arrays): decode streams its weights at what the arrays can take in, and BERT-base keeps its array
busy with fill and drain below a quarter of the core cycles.

Run by ctest (test `python: test_pipelined_array`); by hand:
    PYTHONPATH=build/python LLMSIM_BIN=build/llmsim /usr/bin/python3 -m pytest -q tests/python
"""

import csv
import json

from cli_helpers import cli

PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def _run(tmp_path, *args):
    cli("run", "--arch", "datacenter", *args, "--out", str(tmp_path), check=True)
    with open(tmp_path / "stats.json") as f:
        stats = json.load(f)
    with open(tmp_path / "ops.csv") as f:
        ops = list(csv.DictReader(f))
    return stats, ops


def test_llama3_decode_streams_weights_at_what_the_arrays_take_in(tmp_path):
    # Llama-3-8B decode, batch 8, 512 tokens cached, one layer. Each core's 128x128 int8 array
    # takes in one 128-byte weight row per cycle when it pipelines (a fold of M = 8 rows costs
    # max(8, R) = 128 cycles, the weights' preload): 4 x 128 B at 1 GHz = 512 GB/s, below the
    # HBM's 1228.8 GB/s. The projections' weights must stream at >= 80 % of that (unpipelined,
    # a fold costs 2R + Nf + M - 2 = 390 cycles: 168 GB/s).
    stats, ops = _run(tmp_path, "--model", "llama-3-8b", "--phase", "decode", "--batch", "8",
                      "--kv-len", "512", "--layers", "1")
    bound = min(stats["peak_bandwidth_gb_per_s"], 4 * 128 * stats["core_clock_mhz"] / 1000)
    assert bound == 512
    proj = [o for o in ops if o["name"].split(".")[-1] in PROJECTIONS]
    assert len(proj) == 7
    read = sum(int(o["dram_read_bytes"]) for o in proj)
    cycles = sum(int(o["cycles"]) for o in proj)
    gb_per_s = read / cycles * stats["core_clock_mhz"] / 1000  # bytes per ns
    assert gb_per_s >= 0.8 * bound, "%.1f GB/s" % gb_per_s
    assert gb_per_s <= bound  # never more than the arrays take in


def test_bert_base_keeps_its_arrays_busy(tmp_path):
    # BERT-base, sequence 128: array utilisation >= 35 % (19.2 % unpipelined), and the cycles
    # the arrays spend on fill, preload or drain not hidden behind another fold's stream below
    # 25 % of all core cycles (58 % unpipelined).
    stats, _ = _run(tmp_path, "--model", "bert-base-uncased")
    assert stats["array_utilisation"] >= 0.35
    cores = [k for k in stats["chip"] if k.startswith("core")]
    fill_drain = sum(stats["chip"][c]["systolic"]["fill_drain_cycles"] for c in cores)
    assert fill_drain / (len(cores) * stats["total_cycles"]) < 0.25
