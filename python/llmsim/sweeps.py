"""llmsim.sweep (module llmsim.sweeps): one simulation per task on any Executor, resumable.

A sweep expands a grid into points (each a dict of config overrides and run() options), gives
every point a stable id, runs the points not yet in the `out` file on an executor (a local
process pool by default, a Dask cluster through Client(...).get_executor()), appends one JSON
line per finished point to `out`, and returns a pandas DataFrame with one row per point.

The `out` file (JSON lines, one object per finished point):

    {"id": "3f1c0a9e5b7d2c41", "point": {"core.systolic.rows": 64}, "status": "ok",
     "error": null, "error_type": null, "total_cycles": 1474701, "seconds": 0.00184,
     "energy_pj": 0.0, "macs": ..., "array_utilisation": ..., "dram_read_bytes": ...,
     "dram_written_bytes": ..., "achieved_bandwidth_gb_per_s": ..., "wall_seconds": 0.03,
     "stats": {<extra_stats path>: value}, "worker": "host:pid"}

status is "ok"; "error" when the simulation raised (the message, for a config error the CLI's,
and the exception type; deterministic, so resuming does not run the point again); or "lost" when
the point's task did not come back (its worker process died, or the executor raised: a Dask
KilledWorker, an import error), which resuming runs again. Metrics are null unless "ok". Lines
are appended in completion order; the last valid line of an id wins.

A line is a record when record_problem() finds nothing wrong with it: a JSON object with a str
"id", a dict "point", a known status, and for "ok" every metric a finite number >= 0 (the counts
integers) and "stats" a dict; for "error" and "lost" a str "error". A serving record
(sweep(..., serve=...), serve_sweep.py) says "kind": "serve" and carries serve_sweep.METRICS
instead (max_approx_error may be null). Any other line (a torn write,
garbage, a foreign object, an "ok" record whose metrics are missing or mangled) is skipped with
a RuntimeWarning naming its line number, by sweep() (its point runs again) and read_sweep() alike.

`out` is checked before the first point runs: it must be a regular file or a new name whose
folder can be made, opened for appending (ValueError naming out and the reason otherwise).

Why a single appended file is safe. Only the process that called sweep() writes `out` (workers
return records to it), and it holds an exclusive flock on the file for the whole sweep, so a
second sweep on the same file fails at once instead of interleaving (flock is advisory; on a
network filesystem it holds only where the server supports locks). Each record is one line
written by os.write on a descriptor opened with O_APPEND (the kernel moves to the end and
writes in one step), looping only on a short write, then fsync'd; so a finished point is on
disk before the next one is written. PIPE_BUF atomicity is a pipe guarantee and is not relied
on. What a crash can leave is at most one torn last line (a kill or power loss mid-write): the
reader skips any line that is not a complete JSON object, and a sweep that reopens the file
first ends a torn tail with a newline, so the torn point simply runs again. Writing a file per
point and renaming it into a directory would make each record atomic too, but leaves
thousands of files and loses the one-file `pandas.read_json(out, lines=True)`.
"""

import collections.abc
import concurrent.futures as cf
import hashlib
import json
import math
import multiprocessing
import os
import socket
import stat
import sys
import threading
import warnings

# Keys of a point that are run() options rather than config overrides.
RUN_OPTIONS = ("arch", "model", "workload", "seq", "batch", "phase", "kv_len", "dtype",
               "mapping", "split", "fusion", "weights")
# The mapping options' defaults: a point's id covers them only when they differ, so the ids of
# sweeps recorded before they were options stay the same.
_MAPPING_DEFAULTS = {"mapping": "auto", "split": None, "fusion": None, "weights": None}

# Run totals every record carries (null for a failed point), in DataFrame column order.
METRICS = ("total_cycles", "seconds", "energy_pj", "macs", "array_utilisation",
           "dram_read_bytes", "dram_written_bytes", "achieved_bandwidth_gb_per_s",
           "wall_seconds")
# The METRICS that are counts: integers in an "ok" record (the others are any finite number).
_COUNT_METRICS = ("total_cycles", "macs", "dram_read_bytes", "dram_written_bytes")
STATUSES = ("ok", "error", "lost")
# How many skipped lines a warning lists by number (the rest are counted).
_LISTED_LINES = 10


def _plain(value):
    """json.dumps default=: NumPy scalars and arrays as plain Python values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot convert a {type(value).__name__} to JSON")


def _canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False,
                      default=_plain)


def grid_points(grid):
    """The points of a grid, in a deterministic order.

    grid: a dict {key: [values]} -> its cartesian product, keys in the dict's order, the last
      key varying fastest ({} is one point: the base); or a list of dicts -> those points, as
      given (irregular grids). A key is a dotted config path ("core.systolic.rows") or one of
      RUN_OPTIONS ("seq", "model", "arch", ...).
    """
    if isinstance(grid, collections.abc.Mapping):
        keys = list(grid)
        axes = []
        for key in keys:
            values = grid[key]
            if isinstance(values, (str, bytes, collections.abc.Mapping)) or \
                    not isinstance(values, collections.abc.Iterable):
                raise TypeError(f"grid[{key!r}] must be a list of values, got "
                                f"{type(values).__name__}")
            axes.append(list(values))
        points = [{}]
        for key, values in zip(keys, axes):
            points = [dict(p, **{key: v}) for p in points for v in values]
        out = points
    elif isinstance(grid, collections.abc.Sequence) and not isinstance(grid, (str, bytes)):
        out = []
        for i, p in enumerate(grid):
            if not isinstance(p, collections.abc.Mapping):
                raise TypeError(f"grid[{i}] must be a dict of overrides, got {type(p).__name__}")
            out.append(dict(p))
    else:
        raise TypeError("grid must be a dict {key: [values]} or a list of dicts, got "
                        f"{type(grid).__name__}")
    for p in out:
        for key in p:
            if not isinstance(key, str):
                raise TypeError(f"grid keys must be str, got {key!r}")
    return out


def _json_text(value, what):
    """json.dumps of a point's or override's value; its TypeError / ValueError (an object it
    cannot convert, NaN) names `what`."""
    try:
        return json.dumps(value, allow_nan=False, default=_plain)
    except (TypeError, ValueError) as e:
        raise type(e)(f"{what}: {e}, got {value!r:.60}") from None


def _override_strings(overrides):
    """run()'s overrides (None, dict, list of "k=v" strings, one string) as "k=v" strings;
    TypeError / ValueError naming overrides for anything else."""
    if overrides is None:
        return []
    if isinstance(overrides, str):
        return [overrides]
    if isinstance(overrides, collections.abc.Mapping):
        out = []
        for k, v in overrides.items():
            if not isinstance(k, str):
                raise TypeError(f"overrides: keys must be str, got {k!r}")
            out.append(f"{k}={_json_text(v, f'overrides[{k!r}]')}")
        return out
    if isinstance(overrides, (bytes, collections.abc.Mapping)) or \
            not isinstance(overrides, collections.abc.Iterable):
        raise TypeError("overrides must be None, a dict or a list of \"path.to.key=value\" "
                        f"strings, got {type(overrides).__name__}")
    out = list(overrides)
    for i, item in enumerate(out):
        if not isinstance(item, str):
            raise TypeError(f"overrides[{i}] must be a \"path.to.key=value\" str, got "
                            f"{type(item).__name__}")
    return out


def _stat_paths(extra_stats):
    """extra_stats as a list of dotted stat paths; TypeError / ValueError naming it otherwise
    (a bad path would fail every point after its simulation, so it is caught up front)."""
    if isinstance(extra_stats, (str, bytes)) or \
            not isinstance(extra_stats, collections.abc.Iterable):
        raise TypeError("extra_stats must be a list of dotted stat paths "
                        f"(\"chip.memory.row_hits\"), got {type(extra_stats).__name__} "
                        f"{extra_stats!r:.60}")
    paths = list(extra_stats)
    for i, path in enumerate(paths):
        if not isinstance(path, str):
            raise TypeError(f"extra_stats[{i}] must be a dotted stat path (str), got "
                            f"{type(path).__name__} {path!r:.60}")
        if not path or any(not part for part in path.split(".")):
            raise ValueError(f"extra_stats[{i}] {path!r}: must be a dotted stat path like "
                             "\"chip.memory.row_hits\" (no empty parts)")
    return paths


def _check_options(executor, max_workers, progress, retry_errors, on_point):
    """The sweep's own options, checked before anything runs (TypeError / ValueError naming
    the argument)."""
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise TypeError("executor must be a concurrent.futures.Executor (an object with "
                        f"submit()) or None, got {type(executor).__name__}")
    if max_workers is not None:
        if type(max_workers) is bool or not hasattr(max_workers, "__index__"):
            raise TypeError(f"max_workers must be an int or None, got "
                            f"{type(max_workers).__name__}")
        if max_workers < 1:
            raise ValueError(f"max_workers: must be >= 1 (None: one per CPU), got {max_workers}")
    for name, value in (("progress", progress), ("retry_errors", retry_errors)):
        if value is not None and not isinstance(value, bool):
            raise TypeError(f"{name} must be True, False or None, got {type(value).__name__}")
    if on_point is not None and not callable(on_point):
        raise TypeError(f"on_point must be a callable or None, got {type(on_point).__name__}")


def _file_identity(value):
    """The part of a point id that stands for an arch/model/workload argument: a dict by its
    canonical JSON, an existing file by its content (editing the file re-runs the points;
    moving it does not), a name as itself."""
    if isinstance(value, collections.abc.Mapping):
        return {"dict": json.loads(_canonical(value))}
    if isinstance(value, (str, os.PathLike)) and os.path.isfile(value):
        with open(value, "rb") as f:
            return {"file_sha256": hashlib.sha256(f.read()).hexdigest()}
    return value


def _executable(value):
    """A path argument made absolute, so a worker with another working directory finds it."""
    if isinstance(value, (str, os.PathLike)) and os.path.isfile(value):
        return os.path.abspath(value)
    return value


def make_task(point, base, base_overrides, extra_stats):
    """The task of one point: run() arguments, override strings and the point's id.

    base: run() options (RUN_OPTIONS) of the sweep; the point's RUN_OPTIONS keys replace them
    (a point's model= drops the sweep's workload= and vice versa). The sweep's overrides apply
    first, then the point's config keys in sorted order (so "memory" comes before
    "memory.device" and the id does not depend on the grid's key order).
    """
    args = {k: (os.fspath(v) if isinstance(v, os.PathLike) else v) for k, v in base.items()}
    config = {}
    for key, value in point.items():
        if key in RUN_OPTIONS:
            args[key] = os.fspath(value) if isinstance(value, os.PathLike) else value
            if key == "model" and "workload" not in point:
                args["workload"] = None
            if key == "workload" and "model" not in point:
                args["model"] = None
        else:
            config[key] = value
    overrides = list(base_overrides) + [
        f"{k}={_json_text(config[k], k)}" for k in sorted(config)]
    identity = {k: (_file_identity(v) if k in ("arch", "model", "workload") else v)
                for k, v in args.items()
                if k not in _MAPPING_DEFAULTS or v != _MAPPING_DEFAULTS[k]}
    identity["overrides"] = overrides
    point_id = hashlib.sha256(_canonical(identity).encode()).hexdigest()[:16]
    for key in ("arch", "model", "workload"):
        args[key] = _executable(args[key])
    return {"id": point_id, "point": json.loads(_canonical(point)), "args": args,
            "overrides": overrides, "extra_stats": list(extra_stats)}


def _lookup(tree, path):
    node = tree
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _record(task, metrics=METRICS, **fields):
    """A point's record with every metric in `metrics` None, then `fields`."""
    rec = {"id": task["id"], "point": task["point"], "status": "ok", "error": None,
           "error_type": None}
    rec.update({m: None for m in metrics})
    rec["stats"] = {p: None for p in task["extra_stats"]}
    rec["worker"] = None
    rec.update(fields)
    return rec


def run_point(task):
    """Runs one point (a task from make_task) and returns its record; never raises for an
    error of the simulation (the record says status "error"). Module-level so that executors
    pickle it by reference: a worker needs `llmsim` importable (PYTHONPATH)."""
    from . import run

    worker = f"{socket.gethostname()}:{os.getpid()}"
    a = task["args"]
    try:
        r = run(a["arch"], a["model"], workload=a["workload"], seq=a["seq"], batch=a["batch"],
                phase=a["phase"], kv_len=a["kv_len"], dtype=a["dtype"],
                overrides=task["overrides"],
                **{k: a.get(k, default) for k, default in _MAPPING_DEFAULTS.items()})
    except Exception as e:  # noqa: BLE001 - every failure of a point is recorded, not raised
        return _record(task, status="error", error=str(e) or repr(e),
                       error_type=type(e).__name__, worker=worker)
    metrics = {m: r.stats.get(m) for m in METRICS}
    metrics.update(total_cycles=r.total_cycles, seconds=r.seconds, energy_pj=r.energy_pj,
                   wall_seconds=r.wall_seconds)
    stats = {p: _lookup(r.stats, p) for p in task["extra_stats"]}
    return _record(task, worker=worker, stats=stats, **metrics)


def record_problem(rec):
    """What makes a parsed line of an out file not a sweep record (a short phrase), or None when
    it is one (the format is in this module's docstring). sweep() and read_sweep() both skip a
    line for which this is not None."""
    if not isinstance(rec, dict):
        return f"a JSON {type(rec).__name__}, not a sweep record (an object)"
    if not isinstance(rec.get("id"), str) or not rec["id"]:
        return 'no "id" (a str): not a sweep record'
    if not isinstance(rec.get("point"), dict):
        return 'no "point" (an object): not a sweep record'
    status = rec.get("status")
    serving = rec.get("kind") == "serve"  # serve_sweep.py's records
    if "kind" in rec and not serving:
        return f'"kind" {json.dumps(rec["kind"])[:40]}: must be "serve" or absent'
    if status not in STATUSES:
        return f'"status" {json.dumps(status)[:40]}: must be one of {", ".join(STATUSES)}'
    if status != "ok":
        if not isinstance(rec.get("error"), str):
            return f'status "{status}" without an "error" message (a str)'
        return None
    metrics, counts, nullable = _metric_kinds(serving)
    for m in metrics:
        if m not in rec:
            return f'status "ok" without "{m}"'
        v = rec[m]
        if v is None and m in nullable:
            continue
        if m in counts:
            if type(v) is not int or v < 0:
                return f'status "ok" with "{m}" {json.dumps(v)[:40]}: must be an integer >= 0'
        elif type(v) not in (int, float) or not math.isfinite(v) or v < 0:
            return f'status "ok" with "{m}" {json.dumps(v)[:40]}: must be a number >= 0'
    if not isinstance(rec.get("stats"), dict):
        return 'status "ok" without "stats" (an object)'
    return None


def _metric_kinds(serving):
    """(metrics, count metrics, nullable metrics) of a run record or a serving record."""
    if serving:
        from . import serve_sweep

        return serve_sweep.METRICS, serve_sweep.COUNT_METRICS, serve_sweep.NULLABLE_METRICS
    return METRICS, _COUNT_METRICS, ()


def read_records(path):
    """The records of a sweep's out file as {id: record}, the last valid line of an id winning.
    Lines that are not records (record_problem: a torn last line, garbage, a foreign object, an
    "ok" record with missing or mangled metrics) are skipped with one RuntimeWarning naming
    their line numbers. A missing file has no records."""
    records = {}
    skipped = []
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return records
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except (ValueError, RecursionError):  # a torn line (no strict prefix of an object
            problem = "not JSON (a torn or garbled line)"  # parses), bad UTF-8, deep nesting
        else:
            problem = record_problem(rec)
        if problem is not None:
            skipped.append(f"line {number}: {problem}")
            continue
        records[rec["id"]] = rec
    if skipped:
        listed = "; ".join(skipped[:_LISTED_LINES])
        more = f"; and {len(skipped) - _LISTED_LINES} more" if len(skipped) > _LISTED_LINES else ""
        warnings.warn(f"{os.fsdecode(path)}: skipped {len(skipped)} line(s) that are not sweep "
                      f"records (their points run again): {listed}{more}", RuntimeWarning,
                      stacklevel=3)
    return records


def read_sweep(path):
    """Every record of a sweep's out file (the last valid line of each id) as a DataFrame,
    columns as sweep() returns them. Lines that are not records are skipped with a
    RuntimeWarning naming them (read_records). FileNotFoundError if there is no such file."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"{os.fsdecode(path)}: no such sweep file")
    records = list(read_records(path).values())
    return _frame([r["point"] for r in records], records)


def _out_path(out):
    """`out` as a str path, checked before any point runs: a regular file or a new name, not a
    directory, a device or a pipe. ValueError / TypeError naming out otherwise."""
    if not isinstance(out, (str, bytes, os.PathLike)):
        raise TypeError(f"out must be a path (str or os.PathLike) or None, got "
                        f"{type(out).__name__}")
    path = os.fsdecode(os.fspath(out))
    if not path or "\0" in path:
        raise ValueError(f"out {path!r}: {'is empty' if not path else 'contains a NUL'}; "
                         "name a file, e.g. sweep.jsonl")
    if path.endswith(os.sep) or os.path.isdir(path):
        raise ValueError(f"out {path}: is a directory; name a file in it, e.g. "
                         f"{os.path.join(path, 'sweep.jsonl')}")
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return path
    except OSError as e:
        raise ValueError(f"out {path}: cannot be used ({e.strerror})") from None
    if not stat.S_ISREG(mode):
        raise ValueError(f"out {path}: not a regular file (a device, pipe or socket); name a "
                         "file to append the records to")
    return path


class _Out:
    """The out file: locked for the sweep, appended one fsync'd line per record. Opened (and so
    checked for writability) before the first point runs."""

    def __init__(self, out):
        import fcntl

        self.path = _out_path(out)
        folder = os.path.dirname(os.path.abspath(self.path))
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as e:
            raise ValueError(f"out {self.path}: cannot make its folder {folder} "
                             f"({e.strerror})") from None
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
                              0o644)
        except OSError as e:
            raise ValueError(f"out {self.path}: cannot be opened for appending "
                             f"({e.strerror})") from None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            raise RuntimeError(f"{self.path}: another sweep is writing this file") from None
        size = os.fstat(self.fd).st_size
        if size and os.pread(self.fd, 1, size - 1) != b"\n":
            try:
                self._write_all(b"\n")  # end a torn line so the next record starts on its own
            except OSError as e:
                os.close(self.fd)
                raise ValueError(f"out {self.path}: cannot be written ({e.strerror})") from None

    def _write_all(self, data):
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]
        os.fsync(self.fd)

    def _write(self, data):
        try:
            self._write_all(data)
        except OSError as e:  # a full disk, a quota: the sweep stops, the file keeps what it has
            raise OSError(e.errno, f"out {self.path}: cannot append a record ({e.strerror}); "
                          "the sweep stopped, the points finished before are in the file "
                          "and resuming runs the rest") from None

    def append(self, record):
        line = json.dumps(record, allow_nan=False, default=_plain, separators=(",", ":"))
        self._write(line.encode() + b"\n")

    def close(self):
        os.close(self.fd)  # releases the lock


# prctl(2) option: the signal a process gets when the thread that created it exits.
_PR_SET_PDEATHSIG = 1
# How often a worker without prctl checks that its parent is alive.
_PARENT_POLL_SECONDS = 1.0


def _watch_parent(parent_pid):
    while os.getppid() == parent_pid:
        threading.Event().wait(_PARENT_POLL_SECONDS)
    os._exit(1)


def _die_with_parent(parent_pid):
    """The pool workers' initializer: a worker ends when the sweep's process does (a kill -9
    of it leaves no orphan simulating on). On Linux the kernel kills the worker at once
    (prctl PR_SET_PDEATHSIG, SIGKILL: the worker holds nothing the sweep still needs, its
    results go to the dead parent); elsewhere a daemon thread polls the parent pid every
    second. A parent that died before the worker got here is caught by the pid check."""
    armed = False
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
    if os.getppid() != parent_pid:
        os._exit(1)
    if not armed:
        threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True,
                         name="llmsim-parent-watch").start()


def _spawn_pool(workers):
    return cf.ProcessPoolExecutor(max_workers=workers,
                                  mp_context=multiprocessing.get_context("spawn"),
                                  initializer=_die_with_parent, initargs=(os.getpid(),))


def probe():
    """What a fresh worker must manage before it can run a point: import the extension."""
    from . import _llmsim

    return _llmsim.__name__


def _lost_record(task, exc, what):
    if task.get("kind") == "serve":
        from .serve_sweep import _record as record
    else:
        record = _record
    return record(task, status="lost", error=f"{what} ({type(exc).__name__}: {exc})",
                   error_type=type(exc).__name__)


def _run_alone(task, runner, emit):
    """Runs a task alone in a fresh one-process pool, after a probe proves the pool works."""
    pool = _spawn_pool(1)
    try:
        try:
            pool.submit(probe).result()
        except Exception as e:  # noqa: BLE001 - reported as the environment's failure
            raise RuntimeError("llmsim sweep: a fresh worker process cannot import llmsim "
                               f"({type(e).__name__}: {e}); is PYTHONPATH set, and does the "
                               "script that calls sweep() do so under "
                               "`if __name__ == \"__main__\":` (workers import it)?") from e
        try:
            emit(pool.submit(runner, task).result())
        except cf.process.BrokenProcessPool as e:
            emit(_lost_record(task, e, "the worker process died running this point alone"))
    finally:
        pool.shutdown(wait=True)


def _run_own_pool(todo, workers, runner, emit):
    """Runs tasks on a spawned process pool, at most `workers` in flight. If a worker process
    dies (the pool then fails every future it holds), the tasks that were in flight run again
    one at a time, each alone in a fresh pool, so only a point that kills its worker is
    recorded as lost; the others continue in a new pool."""
    queue = list(reversed(todo))
    while queue:
        pool = _spawn_pool(min(workers, len(queue)))
        in_flight = {}
        suspects = []
        broken = False
        try:
            while (queue or in_flight) and not suspects:
                while queue and len(in_flight) < workers and not broken:
                    task = queue.pop()
                    try:
                        in_flight[pool.submit(runner, task)] = task
                    except cf.process.BrokenProcessPool:  # an idle worker died: a new pool
                        queue.append(task)
                        broken = True
                if not in_flight:
                    break
                done, _ = cf.wait(in_flight, return_when=cf.FIRST_COMPLETED)
                for f in done:
                    task = in_flight.pop(f)
                    try:
                        record = f.result()
                    except cf.process.BrokenProcessPool:
                        suspects.append(task)
                        continue
                    except Exception as e:  # noqa: BLE001 - the point's failure, recorded
                        record = _lost_record(task, e, "the point's task raised")
                    emit(record)
            suspects.extend(in_flight.values())
            in_flight.clear()
        finally:
            for f in in_flight:
                f.cancel()
            pool.shutdown(wait=not in_flight, cancel_futures=True)
        for task in suspects:
            _run_alone(task, runner, emit)


def _run_executor(todo, executor, runner, emit):
    """Runs tasks on the caller's executor, all submitted at once. An exception from a future
    (a Dask KilledWorker, an import or pickling error) makes the point lost; a broken process
    pool stops the sweep (the executor cannot run the rest)."""
    futures = {executor.submit(runner, task): task for task in todo}
    try:
        for f in cf.as_completed(futures):
            task = futures[f]
            try:
                record = f.result()
            except cf.process.BrokenProcessPool:
                raise
            except Exception as e:  # noqa: BLE001 - the point's failure, recorded
                record = _lost_record(task, e, "the point's task did not return")
            emit(record)
    finally:
        for f in futures:
            f.cancel()


def _frame(points, records):
    import pandas as pd

    # Serving records (serve_sweep.py) carry their own metrics; a file of both kinds has both.
    kinds = {r.get("kind") == "serve" for r in records} or {False}
    metrics = tuple(dict.fromkeys(m for serving in (False, True) if serving in kinds
                                  for m in _metric_kinds(serving)[0]))
    keys = list(dict.fromkeys(k for p in points for k in p))
    extra = list(dict.fromkeys(k for r in records for k in (r.get("stats") or {})))
    rows = []
    for point, rec in zip(points, records):
        row = {k: point.get(k) for k in keys}
        row.update({m: rec.get(m) for m in metrics})
        row.update({p: (rec.get("stats") or {}).get(p) for p in extra})
        row.update(status=rec.get("status"), error=rec.get("error"),
                   error_type=rec.get("error_type"), id=rec.get("id"), worker=rec.get("worker"))
        rows.append(row)
    columns = keys + list(metrics) + extra + ["status", "error", "error_type", "id", "worker"]
    df = pd.DataFrame(rows, columns=columns, dtype=object)
    # Numbers as numbers; counts (cycles, bytes, MACs) stay exact integers, <NA> where missing.
    for c in keys:
        df[c] = df[c].infer_objects()
    for m in metrics + tuple(extra):
        values = [row[m] for row in rows if row[m] is not None]
        if values and all(type(v) is int for v in values):
            df[m] = pd.array([row[m] for row in rows], dtype="Int64")
        elif all(type(v) in (int, float) for v in values):
            df[m] = pd.to_numeric(df[m]).astype(float)
    return df


def sweep(arch, grid, model=None, *, workload=None, seq=None, batch=1, phase="prefill",
          kv_len=None, dtype="int8", overrides=None, mapping="auto", split=None, fusion=None,
          weights=None, serve=None, executor=None, out=None,
          max_workers=None, progress=None, extra_stats=(), retry_errors=False, on_point=None,
          _runner=None):
    """Runs one simulation per point of a grid and returns a DataFrame, one row per point.

    Args:
      arch, model, workload, seq, batch, phase, kv_len, dtype, overrides, mapping, split,
        fusion, weights: as for run(); the base of every point. A path is made absolute for
        the workers (remote workers need the same file; a dict travels with the task). A
        mistake in them is not raised: every point's record says "error" with run()'s
        message.
      grid: {key: [values]} (cartesian product, last key fastest) or a list of dicts
        (irregular points); see grid_points(). Keys are dotted config paths, applied as
        overrides after `overrides`, or run() options (RUN_OPTIONS: "seq", "model", ...).
      serve: None, or a dict of llmsim.serve() options (serve_sweep.SERVE_OPTIONS: model,
        rate, num_requests, input_len, output_len, seed, dtype, cost, requests, slo_ttft_ms,
        ...): every point is then a serving run, llmsim.serve(arch, **serve, **the point's
        serve options, overrides=...) (model= may be given to sweep() instead), the grid's
        SERVE_OPTIONS keys ("rate", ...) replacing the dict's; the run()-only options (seq,
        batch, phase, kv_len, dtype, workload, mapping, ...) must then be left alone. The
        records hold serve_sweep.METRICS instead of the run metrics (p50/p90/p99 TTFT, TPOT
        and E2E in ms, tokens/s, requests/s, goodput, energy per output token in uJ,
        max_approx_error, wall_seconds) and extra_stats are paths into summary.json
        ("serving.num_kv_blocks"). See llmsim.serve_sweep.
      executor: a concurrent.futures.Executor, e.g. Client(...).get_executor() of Dask (give
        its workers one thread each: the SystemC kernel runs one simulation at a time per
        process). None: a process pool of max_workers spawned processes (default
        os.cpu_count()), shut down at the end; a point that kills its worker process is
        recorded as "lost" and the sweep goes on. Its workers die with the sweep's process
        (on Linux at once, by prctl PR_SET_PDEATHSIG; elsewhere within a second), so a
        killed sweep leaves no orphan simulating.
      out: a path (its folder is created); finished points are appended to it as JSON lines
        (format and atomicity in this module's docstring), and points already in it are not
        run again (resume); lines that are not records are skipped with a warning naming
        them, and their points run again. Opened before the first point runs: a directory,
        a device or an unwritable path is a ValueError naming out. None: nothing is written.
      progress: a tqdm progress bar on stderr; None: only when stderr is a terminal.
      extra_stats: dotted paths into the stats document ("chip.memory.row_hits") recorded per
        point and returned as columns (None where a point has no such stat, or for a point
        resumed from a record written without it).
      retry_errors: run points again whose record in `out` says "error" (points "lost" always
        run again).
      on_point: called with each new record (a dict) after it is written; an exception from it
        stops the sweep (finished points stay in `out`).

    A point's id is a hash of its run() arguments (files by content, names as given) and its
    override list, so the same point resumes under a reordered or extended grid. It does not
    cover the simulator's version: start a new `out` after updating llmsim.

    Each task is one simulation; a worker process runs many tasks, each in a fresh SystemC
    context (the kernel reset that tests/python/test_run.py proves equal to fresh processes).

    Raises (before any point runs):
      TypeError, ValueError: an argument of the wrong type or value (grid, overrides,
        extra_stats, executor, max_workers, out, ...); the message names it. A mistake in a
        point's run() arguments or config is not raised: that point's record says "error".
      RuntimeError: another sweep is writing `out`.

    Returns:
      A DataFrame in point order: one column per grid key, then METRICS (total_cycles,
      seconds, energy_pj, macs, array_utilisation, dram_read_bytes, dram_written_bytes,
      achieved_bandwidth_gb_per_s, wall_seconds; NaN unless status is "ok"; with serve=,
      serve_sweep.METRICS), extra_stats,
      status ("ok", "error" or "lost"), error (the message), error_type, id, worker
      ("host:pid").
    """
    from tqdm import tqdm

    _check_options(executor, max_workers, progress, retry_errors, on_point)
    extra_stats = _stat_paths(extra_stats)
    points = grid_points(grid)
    base = {"arch": arch, "model": model, "workload": workload, "seq": seq, "batch": batch,
            "phase": phase, "kv_len": kv_len, "dtype": dtype, "mapping": mapping, "split": split,
            "fusion": fusion, "weights": weights}
    for key, value in base.items():  # a run() argument a point's id cannot hold
        if key not in ("arch", "model", "workload") or isinstance(value, collections.abc.Mapping):
            _json_text(value, key)
    base_overrides = _override_strings(overrides)
    if serve is not None:
        from . import serve_sweep

        run_defaults = {"workload": None, "seq": None, "batch": 1, "phase": "prefill",
                        "kv_len": None, "dtype": "int8", **_MAPPING_DEFAULTS}
        serve_base = serve_sweep.check_base(
            serve, model, {k: base[k] != v for k, v in run_defaults.items()})

        def make(p):
            return serve_sweep.make_task(p, arch, serve_base, base_overrides, extra_stats)

        runner = _runner or serve_sweep.run_point
    else:
        def make(p):
            return make_task(p, base, base_overrides, extra_stats)

        runner = _runner or run_point
    tasks = []
    for i, p in enumerate(points):
        try:
            tasks.append(make(p))
        except (TypeError, ValueError) as e:
            raise type(e)(f"grid point {i}: {e}") from None
    unique = list({t["id"]: t for t in tasks}.values())
    ids = {t["id"] for t in unique}

    sink = _Out(out) if out is not None else None
    try:
        done = {}
        if sink is not None:
            finished = ("ok",) if retry_errors else ("ok", "error")
            done = {i: r for i, r in read_records(sink.path).items()
                    if i in ids and r.get("status") in finished}
        todo = [t for t in unique if t["id"] not in done]
        show = progress if progress is not None else sys.stderr.isatty()
        errors = sum(r.get("status") != "ok" for r in done.values())
        with tqdm(total=len(unique), initial=len(unique) - len(todo), disable=not show,
                  unit="point", desc="llmsim sweep", file=sys.stderr) as bar:

            def emit(record):
                nonlocal errors
                if sink is not None:
                    sink.append(record)
                done[record["id"]] = record
                errors += record["status"] != "ok"
                bar.set_postfix(errors=errors, refresh=False)
                bar.update(1)
                if on_point is not None:
                    on_point(record)

            if todo and executor is None:
                workers = max(1, max_workers or os.cpu_count() or 1)
                _run_own_pool(todo, workers, runner, emit)
            elif todo:
                _run_executor(todo, executor, runner, emit)
    finally:
        if sink is not None:
            sink.close()
    return _frame(points, [done[t["id"]] for t in tasks])

