#!/usr/bin/python3
"""Checks a value-mode run op by op against PyTorch: `llmsim run ... --values --check`, or

    python3 -m llmsim.check RUN_DIR TRACE_JSON [--keep-going]
    python3 python/llmsim/check.py RUN_DIR TRACE_JSON

RUN_DIR is what `llmsim run ... --values --out RUN_DIR` writes (values/index.json, the op
outputs NNNNN.npy and the external operands tensor_NNNNN.npy); TRACE_JSON is the layer trace
that ran (`llmsim trace`, or the workload file; docs/workloads.md, "Layer trace format").

Every op is computed with PyTorch (CPU) from the SAME inputs the simulated op used: the outputs
its producers stored (as the simulator wrote them) and the external tensors the run filled. An
op whose output never reached DRAM (a matmul whose epilogue ran fused ops, or a fused op before
the last of the chain) is computed from its own inputs and handed on to its reader; it is
checked through the chain's last op, which holds the chain's result. So an error never carries
over from one stored op to the next: each row of the table judges one op (or one fused chain).

Numbers, as the hardware computes them (arch/values/semantics.h):
  - matmul: fp16/bf16/fp32 inputs in fp32, summed in fp32 (torch's oneDNN GEMM, see bmm;
    its order differs from the simulator's Eigen), plus the fp32 bias, rounded once to the op's dtype; int8: the
    exact sum in int32 (modulo 2^32), the int32 bias (at s_a x s_b), requantised on the store:
    float(acc) x float32(s_a x s_b / s_out) in fp32, rounded half to even, saturated; a matmul
    whose epilogue runs fused ops hands them the accumulator at s_a x s_b.
  - vector ops: inputs rounded to the op's dtype, computed in fp32, the result rounded to the
    dtype. int8: each input dequantised, float(q) x float32(its step) in fp32, the result
    quantised, y / float32(the op's step) in fp32, rounded half to even and saturated to int8
    (to int32 for a fused op before the last of its chain: it stays in the accumulator).
    The steps are the trace's `scale`, `input_scale` and `weight_scale` (docs/workloads.md;
    1 when absent). LayerNorm and RMSNorm use epsilon 1e-5 (the ISA's; a trace carries none).
  - embedding, kv_write, copy, mask: copies, exact.

Errors: "max abs" is the largest |simulated - reference| over the op's output; "max rel" is that
divided by the largest |reference| of the op (not element by element: an element near zero
would otherwise make any rounding look huge). Non-finite values must match exactly (a masked
-inf stays -inf, NaN stays NaN).

Tolerances (absolute, printed relative to the op's max |reference|), u being the unit roundoff
of a format (fp32 2^-24, bf16 2^-8, fp16 2^-11):
  - the op's own arithmetic: 8 u_fp32 sqrt(n) M, where n is the reduction length (k for a
    matmul, cols for softmax and the norms, 1 for element-wise ops) and M the magnitude the
    rounding errors scale with: for a matmul max (|A| |B| + |bias|), the sum of the products'
    magnitudes (a dot product's rounding error is at most about n u of it, typically sqrt(n) u:
    two different summation orders, torch's and Eigen's, differ by about that); for a norm
    max |x| / std * max|gamma| + max|beta| (the centring's cancellation); otherwise the output's
    max |value|. The factor 8 covers the few-ulp differences of exp and tanh between libm
    (the simulator) and torch's vectorised kernels, and both sides' roundings.
  - rounding to the output dtype: one ulp, 2 u_D max |reference|, for fp16 and bf16: the two
    fp32 results, equal to within the term above, may round to neighbouring values of the dtype.
    So bf16 allows 2^-7 and fp16 2^-10 of the op's largest value, plus the fp32 term.
  - int8 matmul, embedding, kv_write, copy, mask, and int8 add, mul, scale, relu: 0 (exact:
    int8 products and sums are exact in int32; the store's product and the vector unit's
    dequantising products, adds and quotients are single IEEE fp32 operations, rounded alike by
    numpy/torch and the simulator; rounding half to even and saturation are deterministic).
  - other int8 vector ops (exp, tanh, row statistics, rope's products): 1 step: torch's and
    libm's fp32 results differ by a few ulps, far below a step, but one within them of a
    rounding boundary (k + 1/2 steps) may round to either neighbour. An inherited error d (real
    units) adds d x slope / step + 1 steps.
  - an op in a fused chain also inherits its input's tolerance through the op's largest slope:
    scale |scalar|, add, mask, relu, tanh 1, gelu 1.13, silu 1.1, softmax 2 max p (a shift of d
    in every logit moves p by at most about 2 d p).

Exit code: 0 when every op passes; 3 when one is out of tolerance (the check stops there and
names it, with where its largest error is); 2 for unusable input (a missing file, a trace that
does not match the run). An op kind or field the check cannot reproduce is reported as
"not checked: <why>", never passed silently; the summary counts them.

An attention context (a batched matmul whose readers take it token-major) is stored as
the [B x s] x [H x d] matrix docs/workloads.md describes; its reference is laid out the same
way before the comparison.
"""

import argparse
import json
import math
import os
import sys

import numpy as np
import torch

EXIT_FAIL = 3
EXIT_USER = 2

U = {"fp32": 2.0 ** -24, "bf16": 2.0 ** -8, "fp16": 2.0 ** -11, "int8": 0.0}
COMPUTE_FACTOR = 8.0
VECTOR_KINDS = ("add", "mul", "scale", "mask", "relu", "gelu", "silu", "tanh", "softmax",
                "layernorm", "rmsnorm", "rope", "copy", "quantize", "dequantize")
EPSILON = 1e-5
# Largest slope of each element-wise kind, for a fused chain's inherited tolerance (above).
GAIN = {"add": 1.0, "mask": 1.0, "relu": 1.0, "tanh": 1.0, "copy": 1.0, "gelu": 1.13,
        "silu": 1.1}


class CheckInputError(Exception):
    """The run directory or the trace is unusable (exit 2)."""


def round_to(x, dtype):
    """x (fp32 tensor) rounded to `dtype` and back to fp32, as the simulator's encode does."""
    if dtype == "fp32":
        return x
    if dtype == "bf16":
        return x.to(torch.bfloat16).float()
    if dtype == "fp16":
        return x.half().float()
    if dtype == "int8":
        return torch.clamp(torch.round(torch.nan_to_num(x, nan=0.0)), -128, 127)
    raise CheckInputError(f"dtype {dtype!r}: must be int8, fp16, bf16 or fp32")


_ONEDNN = torch.backends.mkldnn.is_available() and hasattr(torch._C._nn, "mkldnn_linear")


def bmm(A, B):
    """torch.bmm of fp32 A (batch x m x k) and B (batch x k x n) through torch's oneDNN GEMM
    when torch has it: Debian's torch otherwise multiplies with the reference BLAS (netlib),
    about 1.7 G multiply-adds a second against oneDNN's 16 on one core of this VM. The same
    fp32 products and sums in another order: an int8 piece (exact_int8_bmm) stays exact, and
    the fp32 tolerance (8 u sqrt(k) M) is for any summation order."""
    if not _ONEDNN:
        return torch.bmm(A, B)
    out = torch.empty(A.shape[0], A.shape[1], B.shape[2])
    for i in range(A.shape[0]):  # mkldnn_linear(x, w) is x w^T, w n x k
        out[i] = torch._C._nn.mkldnn_linear(A[i].contiguous().to_mkldnn(),
                                            B[i].t().contiguous().to_mkldnn(), None).to_dense()
    return out


def exact_int8_bmm(A, B, piece=1024):
    """The exact products' sums of int8-valued A (batch x m x k) and B (batch x k x n), in
    float64: k pieces of at most 1024 in fp32 (each |product| <= 2^14, so every partial sum of
    a piece is an integer of at most 2^24, exact in fp32 in any order), summed in float64. As
    fast as an fp32 GEMM; the simulator sums the same way (arch/values/semantics.cpp)."""
    A, B = A.float(), B.float()
    acc = None
    for k0 in range(0, A.shape[-1], piece):
        part = bmm(A[:, :, k0:k0 + piece], B[:, k0:k0 + piece, :]).double()
        acc = part if acc is None else acc + part
    return acc


def wrap_int32(x):
    """x (float64 tensor of integers) reduced modulo 2^32 to [-2^31, 2^31)."""
    if x.numel() and float(x.min()) >= -2.0 ** 31 and float(x.max()) < 2.0 ** 31:
        return x  # in range already: the remainder would give x back
    return torch.remainder(x + 2.0 ** 31, 2.0 ** 32) - 2.0 ** 31


def amax(x):
    """max |x| over the finite elements (0 for none)."""
    if not x.numel():
        return 0.0
    m = float(x.abs().max())
    if math.isfinite(m):  # no inf and no NaN (which max would return): all are finite
        return m
    x = x[torch.isfinite(x)]
    return float(x.abs().max()) if x.numel() else 0.0


class Result:
    """One op's reference: `value` (rows x cols, fp32), `tol` (absolute), a `note`,
    `checked_rows` (a boolean mask of the rows to compare; None: all) and, for an int8 op,
    `qstep`: the quantisation step its integers are at when that is not the op's own output
    step (an unstored int8 matmul hands its reader the int32 accumulator, at s_a x s_b)."""

    def __init__(self, value, tol, note="", checked_rows=None, qstep=None):
        self.value, self.tol, self.note, self.checked_rows = value, tol, note, checked_rows
        self.qstep = qstep


INT8_RANGE = (-128.0, 127.0)
INT32_RANGE = (-2.0 ** 31, 2.0 ** 31 - 1)


def f32(x):
    return np.float32(x)


def dequantise(q, step):
    """Integers q (a tensor) times their step, in fp32, as the vector unit's converter does:
    float(q) (nearest, ties to even) x float32(step), one fp32 rounding."""
    a = q.double().numpy().astype(np.float32)
    return torch.from_numpy(a * f32(step))


def quantise(y, step, bounds=INT8_RANGE):
    """An fp32 result quantised at `step` as the hardware does (semantics.h): y / float32(step)
    in fp32 (numpy's division is IEEE's, correctly rounded), rounded half to even, saturated to
    `bounds`; NaN gives 0, +-inf saturate."""
    a = y.numpy().astype(np.float32) / f32(step)
    a = np.where(np.isnan(a), np.float32(0), a)
    return torch.from_numpy(np.clip(np.rint(a), *bounds).astype(np.float32))


def requantise(acc, multiplier):
    """An int32 accumulator (float64 tensor of integers) stored as int8 with the DMA's
    multiplier (isa::DmaStore::scale): float(acc) x float32(multiplier) in fp32, rounded half
    to even, saturated."""
    a = acc.numpy().astype(np.float32) * f32(multiplier)
    return torch.from_numpy(np.clip(np.rint(a), *INT8_RANGE).astype(np.float32))


class NotChecked(Exception):
    """An op the check cannot reproduce; the message says why."""


def _load_npy(path):
    try:  # float32 as written: no copy
        return torch.from_numpy(np.load(path).astype(np.float32, copy=False))
    except (OSError, ValueError) as e:
        raise CheckInputError(f"{path}: {e}") from None


class Checker:
    def __init__(self, run_dir, trace):
        self.dir = os.path.join(run_dir, "values")
        index_path = os.path.join(self.dir, "index.json")
        try:
            with open(index_path) as f:
                self.index = json.load(f)
        except OSError as e:
            raise CheckInputError(f"{index_path}: {e.strerror} (written by llmsim run --values "
                                  "--out DIR)") from None
        except json.JSONDecodeError as e:
            raise CheckInputError(f"{index_path}: not JSON: {e}") from None
        self.trace = trace
        self.ops = trace.get("ops")
        if not isinstance(self.ops, list) or not self.ops:
            raise CheckInputError("trace: \"ops\" must be a non-empty list")
        self.outputs = self.index.get("outputs", [])
        if len(self.outputs) != len(self.ops):
            raise CheckInputError(f"trace has {len(self.ops)} ops, the run's values "
                                  f"{len(self.outputs)}: not the trace that ran")
        self.names = {}
        for i, op in enumerate(self.ops):
            op.setdefault("name", f"op{i}")
            op.setdefault("dtype", "int8")
            self.names[op["name"]] = i
        # External tensors by (op, role), in the order the lowering placed them.
        self.tensors = {}
        for t in self.index.get("tensors", []):
            self.tensors.setdefault((t["op"], t["role"]), []).append(t)
        self.refs = {}      # op index -> Result (the reference, for unstored outputs' readers)
        self.sim = {}       # op index -> simulated output as stored
        self.caches = {}    # kv_write op index -> the whole cache after its writes
        self.chains = {}    # op index -> the unstored ops whose values it computes from, and it

    def chain_of(self, i, res):
        op = self.ops[i]
        names = [op.get("a"), op.get("b"), op.get("input")] + list(op.get("inputs", []))
        chain = []
        for x in names:
            j = self.names.get(x) if isinstance(x, str) else None
            if j is not None and j < i and not self.outputs[j].get("stored"):
                chain = self.chains.get(j, [j])
        self.chains[i] = chain + [i]

    # ------------------------------------------------------------------ int8 steps
    def step(self, j):
        """The quantisation step of op j's output (docs/workloads.md; 1 when the trace has
        none)."""
        return float(self.ops[j].get("scale", 1.0))

    def value_step(self, j):
        """The step of the integers op j hands its readers: its output step, or an unstored
        matmul's accumulator step."""
        r = self.refs.get(j)
        if r is not None and r.qstep is not None and not self.outputs[j].get("stored"):
            return r.qstep
        return self.step(j)

    def operand_step(self, i, name):
        """The step of operand `name` of op i (an earlier op's name or an external source)."""
        op = self.ops[i]
        if name in ("input", "kv_cache"):
            return float(op.get("input_scale", 1.0))
        if name == "weight":
            return float(op.get("weight_scale", 1.0))
        return self.value_step(self.names[name])

    # ------------------------------------------------------------------ inputs
    def tensor(self, op, role, n=0):
        ts = self.tensors.get((op, role), [])
        if n >= len(ts):
            raise CheckInputError(f"op {op} ({self.ops[op]['name']}): the run has no tensor "
                                  f"#{n} of role {role!r}")
        return _load_npy(os.path.join(self.dir, ts[n]["file"]))

    def simulated(self, i):
        if i not in self.sim:
            o = self.outputs[i]
            self.sim[i] = _load_npy(os.path.join(self.dir, o["file"])) if o.get("stored") else None
        return self.sim[i]

    def producer(self, name):
        """(op index, value as the reader sees it, inherited tolerance)."""
        if name not in self.names:
            raise CheckInputError(f"operand {name!r}: no such op in the trace")
        j = self.names[name]
        if j in self.caches:
            return j, self.caches[j], 0.0
        s = self.simulated(j)
        if s is not None:
            return j, s, 0.0
        r = self.refs[j]
        return j, r.value, r.tol

    # ------------------------------------------------------------------ ops
    def compute(self, i):
        op = self.ops[i]
        kind = op.get("op")
        if kind == "matmul":
            return self.matmul(i, op)
        if kind == "embedding":
            return self.embedding(i, op)
        if kind == "kv_write":
            return self.kv_write(i, op)
        if kind in VECTOR_KINDS:
            return self.vector(i, op, kind)
        raise NotChecked(f"op kind {kind!r} unknown to the check")

    def matmul(self, i, op):
        dt = op["dtype"]
        batch, m, k, n = op.get("batch", 1), op["m"], op["k"], op["n"]
        tb = op.get("transpose_b", False)
        a_name, b_name = op.get("a", "input"), op.get("b", "weight")
        attention = b_name not in ("input", "weight", "kv_cache")
        sr, sc = (n, k) if tb else (k, n)
        note = []
        delta_a = delta_b = 0.0
        # B as stored (batch x sr x sc), and the KV heads it holds.
        hkv = 1
        if attention:
            j, bv, delta_b = self.producer(b_name)
            bp = self.ops[j]
            d = k if tb else n
            if bp["op"] == "kv_write":
                hkv = bp["heads"]
            elif bv.shape[1] % d == 0:
                hkv = bv.shape[1] // d
            if hkv == 0 or batch % hkv:
                hkv = 1
            if bp["op"] == "kv_write" or (bv.shape[0] == batch * sr and bv.shape[1] == sc):
                B = bv.reshape(batch, sr, sc)
            else:  # token-major K or V: item (b, j) is KV head j of sequence b
                B = torch.stack([bv[(bi // hkv) * sr:(bi // hkv + 1) * sr,
                                    (bi % hkv) * sc:(bi % hkv + 1) * sc] for bi in range(batch)])
                note.append(f"B per (sequence, KV head), {hkv} KV heads")
        else:
            B = self.tensor(i, "b").reshape(batch, sr, sc)
        bsz = batch // hkv
        # A (batch x m x k).
        if a_name in ("input", "weight", "kv_cache"):
            A = self.tensor(i, "a").reshape(batch, m, k)
        else:
            j, av, delta_a = self.producer(a_name)
            rows, cols = av.shape
            s = rows // bsz if bsz else 0
            g = m // s if s else 0
            ap = self.ops[j]
            if rows == batch * m and cols == k:
                A = av.reshape(batch, m, k)
            elif attention and s and g and m % s == 0 and cols == hkv * g * k:
                # Token-major Q: item (b, j), row i is query head j*g + i // s, token i % s.
                v = av.reshape(bsz, s, hkv, g, k).permute(0, 2, 3, 1, 4)
                A = v.reshape(batch, m, k)
                note.append(f"A per (sequence, KV head): {g} query heads x {s} tokens")
            else:
                A = av.reshape(batch, m, k)
        Bm = B.transpose(1, 2) if tb else B  # batch x k x n
        bias = self.tensor(i, "bias").reshape(1, n) if op.get("bias", False) else None
        if dt == "int8":
            # Exact int32 sums (the bias is int32 at s_a x s_b); a stored output is requantised
            # by s_a x s_b / s_out (the store's multiplier, the same double expression as the
            # lowering's, rounded to fp32); an unstored one (its epilogue runs fused ops) hands
            # the accumulator on at s_a x s_b.
            acc = exact_int8_bmm(A, Bm)
            if bias is not None:
                acc = acc + bias.double()
            acc = wrap_int32(acc).reshape(batch * m, n)
            s_acc = self.operand_step(i, a_name) * self.operand_step(i, b_name)
            if self.outputs[i].get("stored"):
                mult = s_acc / self.step(i)
                ref = self.as_stored(i, requantise(acc, mult), bsz, hkv, note)
                return Result(ref, 0.0,
                              "; ".join(note + [f"requantised x {float(f32(mult)):.6g}"]))
            return Result(acc.float(), 0.0, "; ".join(note), qstep=s_acc)
        else:
            A, Bm = round_to(A, dt), round_to(Bm, dt)
            acc = bmm(A, Bm)
            mag = bmm(A.abs(), Bm.abs())
            if bias is not None:
                acc = acc + bias
                mag = mag + bias.abs()
            ref = round_to(acc, dt)
            tol = (COMPUTE_FACTOR * U["fp32"] * math.sqrt(k) * amax(mag)
                   + 2 * U[dt] * amax(ref))
            if delta_a or delta_b:
                tol += (delta_a * float(Bm.abs().sum(1).max()) +
                        delta_b * float(A.abs().sum(2).max()))
        ref = self.as_stored(i, ref.reshape(batch * m, n), bsz, hkv, note)
        return Result(ref, tol, "; ".join(note))

    def as_stored(self, i, ref, bsz, hkv, note):
        """Matmul i's reference ([batch x m] x n) laid out as its output is stored: the
        attention context (batch = bsz sequences x hkv KV heads) token-major, [bsz x s] x
        [H x n], when its readers take it so (docs/workloads.md); else as it is."""
        op = self.ops[i]
        batch, m, n = op.get("batch", 1), op["m"], op["n"]
        shape = tuple(self.outputs[i].get("shape", (batch * m, n)))
        if shape == (batch * m, n):
            return ref
        # Item (b, j), row r is query head j*g + r // s, token r % s of sequence b: stored at
        # row b*s + r % s, columns (j*g + r // s) * n.
        s = shape[0] // bsz if bsz else 0
        if not (s and m % s == 0 and shape[1] == hkv * (m // s) * n):
            raise CheckInputError(f"op {i} ({op['name']}): stored as {list(shape)}, neither "
                                  f"[{batch * m}, {n}] nor a token-major attention context")
        g = m // s
        note.append(f"stored token-major: {bsz * s} tokens x {hkv * g} heads")
        return ref.reshape(bsz, hkv, g, s, n).permute(0, 3, 1, 2, 4).reshape(shape)

    def embedding(self, i, op):
        tokens, vocab = op["tokens"], op["vocab"]
        table = self.tensor(i, "table")
        given = self.index.get("tokens")
        if given and given.get("op") == i:  # the run's --tokens (values/index.json)
            ids = torch.tensor(given["ids"], dtype=torch.long)
            if ids.numel() != tokens or (ids.numel() and int(ids.max()) >= vocab):
                raise CheckInputError(f"op {i} ({op['name']}): the run's token ids do not fit "
                                      f"its {tokens} tokens of vocab {vocab}")
            return Result(table[ids], 0.0, "ids: the run's --tokens")
        ids = torch.tensor([(r * 2654435761 + 12345) % vocab for r in range(tokens)])
        return Result(table[ids], 0.0, "ids: ((r * 2654435761 + 12345) mod vocab)")

    def kv_write(self, i, op):
        b, heads, d = op["batch"], op["heads"], op["head_dim"]
        tokens, kv = op["tokens"], op.get("kv_len", 0)
        L = kv + tokens
        inp = op.get("input", "input")
        x = self.tensor(i, "input") if inp in ("input", "weight", "kv_cache") \
            else self.producer(inp)[1]
        cache = self.tensor(i, "cache").reshape(b, heads, L, d).clone()
        cache[:, :, kv:, :] = x.reshape(b, tokens, heads, d).permute(0, 2, 1, 3)
        written = torch.zeros(b, heads, L, dtype=torch.bool)
        written[:, :, kv:] = True
        # Readers see the old rows (the "cache" tensor) and the rows this op stored.
        sim = self.simulated(i)
        full = self.tensor(i, "cache").reshape(b, heads, L, d).clone()
        if sim is not None:
            s = sim.reshape(b, heads, L, d)
            full[:, :, kv:, :] = s[:, :, kv:, :]
        self.caches[i] = full.reshape(b * heads * L, d)
        return Result(cache.reshape(b * heads * L, d), 0.0,
                      f"rows kv_len {kv} .. {L - 1} of each (sequence, head)",
                      written.reshape(-1))

    def vector(self, i, op, kind):
        dt = op["dtype"]
        rows, cols = op["rows"], op["cols"]
        if kind in ("quantize", "dequantize"):
            raise NotChecked(f"{kind}: the trace gives no scale to reproduce")
        ins, weights, delta = [], 0, []
        for x in op.get("inputs", []):
            if x == "weight":
                weights += 1
                continue
            if x in ("input", "kv_cache"):
                n = len([v for v in ins if v[0] == "ext"])
                ins.append(("ext", self.tensor(i, "input", n)))
                delta.append(0.0)
            else:
                _, v, dl = self.producer(x)
                ins.append(("op", v))
                delta.append(dl)
        xs = [v for _, v in ins]
        int8 = dt == "int8"
        # int8: each input's step, and the inherited tolerances in real units.
        names = [x for x in op.get("inputs", []) if x != "weight"]
        steps = [self.operand_step(i, x) for x in names] if int8 else [1.0] * len(names)
        delta = [d * s for d, s in zip(delta, steps)]
        if kind == "copy":
            off, stride = op.get("row_offset", 0), op.get("row_stride", 1)
            src = xs[0]
            if ins[0][0] == "op":
                src = src.reshape(-1, cols)
            idx = torch.arange(rows) * stride + off
            if int8:  # dequantised and quantised again at the copy's step (exact when equal)
                return Result(self.int8_out(i, dequantise(src[idx], steps[0])), 0.0,
                              f"rows {off} + r * {stride}")
            return Result(src[idx], 0.0, f"rows {off} + r * {stride}")
        xs = [v.reshape(rows, cols) if v.shape[0] != rows else v for v in xs]
        xs = ([dequantise(v, s) for v, s in zip(xs, steps)] if int8
              else [round_to(v, dt) for v in xs])
        x = xs[0]
        din = delta[0] if delta else 0.0
        note = ""
        n_red = 1
        if kind in ("add", "mul"):
            y = xs[1] if len(xs) > 1 else self.param(i, "param", dt).reshape(1, cols)
            out = x + y if kind == "add" else x * y
            mag = amax(x.abs() + y.abs()) if kind == "add" else amax(out)
            gain = 1.0 if kind == "add" else amax(y)
            din = sum(delta) if kind == "add" else din * gain + (delta[1] if len(delta) > 1
                                                                 else 0.0) * amax(x)
            if len(xs) == 1:
                note = "broadcast weight row"
        elif kind == "scale":
            s = float(np.float32(op.get("scalar", 1.0)))
            out = x * s
            mag = amax(out)
            din *= abs(s)
        elif kind == "mask":
            r = torch.arange(rows).reshape(rows, 1) % cols
            c = torch.arange(cols).reshape(1, cols)
            out = x.masked_fill(c > r, float("-inf"))
            mag = 0.0
        elif kind in ("relu", "gelu", "silu", "tanh"):
            if kind == "relu":
                out = torch.where(x < 0, torch.zeros_like(x), x)
            elif kind == "gelu":
                out = torch.nn.functional.gelu(x, approximate="tanh")
            elif kind == "silu":
                out = torch.nn.functional.silu(x)
            else:
                out = torch.tanh(x)
            mag = amax(out)
            din *= GAIN[kind]
        elif kind == "softmax":
            out = torch.softmax(x, dim=1)
            mag = amax(out)
            n_red = cols
            din *= 2 * mag
        elif kind in ("layernorm", "rmsnorm"):
            p = self.param(i, "param", dt)
            xd = x.double()
            if kind == "layernorm":
                mean = xd.mean(1, keepdim=True)
                var = ((xd - mean) ** 2).mean(1, keepdim=True).float()
                inv = 1.0 / torch.sqrt(var + np.float32(EPSILON))
                out = (x - mean.float()) * inv * p[0:1] + p[1:2]
                beta = amax(p[1:2])
            else:
                ms = (xd * xd).mean(1, keepdim=True).float()
                inv = 1.0 / torch.sqrt(ms + np.float32(EPSILON))
                out = x * inv * p[0:1]
                beta = 0.0
            gamma = amax(p[0:1])
            mag = amax(x.abs().amax(1, keepdim=True) * inv) * gamma + beta
            n_red = cols
            din *= 2 * amax(inv) * gamma
            note = f"epsilon {EPSILON}"
        elif kind == "rope":
            out, mag, note = self.rope(i, op, x, dt)
            din *= 2 * amax(self.param(i, "rope_table", dt))
        else:
            raise NotChecked(f"vector kind {kind!r}")
        ref = round_to(out, dt) if dt != "int8" else out
        tol = COMPUTE_FACTOR * U["fp32"] * math.sqrt(n_red) * mag + 2 * U[dt] * amax(ref) + din
        if kind == "mask" and din == 0.0:
            tol = 0.0
        if int8:
            # Dequantised inputs, fp32 compute, quantised at the op's step: exact where the
            # compute is one or two correctly rounded fp32 operations (add, mul, scale, relu,
            # mask), which torch and the simulator round alike; otherwise (exp, tanh, the row
            # statistics, rope's products) their fp32 results may differ by a few ulps and fall
            # on either side of a rounding boundary of the step: one step. An inherited error
            # d (real units) moves the result by at most gain x d, so by gain x d / step + 1
            # steps after rounding.
            exact = kind in ("add", "mul", "scale", "relu", "mask")
            step = self.step(i)
            tol = (0.0 if exact else 1.0) + (din / step + 1.0 if din > 0 else 0.0)
            note = (note + "; " if note else "") + f"int8 at step {step:.4g}"
            return Result(self.int8_out(i, out), tol, note)
        return Result(ref, tol, note)

    def param(self, i, role, dt):
        """A parameter row or table of op i as the unit reads it: int8 dequantised at the op's
        weight step, else rounded to the dtype."""
        t = self.tensor(i, role)
        if dt == "int8":
            return dequantise(t, float(self.ops[i].get("weight_scale", 1.0)))
        return round_to(t, dt)

    def int8_out(self, i, out):
        """An int8 vector op's fp32 result quantised at its step: saturated to int8 when
        stored, to int32 when it stays in an epilogue's int32 accumulator slot for the next
        fused op (semantics.h: an integer dst saturates to its own format's range)."""
        stored = self.outputs[i].get("stored")
        return quantise(out, self.step(i), INT8_RANGE if stored else INT32_RANGE)

    def rope(self, i, op, x, dt):
        rows, cols = op["rows"], op["cols"]
        hd = op.get("head_dim", cols)
        tokens, kv = op.get("tokens", rows), op.get("kv_len", 0)
        table = self.param(i, "rope_table", dt)
        if table.shape[0] != kv + tokens or table.shape[1] != hd:
            raise CheckInputError(f"op {i} ({op['name']}): rope table {list(table.shape)}, "
                                  f"expected [{kv + tokens}, {hd}]")
        pos = kv + torch.arange(rows) % tokens
        half = hd // 2
        cos = table[pos, :half].reshape(rows, 1, half)
        sin = table[pos, half:].reshape(rows, 1, half)
        h = x.reshape(rows, cols // hd, hd)
        a, b = h[:, :, :half], h[:, :, half:]
        out = torch.cat([a * cos - b * sin, a * sin + b * cos], dim=2).reshape(rows, cols)
        mag = amax(torch.cat([a.abs() * cos.abs() + b.abs() * sin.abs(),
                              a.abs() * sin.abs() + b.abs() * cos.abs()], dim=2))
        return out, mag, f"heads of {hd}, positions {kv} + r mod {tokens}"


def compare(got, ref, rows_mask=None):
    """(max abs error, its (row, col), got, expected) over the rows compared; inf when
    non-finite values differ."""
    if rows_mask is not None:
        idx = torch.nonzero(rows_mask).reshape(-1)
        got, ref = got[idx], ref[idx]
    else:
        idx = None
    fin = torch.isfinite(ref) & torch.isfinite(got)
    err = torch.where(fin, (got - ref).abs(), torch.zeros_like(ref))
    same_nonfinite = (torch.isnan(ref) & torch.isnan(got)) | (ref == got)
    bad = ~fin & ~same_nonfinite
    if bad.any():
        err = torch.where(bad, torch.full_like(err, float("inf")), err)
    flat = int(torch.argmax(err))
    r, c = divmod(flat, err.shape[1])
    row = int(idx[r]) if idx is not None else r
    return float(err.reshape(-1)[flat]), (row, c), float(got[r, c]), float(ref[r, c])


def fmt(x):
    return "-" if x is None else ("inf" if x == float("inf") else f"{x:.3g}")


def check(run_dir, trace, out=sys.stdout, keep_going=False):
    """Checks every op; prints the table to `out`; returns the exit code (0 or 3). Stops at
    the first op out of tolerance, unless `keep_going` (each op is computed from the outputs
    its producers stored, so the ops after a failing one are still judged on their own)."""
    ck = Checker(run_dir, trace)
    header = (f"{'op':>4}  {'name':<28} {'kind':<10} {'shape':<14} {'max abs':>9} "
              f"{'max rel':>9} {'tol rel':>9}  status")
    print("errors relative to the op's largest |reference|; tolerances in docs/values.md",
          file=out)
    print(header, file=out)
    counts = {"ok": 0, "fused": 0, "not checked": 0, "failed": 0}
    for i, op in enumerate(ck.ops):
        o = ck.outputs[i]
        shape = "x".join(str(v) for v in o.get("shape", []))
        name = op["name"][:28]
        kind = op.get("op", "?")
        row = f"{i:>4}  {name:<28} {kind:<10} {shape:<14}"
        try:
            res = ck.compute(i)
        except NotChecked as e:
            counts["not checked"] += 1
            print(f"{row} {'-':>9} {'-':>9} {'-':>9}  not checked: {e}", file=out)
            continue
        ck.refs[i] = res
        ck.chain_of(i, res)
        got = ck.simulated(i)
        if got is None:
            counts["fused"] += 1
            print(f"{row} {'-':>9} {'-':>9} {'-':>9}  not stored (fused: checked through the "
                  "chain's last op)", file=out)
            continue
        if tuple(got.shape) != tuple(res.value.shape):
            raise CheckInputError(f"op {i} ({op['name']}): simulated shape {list(got.shape)}, "
                                  f"the trace's {list(res.value.shape)}")
        err, (r, c), g, e = compare(got, res.value, res.checked_rows)
        ref_rows = res.value if res.checked_rows is None else res.value[res.checked_rows]
        scale = amax(ref_rows) or 1.0
        rel = err / scale
        ok = err <= res.tol
        print(f"{row} {fmt(err):>9} {fmt(rel):>9} {fmt(res.tol / scale):>9}  "
              f"{'pass' if ok else 'FAIL'}", file=out)
        if not ok:
            chain = ck.chains.get(i, [i])
            print(f"\nFAIL: op {i} {op['name']!r} ({kind}) is out of tolerance: max abs error "
                  f"{fmt(err)} > {fmt(res.tol)} at row {r}, col {c}: got {g!r}, expected {e!r}"
                  + (f" ({res.note})" if res.note else ""), file=out)
            if len(chain) > 1:
                notes = [f"{ck.ops[j]['name']}: {ck.refs[j].note}" for j in chain[:-1]
                         if ck.refs[j].note]
                print("  its output is that of the fused chain "
                      + " -> ".join(f"{j} {ck.ops[j]['name']}" for j in chain)
                      + "".join("; " + n for n in notes), file=out)
            if not keep_going:
                return EXIT_FAIL
            counts["failed"] += 1
            print("", file=out)
            continue
        counts["ok"] += 1
    print(f"\nall {len(ck.ops)} ops: {counts['ok']} pass, {counts['fused']} checked through "
          f"their fused chain, {counts['not checked']} not checked"
          + (f", {counts['failed']} FAILED" if keep_going else ""), file=out)
    return EXIT_FAIL if counts["failed"] else 0


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m llmsim.check",
                                description="Checks a value-mode run op by op against PyTorch.")
    p.add_argument("run_dir")
    p.add_argument("trace")
    p.add_argument("--keep-going", action="store_true",
                   help="check every op, not only up to the first out of tolerance")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    try:
        try:
            with open(args.trace) as f:
                trace = json.load(f)
        except OSError as e:
            raise CheckInputError(f"{args.trace}: {e.strerror}") from None
        except json.JSONDecodeError as e:
            raise CheckInputError(f"{args.trace}: not JSON: {e}") from None
        if isinstance(trace, list):
            trace = {"ops": trace}
        return check(args.run_dir, trace, keep_going=args.keep_going)
    except CheckInputError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USER


if __name__ == "__main__":
    sys.exit(main())
