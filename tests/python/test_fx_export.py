"""The torch.fx exporter (python/llmsim/fx_export.py) against the built-in transformer frontend,
and the Python face of the frontend (llmsim.trace, llmsim.check_trace).

The issue's network: a small BERT as a user writes it in PyTorch,
    Embedding(30522, 768) -> TransformerEncoderLayer(d_model=768, nhead=12) -> Linear(768, 2),
with torch's defaults (dim_feedforward 2048, ReLU, post-norm, dropout 0.1, an identity in
eval mode) and batch_first=True (input token ids of shape (batch, seq)). Its built-in
description is workloads/models/torch-tiny-bert.json.
"""

import json
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import llmsim  # noqa: E402
from llmsim.fx_export import ExportError  # noqa: E402

OPERAND_KEYS = ("a", "b", "input")


def small_bert():
    torch.manual_seed(0)
    return nn.Sequential(nn.Embedding(30522, 768),
                         nn.TransformerEncoderLayer(d_model=768, nhead=12, batch_first=True),
                         nn.Linear(768, 2)).eval()


def canonical(trace):
    """The op list without names, layers and parameter names, operands as the index of their producer (or the
    external source): what two traces of the same network must agree on."""
    index = {op["name"]: i for i, op in enumerate(trace["ops"])}

    def operand(ref):
        return ("op", index[ref]) if ref in index else ref

    out = []
    for op in trace["ops"]:
        c = {k: v for k, v in op.items() if k not in ("name", "layer", "params")}
        for k in OPERAND_KEYS:
            if k in c:
                c[k] = operand(c[k])
        if "inputs" in c:
            c["inputs"] = [operand(r) for r in c["inputs"]]
        out.append(c)
    return out


@pytest.mark.parametrize("batch,seq", [(1, 128), (2, 16)])
def test_small_bert_export_equals_builtin_description(batch, seq):
    exported = llmsim.export_fx(small_bert(), (torch.zeros(batch, seq, dtype=torch.long),))
    builtin = llmsim.trace("torch-tiny-bert", batch=batch, seq=seq)
    assert canonical(exported) == canonical(builtin)
    t, h, heads = batch * seq, 768, 12
    kinds = [op["op"] for op in exported["ops"]]
    assert kinds == ["embedding", "matmul", "matmul", "matmul", "matmul", "scale", "softmax",
                     "matmul", "matmul", "add", "layernorm", "matmul", "relu", "matmul", "add",
                     "layernorm", "matmul"]
    scores = exported["ops"][4]
    assert (scores["batch"], scores["m"], scores["k"], scores["n"], scores["transpose_b"]) == \
        (batch * heads, seq, h // heads, seq, True)
    assert exported["ops"][-1]["m"] == t and exported["ops"][-1]["n"] == 2


def test_small_bert_export_and_builtin_lower_and_run_the_same():
    # The check: the exported trace and the built-in description of the same network
    # lower to the same op list -- and, lowered alike, they simulate to the same cycles.
    exported = llmsim.export_fx(small_bert(), (torch.zeros(1, 16, dtype=torch.long),))
    builtin = llmsim.trace("torch-tiny-bert", batch=1, seq=16)
    a = llmsim.run("edge", workload=exported)
    b = llmsim.run("edge", workload=builtin)
    keys = ["kind", "shape", "dtype", "macs", "pieces", "cycles", "dram_read_bytes",
            "dram_written_bytes"]
    assert [{k: op[k] for k in keys} for op in a.ops] == \
        [{k: op[k] for k in keys} for op in b.ops]
    assert a.total_cycles == b.total_cycles > 0


def test_exported_layers_follow_the_module_tree():
    exported = llmsim.export_fx(small_bert(), torch.zeros(1, 8, dtype=torch.long))
    assert [op["layer"] for op in exported["ops"]] == ["0"] + ["1"] * 15 + ["2"]
    assert exported["ops"][1]["name"] == "_1_self_attn.q_proj"


def test_unsupported_module_names_the_node_and_target():
    net = nn.Sequential(nn.Linear(8, 8), nn.Sigmoid()).eval()
    with pytest.raises(ExportError, match=r"fx node '_1' \(call_module 1 \(Sigmoid\)\): module "
                                          r"type Sigmoid is not supported"):
        llmsim.export_fx(net, torch.zeros(2, 8))


def test_unsupported_function_names_the_node_and_target():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 8)

        def forward(self, x):
            return torch.sigmoid(self.fc(x))

    with pytest.raises(ExportError, match=r"fx node 'sigmoid' \(call_function torch.sigmoid\): "
                                          r"not supported"):
        llmsim.export_fx(Net().eval(), torch.zeros(2, 8))


def test_attention_mask_and_training_dropout_are_errors_not_skipped():
    class Masked(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.TransformerEncoderLayer(d_model=64, nhead=4, batch_first=True)
            self.register_buffer("mask", torch.zeros(8, 8))

        def forward(self, x):
            return self.layer(x, src_mask=self.mask)

    with pytest.raises(ExportError, match=r"fx node 'layer_self_attn' .*attn_mask is not "
                                          r"supported"):
        llmsim.export_fx(Masked().eval(), torch.zeros(1, 8, 64))
    with pytest.raises(ExportError, match=r"fx node '_1_self_attn' .*attention dropout in "
                                          r"training mode"):
        llmsim.export_fx(small_bert().train(), torch.zeros(1, 8, dtype=torch.long))
    with pytest.raises(ExportError, match=r"fx node '_1' .*: dropout in training mode"):
        llmsim.export_fx(nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5)).train(),
                         torch.zeros(2, 8))


def test_out_file_and_command_line(tmp_path):
    net = small_bert()
    path = tmp_path / "trace.json"
    trace = llmsim.export_fx(net, torch.zeros(1, 4, dtype=torch.long), out=path)
    assert json.loads(path.read_text()) == trace
    (tmp_path / "mynet.py").write_text(
        "import torch.nn as nn\n"
        "def make():\n"
        "    return nn.Sequential(nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 4))\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env.get("PYTHONPATH", "")])
    out = tmp_path / "mlp.json"
    r = subprocess.run([sys.executable, "-m", "llmsim.fx_export", "mynet:make", "--input-shape",
                        "3x16", "--input-dtype", "float32", "--out", str(out)],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    ops = json.loads(out.read_text())["ops"]
    assert [(op["op"], op.get("m"), op.get("rows")) for op in ops] == \
        [("matmul", 3, None), ("gelu", None, 3), ("matmul", 3, None)]


# -- llmsim.trace and llmsim.check_trace ------------------------------------------------------

def test_trace_from_name_path_and_dict_agree():
    repo_models = os.path.join(os.path.dirname(__file__), "..", "..", "workloads", "models")
    path = os.path.join(repo_models, "gpt2.json")
    by_name = llmsim.trace("gpt2", seq=16)
    with open(path) as f:
        by_dict = llmsim.trace(json.load(f), seq=16)
    assert canonical(by_name) == canonical(llmsim.trace(path, seq=16)) == canonical(by_dict)
    assert "gpt2" in llmsim.models()


def test_trace_options_are_checked():
    with pytest.raises(ValueError, match="kv_len: phase decode needs"):
        llmsim.trace("llama-3-8b", phase="decode")
    with pytest.raises(ValueError, match="phase decode needs a decoder"):
        llmsim.trace("bert-base-uncased", phase="decode", kv_len=4)
    with pytest.raises(ValueError,
                       match=r"seq: must be an integer in \[1, 18446744073709551615\], got 0"):
        llmsim.trace("gpt2", seq=0)
    with pytest.raises(TypeError):
        llmsim.trace("gpt2", batch="2")


def test_check_trace_writes_defaults_and_rejects_bad_ops():
    t = llmsim.check_trace({"ops": [{"op": "matmul", "m": 2, "k": 3, "n": 4}]})
    assert t["ops"][0] == {"op": "matmul", "name": "op0", "layer": "op0", "dtype": "int8",
                           "m": 2, "k": 3, "n": 4, "batch": 1, "a": "input", "b": "weight",
                           "transpose_b": False, "bias": False}
    with pytest.raises(ValueError, match=r"ops\[0\].rows: must be a positive integer, got 0"):
        llmsim.check_trace({"ops": [{"op": "softmax", "rows": 0, "cols": 4,
                                     "inputs": ["input"]}]})
