"""llmsim.plot: every plot writes a PNG that matplotlib reads back, the cycle breakdown columns
add up, and the Pareto front is the exact set of undominated points.

    PYTHONPATH=build/python /usr/bin/python3 -m pytest -q tests/python/test_plot.py
"""

import json

import matplotlib.image
import pandas as pd
import pytest

import llmsim
import llmsim.plot as lp

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _assert_png(path, written):
    assert written == path
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    pixels = matplotlib.image.imread(path)
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100  # a picture, not an empty canvas
    assert pixels.std() > 0  # not one flat colour


@pytest.fixture(scope="module")
def mlp():
    # Three matmuls (ffn_up, ffn_down, proj) on the four cores of the datacenter preset.
    return llmsim.run("datacenter", workload="mlp")


def test_breakdown_columns_add_up_to_span_times_cores(mlp):
    ops = mlp.per_op
    assert (ops["compute_cycles"] + ops["memory_stall_cycles"] + ops["sync_cycles"]
            == ops["cycles"] * ops["cores"]).all()
    layers = mlp.per_layer
    assert (layers["compute_cycles"] + layers["memory_stall_cycles"] + layers["sync_cycles"]
            == layers["span_cycles"] * layers["cores"]).all()
    # Each op's first loads arrive before its first GEMM can start: some stall in every op.
    assert (ops["memory_stall_cycles"] > 0).all()
    assert set(ops["cores"]) <= {1, 2, 3, 4}


def test_layer_breakdown_from_result_and_run_dir(mlp, tmp_path):
    _assert_png(tmp_path / "a.png", lp.layer_breakdown(mlp, tmp_path / "a.png"))
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "stats.json").write_text(json.dumps(mlp.stats))
    (run_dir / "config.json").write_text(json.dumps(mlp.config))
    _assert_png(tmp_path / "b.png", lp.layer_breakdown(str(run_dir), tmp_path / "b.png"))


def test_roofline(mlp, tmp_path):
    _assert_png(tmp_path / "roof.png", lp.roofline(mlp, tmp_path / "roof.png"))
    points = lp.roofline_points(mlp)
    assert [p[0] for p in points] == [op["name"] for op in mlp.ops]  # every op is a matmul
    clock_hz = mlp.stats["core_clock_mhz"] * 1e6
    peak_ops = 2 * 4 * 128 * 128 * clock_hz  # 4 cores of 128 x 128 PEs, one MAC = 2 ops
    for (name, intensity, achieved), op in zip(points, mlp.ops):
        flops = 2 * op["macs"]
        assert intensity == pytest.approx(flops / (op["dram_read_bytes"] +
                                                   op["dram_written_bytes"]))
        assert achieved == pytest.approx(flops * clock_hz / op["cycles"])
        assert achieved <= peak_ops  # no op beats the roof
        assert achieved <= intensity * mlp.stats["peak_bandwidth_gb_per_s"] * 1e9 * 1.0001


def test_heatmap(tmp_path):
    df = pd.DataFrame({"rows": [16, 16, 32, 32], "banks": [8, 16, 8, 16],
                       "seconds": [4.0, 3.0, 2.0, float("nan")]})  # a failed point: blank
    _assert_png(tmp_path / "h.png", lp.heatmap(df, "rows", "banks", "seconds", tmp_path / "h.png"))


def test_pareto_front_exact():
    # Minimise both. a (1, 9), b (2, 5), c (3, 5): dominated by b (equal energy, slower),
    # d (4, 2), e (4, 3): dominated by d (same time, more energy), f (5, 2): dominated by d,
    # g (2, 5): b's exact twin (neither beats the other: both stay), h (6, 1), i (NaN): failed.
    df = pd.DataFrame({"id": list("abcdefghi"),
                       "seconds": [1, 2, 3, 4, 4, 5, 2, 6, float("nan")],
                       "energy_pj": [9, 5, 5, 2, 3, 2, 5, 1, 0]})
    front = lp.pareto_front(df, "seconds", "energy_pj")
    assert list(front["id"]) == ["a", "b", "g", "d", "h"]
    # The brute-force definition agrees.
    ok = df.dropna()
    brute = [r.id for r in ok.itertuples()
             if not any(o.seconds <= r.seconds and o.energy_pj <= r.energy_pj and
                        (o.seconds < r.seconds or o.energy_pj < r.energy_pj)
                        for o in ok.itertuples())]
    assert sorted(brute) == sorted(front["id"])


def test_pareto_plot(tmp_path):
    df = pd.DataFrame({"seconds": [1.0, 2.0, 3.0, 2.5], "energy_pj": [5.0, 3.0, 1.0, 4.0]})
    _assert_png(tmp_path / "p.png", lp.pareto(df, path=tmp_path / "p.png"))


def test_missing_run_dir_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere: no such run directory"):
        lp.layer_breakdown(str(tmp_path / "nowhere"), tmp_path / "x.png")
    with pytest.raises(FileNotFoundError, match=r"stats\.json: not found"):
        lp.roofline(tmp_path, tmp_path / "x.png")
