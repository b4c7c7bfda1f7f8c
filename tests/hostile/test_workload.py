"""Hostile inputs: workloads, traces and models too large or malformed for the machine. Each is a
user error (exit 2) found from the sizes before any large allocation or long work (the harness
bounds time and address space), naming the op or option, the sizes and the limit."""

import json
import subprocess

from conftest import expect_ok, expect_user_error, run


def write(tmp_path, name, doc):
    f = tmp_path / name
    f.write_text(json.dumps(doc))
    return f


def test_batch_beyond_the_token_bound():
    # 6-8 GB of RSS, then std::bad_alloc, before.
    expect_user_error("run", "--arch", "edge", "--model", "bert-base-uncased", "--batch", "100000000",
                      match=r"bert-base-uncased: batch x seq = 100000000 x 128 = 12800000000 tokens")


def test_batch_beyond_the_instruction_limit():
    # Within every size bound, but the lowering would take ~10^10 instructions.
    expect_user_error("run", "--arch", "edge", "--model", "bert-base-uncased", "--batch", "100000",
                      match=r"the workload would lower to about \d+ ISA instructions .*more than "
                            r"the limit of 50000000 .*LLMSIM_MAX_INSTRUCTIONS")


def test_instruction_limit_is_overridable_and_checked(tmp_path):
    w = write(tmp_path, "w.json", {"ops": [{"op": "matmul", "name": "fc", "m": 1024, "k": 1024,
                                            "n": 1024}]})
    expect_user_error("compile", "--arch", "edge", "--workload", w,
                      env={"LLMSIM_MAX_INSTRUCTIONS": "100"},
                      match=r"'fc' \(matmul\): the workload would lower to about \d+ ISA "
                            r"instructions .*more than the limit of 100 ")
    expect_user_error("compile", "--arch", "edge", "--workload", w,
                      env={"LLMSIM_MAX_INSTRUCTIONS": "-5"},
                      match=r"LLMSIM_MAX_INSTRUCTIONS=-5: must be a positive integer")


def test_wide_gemm_on_edge(tmp_path):
    w = write(tmp_path, "wide.json", {"ops": [{"op": "matmul", "m": 32768, "k": 32768, "n": 32768}]})
    expect_user_error("run", "--arch", "edge", "--workload", w,
                      match=r"ops\[0\] 'op0' \(matmul\): the workload would lower to about")


def test_op_dims_whose_products_overflow(tmp_path):
    # m x k x n past 2^64: SIGFPE in the tiling before.
    w = write(tmp_path, "ovf.json", {"ops": [{"op": "matmul", "m": 4294967296, "k": 4294967296,
                                              "n": 4294967296}]})
    expect_user_error("run", "--arch", "edge", "--workload", w,
                      match=r"ovf: ops\[0\]: A: batch x m x k: 1 x 4294967296 x 4294967296 "
                            r"elements, more than the 1099511627776")


def test_op_dim_past_two_to_the_32(tmp_path):
    w = write(tmp_path, "d.json", {"ops": [{"op": "matmul", "m": 18446744073709551615, "k": 8,
                                            "n": 8}]})
    expect_user_error("run", "--arch", "edge", "--workload", w,
                      match=r"d: ops\[0\]\.m: must be in \[1, 4294967296\], "
                            r"got 18446744073709551615")


def test_embedding_vocab_that_wrapped_to_8_kib(tmp_path):
    # vocab 2^58 x hidden 64 reported an 8 KiB DRAM footprint with exit 0 before.
    w = write(tmp_path, "emb.json", {"ops": [{"op": "embedding", "tokens": 128,
                                              "vocab": 2 ** 58, "hidden": 64}]})
    expect_user_error("run", "--arch", "edge", "--workload", w,
                      match=r"ops\[0\]\.vocab: must be in \[1, 4294967296\], got 288230376151711744")


def test_huge_embedding_token_count(tmp_path):
    w = write(tmp_path, "tok.json", {"ops": [{"op": "embedding", "tokens": 1000000000,
                                              "vocab": 1000, "hidden": 64}]})
    expect_user_error("run", "--arch", "edge", "--workload", w,
                      match=r"\(embedding\): the workload would lower to about 1\d{9} ISA")


def test_hand_written_trace_past_max_positions(tmp_path):
    # A position embedding of 2^27 tokens (seq far beyond max_position_embeddings): out of
    # memory before.
    w = write(tmp_path, "pos.json", {"seq": 2 ** 27, "ops": [
        {"op": "embedding", "name": "position", "tokens": 2 ** 27, "vocab": 512, "hidden": 768}]})
    expect_user_error("run", "--arch", "edge", "--workload", w,
                      match=r"'position' \(embedding\): the workload would lower to about")


def test_workload_too_big_for_the_memory(tmp_path):
    # 64 rows per bank: 16 MiB of HBM2; 32 MiB of weights, refused before lowering.
    w = write(tmp_path, "big.json", {"ops": [{"op": "matmul", "m": 8192, "k": 4096, "n": 128}]})
    expect_user_error("run", "--arch", "hbm2-stack", "--workload", w, "--set",
                      'memory.device={"preset": "HBM2", "organization": {"rows": 64}}',
                      match=r"workload 'big' needs at least 34078720 bytes of DRAM for its "
                            r"weights, inputs and KV caches, more than the memory's 16777216")


def test_kv_len_past_64_bits():
    # An internal error (exit 1) before.
    expect_user_error("trace", "--model", "gpt2", "--phase", "decode", "--kv-len",
                      "18446744073709551615",
                      match=r"gpt2: kv_len \+ seq: 18446744073709551615 \+ 1 overflows 64 bits")


def test_kv_len_past_max_positions():
    expect_user_error("trace", "--model", "gpt2", "--phase", "decode", "--kv-len", "5000",
                      match=r"exceeds max_position_embeddings 1024")


def test_hf_config_with_a_million_layers(tmp_path):
    # SIGABRT (uncaught std::bad_alloc) from `llmsim trace` before.
    cfg = write(tmp_path, "config.json", {"model_type": "gpt2", "n_embd": 768, "n_head": 12,
                                          "n_layer": 1000000, "vocab_size": 50257,
                                          "n_positions": 1024})
    expect_user_error("trace", "--model", cfg, match=r"n_layer: must be in \[1, 4096\], got 1000000")


def test_hf_config_shape_bounds(tmp_path):
    base = {"model_type": "llama", "hidden_size": 256, "num_attention_heads": 8,
            "num_hidden_layers": 2, "intermediate_size": 688, "vocab_size": 1000,
            "max_position_embeddings": 2048}
    for key, value, bound in [("hidden_size", 2 ** 21, 2 ** 20), ("vocab_size", 2 ** 40, 2 ** 24),
                              ("intermediate_size", 2 ** 64 - 1, 2 ** 22),
                              ("num_attention_heads", 2 ** 17, 2 ** 16)]:
        cfg = write(tmp_path, f"{key}.json", dict(base, **{key: value}))
        expect_user_error("trace", "--model", cfg,
                          match=rf"{key}: must be in \[1, {bound}\], got {value}$")


def test_hf_config_nested_and_duplicated(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text('{"model_type": "gpt2", "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    expect_user_error("trace", "--model", deep, match=r"JSON nested deeper than 64 levels")
    dup = tmp_path / "dup.json"
    dup.write_text('{"model_type": "gpt2",\n"n_layer": 2,\n"n_layer": 3}')
    expect_user_error("trace", "--model", dup, match=r"duplicate key n_layer at line 3")


def test_trace_nested_too_deep(tmp_path):
    t = tmp_path / "t.json"
    t.write_text('{"ops": [' + "[" * 10_000 + "]" * 10_000 + "]}")
    expect_user_error("compile", "--arch", "edge", "--workload", t,
                      match=r"t\.json: JSON nested deeper than 64 levels at line 1")


def test_duplicate_key_in_a_trace_op(tmp_path):
    t = tmp_path / "t.json"
    t.write_text('{"ops": [\n{"op": "matmul", "m": 8, "k": 8, "n": 8,\n "m": 16}]}')
    expect_user_error("compile", "--arch", "edge", "--workload", t,
                      match=r"duplicate key ops\[0\]\.m at line 3")


def test_trace_parse_is_linear_in_its_op_count(tmp_path):
    # 100,000 chained ops: 2.1 s at 10 k and 37 s at 60 k ops before (quadratic); now about a
    # second. A quadratic parse would blow the generous bound.
    ops = [{"op": "relu", "name": f"x{i}", "rows": 1, "cols": 64,
            "inputs": [f"x{i - 1}" if i else "input"]} for i in range(100_000)]
    t = write(tmp_path, "chain.json", {"ops": ops})
    p = run("compile", "--arch", "edge", "--workload", t, stdout=subprocess.DEVNULL, timeout=30)
    assert p.returncode == 0, p.stderr


def test_bundled_model_still_traces():
    p = expect_ok("trace", "--model", "gpt2", "--layers", "1")
    assert json.loads(p.stdout)["ops"]
