// The llmsim command line: exit codes and one-line errors that name the key (issue: a config
// with a misspelled key, a negative size, a non-power-of-two bank count or a wrong type exits
// with code 2 and one line naming the key).
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sim/driver/cli.h"
#include "sim/driver/presets.h"
#include "tests/support/cli_result.h"
#include "workloads/workload.h"

namespace {

using llmsim::testing::cli;
using llmsim::testing::CliResult;

// The edge preset with one key replaced by `mutate`, written to a temporary file.
std::string edge_with(const std::function<void(llmsim::config::Json&)>& mutate,
                      const std::string& file_name) {
  llmsim::config::Json j = llmsim::driver::load_arch("edge");
  mutate(j);
  const auto path = std::filesystem::temp_directory_path() / file_name;
  std::ofstream(path) << j.dump(2);
  return path.string();
}

void require_one_line_error(const CliResult& r, const std::string& expected) {
  CHECK(r.code == 2);
  CHECK(r.out.empty());
  CHECK(r.err == "error: " + expected + "\n");
}

}  // namespace

TEST_CASE("cli: a misspelled key exits 2 naming the key and the near miss") {
  const auto path = edge_with(
      [](auto& j) {
        j["core"]["systolic"]["rowz"] = j["core"]["systolic"]["rows"];
        j["core"]["systolic"].erase("rows");
      },
      "llmsim_typo.json");
  const CliResult r = cli({"run", "--arch", path, "--workload", "gemm1024"});
  // "rows" is required and read before leftovers are checked, so the missing key is reported,
  // pointing at the misspelling.
  require_one_line_error(
      r, "core.systolic.rows: is required (a positive integer); found \"rowz\": a misspelling?");
}

TEST_CASE("cli: an unknown extra key exits 2 with a did-you-mean") {
  const auto path =
      edge_with([](auto& j) { j["core"]["scratchpad"]["bankz"] = 8; }, "llmsim_unknown.json");
  const CliResult r = cli({"validate", "--arch", path});
  require_one_line_error(
      r,
      "core.scratchpad.bankz: unknown key (did you mean \"banks\"?); allowed here: "
      "capacity_bytes, banks, bank_width_bytes, ports, energy_pj_per_byte, leakage_mw");
}

TEST_CASE("cli: a negative size exits 2 naming the key and the value") {
  const CliResult r =
      cli({"validate", "--arch", "edge", "--set", "core.scratchpad.capacity_bytes=-4096"});
  require_one_line_error(r,
                         "core.scratchpad.capacity_bytes: must be a positive integer, got -4096");
}

TEST_CASE("cli: a non-power-of-two bank count exits 2") {
  const CliResult r = cli({"validate", "--arch", "edge", "--set", "core.scratchpad.banks=12"});
  require_one_line_error(r, "core.scratchpad.banks: must be a power of two, got 12");
}

TEST_CASE("cli: a wrong type exits 2 naming the key and the value") {
  const auto path =
      edge_with([](auto& j) { j["core"]["systolic"]["cols"] = "32"; }, "llmsim_type.json");
  const CliResult r = cli({"validate", "--arch", path});
  require_one_line_error(r, "core.systolic.cols: must be a positive integer, got \"32\"");
}

TEST_CASE("cli: a bad choice lists the allowed values") {
  const CliResult r = cli({"validate", "--arch", "edge", "--set", "core.systolic.dataflow=xs"});
  require_one_line_error(r, "core.systolic.dataflow: must be one of ws, os, is, got \"xs\"");
}

TEST_CASE("cli: an unknown memory implementation lists the registered ones") {
  const CliResult r = cli({"validate", "--arch", "edge", "--set", "memory.type=ddr9"});
  require_one_line_error(r, "memory.type: must be one of hbm, simple, got \"ddr9\"");
}

TEST_CASE("cli: unknown preset and workload names list what exists") {
  const CliResult a = cli({"validate", "--arch", "nosuch"});
  CHECK(a.code == 2);
  CHECK(a.err.find("--arch nosuch: no such file and no preset of that name; presets: ") !=
        std::string::npos);
  CHECK(a.err.find("datacenter") != std::string::npos);
  const CliResult w = cli({"run", "--arch", "edge", "--workload", "nosuch"});
  CHECK(w.code == 2);
  CHECK(w.err.find("gemm1024") != std::string::npos);
}

TEST_CASE("cli: a workload error names the op and the key") {
  const auto path = std::filesystem::temp_directory_path() / "llmsim_bad_workload.json";
  std::ofstream(path) << R"({"ops": [{"op": "matmul", "m": 64, "k": -1, "n": 64}]})";
  const CliResult r = cli({"run", "--arch", "edge", "--workload", path.string()});
  require_one_line_error(r, "llmsim_bad_workload: ops[0].k: must be a positive integer, got -1");
}

TEST_CASE("cli: a dtype the array lacks is an error, not a zero-cost op") {
  const auto path = std::filesystem::temp_directory_path() / "llmsim_fp32_workload.json";
  std::ofstream(path)
      << R"({"ops": [{"op": "matmul", "m": 64, "k": 64, "n": 64, "dtype": "fp32"}]})";
  const CliResult r = cli({"run", "--arch", "edge", "--workload", path.string()});
  require_one_line_error(r,
                         "ops[0] 'op0' (matmul): dtype fp32 is not supported by the systolic array "
                         "(core.systolic.dtypes)");
}

TEST_CASE("cli: bad usage exits 2; help and presets exit 0") {
  CHECK(cli({}).code == 2);
  CHECK(cli({"frobnicate"}).code == 2);
  CHECK(cli({"run", "--arch", "edge"}).code == 2);  // --workload missing
  CHECK(cli({"help"}).code == 0);
  const CliResult p = cli({"presets"});
  CHECK(p.code == 0);
  CHECK(p.out.find("edge\n") != std::string::npos);
  CHECK(p.out.find("datacenter\n") != std::string::npos);
}

TEST_CASE("cli: validate prints the resolved config with defaults written out") {
  const CliResult r = cli({"validate", "--arch", "edge"});
  REQUIRE(r.code == 0);
  const auto j = llmsim::config::Json::parse(r.out);
  CHECK(j["core"]["scratchpad"]["ports"] == "1r1w");
  CHECK(j["num_cores"] == 1);
  CHECK(j["memory"]["type"] == "simple");
}

TEST_CASE("cli: run --out writes stats.json, config.json and ops.csv") {
  const auto dir = std::filesystem::temp_directory_path() / "llmsim_cli_out";
  std::filesystem::remove_all(dir);
  const CliResult r = cli({"run", "--arch", "edge", "--workload", "mlp", "--out", dir.string()});
  REQUIRE(r.code == 0);
  std::ifstream stats(dir / "stats.json");
  const auto s = llmsim::config::Json::parse(stats);
  CHECK(s["total_cycles"].get<std::uint64_t>() > 0);
  CHECK(s["chip"]["core0"]["systolic"]["macs"].get<std::uint64_t>() ==
        512ull * 768 * 3072 + 512ull * 3072 * 768 + 512ull * 768 * 768);
  CHECK(s["chip"]["core0"]["systolic"].contains("busy_cycles"));
  CHECK(s["stat_info"]["chip.core0.systolic.busy_cycles"]["unit"] == "cycle");
  std::ifstream config(dir / "config.json");
  CHECK(llmsim::config::Json::parse(config)["core"]["systolic"]["rows"] == 32);
  std::ifstream ops(dir / "ops.csv");
  std::string header, line;
  std::getline(ops, header);
  CHECK(header.rfind("op,name,layer,kind,shape,m,k,n,batch,dtype,", 0) == 0);
  int rows = 0;
  while (std::getline(ops, line)) ++rows;
  CHECK(rows == 3);
}

TEST_CASE("cli: a workload larger than the memory is a user error, found before simulating") {
  // 64 rows per bank: 16 pseudo channels x 16 banks x 64 rows x 1 KB = 16 MiB of HBM2. Found
  // before lowering: the weights and inputs alone, A 8192 x 4096 int8 = 33554432 and B 4096 x
  // 128 = 524288 bytes, are 34078720.
  const auto path = std::filesystem::temp_directory_path() / "llmsim_too_big.json";
  std::ofstream(path) << R"({"ops": [{"op": "matmul", "m": 8192, "k": 4096, "n": 128}]})";
  const CliResult r = cli({"run", "--arch", "hbm2-stack", "--workload", path.string(), "--set",
                           R"(memory.device={"preset": "HBM2", "organization": {"rows": 64}})"});
  CHECK(r.code == 2);
  CHECK(r.err ==
        "error: workload 'llmsim_too_big' needs at least 34078720 bytes of DRAM for its "
        "weights, inputs and KV caches, more than the memory's 16777216\n");
}

TEST_CASE("cli: memtest and noctest print JSON with the documented keys") {
  const CliResult m = cli(
      {"memtest", "--arch", "hbm2-stack", "--pattern", "seq_read", "--requests", "2000", "--json"});
  REQUIRE(m.code == 0);
  const auto mj = llmsim::config::Json::parse(m.out);
  CHECK(mj["peak_bandwidth_gbps"].get<double>() == Approx(256.0));
  CHECK(mj["achieved_bandwidth_gbps"].get<double>() > 0);
  const CliResult n = cli({"noctest", "--arch", "datacenter", "--pattern", "uniform", "--rate",
                           "0.1", "--cycles", "2000", "--json"});
  REQUIRE(n.code == 0);
  const auto nj = llmsim::config::Json::parse(n.out);
  for (const char* k : {"offered_flits_per_node_cycle", "accepted_flits_per_node_cycle",
                        "avg_latency_cycles", "p99_latency_cycles"}) {
    CHECK(nj.contains(k));
  }
  CHECK(nj["offered_flits_per_node_cycle"].get<double>() == Approx(0.1));
}

TEST_CASE("cli: bad memtest and noctest arguments exit 2 with one line") {
  require_one_line_error(cli({"noctest", "--arch", "datacenter", "--mesh", "3"}),
                         "--mesh 3: expected WxH, e.g. 8x8");
  const CliResult m = cli({"memtest", "--arch", "edge", "--pattern", "seq_read"});
  require_one_line_error(m,
                         "memory.type: must be \"hbm\" for memtest (the simple memory has no "
                         "controller to test)");
}

TEST_CASE("cli: trace prints a model's layer trace that run reads back") {
  const CliResult r = cli({"trace", "--model", "gpt2", "--seq", "4", "--batch", "2"});
  REQUIRE(r.code == 0);
  CHECK(r.err.empty());
  const auto j = llmsim::config::Json::parse(r.out);
  CHECK(j["model"] == "gpt2");
  CHECK(j["batch"] == 2);
  CHECK(j["seq"] == 4);
  CHECK(j["phase"] == "prefill");
  // Embeddings 3 (word, position, add), 12 layers of 18, head 3 (norm, last token, LM head).
  CHECK(j["ops"].size() == 3 + 12 * 18 + 3);
  CHECK(j["ops"][0]["op"] == "embedding");
  CHECK(j["ops"].back()["name"] == "head.lm_head");
  // One op per line: "{", 5 metadata lines, "\"ops\": [", the ops, "]", "}".
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 9 + 3 + 12 * 18 + 3);
  const auto path = std::filesystem::temp_directory_path() / "llmsim_gpt2_trace.json";
  std::ofstream(path) << r.out;
  // run accepts the trace as a workload, and runs it as it runs the model itself.
  const CliResult from_file = cli({"run", "--arch", "edge", "--workload", path.string()});
  REQUIRE(from_file.code == 0);
  const CliResult from_model =
      cli({"run", "--arch", "edge", "--model", "gpt2", "--batch", "2", "--seq", "4"});
  REQUIRE(from_model.code == 0);
  const auto cycles = [](const std::string& out) {
    const auto at = out.find("total cycles");
    return out.substr(at, out.find('\n', at) - at);
  };
  CHECK(cycles(from_file.out) == cycles(from_model.out));
}

TEST_CASE("cli: trace decode, a config.json path, and the models list") {
  const CliResult d =
      cli({"trace", "--model", "llama-3-8b", "--phase", "decode", "--kv-len", "100"});
  REQUIRE(d.code == 0);
  const auto j = llmsim::config::Json::parse(d.out);
  CHECK(j["kv_len"] == 100);
  CHECK(j["seq"] == 1);
  const std::string models = std::string(LLMSIM_DATA_DIR) + "/workloads/models/";
  const CliResult p = cli({"trace", "--model", models + "bert-base-uncased.json", "--seq", "8"});
  REQUIRE(p.code == 0);
  CHECK(p.out == cli({"trace", "--model", "bert-base-uncased", "--seq", "8"}).out);
  const CliResult m = cli({"models"});
  REQUIRE(m.code == 0);
  CHECK(m.out.find("llama-3-8b\n    LlamaForCausalLM: 32 layers, hidden 4096, 32 heads (8 KV "
                   "heads), FFN 14336, vocab 128256\n") != std::string::npos);
}

TEST_CASE("cli: trace argument and model errors exit 2 with one line") {
  require_one_line_error(
      cli({"trace", "--model", "bert-base-uncased", "--phase", "decode", "--kv-len", "3"}),
      "bert-base-uncased: phase decode needs a decoder (model_type gpt2 or llama); model_type "
      "bert is an encoder");
  require_one_line_error(cli({"trace", "--model", "gpt2", "--batch", "-1"}),
                         "--batch -1: must be a positive integer");
  require_one_line_error(cli({"trace", "--model", "gpt2", "--seq", "4x"}),
                         "--seq 4x: must be a positive integer");
  require_one_line_error(cli({"trace", "--model", "gpt2", "--phase", "train"}),
                         "--phase train: must be prefill or decode");
  require_one_line_error(cli({"trace", "--model", "gpt2", "--dtype", "int4"}),
                         "--dtype int4: must be one of int8, fp16, bf16, fp32");
  const CliResult n = cli({"trace", "--model", "nosuch"});
  CHECK(n.code == 2);
  CHECK(n.err.rfind("error: --model nosuch: no such file and no bundled model of that name; "
                    "bundled: bert-base-uncased, ",
                    0) == 0);
  const auto path = std::filesystem::temp_directory_path() / "llmsim_bad_config.json";
  std::ofstream(path) << R"({"model_type": "llama", "hidden_size": 64})";
  require_one_line_error(cli({"trace", "--model", path.string()}),
                         "llmsim_bad_config: num_attention_heads: is required (a positive "
                         "integer)");
  CHECK(cli({"trace"}).code == 2);                                   // --model missing
  CHECK(cli({"trace", "--model", "gpt2", "--sek", "4"}).code == 2);  // unknown option
}

TEST_CASE("cli: a matmul-only trace with every default written out runs like the original") {
  const auto path = std::filesystem::temp_directory_path() / "llmsim_mlp_trace.json";
  std::ofstream(path) << llmsim::workloads::format_trace(
      llmsim::workloads::to_json(llmsim::workloads::load_workload("mlp")));
  const CliResult a = cli({"run", "--arch", "edge", "--workload", "mlp"});
  const CliResult b = cli({"run", "--arch", "edge", "--workload", path.string()});
  REQUIRE(a.code == 0);
  REQUIRE(b.code == 0);
  // Same table but for the workload's name in the first line and the wall time.
  auto table = [](const std::string& out) {
    std::istringstream in(out.substr(out.find('\n') + 1));
    std::string line, kept;
    while (std::getline(in, line)) {
      if (line.find("wall time") == std::string::npos) kept += line + "\n";
    }
    return kept;
  };
  CHECK(table(a.out) == table(b.out));
}
