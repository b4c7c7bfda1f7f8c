"""Issue 21's first done-when: the small BERT a user writes in PyTorch,
    Embedding(30522, 768) -> TransformerEncoderLayer(d_model=768, nhead) -> Linear(768, 2)
(fp32, eval mode, torch.manual_seed(0), batch_first=True so that the ids are (batch, seq)),
exported with torch.fx (llmsim.export_fx, which names every op's parameters by their state-dict
keys) and simulated in value mode with the module's own state dict (run(params=...)) and token
ids (run(tokens=...)), gives logits within 1e-4 of max |logit| of the module's own forward
output: on every preset, and on datacenter under --mapping fixed, every --split, --fusion off
and --weights row_major.

The edge and hbm2-stack arrays do not offer fp32: the test adds it to core.systolic.dtypes with
an override (the CLI's --set) instead of changing the presets.

nhead=12 is the issue's network: twelve heads, so the attention context must be stored
token-major for the output projection (it was not, until the value check found it).

Also: the CLI path (write_params, --values-params, --tokens @FILE, --check with the ids in
values/index.json) on a smaller module, and that ids apply to timing-only runs.
"""

import json
import re
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import llmsim  # noqa: E402
from cli_helpers import cli  # noqa: E402

SEQ = 8
TOLERANCE = 1e-4  # relative to max |logit|
PRESETS = ["datacenter", "edge", "hbm2-stack"]
OPTIONS = [  # (name, run() keyword arguments), on datacenter
    ("mapping_fixed", {"mapping": "fixed"}),
    ("split_tiles", {"split": "tiles"}),
    ("split_rows", {"split": "rows"}),
    ("split_cols", {"split": "cols"}),
    ("split_batch", {"split": "batch"}),
    ("fusion_off", {"fusion": False}),
    ("weights_row_major", {"weights": "row_major"}),
]

def small_bert(nhead):
    torch.manual_seed(0)
    return nn.Sequential(nn.Embedding(30522, 768),
                         nn.TransformerEncoderLayer(d_model=768, nhead=nhead, batch_first=True),
                         nn.Linear(768, 2)).eval()


def token_ids():
    g = torch.Generator().manual_seed(21)
    return torch.randint(0, 30522, (1, SEQ), generator=g)


class Case:
    """A module, its trace, its parameters written once, its ids and its own logits."""

    def __init__(self, nhead, directory):
        self.net = small_bert(nhead)
        self.ids = token_ids()
        with torch.no_grad():
            self.expected = self.net(self.ids).reshape(SEQ, 2).numpy()
        self.trace = llmsim.export_fx(self.net, (self.ids,), dtype="fp32")
        self.params = directory
        llmsim.write_params(self.net.state_dict(), directory)

    def logits(self, arch, **options):
        r = llmsim.run(arch, workload=self.trace, values=True, params=self.params,
                       tokens=self.ids, overrides=fp32_override(arch), **options)
        return r.values[self.trace["ops"][-1]["name"]]


def fp32_override(arch):
    """None, or fp32 added to the array's dtypes, at the energy per MAC of its fp16 (the
    energy does not matter here; the config requires one per dtype)."""
    systolic = llmsim.validate(arch)["core"]["systolic"]
    if "fp32" in systolic["dtypes"]:
        return None
    return {"core.systolic.dtypes": systolic["dtypes"] + ["fp32"],
            "core.systolic.energy_pj_per_mac.fp32": systolic["energy_pj_per_mac"]["fp16"]}


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    made = {}

    def get(nhead):
        if nhead not in made:
            made[nhead] = Case(nhead, tmp_path_factory.mktemp(f"params_nhead{nhead}"))
        return made[nhead]
    return get


def assert_close(got, expected):
    assert got.shape == expected.shape == (SEQ, 2)
    error = float(np.abs(got - expected).max() / np.abs(expected).max())
    assert error <= TOLERANCE, f"max |error| / max |logit| = {error:.3g} > {TOLERANCE}"


NHEADS = [12]


@pytest.mark.parametrize("nhead", NHEADS)
@pytest.mark.parametrize("arch", PRESETS)
def test_logits_match_pytorch_on_every_preset(cases, nhead, arch):
    case = cases(nhead)
    assert_close(case.logits(arch), case.expected)


@pytest.mark.parametrize("nhead", NHEADS)
@pytest.mark.parametrize("name,options", OPTIONS, ids=[n for n, _ in OPTIONS])
def test_logits_match_pytorch_under_every_mapping_option(cases, nhead, name, options):
    case = cases(nhead)
    assert_close(case.logits("datacenter", **options), case.expected)


def test_the_trace_names_every_parameter_with_its_layout():
    trace = llmsim.export_fx(small_bert(12), (token_ids(),), dtype="fp32")
    params = {op["name"]: op.get("params") for op in trace["ops"]}
    assert params["_0"] == {"table": "0.weight"}
    q, v = params["_1_self_attn.q_proj"], params["_1_self_attn.v_proj"]
    assert q == {"b": {"name": "1.self_attn.in_proj_weight", "transpose": True, "rows": [0, 768]},
                 "bias": {"name": "1.self_attn.in_proj_bias", "rows": [0, 768]}}
    assert v["b"]["rows"] == [1536, 2304]
    assert params["_1_self_attn.o_proj"] == {
        "b": {"name": "1.self_attn.out_proj.weight", "transpose": True},
        "bias": "1.self_attn.out_proj.bias"}
    assert params["_2"] == {"b": {"name": "2.weight", "transpose": True}, "bias": "2.bias"}
    norms = [p for name, p in params.items() if p and "gamma" in p]
    assert norms == [{"gamma": "1.norm1.weight", "beta": "1.norm1.bias"},
                     {"gamma": "1.norm2.weight", "beta": "1.norm2.bias"}]
    # Ops without parameters (scores, softmax, residual adds, relu) name none.
    assert params["_1_self_attn.softmax"] is None and params["_1_self_attn.scores"] is None


def test_unnamed_tensors_keep_the_seeded_values_and_named_ones_take_the_state_dict(cases):
    case = cases(1)
    r = llmsim.run("datacenter", workload=case.trace, values=True, params=case.params,
                   tokens=case.ids)
    sd = case.net.state_dict()
    by_op = {}
    for t in r.tensors:
        by_op.setdefault(case.trace["ops"][t["op"]]["name"], []).append(t)
    linear = [t for t in by_op["_2"] if t["role"] == "b"][0]["data"]
    np.testing.assert_array_equal(linear, sd["2.weight"].numpy().T)
    table = by_op["_0"][0]["data"]
    np.testing.assert_array_equal(table, sd["0.weight"].numpy())
    norm = [t for t in r.tensors if t["role"] == "param"][0]["data"]
    np.testing.assert_array_equal(norm, np.stack([sd["1.norm1.weight"].numpy(),
                                                  sd["1.norm1.bias"].numpy()]))
    # Without params the same tensors are the seeded ones.
    seeded = llmsim.run("datacenter", workload=case.trace, values=True, tokens=case.ids)
    assert not np.array_equal(seeded.tensors[0]["data"], table)


def test_cli_params_dir_tokens_file_and_check(tmp_path):
    # A smaller network through the command line: the names are listed in values/index.json,
    # the ids reach the check (which passes with them and would not with the hash).
    torch.manual_seed(1)
    net = nn.Sequential(nn.Embedding(100, 32),
                        nn.TransformerEncoderLayer(32, 1, dim_feedforward=64, batch_first=True),
                        nn.Linear(32, 3)).eval()
    ids = torch.tensor([[5, 99, 0, 42]])
    llmsim.export_fx(net, (ids,), dtype="fp32", out=str(tmp_path / "trace.json"))
    llmsim.write_params(net.state_dict(), tmp_path / "params")
    (tmp_path / "ids.txt").write_text("5 99\n0, 42\n")
    out = tmp_path / "run"
    r = cli("run", "--arch", "datacenter", "--workload", str(tmp_path / "trace.json"),
            "--values", "--values-params", str(tmp_path / "params"),
            "--tokens", f"@{tmp_path / 'ids.txt'}", "--out", str(out), "--check")
    assert r.returncode == 0, r.stderr + r.stdout
    index = json.loads((out / "values" / "index.json").read_text())
    assert index["tokens"] == {"op": 0, "ids": [5, 99, 0, 42]}
    names = [t.get("params") for t in index["tensors"]]
    assert {"table": "0.weight"} in names
    assert {"gamma": "1.norm2.weight", "beta": "1.norm2.bias"} in names
    logits = np.load(out / "values" / f"{len(index['outputs']) - 1:05d}.npy")
    with torch.no_grad():
        expected = net(ids).reshape(4, 3).numpy()
    assert np.abs(logits - expected).max() <= TOLERANCE * np.abs(expected).max()
    # Without the ids in index.json the check takes the hashed ones and names the embedding.
    del index["tokens"]
    (out / "values" / "index.json").write_text(json.dumps(index))
    r = subprocess.run([sys.executable, "-m", "llmsim.check", str(out), str(out / "trace.json")],
                       capture_output=True, text=True)
    assert r.returncode == 3, r.stdout + r.stderr
    assert re.search(r"FAIL: op 0 '_0' \(embedding\) is out of tolerance.*\(ids: \(\(r \* "
                     r"2654435761", r.stdout), r.stdout


def test_token_ids_apply_without_values_and_the_default_is_the_hash():
    # The gather's addresses follow the ids; the hash ids given explicitly are the default.
    trace = {"ops": [{"op": "embedding", "name": "emb", "tokens": 4, "vocab": 1000,
                      "hidden": 64, "dtype": "fp32"}]}
    hashed = [(r * 2654435761 + 12345) % 1000 for r in range(4)]
    default = llmsim.run("datacenter", workload=trace)
    same = llmsim.run("datacenter", workload=trace, tokens=hashed)
    assert same.total_cycles == default.total_cycles
    r = llmsim.run("datacenter", workload=trace, values=True, tokens=[3, 3, 999, 0])
    table = r.tensors[0]["data"]
    np.testing.assert_array_equal(r.values["emb"], table[[3, 3, 999, 0]])


def test_python_params_and_tokens_errors():
    trace = {"ops": [{"op": "embedding", "name": "emb", "tokens": 4, "vocab": 10,
                      "hidden": 8, "dtype": "fp32", "params": {"table": "emb.weight"}}]}
    with pytest.raises(ValueError, match=r"3 ids given, but embedding op 'emb' \(ops\[0\]\) "
                                         r"reads 4"):
        llmsim.run("datacenter", workload=trace, tokens=[1, 2, 3])
    with pytest.raises(ValueError, match=r"id 10 \(position 1\) is not below the vocab 10"):
        llmsim.run("datacenter", workload=trace, tokens=[1, 10, 2, 3])
    with pytest.raises(TypeError, match=r"tokens\[1\]"):
        llmsim.run("datacenter", workload=trace, tokens=[1, 2.5, 2, 3])
    with pytest.raises(TypeError, match="must hold integers"):
        llmsim.run("datacenter", workload=trace, tokens=np.zeros(4))
    with pytest.raises(TypeError, match="params: needs values=True"):
        llmsim.run("datacenter", workload=trace, params={})
    with pytest.raises(ValueError, match=r"params: 'emb.weight' \(op 'emb' \(ops\[0\]\) table, "
                                         r"expected shape 10x8\): no such name in the "
                                         r"state dict$"):
        llmsim.run("datacenter", workload=trace, values=True, params={"other": np.zeros(3)})
    with pytest.raises(ValueError, match=r"expected shape 10x8\): shape 8x10"):
        llmsim.run("datacenter", workload=trace, values=True,
                   params={"emb.weight": torch.zeros(8, 10)})
    with pytest.raises(TypeError, match=r"params\['emb.weight'\]: must be a torch tensor"):
        llmsim.run("datacenter", workload=trace, values=True, params={"emb.weight": [1, 2]})


def test_npy_byte_orders_fortran_order_and_integer_dtypes_read_as_numpy_reads_them(tmp_path):
    rng = np.random.default_rng(5)
    table = rng.normal(size=(10, 8))
    weight = rng.integers(-300, 300, size=(2, 8)).astype(np.int16)
    trace = {"ops": [
        {"op": "embedding", "name": "emb", "tokens": 4, "vocab": 10, "hidden": 8,
         "dtype": "fp32", "params": {"table": "emb"}},
        {"op": "matmul", "name": "fc", "m": 4, "k": 8, "n": 2, "a": "emb", "bias": True,
         "dtype": "fp32", "params": {"b": {"name": "fc", "transpose": True},
                                     "bias": {"name": "bias", "rows": [1, 3]}}}]}
    llmsim.write_params({"emb": table.astype(">f8"), "fc": np.asfortranarray(weight),
                         "bias": np.array([7, 1, 0, 9], np.uint8)}, tmp_path)
    assert np.load(tmp_path / "00001.npy").flags.f_contiguous is False  # written C order
    np.save(tmp_path / "00001.npy", np.asfortranarray(weight))  # now truly Fortran order
    assert np.load(tmp_path / "00001.npy").flags.f_contiguous
    r = llmsim.run("datacenter", workload=trace, values=True, params=tmp_path)
    roles = {t["role"]: t["data"] for t in r.tensors}
    np.testing.assert_array_equal(roles["table"], table.astype(np.float32))
    np.testing.assert_array_equal(roles["b"], weight.T.astype(np.float32))
    np.testing.assert_array_equal(roles["bias"], [[1, 0]])


def test_values_keep_none_keeps_no_arrays():
    # A 4x8x2 matmul: keep all (the default) returns its output (4 x 2) and its 2 operands;
    # keep none computes at the same cycles and returns neither.
    trace = {"ops": [{"op": "matmul", "name": "fc", "m": 4, "k": 8, "n": 2, "dtype": "fp32"}]}
    all_ = llmsim.run("datacenter", workload=trace, values=True)
    none = llmsim.run("datacenter", workload=trace, values=True, values_keep="none")
    assert all_.values["fc"].shape == (4, 2) and len(all_.tensors) == 2
    assert none.values is None and none.tensors is None
    assert none.total_cycles == all_.total_cycles
    with pytest.raises(ValueError, match=r'values_keep: must be "all" or "none", got "some"'):
        llmsim.run("datacenter", workload=trace, values=True, values_keep="some")
    with pytest.raises(TypeError, match=r"values_keep: needs values=True"):
        llmsim.run("datacenter", workload=trace, values_keep="none")
