"""Helpers for test_sweep.py that must be importable by worker processes, and the Dask sweep
script it runs in a subprocess (a LocalCluster is started from a file under
`if __name__ == "__main__"`, as STACK-NOTES.md found necessary, and a hung cluster then cannot
hang pytest).

    PYTHONPATH=build/python /usr/bin/python3 tests/python/sweep_helpers.py dask OUT.jsonl
"""

import json
import os
import sys
import time

from llmsim.sweeps import run_point

# A GEMM small enough that a point simulates in milliseconds on the edge preset.
SMALL_GEMM = {"ops": [{"op": "matmul", "name": "g", "m": 128, "k": 256, "n": 128}]}

# 4 array sizes x 3 dataflows = 12 points.
DASK_GRID = {"core.systolic.rows": [8, 16, 32, 64], "core.systolic.dataflow": ["ws", "os", "is"]}


def crash_at_rows_64(task):
    """A runner whose worker process dies at the point core.systolic.rows = 64."""
    if task["point"].get("core.systolic.rows") == 64:
        os._exit(3)
    return run_point(task)


def raise_at_rows_64(task):
    """A runner whose task raises (not the simulation) at core.systolic.rows = 64."""
    if task["point"].get("core.systolic.rows") == 64:
        raise ConnectionError("the worker went away")
    return run_point(task)


def dask_sweep(out):
    """Runs DASK_GRID on a 2-worker LocalCluster twice (the second run resumes: nothing runs)
    and prints {"rows": the DataFrame's records, "seconds", "rerun": points run again,
    "client_pid"} as JSON."""
    from distributed import Client, LocalCluster

    import llmsim

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None, host="127.0.0.1") as cluster, \
            Client(cluster, timeout="60s") as client:
        executor = client.get_executor()
        start = time.perf_counter()
        df = llmsim.sweep("edge", DASK_GRID, workload=SMALL_GEMM, executor=executor, out=out)
        seconds = time.perf_counter() - start
        rerun = []
        llmsim.sweep("edge", DASK_GRID, workload=SMALL_GEMM, executor=executor, out=out,
                     on_point=rerun.append)
    rows = json.loads(df.to_json(orient="records"))  # <NA> as null
    json.dump({"rows": rows, "seconds": seconds, "rerun": len(rerun), "client_pid": os.getpid()},
              sys.stdout)


if __name__ == "__main__":
    if sys.argv[1:2] != ["dask"] or len(sys.argv) != 3:
        sys.exit(__doc__)
    dask_sweep(sys.argv[2])
