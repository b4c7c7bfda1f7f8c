"""`llmsim report RUN_DIR` (the CLI, through python/llmsim/report.py) on a directory made by
`llmsim run --out`: one HTML page naming the run, with its tables and its plots inlined and
written beside it; a missing directory or stats.json is named in the error.

    PYTHONPATH=build/python LLMSIM_BIN=build/llmsim /usr/bin/python3 -m pytest -q \\
        tests/python/test_report.py
"""

import base64
import json
import re

import pytest

import llmsim
import llmsim.report
from cli_helpers import cli

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _cli(*args):
    return cli(*args)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "mlp on datacenter"  # a space in the path
    r = _cli("run", "--arch", "datacenter", "--workload", "mlp", "--out", str(out))
    assert r.returncode == 0, r.stderr
    return out


def test_cli_report_writes_one_page_with_tables_and_plots(run_dir):
    r = _cli("report", str(run_dir))
    assert r.returncode == 0, r.stdout + r.stderr
    page_path = run_dir / "report.html"
    assert r.stdout.strip() == f"wrote {page_path}"
    page = page_path.read_text()
    stats = json.loads((run_dir / "stats.json").read_text())
    assert "<title>llmsim report: mlp on datacenter</title>" in page
    assert f"<td>total_cycles</td><td>{stats['total_cycles']}</td>" in page
    for op in stats["ops"]:  # every op in the op table, with its breakdown
        assert f"<td>{op['name']}</td>" in page
        assert f"<td>{op['memory_stall_cycles']}</td>" in page
    for layer in stats["layers"]:
        assert f"<td>{layer['name']}</td>" in page
    # The plots: linked files beside the page, the same bytes inlined as base64.
    for name in ("layer_breakdown.png", "roofline.png"):
        png = (run_dir / name).read_bytes()
        assert png[:8] == PNG_SIGNATURE
        assert f'<a href="{name}">' in page
    inlined = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert [base64.b64decode(x) for x in inlined] == [
        (run_dir / n).read_bytes() for n in ("layer_breakdown.png", "roofline.png")]


def test_report_names_the_matmul_a_fused_op_ran_in(tmp_path):
    # A matmul and its relu (fused: the relu runs in the matmul's epilogue).
    workload = tmp_path / "fused.json"
    workload.write_text(json.dumps({"ops": [
        {"op": "matmul", "name": "proj", "m": 64, "k": 256, "n": 256},
        {"op": "relu", "name": "act", "rows": 64, "cols": 256, "inputs": ["proj"]}]}))
    out = tmp_path / "run"
    assert _cli("run", "--arch", "edge", "--workload", str(workload), "--out",
                str(out)).returncode == 0
    page = llmsim.report.write_report(out).read_text()
    assert "<th>fused_into</th>" in page
    ops_table = page[page.index("<h2>Ops</h2>"):]  # (the layer table has a row "act" too)
    row = re.search(r"<tr><td>act</td>.*?</tr>", ops_table).group(0)
    assert row.endswith("<td>proj</td></tr>")


def test_report_errors_name_what_is_missing(tmp_path):
    missing = tmp_path / "nowhere"
    r = _cli("report", str(missing))
    assert r.returncode == 2
    assert r.stderr == f"error: {missing}: no such run directory\n"
    r = _cli("report", str(tmp_path))
    assert r.returncode == 2
    assert r.stderr == (f"error: {tmp_path / 'stats.json'}: not found (a run directory is what "
                        "`llmsim run ... --out DIR` writes)\n")
    assert not (tmp_path / "report.html").exists()
    r = _cli("report")
    assert r.returncode == 2 and "report takes RUN_DIR" in r.stderr


def test_module_reports_the_same_errors(tmp_path, capsys):
    assert llmsim.report.main([str(tmp_path)]) == 2
    assert capsys.readouterr().err == (f"error: {tmp_path / 'stats.json'}: not found (a run "
                                       "directory is what `llmsim run ... --out DIR` writes)\n")
