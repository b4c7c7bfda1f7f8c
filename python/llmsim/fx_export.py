"""Export a torch.nn.Module to llmsim's layer trace format with torch.fx.

    >>> import torch, torch.nn as nn, llmsim
    >>> net = nn.Sequential(nn.Embedding(30522, 768),
    ...                     nn.TransformerEncoderLayer(768, 12, batch_first=True),
    ...                     nn.Linear(768, 2)).eval()
    >>> trace = llmsim.export_fx(net, (torch.zeros(1, 128, dtype=torch.long),))
    >>> llmsim.run("datacenter", trace)   # once the lowering handles every op kind

How: a torch.fx Tracer records the module's graph, treating the modules below as leaves
(nn.MultiheadAttention, nn.Linear, nn.LayerNorm, nn.Embedding, activations, dropout) and tracing
nn.TransformerEncoderLayer / nn.TransformerEncoder through their reference (non-fused) path,
whose math the fused inference fast path of torch 1.13 computes too. ShapeProp runs the graph on
the example inputs to get every tensor's shape. Each node then becomes trace ops:

  nn.Embedding                      embedding (indices must be a model input)
  nn.Linear, F.linear               matmul (m = rows of the input, b = the weight, bias flag)
  nn.MultiheadAttention             q/k/v projections, scores (batch x heads matmuls, K
                                    transposed), scale, softmax, context, output projection:
                                    the same ops as llmsim's built-in BERT attention
  nn.LayerNorm, F.layer_norm        layernorm over the last dimension
  ReLU/GELU/SiLU/Tanh, softmax      relu / gelu / silu / tanh / softmax over the last dimension
  x + y, x * y (same shapes)        add / mul;  x * c, x / c with a constant: scale
  torch.matmul, @, torch.bmm        matmul with the leading dimensions as batch
  dropout (inference), view, reshape, flatten, squeeze, unsqueeze, contiguous, getitem of a
  module's tuple output             no op: the same tensor under another name or shape

Each op with parameters also names them by their state-dict keys ("params", docs/workloads.md):
an embedding its "table" ("0.weight"); a linear layer its "b" as {"name": "2.weight",
"transpose": true} (nn.Linear stores out x in, the transpose of the trace's k x n B) and its
"bias"; attention's q, k and v projections the thirds of in_proj_weight and in_proj_bias
({"rows": [0, 768]}, ...), its output projection out_proj; a layer norm its "gamma" and "beta".
llmsim.run(..., values=True, params=module.state_dict()) lays them into the simulated DRAM.
A LayerNorm without affine parameters or with an eps other than 1e-5 (the trace's) is an
ExportError.

Anything else, or any of these used in a way the trace cannot express (an attention mask,
cross-attention, training-mode dropout, a reduction over another dimension, a transpose), raises
ExportError naming the fx node, its op and its target: never a zero-cost placeholder.

Run as a script to write a file:
    python3 -m llmsim.fx_export mypkg.models:make_net --input-shape 1x128 --out trace.json
"""

import argparse
import contextlib
import importlib
import io
import json
import math
import operator
import os

import torch
import torch.fx as fx
import torch.nn as nn
import torch.nn.functional as F
from torch.fx.passes.shape_prop import ShapeProp

__all__ = ["ExportError", "export_fx", "main"]


class ExportError(ValueError):
    """A node of the module's graph that the trace format cannot express."""


# -- tracing ------------------------------------------------------------------------------------

_LEAVES = (nn.Embedding, nn.Linear, nn.LayerNorm, nn.MultiheadAttention, nn.Dropout, nn.Identity,
           nn.ReLU, nn.GELU, nn.SiLU, nn.Tanh, nn.Softmax)
_TRACED_THROUGH = (nn.TransformerEncoderLayer, nn.TransformerEncoder, nn.Sequential,
                   nn.ModuleList)


def _encoder_layer_reference(layer, src, src_mask=None, src_key_padding_mask=None):
    # nn.TransformerEncoderLayer.forward of torch 1.13 without its fast-path dispatch (which
    # branches on the input's properties and so cannot be symbolically traced).
    x = src
    if layer.norm_first:
        x = x + layer._sa_block(layer.norm1(x), src_mask, src_key_padding_mask)
        x = x + layer._ff_block(layer.norm2(x))
    else:
        x = layer.norm1(x + layer._sa_block(x, src_mask, src_key_padding_mask))
        x = layer.norm2(x + layer._ff_block(x))
    return x


def _encoder_reference(encoder, src, mask=None, src_key_padding_mask=None):
    output = src
    for layer in encoder.layers:
        output = layer(output, src_mask=mask, src_key_padding_mask=src_key_padding_mask)
    if encoder.norm is not None:
        output = encoder.norm(output)
    return output


class _Tracer(fx.Tracer):
    """Leaves are the modules the exporter maps; other torch.nn modules stay leaves too (and are
    reported as unsupported); user modules and the transformer containers are traced through.
    Each node remembers the innermost traced-through module it came from, as its `layer`."""

    def __init__(self):
        super().__init__()
        self._scopes = []

    def is_leaf_module(self, m, qualified_name):
        if isinstance(m, _TRACED_THROUGH):
            return False
        if isinstance(m, _LEAVES):
            return True
        return super().is_leaf_module(m, qualified_name)

    def call_module(self, m, forward, args, kwargs):
        path = self.path_of_module(m)
        leaf = self.is_leaf_module(m, path)
        if isinstance(m, nn.TransformerEncoderLayer):
            forward = lambda *a, **k: _encoder_layer_reference(m, *a, **k)  # noqa: E731
        elif isinstance(m, nn.TransformerEncoder):
            forward = lambda *a, **k: _encoder_reference(m, *a, **k)  # noqa: E731
        self._scopes.append((path, leaf))
        try:
            return super().call_module(m, forward, args, kwargs)
        finally:
            self._scopes.pop()

    def create_node(self, *args, **kwargs):
        node = super().create_node(*args, **kwargs)
        # Ops inside a traced-through module take its path; a leaf's node takes the path of the
        # module around it, or its own at the top level.
        scopes = [path for path, leaf in self._scopes if not leaf]
        node.meta["llmsim_layer"] = scopes[-1] if scopes else (
            self._scopes[-1][0] if self._scopes else "")
        return node


# -- values flowing through the graph -----------------------------------------------------------

class _Tensor:
    """A tensor of the graph: a trace operand ("input", "weight" or an op name) and its shape;
    a "weight" read from the module (get_attr) also has its state-dict name, `param`."""

    def __init__(self, ref, shape, param=None):
        self.ref, self.shape = ref, tuple(int(d) for d in shape)
        self.param = param

    @property
    def numel(self):
        return math.prod(self.shape)

    @property
    def cols(self):
        return self.shape[-1] if self.shape else 1

    @property
    def rows(self):
        return self.numel // self.cols


class _Unusable:
    """A value the trace cannot use (attention weights, a non-tensor); using it is an error."""

    def __init__(self, why):
        self.why = why


def _target_name(node, modules):
    if node.op == "call_module":
        return f"{node.target} ({type(modules[node.target]).__name__})"
    if node.op == "call_method":
        return f"Tensor.{node.target}"
    if callable(node.target):
        return fx.node._get_qualified_name(node.target)
    return str(node.target)


class _Exporter:
    def __init__(self, gm, dtype):
        self.gm, self.dtype = gm, dtype
        self.modules = dict(gm.named_modules())
        self.ops, self.env = [], {}
        self.node = None

    # errors and operands

    def fail(self, why):
        n = self.node
        raise ExportError(f"fx node '{n.name}' ({n.op} {_target_name(n, self.modules)}): {why}")

    def value(self, arg):
        if isinstance(arg, fx.Node):
            v = self.env[arg]
            if isinstance(v, _Unusable):
                self.fail(f"uses '{arg.name}', {v.why}")
            return v
        return arg

    def tensor(self, arg, what="input"):
        v = self.value(arg)
        if not isinstance(v, _Tensor):
            self.fail(f"its {what} must be a tensor, got {v!r}")
        return v

    def out_shape(self):
        meta = self.node.meta.get("tensor_meta")
        if meta is None or not hasattr(meta, "shape"):
            self.fail("produces no single tensor")
        return tuple(meta.shape)

    # trace ops

    def emit(self, kind, name, layer, params=None, **fields):
        op = {"op": kind, "name": name, "layer": layer, "dtype": self.dtype}
        op.update(fields)
        params = {k: v for k, v in (params or {}).items() if v is not None}
        if params:
            op["params"] = params
        self.ops.append(op)
        return name

    def vector(self, kind, x, others=(), name=None, layer=None, params=None, **fields):
        name = name or self.node.name
        inputs = [x.ref] + [o.ref for o in others]
        self.emit(kind, name, layer or self.layer(), params=params, rows=x.rows, cols=x.cols,
                  inputs=inputs, **fields)
        return _Tensor(name, x.shape)

    def matmul(self, name, m, k, n, a, b="weight", batch=1, transpose_b=False, bias=False,
               params=None):
        self.emit("matmul", name, self.layer(), params=params, m=m, k=k, n=n, batch=batch, a=a,
                  b=b, transpose_b=transpose_b, bias=bias)
        return name

    def layer(self):
        return self.node.meta.get("llmsim_layer") or self.node.name

    # graph walk

    def run(self):
        for node in self.gm.graph.nodes:
            self.node = node
            if node.op == "placeholder":
                meta = node.meta.get("tensor_meta")
                self.env[node] = (_Tensor("input", meta.shape) if hasattr(meta, "shape")
                                  else _Unusable("a non-tensor input"))
            elif node.op == "get_attr":
                attr = _fetch_attr(self.gm, node.target)
                self.env[node] = (_Tensor("weight", attr.shape, param=node.target)
                                  if isinstance(attr, torch.Tensor)
                                  else _Unusable("a non-tensor attribute"))
            elif node.op == "call_module":
                self.env[node] = self.module(self.modules[node.target])
            elif node.op in ("call_function", "call_method"):
                self.env[node] = self.function(node.target, node.op == "call_method")
            elif node.op == "output":
                pass
            else:
                self.fail("unknown fx node kind")
        return self.ops

    def module(self, mod):
        args, kwargs = self.node.args, self.node.kwargs
        if isinstance(mod, nn.Embedding):
            ids = self.tensor(args[0], "indices")
            if ids.ref != "input":
                self.fail("embedding indices must be a model input, not computed by an op")
            if mod.max_norm is not None:
                self.fail("max_norm renormalises the table on lookup; not modelled")
            self.emit("embedding", self.node.name, self.layer(),
                      params={"table": f"{self.node.target}.weight"}, tokens=ids.numel,
                      vocab=mod.num_embeddings, hidden=mod.embedding_dim)
            return _Tensor(self.node.name, self.out_shape())
        if isinstance(mod, nn.Linear):
            path = self.node.target
            return self.linear(self.tensor(args[0]), mod.in_features, mod.out_features,
                               mod.bias is not None, f"{path}.weight",
                               f"{path}.bias" if mod.bias is not None else None)
        if isinstance(mod, nn.LayerNorm):
            path = self.node.target
            if not mod.elementwise_affine:
                self.fail("LayerNorm without elementwise_affine is not supported (the trace's "
                          "layernorm has gamma and beta)")
            if mod.eps != 1e-5:
                self.fail(f"LayerNorm eps={mod.eps}: the trace's layernorm uses 1e-5")
            return self.layer_norm(self.tensor(args[0]), tuple(mod.normalized_shape),
                                   f"{path}.weight", f"{path}.bias")
        if isinstance(mod, nn.MultiheadAttention):
            return self.attention(mod, args, kwargs)
        if isinstance(mod, nn.Dropout):
            return self.dropout(args[0], mod.p, mod.training)
        if isinstance(mod, nn.Identity):
            return self.tensor(args[0])
        if isinstance(mod, (nn.ReLU, nn.GELU, nn.SiLU, nn.Tanh)):
            kind = {nn.ReLU: "relu", nn.GELU: "gelu", nn.SiLU: "silu", nn.Tanh: "tanh"}[type(mod)]
            return self.vector(kind, self.tensor(args[0]))
        if isinstance(mod, nn.Softmax):
            return self.softmax(self.tensor(args[0]), mod.dim)
        self.fail(f"module type {type(mod).__name__} is not supported by the trace exporter")

    def function(self, target, is_method):
        args, kwargs = self.node.args, self.node.kwargs
        name = target if is_method else getattr(target, "__name__", str(target))
        if target is operator.getitem:
            container = self.value(args[0])
            if isinstance(container, tuple):
                return container[args[1]]
            self.fail("indexing a tensor (slicing) is not supported")
        if name in ("view", "reshape", "flatten", "squeeze", "unsqueeze", "contiguous") and \
                (is_method or target in (torch.reshape, torch.flatten, torch.squeeze,
                                         torch.unsqueeze)):
            x = self.tensor(args[0])
            return _Tensor(x.ref, self.out_shape())
        if name in ("size", "dim") and is_method:
            return _Unusable(f"a Python value from Tensor.{name}")
        if target in (F.dropout,) or (is_method and name == "dropout"):
            p = kwargs.get("p", args[1] if len(args) > 1 else 0.5)
            training = kwargs.get("training", args[2] if len(args) > 2 else True)
            return self.dropout(args[0], p, training)
        if target in (operator.add, torch.add) or (is_method and name == "add"):
            return self.binary("add", args)
        if target in (operator.mul, torch.mul) or (is_method and name == "mul"):
            return self.binary("mul", args)
        if target in (operator.truediv, torch.div) or (is_method and name == "div"):
            x = self.tensor(args[0])
            if isinstance(args[1], (int, float)):
                if args[1] == 0:
                    self.fail("division by the constant 0")
                return self.vector("scale", x, scalar=1.0 / args[1])
            self.fail("division by a tensor is not supported")
        unary = {F.relu: "relu", torch.relu: "relu", F.gelu: "gelu", F.silu: "silu",
                 torch.tanh: "tanh"}
        if (not is_method and target in unary) or (is_method and name in ("relu", "tanh")):
            if kwargs.get("approximate", "none") not in ("none", "tanh"):
                self.fail(f"gelu approximate={kwargs['approximate']!r} is not supported")
            return self.vector(unary.get(target, name), self.tensor(args[0]))
        if target in (F.softmax, torch.softmax) or (is_method and name == "softmax"):
            dim = kwargs.get("dim", args[1] if len(args) > 1 else None)
            return self.softmax(self.tensor(args[0]), dim)
        if target is F.layer_norm:
            shape = kwargs.get("normalized_shape", args[1] if len(args) > 1 else None)
            gamma = kwargs.get("weight", args[2] if len(args) > 2 else None)
            beta = kwargs.get("bias", args[3] if len(args) > 3 else None)
            eps = kwargs.get("eps", args[4] if len(args) > 4 else 1e-5)
            if gamma is None or beta is None:
                self.fail("F.layer_norm without weight and bias is not supported (the trace's "
                          "layernorm has gamma and beta)")
            if eps != 1e-5:
                self.fail(f"F.layer_norm eps={eps}: the trace's layernorm uses 1e-5")
            return self.layer_norm(self.tensor(args[0]), tuple(shape),
                                   self.param_name(gamma), self.param_name(beta))
        if target is F.linear:
            x, w = self.tensor(args[0]), self.tensor(args[1], "weight")
            b = kwargs.get("bias", args[2] if len(args) > 2 else None)
            if w.ref != "weight":
                self.fail("F.linear with a computed weight is not supported")
            return self.linear(x, w.shape[1], w.shape[0], b is not None, w.param,
                               self.param_name(b) if b is not None else None)
        if target in (torch.matmul, operator.matmul, torch.bmm) or \
                (is_method and name in ("matmul", "bmm")):
            return self.batched_matmul(self.tensor(args[0]), self.tensor(args[1], "B operand"))
        self.fail("not supported by the trace exporter")

    # mappings

    def param_name(self, arg):
        """The state-dict name of a parameter argument (a get_attr node), else None."""
        v = self.value(arg)
        return v.param if isinstance(v, _Tensor) else None

    def linear(self, x, k, n, bias, weight=None, bias_name=None):
        # The trace's B is k x n (in x out); nn.Linear stores its weight out x in = n x k, so
        # the name says "transpose".
        if x.cols != k:
            self.fail(f"input has {x.cols} features, the layer expects {k}")
        params = {"b": {"name": weight, "transpose": True} if weight else None,
                  "bias": bias_name if bias else None}
        self.matmul(self.node.name, x.rows, k, n, x.ref, bias=bias, params=params)
        return _Tensor(self.node.name, self.out_shape())

    def layer_norm(self, x, normalized_shape, gamma=None, beta=None):
        if len(normalized_shape) != 1 or normalized_shape[0] != x.cols:
            self.fail(f"layer norm over {normalized_shape}: only the last dimension is supported")
        return self.vector("layernorm", x, params={"gamma": gamma, "beta": beta})

    def softmax(self, x, dim):
        if dim is None or dim not in (-1, len(x.shape) - 1):
            self.fail(f"softmax over dim={dim}: only the last dimension is supported")
        return self.vector("softmax", x)

    def dropout(self, arg, p, training):
        if training and p > 0:
            self.fail("dropout in training mode; call module.eval() before exporting")
        return self.tensor(arg)

    def binary(self, kind, args):
        a, b = self.value(args[0]), self.value(args[1])
        if isinstance(a, (int, float)) and isinstance(b, _Tensor):
            a, b = b, a
        if isinstance(a, _Tensor) and isinstance(b, (int, float)):
            if kind == "mul":
                return self.vector("scale", a, scalar=float(b))
            self.fail("adding a constant is not supported")
        a, b = self.tensor(args[0]), self.tensor(args[1])
        if a.shape == b.shape:
            return self.vector(kind, a, [b])
        if b.ref == "weight" and b.numel == a.cols:
            return self.vector(kind, a, [b], params={"weight": b.param})
        if a.ref == "weight" and a.numel == b.cols:
            return self.vector(kind, b, [a], params={"weight": a.param})
        self.fail(f"{kind} of shapes {a.shape} and {b.shape}: broadcasting is not supported")

    def batched_matmul(self, a, b):
        if len(a.shape) < 2 or len(b.shape) < 2 or a.shape[-1] != b.shape[-2]:
            self.fail(f"matmul of shapes {a.shape} and {b.shape} is not supported")
        batch = math.prod(a.shape[:-2])
        if b.ref != "weight" and math.prod(b.shape[:-2]) != batch:
            self.fail(f"matmul of shapes {a.shape} and {b.shape}: broadcasting is not supported")
        m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
        # A weight B is named only when it holds the batch's matrices itself (not broadcast).
        named = b.ref == "weight" and math.prod(b.shape[:-2]) == batch
        self.matmul(self.node.name, m, k, n, a.ref, b=b.ref, batch=batch,
                    params={"b": b.param if named else None})
        return _Tensor(self.node.name, self.out_shape())

    def attention(self, mha, args, kwargs):
        names = ("query", "key", "value")
        qkv = list(args[:3]) + [kwargs.get(k) for k in names[len(args[:3]):]]
        if not (qkv[0] is qkv[1] is qkv[2]):
            self.fail("cross-attention (query, key and value from different nodes) is not "
                      "supported; only self-attention")
        for key in ("attn_mask", "key_padding_mask"):
            if self.node.kwargs.get(key) is not None:
                self.fail(f"{key} is not supported (the trace has no mask tensors)")
        # forward(query, key, value, key_padding_mask, need_weights, attn_mask, ...)
        if (len(args) > 3 and args[3] is not None) or (len(args) > 5 and args[5] is not None):
            self.fail("attn_mask and key_padding_mask are not supported (the trace has no mask "
                      "tensors)")
        if mha.training and mha.dropout > 0:
            self.fail("attention dropout in training mode; call module.eval() before exporting")
        if mha.bias_k is not None or mha.add_zero_attn:
            self.fail("add_bias_kv and add_zero_attn are not supported")
        x = self.tensor(qkv[0], "query")
        e = mha.embed_dim
        if x.cols != e:
            self.fail(f"query has {x.cols} features, embed_dim is {e}")
        if len(x.shape) == 2:
            batch, seq = 1, x.shape[0]
        elif mha.batch_first:
            batch, seq = x.shape[0], x.shape[1]
        else:
            seq, batch = x.shape[0], x.shape[1]
        heads = mha.num_heads
        d = e // heads
        tokens = batch * seq
        bias = mha.in_proj_bias is not None
        base = self.node.name
        path = self.node.target

        def proj(i, which):
            # q, k, v: rows i*e .. (i+1)*e of the packed in_proj_weight (3e x e, out x in) and
            # in_proj_bias, or the separate {q,k,v}_proj_weight.
            rows = [i * e, (i + 1) * e]
            if mha._qkv_same_embed_dim:
                w = {"name": f"{path}.in_proj_weight", "transpose": True, "rows": rows}
            else:
                w = {"name": f"{path}.{which}_proj_weight", "transpose": True}
            b = {"name": f"{path}.in_proj_bias", "rows": rows} if bias else None
            return {"b": w, "bias": b}

        q = self.matmul(f"{base}.q_proj", tokens, e, e, x.ref, bias=bias, params=proj(0, "q"))
        k = self.matmul(f"{base}.k_proj", tokens, e, e, x.ref, bias=bias, params=proj(1, "k"))
        v = self.matmul(f"{base}.v_proj", tokens, e, e, x.ref, bias=bias, params=proj(2, "v"))
        s = self.matmul(f"{base}.scores", seq, d, seq, q, b=k, batch=batch * heads,
                        transpose_b=True)
        scores = _Tensor(s, (batch * heads * seq, seq))
        p = self.vector("softmax", self.vector("scale", scores, name=f"{base}.scale",
                                               scalar=1.0 / math.sqrt(d)),
                        name=f"{base}.softmax")
        ctx = self.matmul(f"{base}.context", seq, seq, d, p.ref, b=v, batch=batch * heads)
        out_bias = mha.out_proj.bias is not None
        out = self.matmul(f"{base}.o_proj", tokens, e, e, ctx, bias=out_bias,
                          params={"b": {"name": f"{path}.out_proj.weight", "transpose": True},
                                  "bias": f"{path}.out_proj.bias" if out_bias else None})
        return (_Tensor(out, x.shape),
                _Unusable("the attention weights (need_weights=True), which are not exported"))


class _ShapeProp(ShapeProp):
    """ShapeProp that keeps quiet when the module cannot run on the example inputs (ShapeProp
    prints a traceback to stderr) and records which node failed and torch's message in
    `failure`, for propagate() to raise as a ValueError."""

    def __init__(self, gm):
        super().__init__(gm)
        self.failure = None

    def run_node(self, n):
        try:
            with contextlib.redirect_stderr(io.StringIO()):
                return super().run_node(n)
        except Exception as e:
            cause = e.__context__ or e  # ShapeProp raises RuntimeError from torch's error
            modules = dict(self.module.named_modules())
            self.failure = (f"the module fails on them at fx node '{n.name}' "
                            f"({n.op} {_target_name(n, modules)}): {type(cause).__name__}: "
                            f"{' '.join(str(cause).split())}")
            raise


def _propagate_shapes(gm, inputs):
    """Every node's output shape (node.meta["tensor_meta"]) for these inputs; ValueError naming
    the inputs, the node and torch's message if the module fails on them."""
    prop = _ShapeProp(gm)
    try:
        with torch.no_grad():
            prop.propagate(*inputs)
    except Exception:
        if prop.failure is None:
            raise
        raise ValueError(f"example_inputs {_describe(inputs)}: {prop.failure}") from None


def _describe(inputs):
    return ", ".join(f"{tuple(t.shape)} {str(t.dtype).removeprefix('torch.')}" for t in inputs)


def _example_tuple(module, example_inputs):
    """example_inputs as a tuple of tensors, checked against the module: TypeError /
    ValueError naming what is wrong (not a tensor, a zero-size dimension)."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    if isinstance(example_inputs, torch.Tensor):
        example_inputs = (example_inputs,)
    if not isinstance(example_inputs, (tuple, list)):
        raise TypeError("example_inputs must be a tensor or a tuple of tensors (one per "
                        f"argument of forward), got {type(example_inputs).__name__}")
    for i, t in enumerate(example_inputs):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"example_inputs[{i}] must be a torch.Tensor, got "
                            f"{type(t).__name__}")
        if t.dim() == 0 or 0 in t.shape:
            raise ValueError(f"example_inputs[{i}]: shape {tuple(t.shape)}: every dimension "
                             "must be at least 1 (the trace's shapes come from it)")
    return tuple(example_inputs)


def _check_count(gm, inputs):
    """The number of example inputs against forward's parameters (those without a default
    are required)."""
    params = [n for n in gm.graph.nodes if n.op == "placeholder"]
    required = [n for n in params if not n.args]
    if not len(required) <= len(inputs) <= len(params):
        names = ", ".join(str(n.target) for n in params)
        wants = (f"{len(params)}" if len(required) == len(params)
                 else f"{len(required)} to {len(params)}")
        raise ValueError(f"example_inputs: forward takes {wants} input(s) ({names}), got "
                         f"{len(inputs)}")


def _fetch_attr(gm, target):
    obj = gm
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


# -- entry points -------------------------------------------------------------------------------

def export_fx(module, example_inputs, dtype="int8", model=None, out=None):
    """Traces `module` with torch.fx and returns its layer trace as a dict.

    Args:
      module: a torch.nn.Module in inference mode (module.eval()).
      example_inputs: a tuple of example tensors (or one tensor), e.g. token ids of shape
        (batch, seq); their shapes fix every shape of the trace.
      dtype: the dtype of every trace op ("int8", "fp16", "bf16" or "fp32"), whatever the
        module's own dtype.
      model: the trace's "model" field (default: the module's class name).
      out: a path to also write the trace to, as JSON.

    Returns:
      The trace, validated by llmsim's C++ reader, every default written out (as
      llmsim.check_trace returns it).

    Raises:
      ExportError: a node cannot be expressed in the trace (or torch.fx cannot trace the
        module); the message names the fx node, its op and its target.
      TypeError, ValueError: module is not an nn.Module, or the example inputs are wrong:
        not tensors, a count forward does not take, a zero-size dimension, or a shape or
        dtype the module fails on (the message names the inputs, the fx node and torch's
        error); out names a directory or a path that cannot be written.
    """
    from . import _llmsim

    example_inputs = _example_tuple(module, example_inputs)
    if out is not None:
        out = _check_out(out)
    try:
        graph = _Tracer().trace(module)
    except Exception as e:  # noqa: BLE001 - torch.fx's TraceError and whatever forward raises
        raise ExportError(f"{type(module).__name__}: torch.fx cannot trace it: "
                          f"{type(e).__name__}: {e}") from None
    gm = fx.GraphModule(module, graph)
    _check_count(gm, example_inputs)
    _propagate_shapes(gm, example_inputs)
    ops = _Exporter(gm, dtype).run()
    if not ops:
        raise ExportError(f"{type(module).__name__}: the graph has no op to export")
    name = model or type(module).__name__
    shapes = ", ".join(str(tuple(t.shape)) for t in example_inputs)
    trace = {"description": f"{name}: exported from PyTorch with torch.fx for inputs {shapes}",
             "model": name, "ops": ops}
    trace = _llmsim.check_trace(trace)
    if out is not None:
        tmp = f"{out}.tmp{os.getpid()}"
        try:
            with open(tmp, "w") as f:
                json.dump(trace, f, indent=1)
                f.write("\n")
            os.replace(tmp, out)  # the file is whole or absent
        except OSError as e:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise ValueError(f"out {out}: cannot be written ({e.strerror})") from None
    return trace


def _check_out(out):
    """`out` as a str path, checked before tracing: not a directory, in an existing folder."""
    if not isinstance(out, (str, os.PathLike)):
        raise TypeError(f"out must be a path (str or os.PathLike) or None, got "
                        f"{type(out).__name__}")
    path = os.fspath(out)
    if not path or os.path.isdir(path):
        raise ValueError(f"out {path!r}: {'is empty' if not path else 'is a directory'}; name "
                         "a file, e.g. trace.json")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"out {path}: its folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"out {path}: its folder {folder} is not writable")
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python3 -m llmsim.fx_export",
        description="Export a torch.nn.Module, made by a factory function, to a layer trace.")
    parser.add_argument("factory", help="module:function returning the nn.Module, e.g. "
                        "mypkg.models:make_net")
    parser.add_argument("--input-shape", action="append", required=True,
                        help="shape of an example input, e.g. 1x128; repeat for more inputs")
    parser.add_argument("--input-dtype", default="int64", choices=["int64", "float32"],
                        help="dtype of the example inputs (int64: token ids, zeros)")
    parser.add_argument("--dtype", default="int8", help="dtype of the trace ops")
    parser.add_argument("--out", required=True, help="file to write the trace to")
    args = parser.parse_args(argv)
    module_name, _, func = args.factory.partition(":")
    if not func:
        parser.error("factory must be module:function")
    shapes = []
    for text in args.input_shape:
        dims = text.split("x")
        if not all(d.isdigit() and int(d) > 0 for d in dims):
            parser.error(f"--input-shape {text}: must be positive dimensions joined by x, "
                         "e.g. 1x128")
        shapes.append([int(d) for d in dims])
    net = getattr(importlib.import_module(module_name), func)().eval()
    dtype = {"int64": torch.long, "float32": torch.float32}[args.input_dtype]
    inputs = tuple(torch.zeros(shape, dtype=dtype) for shape in shapes)
    try:
        trace = export_fx(net, inputs, dtype=args.dtype, out=args.out)
    except (TypeError, ValueError) as e:
        parser.exit(2, f"error: {e}\n")
    print(f"{args.out}: {len(trace['ops'])} ops")


if __name__ == "__main__":
    main()
