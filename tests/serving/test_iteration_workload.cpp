// A serving iteration as a workload (workloads/serving/iteration_workload.h): its ops against
// build_trace's, against hand-derived counts and MACs, its paged KV at the block table's DRAM
// addresses, and its errors.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <set>

#include "sim/core/error.h"
#include "sim/driver/presets.h"
#include "sim/driver/run.h"
#include "tests/support/small_target.h"
#include "tests/support/tiny_llama.h"
#include "workloads/lowering.h"
#include "workloads/serving/iteration_workload.h"
#include "workloads/transformer.h"

namespace {

using namespace llmsim;
using namespace llmsim::workloads;

using test::tiny_llama;

std::vector<std::uint64_t> iota_blocks(std::uint64_t first, std::uint64_t n) {
  std::vector<std::uint64_t> b(n);
  std::iota(b.begin(), b.end(), first);
  return b;
}

IterationSeq seq(std::uint64_t tokens, std::uint64_t kv_len, std::vector<std::uint64_t> blocks,
                 bool emits = true) {
  return {tokens, kv_len, std::move(blocks), emits};
}

driver::RunResult run(const Workload& w) {
  return driver::run(driver::RunSpec{"datacenter", driver::load_arch("datacenter"), {}, w, {}});
}

// The ops of two workloads match one for one: kind, name, MACs, output elements.
void require_same_ops(const Workload& a, const Workload& b) {
  REQUIRE(a.ops.size() == b.ops.size());
  for (std::size_t i = 0; i < a.ops.size(); ++i) {
    INFO("op " << i << " " << a.ops[i].name());
    CHECK(a.ops[i].name() == b.ops[i].name());
    CHECK(a.ops[i].kind() == b.ops[i].kind());
    CHECK(a.ops[i].macs() == b.ops[i].macs());
    CHECK(a.ops[i].output_elements() == b.ops[i].output_elements());
  }
}

// The mixed iteration of the tests: 3 decodes (kv 17, 300, 1000: rows 0, 1, 2) then a prefill
// chunk of 64 after 128 cached (rows 3 .. 66); block_size 16, pool of 200 blocks.
IterationShape mixed(std::uint64_t layers) {
  IterationShape s;
  s.layers = layers;
  s.block_size = 16;
  s.num_blocks = 200;
  s.seqs = {seq(1, 17, {7, 3}),                         // 18 tokens: 2 blocks
            seq(1, 300, iota_blocks(10, 19)),           // 301: 19 blocks
            seq(1, 1000, iota_blocks(100, 63)),         // 1001: 63 blocks
            seq(64, 128, {40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51})};  // 192: 12
  return s;
}

}  // namespace

TEST_CASE("iteration: one prefill sequence has the ops and the cycles of build_trace's batch 1") {
  const ModelConfig m = tiny_llama(1);
  IterationShape s;
  s.block_size = 16;
  s.num_blocks = 8;
  s.seqs = {seq(64, 0, iota_blocks(0, 4))};
  const Workload it = build_iteration(m, s);
  TraceOptions o;
  o.seq = 64;
  const Workload tr = build_trace(m, o);
  require_same_ops(it, tr);
  const auto& kw = std::get<KvWriteOp>(it.ops[std::size_t(it.index_of("layer0.k_cache_write"))].body());
  CHECK(kw.pool == "layer0.k_cache");
  CHECK(kw.blocks == std::vector<std::uint64_t>{0, 1, 2, 3});

  const auto a = run(it), b = run(tr);
  REQUIRE(a.ops.size() == b.ops.size());
  CHECK(a.macs == b.macs);
  // The same instructions but for the KV cache: paged [block][head][16][d], a head's 64 rows
  // are 4 blocks apart, so its kv_write stores and the scores' and context's K and V loads are
  // cut into 16-row DMA blocks where build_trace's contiguous cache takes one.
  std::printf("prefill 64: iteration %llu cycles, build_trace %llu\n",
              (unsigned long long)a.total_cycles, (unsigned long long)b.total_cycles);
  CHECK(double(a.total_cycles) == Approx(double(b.total_cycles)).epsilon(0.02));
}

TEST_CASE("iteration: one decode sequence has the ops and the cycles of build_trace's decode") {
  const ModelConfig m = tiny_llama(1);
  IterationShape s;
  s.block_size = 16;
  s.num_blocks = 64;
  s.seqs = {seq(1, 300, iota_blocks(0, 19))};
  const Workload it = build_iteration(m, s);
  TraceOptions o;
  o.phase = Phase::decode;
  o.kv_len = 300;
  const Workload tr = build_trace(m, o);
  require_same_ops(it, tr);
  const auto a = run(it), b = run(tr);
  CHECK(a.macs == b.macs);
  std::printf("decode kv 300: iteration %llu cycles, build_trace %llu\n",
              (unsigned long long)a.total_cycles, (unsigned long long)b.total_cycles);
  CHECK(double(a.total_cycles) == Approx(double(b.total_cycles)).epsilon(0.02));
}

TEST_CASE("iteration: a mixed batch has the hand-derived ops and MACs and runs on datacenter") {
  const ModelConfig m = tiny_llama(2);
  const Workload w = build_iteration(m, mixed(2));
  // Per layer: attn_norm, q/k/v_proj (4); per sequence q_rope, k_rope, k and v kv_write,
  // scores, scale, softmax, context (8 x 4) and the prefill's mask (1); o_proj, attn_residual,
  // ffn_norm, gate_proj, act, up_proj, gate_mul, down_proj, ffn_residual (9): 46. Plus the word
  // embedding, and the head's final_norm, last_token (rows 0, 1, 2, 66) and lm_head.
  CHECK(w.ops.size() == 1 + 2 * 46 + 3);
  const std::uint64_t T = 67, h = 256, d = 64, H = 4, Hkv = 2, g = 2, I = 512, V = 512;
  // Attention: scores and context each Hkv x (g s) x d x (L + s) per sequence.
  const std::uint64_t attn = 2 * Hkv * g * d * (1 * 18 + 1 * 301 + 1 * 1001 + 64 * 192);
  const std::uint64_t layer = T * h * (H * d + 2 * Hkv * d) + attn + T * H * d * h + 3 * T * h * I;
  std::uint64_t macs = 0;
  for (const Op& op : w.ops) macs += op.macs();
  CHECK(macs == 2 * layer + 4 * h * V);
  const auto& last = std::get<VectorOp>(w.ops[std::size_t(w.index_of("head.last_token"))].body());
  CHECK(last.row_indices == std::vector<std::uint64_t>{0, 1, 2, 66});
  const auto& ctx3 = std::get<MatmulOp>(w.ops[std::size_t(w.index_of("layer1.seq3.context"))].body());
  CHECK(ctx3.prefix_elements == 3 * H * d);  // the three decodes' rows before it
  CHECK(ctx3.output_elements() == T * H * d);
  const auto& mask = std::get<VectorOp>(w.ops[std::size_t(w.index_of("layer1.seq3.mask"))].body());
  CHECK(mask.mask_tokens() == 64);  // the chunk's queries are at positions 128 .. 191
  CHECK(mask.kv_len == 128);

  const auto r = run(w);
  REQUIRE(r.ops.size() == w.ops.size());
  CHECK(r.macs == macs);
  CHECK(r.total_cycles > 0);
  std::printf("mixed (3 decodes + 64-token chunk), 2 layers: %llu cycles\n",
              (unsigned long long)r.total_cycles);
}

TEST_CASE("iteration: GPT-2 (no rope) takes each sequence's Q rows by a_offset") {
  ModelConfig m = load_model("gpt2");
  IterationShape s;
  s.layers = 1;
  s.block_size = 16;
  s.num_blocks = 100;
  s.seqs = {seq(1, 40, {5, 6, 7}), seq(32, 0, {0, 1})};  // rows 0, then 1 .. 32
  const Workload w = build_iteration(m, s);
  const auto& sc = std::get<MatmulOp>(w.ops[std::size_t(w.index_of("layer0.seq1.scores"))].body());
  CHECK(w.ops[std::size_t(sc.a.op)].name() == "layer0.q_proj");
  CHECK(sc.a_offset == 1 * 768);  // row 1 of q_proj, 12 heads x 64
  const auto& kv =
      std::get<KvWriteOp>(w.ops[std::size_t(w.index_of("layer0.seq1.k_cache_write"))].body());
  CHECK(w.ops[std::size_t(kv.input.op)].name() == "layer0.k_proj");
  CHECK(kv.row_offset == 1);
  // Both sequences emit: rows 0 and 32, a regular copy.
  const auto& last = std::get<VectorOp>(w.ops[std::size_t(w.index_of("head.last_token"))].body());
  CHECK(last.row_indices.empty());
  CHECK(last.row_offset == 0);
  CHECK(last.row_stride == 32);
  const auto r = run(w);
  std::uint64_t macs = 0;
  for (const Op& op : w.ops) macs += op.macs();
  // MHA (g = 1, 12 heads of 64): attention 2 x 12 x 64 x (1 x 41 + 32 x 32) MACs; the rest
  // T = 33 rows through h = 768, FFN 3072, and the head's 2 rows x 50257.
  const std::uint64_t T = 33, h = 768;
  CHECK(macs == T * h * 3 * h + 2 * 12 * 64 * (41 + 32 * 32) + T * h * h + 2 * T * h * 4 * h +
                    2 * h * 50257);
  CHECK(r.macs == macs);

  // One sequence: build_trace's ops.
  s.seqs = {seq(32, 0, {0, 1})};
  TraceOptions o;
  o.seq = 32;
  o.layers = 1;
  require_same_ops(build_iteration(m, s), build_trace(m, o));
}

TEST_CASE("iteration: attention reads and writes a sequence's K and V at its blocks' addresses") {
  const ModelConfig m = tiny_llama(1);
  const Workload w = build_iteration(m, mixed(1));
  const Lowered low = lower(w, testing::small_target(2));
  const std::uint64_t e = 1, d = 64, bs = 16, Hkv = 2, unit = bs * d * e;  // one (block, head)
  const int pool_op = w.index_of("layer0.seq0.k_cache_write");
  const auto pool = std::find_if(low.tensors.begin(), low.tensors.end(), [&](const DramTensor& t) {
    return t.op == pool_op && t.role == "cache";
  });
  REQUIRE(pool != low.tensors.end());
  CHECK(pool->rows == 200 * Hkv * bs);  // [200 blocks][2 heads][16][64]
  CHECK(pool->cols == d);
  const std::uint64_t lo = pool->addr, hi = lo + 200 * Hkv * unit;
  for (int s : {1, 3}) {  // the decode with kv 300, the prefill chunk
    const std::string p = "layer0.seq" + std::to_string(s) + ".";
    const auto& kv = std::get<KvWriteOp>(w.ops[std::size_t(w.index_of(p + "k_cache_write"))].body());
    const std::uint64_t L = kv.kv_len + kv.tokens;
    // (head, token) -> covered by the scores' K loads (all tokens) / the kv_write's stores (new).
    std::set<std::pair<std::uint64_t, std::uint64_t>> read, written;
    const int scores = w.index_of(p + "scores"), write = w.index_of(p + "k_cache_write");
    for (const auto& core : low.program.cores) {
      for (const auto k : {isa::QueueKind::load, isa::QueueKind::store}) {
        for (const isa::Instruction& i : core.queue(k)) {
          const isa::Block* b = nullptr;
          if (const auto* l = std::get_if<isa::DmaLoad>(&i.body)) b = &l->block;
          if (const auto* st = std::get_if<isa::DmaStore>(&i.body)) b = &st->block;
          if (b == nullptr || b->dram_addr < lo || b->dram_addr >= hi) continue;
          if (i.op != scores && i.op != write) continue;  // the other sequences' (same pool)
          const std::uint64_t off = b->dram_addr - lo, u = off / unit, row = off % unit / (d * e);
          const std::uint64_t block = u / Hkv, head = u % Hkv;
          CHECK(b->dram_stride_bytes == d * e);
          CHECK(row + b->rows <= bs);  // never across a block boundary
          const auto at = std::find(kv.blocks.begin(), kv.blocks.end(), block);
          REQUIRE(at != kv.blocks.end());  // one of this sequence's blocks
          const std::uint64_t t0 = std::uint64_t(at - kv.blocks.begin()) * bs + row;
          for (std::uint64_t t = t0; t < t0 + b->rows; ++t) {
            (i.op == scores ? read : written).insert({head, t});
          }
        }
      }
    }
    INFO("sequence " << s);
    CHECK(read.size() == Hkv * L);  // every head's every token, from its block
    CHECK(written.size() == Hkv * kv.tokens);
    CHECK(written.begin()->second == kv.kv_len);  // the new tokens follow the cached ones
    CHECK(written.rbegin()->second == L - 1);
  }
}

TEST_CASE("iteration values: each sequence attends to its own K and V, read through its blocks") {
  // fp32 value mode (docs/values.md) on the mixed batch; the reference is computed here per
  // sequence from the run's own inputs: its q_rope and k_rope rows, v_proj's rows, and the
  // cached keys and values as the pools were filled, gathered through the block table.
  const ModelConfig m = tiny_llama(1);
  IterationShape shape = mixed(1);
  shape.dtype = isa::DType::fp32;
  const Workload w = build_iteration(m, shape);
  driver::RunSpec spec{"datacenter", driver::load_arch("datacenter"), {}, w, {}};
  spec.values = driver::ValuesSpec{7};
  const auto r = driver::run(spec);
  const std::uint64_t d = 64, H = 4, Hkv = 2, g = 2, bs = 16;
  const auto out = [&](const std::string& name) -> const driver::OpValues& {
    const int i = w.index_of(name);
    REQUIRE(i >= 0);
    REQUIRE(r.values[std::size_t(i)].stored);
    return r.values[std::size_t(i)];
  };
  const auto pool = [&](const std::string& kv_write) -> const driver::TensorValues& {
    const int i = w.index_of(kv_write);
    const auto it = std::find_if(r.tensors.begin(), r.tensors.end(), [&](const auto& t) {
      return t.op == i && t.role == "cache";
    });
    REQUIRE(it != r.tensors.end());
    return *it;
  };
  const auto& kpool = pool("layer0.seq0.k_cache_write");
  const auto& vpool = pool("layer0.seq0.v_cache_write");
  const auto& v_proj = out("layer0.v_proj");
  // The contexts fill one T x H*d buffer; value mode reads each op's output from what its own
  // stores wrote (values.h), so sequence j's rows are in its own context op's output.
  CHECK(out("layer0.seq3.context").rows == 67);
  std::uint64_t row0 = 0;
  for (std::size_t j = 0; j < shape.seqs.size(); ++j) {
    const IterationSeq& sq = shape.seqs[j];
    const std::string p = "layer0.seq" + std::to_string(j) + ".";
    const auto& q = out(p + "q_rope");
    const auto& k = out(p + "k_rope");
    const auto& ctx = out(p + "context");
    REQUIRE(ctx.rows == row0 + sq.tokens);
    REQUIRE(ctx.cols == H * d);
    const std::uint64_t L = sq.kv_len, keys = L + sq.tokens;
    // Key or value t of KV head h: cached in its block, or this iteration's new row.
    const auto kv = [&](bool is_k, std::uint64_t h, std::uint64_t t, std::uint64_t c) {
      if (t >= L) {
        return is_k ? k.data[(t - L) * Hkv * d + h * d + c]
                    : v_proj.data[(row0 + t - L) * Hkv * d + h * d + c];
      }
      const std::uint64_t prow = (sq.blocks[t / bs] * Hkv + h) * bs + t % bs;
      return (is_k ? kpool : vpool).data[prow * d + c];
    };
    double worst = 0, largest = 0;
    for (std::uint64_t i = 0; i < sq.tokens; ++i) {
      for (std::uint64_t hq = 0; hq < H; ++hq) {
        const std::uint64_t h = hq / g;
        std::vector<double> pr(keys, 0.0);
        double mx = -1e300;
        for (std::uint64_t t = 0; t <= L + i; ++t) {  // causal: keys up to the query's position
          double dot = 0;
          for (std::uint64_t c = 0; c < d; ++c) dot += q.data[i * H * d + hq * d + c] * kv(true, h, t, c);
          pr[t] = dot / 8.0;  // 1 / sqrt(64)
          mx = std::max(mx, pr[t]);
        }
        double sum = 0;
        for (std::uint64_t t = 0; t <= L + i; ++t) sum += pr[t] = std::exp(pr[t] - mx);
        for (std::uint64_t c = 0; c < d; ++c) {
          double ref = 0;
          for (std::uint64_t t = 0; t <= L + i; ++t) ref += pr[t] / sum * kv(false, h, t, c);
          const double sim = ctx.data[(row0 + i) * H * d + hq * d + c];
          worst = std::max(worst, std::abs(sim - ref));
          largest = std::max(largest, std::abs(ref));
        }
      }
    }
    INFO("sequence " << j << ": max abs error " << worst << " of max |ref| " << largest);
    CHECK(largest > 0.01);
    CHECK(worst <= 1e-4 * largest);
    row0 += sq.tokens;
  }
}

TEST_CASE("iteration: shapes the model or the pool cannot take are errors naming the field") {
  const ModelConfig m = tiny_llama(1);
  auto err = [&](IterationShape s) -> std::string {
    try {
      build_iteration(m, s);
    } catch (const WorkloadError& e) {
      return e.what();
    }
    return "";
  };
  IterationShape s;
  s.block_size = 16;
  s.num_blocks = 8;
  s.seqs = {seq(20, 0, {0, 1}), seq(1, 5, {2})};
  CHECK_NOTHROW(build_iteration(m, s));
  auto bad = s;
  bad.seqs[1].blocks = {8};
  CHECK_THAT(err(bad), Catch::Contains("seqs[1].blocks[0]: block 8 is past the pool of "
                                       "num_blocks = 8 blocks"));
  bad = s;
  bad.seqs[0].blocks = {0};
  CHECK_THAT(err(bad), Catch::Contains("seqs[0].blocks: must hold ceil((kv_len + tokens) / "
                                       "block_size) = ceil(20 / 16) = 2 block ids, got 1"));
  bad = s;
  bad.seqs[1].blocks = {1};
  CHECK_THAT(err(bad), Catch::Contains("seqs[1].blocks[0]: block 1 is already in the table of "
                                       "seqs[0]"));
  bad = s;
  bad.seqs[1].tokens = 0;
  CHECK_THAT(err(bad), Catch::Contains("seqs[1].tokens: must be in [1, "));
  bad = s;
  bad.seqs.clear();
  CHECK_THAT(err(bad), Catch::Contains("seqs: an iteration needs at least one sequence"));
  bad = s;
  bad.seqs[1] = seq(1, 2048, {});
  CHECK_THAT(err(bad), Catch::Contains("seqs[1].kv_len + tokens = 2049 exceeds "
                                       "max_position_embeddings 2048"));
  CHECK_THROWS_WITH(build_iteration(load_model("bert-base-uncased"), s),
                    Catch::Contains("needs a decoder"));
}

TEST_CASE("trace format: paged kv_write fields are parsed strictly") {
  // Block lists as JSON text: parsed, ids are unsigned (as in a trace file).
  const auto doc = [](const char* blocks_a, const char* blocks_b, std::uint64_t pool_blocks_b) {
    auto kv = [](const std::string& name, const char* blocks, std::uint64_t pb,
                 std::uint64_t tokens, std::uint64_t kv_len) {
      return config::Json{{"op", "kv_write"}, {"name", name},   {"input", "input"},
                          {"batch", 1},       {"heads", 2},     {"head_dim", 8},
                          {"tokens", tokens}, {"kv_len", kv_len}, {"pool", "k"},
                          {"pool_blocks", pb}, {"block_size", 4}, {"blocks", config::Json::parse(blocks)}};
    };
    return config::Json{{"ops", {kv("a", blocks_a, 8, 3, 2), kv("b", blocks_b, pool_blocks_b, 1, 4)}}};
  };
  CHECK_NOTHROW(parse_workload(doc("[0, 1]", "[2, 3]", 8), "t"));
  CHECK_THROWS_WITH(parse_workload(doc("[0, 8]", "[2, 3]", 8), "t"),
                    Catch::Contains("ops[0].blocks: must be a list of integers in [0, 7]"));
  CHECK_THROWS_WITH(parse_workload(doc("[0]", "[2, 3]", 8), "t"),
                    Catch::Contains("ops[0].blocks: must hold ceil((kv_len + tokens) / "
                                    "block_size) = ceil(5 / 4) = 2 block ids, got 1"));
  CHECK_THROWS_WITH(parse_workload(doc("[0, 1]", "[2, 1]", 8), "t"),
                    Catch::Contains("ops[1].blocks[1]: block 1 of pool \"k\" is already held by "
                                    "op \"a\""));
  CHECK_THROWS_WITH(parse_workload(doc("[0, 1]", "[2, 3]", 9), "t"),
                    Catch::Contains("ops[1].pool_blocks: pool \"k\" has pool_blocks 8"));
}

// Speed facts (run by hand: llmsim_tests "[.speed]"): Llama-3-8B on datacenter, 32 decodes of
// kv ~600 and one 256-token prefill chunk, 1 and 2 layers.
TEST_CASE("iteration speed: Llama-3-8B, 32 decodes + a 256-token chunk", "[.speed]") {
  const ModelConfig m = load_model("llama-3-8b");
  for (std::uint64_t layers : {1, 2}) {
    IterationShape s;
    s.layers = layers;
    s.block_size = 16;
    s.num_blocks = 4096;
    std::uint64_t next = 0;
    for (std::uint64_t i = 0; i < 32; ++i) {
      const std::uint64_t kv = 580 + i;  // ~600
      const std::uint64_t n = (kv + 1 + 15) / 16;
      s.seqs.push_back(seq(1, kv, iota_blocks(next, n)));
      next += n;
    }
    s.seqs.push_back(seq(256, 0, iota_blocks(next, 16)));
    const auto t0 = std::chrono::steady_clock::now();
    const Workload w = build_iteration(m, s);
    const auto t1 = std::chrono::steady_clock::now();
    const auto r = run(w);
    const auto t2 = std::chrono::steady_clock::now();
    std::printf("llama-3-8b iteration, %llu layers: %zu ops, build %.3f s, run %.2f s wall "
                "(mapping %.2f s), %llu cycles\n",
                (unsigned long long)layers, w.ops.size(),
                std::chrono::duration<double>(t1 - t0).count(),
                std::chrono::duration<double>(t2 - t1).count(), r.mapping_seconds,
                (unsigned long long)r.total_cycles);
    for (const auto& l : r.layers) {
      std::printf("  %s: %llu ops, %llu cycles\n", l.name.c_str(), (unsigned long long)l.ops,
                  (unsigned long long)l.cycles);
    }
  }
}
