#!/usr/bin/python3
"""The ctest `install`: `cmake --install BUILD --prefix PREFIX` into a fresh PREFIX, then the
installed llmsim and Python package used as a user would, from another directory and without
the caller's PYTHONPATH:

    /usr/bin/python3 tests/install/check_install.py BUILD PREFIX

Checks: the files land where cmake/install.cmake says; `PREFIX/bin/llmsim validate --arch edge`
works; a preset, a workload and a model that exist only under PREFIX/share/llmsim are found
(so the installed binary looks beside itself before the source tree); `import llmsim` from
PREFIX (PYTHONPATH=PREFIX/<python_dir>, since a temporary prefix is not on /usr/bin/python3's
path) finds that preset too; `llmsim report` runs the installed package's report module.
"""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

PYTHON = "/usr/bin/python3"


def run(cmd, **kwargs):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=120,
                       **kwargs)
    if p.returncode != 0:
        sys.exit(f"FAIL: {' '.join(map(str, cmd))} exited {p.returncode}\n{p.stdout}{p.stderr}")
    return p


def main():
    build, prefix = pathlib.Path(sys.argv[1]).resolve(), pathlib.Path(sys.argv[2]).resolve()
    shutil.rmtree(prefix, ignore_errors=True)
    run(["cmake", "--install", build, "--prefix", prefix])

    share = prefix / "share" / "llmsim"
    python_dir = prefix / json.loads((share / "install.json").read_text())["python_dir"]
    for f in ["bin/llmsim", "share/llmsim/configs/edge.json",
              "share/llmsim/workloads/gemm/gemm1024.json",
              "share/llmsim/workloads/models/gpt2.json"]:
        assert (prefix / f).is_file(), f"FAIL: {prefix / f} not installed"
    assert (python_dir / "llmsim" / "__init__.py").is_file(), f"FAIL: no package in {python_dir}"
    assert list((python_dir / "llmsim").glob("_llmsim*.so")), f"FAIL: no _llmsim in {python_dir}"

    # Data that only the installed tree has: found only if the lookup starts beside the binary.
    edge = json.loads((share / "configs" / "edge.json").read_text())
    edge["description"] = "installed-only copy of edge"
    (share / "configs" / "installed-only.json").write_text(json.dumps(edge))
    shutil.copy(share / "workloads" / "gemm" / "mlp.json",
                share / "workloads" / "gemm" / "installed-only-mlp.json")
    shutil.copy(share / "workloads" / "models" / "gpt2.json",
                share / "workloads" / "models" / "installed-only-gpt2.json")

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    llmsim = prefix / "bin" / "llmsim"
    with tempfile.TemporaryDirectory() as cwd:
        run([llmsim, "validate", "--arch", "edge"], cwd=cwd, env=env)
        run([llmsim, "validate", "--arch", "installed-only"], cwd=cwd, env=env)
        presets = run([llmsim, "presets"], cwd=cwd, env=env).stdout
        assert "installed-only copy of edge" in presets, f"FAIL: presets:\n{presets}"
        run([llmsim, "trace", "--model", "installed-only-gpt2", "--layers", "1"], cwd=cwd, env=env)
        out = pathlib.Path(cwd) / "run"
        run([llmsim, "run", "--arch", "installed-only", "--workload", "installed-only-mlp",
             "--out", out], cwd=cwd, env=env)

        # The report module that runs is the installed one: it leaves its path behind.
        report = python_dir / "llmsim" / "report.py"
        probe = pathlib.Path(cwd) / "report_module.txt"
        report.write_text(f"import pathlib\npathlib.Path({str(probe)!r}).write_text(__file__)\n" +
                          report.read_text())
        run([llmsim, "report", out], cwd=cwd, env=env)
        assert (out / "report.html").is_file(), "FAIL: llmsim report wrote no report.html"
        used = pathlib.Path(probe.read_text()).resolve()
        assert used == report.resolve(), f"FAIL: llmsim report ran {used}, not {report}"

        py = run([PYTHON, "-c",
                  "import llmsim; print(llmsim.__file__); "
                  "print(llmsim.validate('installed-only')['core']['clock_mhz'])"],
                 cwd=cwd, env=dict(env, PYTHONPATH=str(python_dir))).stdout.split()
        assert pathlib.Path(py[0]).resolve() == (python_dir / "llmsim" / "__init__.py").resolve(), \
            f"FAIL: imported {py[0]}"
        assert float(py[1]) == edge["core"]["clock_mhz"], f"FAIL: validate gave {py[1]}"
    shutil.rmtree(prefix)
    print(f"ok: installed into {prefix} and ran from there")


if __name__ == "__main__":
    main()
