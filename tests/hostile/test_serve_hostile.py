"""Hostile input to `llmsim serve`: bad options, request traces, models and scheduler settings
must be one-line user errors (exit 2) naming the input, caught before any simulation."""

import pytest

from conftest import expect_user_error

ARCH = ("--arch", "datacenter")
MODEL = ("--model", "gpt2")
# A valid generator; each case replaces one option.
GEN = {"--rate": "100", "--num-requests": "2", "--input-len": "8", "--output-len": "2"}


def serve(*extra, drop=(), **replace):
    gen = {k: v for k, v in GEN.items() if k not in drop}
    gen.update({"--" + k.replace("_", "-"): v for k, v in replace.items()})
    args = ["serve", *ARCH, *MODEL, "--quiet"]
    for k, v in gen.items():
        args += [k, v]
    return args + list(extra)


def trace(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return ["serve", *ARCH, *MODEL, "--quiet", "--requests", str(path)]


LEN_FORMS = r"must be N, uniform:LO:HI or lognormal:MEAN:SIGMA\[:MAX\]"


@pytest.mark.parametrize("value, match", [
    ("normal:5", r"--input-len normal:5: " + LEN_FORMS),
    ("uniform:9", r"--input-len uniform:9: " + LEN_FORMS),
    ("lognormal:512:1:2:3", r"--input-len lognormal:512:1:2:3: " + LEN_FORMS),
    ("0", r"--input-len 0: N must be an integer from 1 to 16777216 tokens"),
    ("abc", r"--input-len abc: N must be an integer from 1 to 16777216"),
    ("16777217", r"--input-len 16777217: N must be an integer from 1 to 16777216"),
    ("uniform:9:3", r"--input-len uniform:9:3: LO must be at most HI"),
    ("uniform:0:3", r"--input-len uniform:0:3: LO must be an integer from 1 to 16777216"),
    ("lognormal:0.5:1", r"--input-len lognormal:0.5:1: MEAN must be a finite number in \[1, "),
    ("lognormal:512:nan", r"--input-len lognormal:512:nan: SIGMA must be a finite number"),
    ("lognormal:512:5", r"--input-len lognormal:512:5: SIGMA must be a finite number in \[0, 4\]"),
])
def test_bad_input_len(value, match):
    expect_user_error(*serve(input_len=value), match=match)


def test_bad_output_len():
    expect_user_error(*serve(output_len="-3"), match=r"--output-len -3: N must be an integer")


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "x"])
def test_bad_rate(value):
    expect_user_error(*serve(rate=value),
                      match=rf"--rate {value}: must be a finite number in \(0, 1e\+09\]")


def test_rate_too_low_for_the_clock():
    expect_user_error(*serve(rate="1e-300"), match=r"rate_rps: 1e-300 is too low: request 0 "
                      r"would arrive after 1152921504606846976 ns")


@pytest.mark.parametrize("value", ["0", "10000001", "-5"])
def test_bad_num_requests(value):
    expect_user_error(*serve(num_requests=value),
                      match=rf"--num-requests {value}: must be an integer from 1 to 10000000")


def test_missing_model_and_arch():
    expect_user_error("serve", *ARCH, "--rate", "1", "--num-requests", "1", "--input-len", "8",
                      "--output-len", "2", match=r"serve: --model is required")
    expect_user_error("serve", *MODEL, "--requests", "x.jsonl",
                      match=r"the option '--arch' is required")


@pytest.mark.parametrize("missing", ["--rate", "--num-requests", "--input-len", "--output-len"])
def test_generator_incomplete(missing):
    expect_user_error(*serve(drop=(missing,)),
                      match=rf"serve: {missing} is required without --requests")


def test_generator_option_with_a_trace(tmp_path):
    args = trace(tmp_path, "t.jsonl", '{"arrival_time_ns": 0, "input_toks": 8, "output_toks": 2}\n')
    expect_user_error(*args, "--rate", "3",
                      match=r"--rate 3: applies only without --requests")


def test_requests_missing_file(tmp_path):
    path = tmp_path / "nothere.jsonl"
    expect_user_error("serve", *ARCH, *MODEL, "--requests", str(path),
                      match=rf"{path}: cannot read the request trace")


@pytest.mark.parametrize("name, text, match", [
    ("bad.jsonl", '{"arrival_time_ns": 0, "input_toks": 8, "output_toks": 2}\n{"arrival\n',
     r"bad\.jsonl:2: not valid JSON"),
    ("missing.jsonl", '{"arrival_time_ns": 0, "input_toks": 8}\n',
     r"missing\.jsonl:1: missing field output_toks"),
    ("key.jsonl", '{"arrival_time_ns": 0, "input_toks": 8, "output_toks": 2, "prio": 3}\n',
     r"key\.jsonl:1: unknown field 'prio' \(allowed: arrival_time_ns, input_toks, output_toks"),
    ("zero.jsonl", '{"arrival_time_ns": 0, "input_toks": 0, "output_toks": 2}\n',
     r"zero\.jsonl:1: .*input_toks"),
    ("float.jsonl", '{"arrival_time_ns": 0.5, "input_toks": 8, "output_toks": 2}\n',
     r"float\.jsonl:1: .*arrival_time_ns"),
    ("empty.jsonl", "\n\n", r"empty\.jsonl: no requests \(the trace is empty\)"),
    ("short.csv", "arrived_at,num_prefill_tokens,num_decode_tokens\n0.5,8,2\n0.25,8\n",
     r"short\.csv:3: has 2 fields, the header 3"),
    ("order.csv", "arrived_at,num_prefill_tokens,num_decode_tokens\n0.5,8,2\n0.25,8,2\n",
     r"order\.csv:3: arrived_at gives 250000000 ns, earlier than line 2's 500000000 ns"),
    ("header.csv", "arrived_at,num_prefill_tokens\n0.5,8\n", r"header\.csv:1: .*num_decode_tokens"),
    ("trace.txt", "0 8 2\n", r"trace\.txt: unknown trace format \(allowed: \.jsonl"),
])
def test_malformed_trace(tmp_path, name, text, match):
    expect_user_error(*trace(tmp_path, name, text), match=match)


def test_cost_nonsense():
    expect_user_error(*serve("--cost", "nonsense"),
                      match=r"--cost nonsense: must be table or exact")


@pytest.mark.parametrize("option", ["--check-iterations", "--calibration-layers"])
def test_table_options_with_exact(option):
    expect_user_error(*serve("--cost", "exact", option, "1"),
                      match=rf"{option} 1: applies only with --cost table")


@pytest.mark.parametrize("option, value, match", [
    ("--check-iterations", "1001", r"--check-iterations 1001: must be an integer from 0 to 1000"),
    ("--calibration-layers", "0", r"--calibration-layers 0: must be an integer from 1 to 1024"),
    ("--slo-ttft-ms", "0", r"--slo-ttft-ms 0: must be a finite number in \(0, 1e\+09\]"),
    ("--slo-tpot-ms", "-2", r"--slo-tpot-ms -2: must be a finite number"),
    ("--dtype", "fp8", r"--dtype fp8: must be one of int8, fp16, bf16, fp32"),
    ("--seed", "-1", r"--seed -1: must be an integer >= 0"),
])
def test_bad_option_values(option, value, match):
    expect_user_error(*serve(option, value), match=match)


def test_unwritable_out(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    expect_user_error(*serve("--out", str(blocker / "dir")),
                      match=rf"--out {blocker}/dir: cannot create the directory")
    expect_user_error(*serve("--timeline", str(blocker / "t.json")),
                      match=rf"--timeline {blocker}/t.json: cannot write the file")


def test_encoder_model_has_no_kv_cache():
    expect_user_error("serve", *ARCH, "--model", "bert-base-uncased", "--quiet",
                      *sum(([k, v] for k, v in GEN.items()), []),
                      match=r"bert-base-uncased: an iteration needs a decoder with a KV cache "
                      r"\(model_type gpt2 or llama\); model_type bert is an encoder")


def test_unknown_model():
    expect_user_error("serve", *ARCH, "--model", "nosuchmodel", "--quiet",
                      *sum(([k, v] for k, v in GEN.items()), []),
                      match=r"--model nosuchmodel: no such file and no bundled model")


def test_request_past_max_position_embeddings(tmp_path):
    # GPT-2's 1024 positions: a prompt of 1024 and 2 output tokens reaches position 1025.
    expect_user_error(*serve(input_len="1024"),
                      match=r"generated requests: request 0 \(input 1024 \+ output 2 tokens\) "
                      r"reaches position 1025, past gpt2's max_position_embeddings 1024")
    args = trace(tmp_path, "long.jsonl",
                 '{"arrival_time_ns": 0, "input_toks": 8, "output_toks": 2}\n'
                 '{"arrival_time_ns": 5, "input_toks": 1000, "output_toks": 100}\n')
    expect_user_error(*args, match=r"long\.jsonl: request 1 \(input 1000 \+ output 100 tokens\) "
                      r"reaches position 1099")


@pytest.mark.parametrize("assignment, match", [
    ("serving.max_num_seqs=0", r"serving\.max_num_seqs: must be a positive integer, got 0"),
    ("serving.block_size=0", r"serving\.block_size: must be a positive integer, got 0"),
    ("serving.max_num_batched_tokens=-1", r"serving\.max_num_batched_tokens"),
    ("serving.bogus=1", r"serving\.bogus: unknown key"),
    ("serving.kv_cache_bytes=1", r"serving\.kv_cache_bytes: 1 bytes hold no KV block of 589824 "
     r"bytes \(16 tokens x 36864 bytes\)"),
    ("serving.enable_chunked_prefill=3", r"serving\.enable_chunked_prefill"),
])
def test_bad_serving_section(assignment, match):
    expect_user_error(*serve("--set", assignment), match=match)
