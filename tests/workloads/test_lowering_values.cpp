// What the lowered programs compute (issue 21): the fields of the vector instructions that carry
// values (rope per head at each token's position, the causal mask's positions, the attention
// scale's factor), and the numbers a one-core program computes when its instructions run on
// value images (arch/values/semantics.h), against a reference written from Hugging Face's code.
#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <limits>
#include <variant>

#include "arch/values/machine.h"
#include "tests/support/instructions.h"
#include "tests/support/small_target.h"
#include "workloads/lowering.h"
#include "workloads/model_config.h"
#include "workloads/transformer.h"
#include "workloads/workload.h"

namespace {

using llmsim::config::Json;
using namespace llmsim;
using namespace llmsim::workloads;
using values::Format;

Workload parse(const std::string& text) {
  return parse_workload(Json::parse(text), "t");
}

// tests/support/small_target.h, with fp32 GEMMs: 1 core, 256 KiB scratchpad in two slots of
// 96 KiB (auto mapping: two A regions of 32 KiB after them), 64 KiB accumulator.
Target target() {
  Target t = testing::small_target(1);
  t.dtypes = {isa::DType::int8, isa::DType::fp32};
  return t;
}
constexpr std::uint64_t kSlot = 98304;  // (256 KiB - 2 x 32 KiB) / 2

using testing::of;  // tests/support/instructions.h

// A one-core value machine (arch/values/machine.h) on target() for `ops` fp32 ops.
values::Machine fp32_machine(std::size_t ops) {
  const Target t = target();
  return values::Machine(1, t.scratchpad_bytes, t.accumulator_bytes,
                         std::vector<isa::DType>(ops, isa::DType::fp32));
}

// Runs a one-core program's instructions on `m` in an order its semaphores allow: each queue
// as far as it can go, round robin, until none can.
void run_values(const isa::CoreProgram& core, values::Machine& m) {
  std::vector<std::uint32_t> sem = core.semaphore_init;
  std::array<std::size_t, 3> pc{};
  for (bool progress = true; progress;) {
    progress = false;
    for (std::size_t k = 0; k < 3; ++k) {
      const isa::InstructionQueue& q = core.queues[k];
      for (; pc[k] < q.size(); ++pc[k], progress = true) {
        const isa::Body& b = q[pc[k]].body;
        const int op = q[pc[k]].op;
        if (const auto* w = std::get_if<isa::SemWait>(&b)) {
          if (sem.at(w->sem) == 0) break;
          --sem[w->sem];
        } else if (const auto* s = std::get_if<isa::SemSignal>(&b)) {
          ++sem.at(s->sem);
        } else if (const auto* l = std::get_if<isa::DmaLoad>(&b)) {
          m.load(0, *l, op);
        } else if (const auto* st = std::get_if<isa::DmaStore>(&b)) {
          REQUIRE(st->sram_elem_bytes == 4);  // these tests run fp32 throughout
          REQUIRE(st->dram_elem_bytes == 4);
          m.store(0, *st, op);
        } else if (const auto* g = std::get_if<isa::Gemm>(&b)) {
          m.gemm(0, *g, op);
        } else if (const auto* v = std::get_if<isa::VectorOp>(&b)) {
          m.vector(0, *v, op);
        }
      }
    }
  }
  for (std::size_t k = 0; k < 3; ++k) REQUIRE(pc[k] == core.queues[k].size());
}

void put(values::DramImage& dram, std::uint64_t addr, const std::vector<float>& x) {
  std::vector<std::uint8_t> bytes(4 * x.size());
  values::encode(Format::fp32, x.data(), x.size(), bytes.data());
  dram.write(addr, bytes.data(), bytes.size());
}

std::vector<float> get(const values::DramImage& dram, std::uint64_t addr, std::size_t n) {
  std::vector<std::uint8_t> bytes(4 * n);
  dram.read(addr, bytes.data(), bytes.size());
  std::vector<float> out(n);
  values::decode(Format::fp32, bytes.data(), n, out.data());
  return out;
}

std::vector<float> ramp(std::size_t n, double step) {
  std::vector<float> x(n);
  for (std::size_t i = 0; i < n; ++i) x[i] = float(std::sin(double(i) * step + 0.3));
  return x;
}

// The lowest DRAM address op `op`'s instructions of type T touch (its operand's base).
template <class T>
std::uint64_t lowest(const isa::CoreProgram& core, isa::QueueKind k, int op) {
  std::uint64_t a = std::numeric_limits<std::uint64_t>::max();
  for (const T& x : of<T>(core.queue(k), op)) a = std::min(a, x.block.dram_addr);
  return a;
}

// A rope op of rows = batch x tokens tokens of 2 heads of d = 4, fp32, lowered for one core.
std::string rope_trace(std::uint64_t rows, std::uint64_t tokens, std::uint64_t kv_len) {
  return R"({"ops": [{"op": "rope", "name": "r", "dtype": "fp32", "rows": )" +
         std::to_string(rows) + R"(, "cols": 8, "head_dim": 4, "tokens": )" +
         std::to_string(tokens) + R"(, "kv_len": )" + std::to_string(kv_len) +
         R"(, "inputs": ["input"]}]})";
}

// Runs the lowered rope on x and compares with Hugging Face's apply_rotary_pos_emb: per head of
// d, q * cos + rotate_half(q) * sin, rotate_half(q) = cat(-q[d/2:], q[:d/2]), cos and sin of
// position kv_len + t (t the token's index in its sequence) for theta_i = 10000^(-2i/d),
// repeated over both halves.
void check_rope_values(std::uint64_t rows, std::uint64_t tokens, std::uint64_t kv_len) {
  const std::uint64_t d = 4, cols = 8, half = d / 2;
  const Lowered l = lower(parse(rope_trace(rows, tokens, kv_len)), target());
  const isa::CoreProgram& core = l.program.cores[0];
  // DRAM (workloads/lowering.h): the input at 0, the table at 4096 (4 KiB pages), the output
  // after them.
  const std::uint64_t input = 0, table = 4096;
  const std::uint64_t out = lowest<isa::DmaStore>(core, isa::QueueKind::store, 0);
  CHECK(out >= 8192);
  const auto theta = [&](std::uint64_t p, std::uint64_t i) {
    return double(p) * std::pow(10000.0, -2.0 * double(i) / double(d));
  };
  values::Machine m = fp32_machine(l.plans.size());
  values::DramImage& dram = m.dram();
  const std::vector<float> x = ramp(rows * cols, 0.7);
  put(dram, input, x);
  for (std::uint64_t p = 0; p < kv_len + tokens; ++p) {
    std::vector<float> row(d);
    for (std::uint64_t i = 0; i < half; ++i) {
      row[i] = float(std::cos(theta(p, i)));
      row[half + i] = float(std::sin(theta(p, i)));
    }
    put(dram, table + p * d * 4, row);
  }
  run_values(core, m);
  const std::vector<float> y = get(dram, out, rows * cols);
  for (std::uint64_t r = 0; r < rows; ++r) {
    const std::uint64_t pos = kv_len + r % tokens;
    for (std::uint64_t h = 0; h < cols / d; ++h) {
      for (std::uint64_t i = 0; i < half; ++i) {
        const double a = x[r * cols + h * d + i], b = x[r * cols + h * d + half + i];
        const double c = std::cos(theta(pos, i)), s = std::sin(theta(pos, i));
        CHECK(y[r * cols + h * d + i] == Approx(a * c - b * s).margin(1e-6));
        CHECK(y[r * cols + h * d + half + i] == Approx(b * c + a * s).margin(1e-6));
      }
    }
  }
}

}  // namespace

TEST_CASE("lowering values: rope rotates each head with its token's table row") {
  // rows 6 = 2 sequences x 3 tokens after kv_len = 2 cached, cols 8 = 2 heads of d = 4. One
  // core: chunks of ceil(6 / 4) = 2 rows (a quarter of the core's share). Slot: the chunk's
  // 2 x 8 fp32 = 64 B, then its table rows (d = 4 fp32 = 16 B each). Row r is token r mod 3 at
  // position 2 + r mod 3; the table (5 positions x 16 B) lies at 4096, so position p at
  // 4096 + 16 p. Chunk 0 (rows 0, 1): positions 2, 3, one block; chunk 1 (rows 2, 3): position
  // 4 (sequence 0's last token), then 2 (sequence 1's first), two blocks; chunk 2: 3, 4.
  const Lowered l = lower(parse(rope_trace(6, 3, 2)), target());
  const isa::CoreProgram& core = l.program.cores[0];
  const auto loads = of<isa::DmaLoad>(core.queue(isa::QueueKind::load), 0);
  REQUIRE(loads.size() == 3 + 4);  // per chunk its rows, then 1, 2, 1 table blocks
  struct Expect {
    std::size_t load;
    std::uint64_t rows, addr, sram;
  };
  for (const Expect& x :
       {Expect{1, 2, 4096 + 2 * 16, 0 + 64}, Expect{3, 1, 4096 + 4 * 16, kSlot + 64},
        Expect{4, 1, 4096 + 2 * 16, kSlot + 80}, Expect{6, 2, 4096 + 3 * 16, 0 + 64}}) {
    const isa::Block& b = loads[x.load].block;
    CHECK(b.rows == x.rows);
    CHECK(b.cols == 4);
    CHECK(b.dram_addr == x.addr);
    CHECK(b.dram_stride_bytes == 16);
    CHECK(b.sram_addr == x.sram);
  }
  // Each chunk's instruction: its 2 tokens x 2 heads = 4 rows of d = 4, the table's 2 rows as
  // src2 (row r of src pairs with table row r / (4 / 2): both heads of a token with its row).
  const auto ops = of<isa::VectorOp>(core.queue(isa::QueueKind::compute), 0);
  REQUIRE(ops.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    const std::uint64_t slot = i % 2 ? kSlot : 0;
    CHECK(ops[i].kind == isa::VectorKind::rope);
    CHECK(ops[i].rows == 4);
    CHECK(ops[i].cols == 4);
    CHECK(ops[i].src.addr == slot);
    CHECK(ops[i].dst.addr == slot);
    CHECK(ops[i].src2.addr == slot + 64);
    CHECK(ops[i].src2_rows == 2);
    CHECK(ops[i].rope_pairs == isa::RopePairs::halves);
  }
  // The table read once: 3 tokens x 16 B of positions 2..4 per sequence are compulsory once.
  CHECK(l.plans[0].compulsory_bytes == 6 * 8 * 4 + 3 * 16 + 6 * 8 * 4);
}

TEST_CASE("lowering values: decode rope reads the current position's table row once") {
  // Decode: 3 sequences of 1 token at position kv_len = 5. Chunks of ceil(3 / 4) = 1 row; each
  // loads table row 5 (4096 + 5 x 16) after its 32 B row, and its instruction rotates 1 x 2
  // heads = 2 rows of d = 4 with that one row broadcast (src2_rows = 1).
  const Lowered l = lower(parse(rope_trace(3, 1, 5)), target());
  const isa::CoreProgram& core = l.program.cores[0];
  const auto loads = of<isa::DmaLoad>(core.queue(isa::QueueKind::load), 0);
  REQUIRE(loads.size() == 6);
  for (std::size_t i = 1; i < 6; i += 2) {
    CHECK(loads[i].block.rows == 1);
    CHECK(loads[i].block.dram_addr == 4096 + 5 * 16);
    CHECK(loads[i].block.sram_addr == loads[i - 1].block.sram_addr + 32);
  }
  for (const isa::VectorOp& v : of<isa::VectorOp>(core.queue(isa::QueueKind::compute), 0)) {
    CHECK(v.rows == 2);
    CHECK(v.cols == 4);
    CHECK(v.src2_rows == 1);
    CHECK(v.src2.addr == v.src.addr + 32);
  }
}

TEST_CASE("lowering values: the lowered rope computes Hugging Face's per-head rotate_half") {
  SECTION("prefill: 2 sequences of 3 tokens after 2 cached") {
    check_rope_values(6, 3, 2);
  }
  SECTION("one sequence of 2 tokens") {
    check_rope_values(2, 2, 0);
  }
  SECTION("decode: 3 sequences at position 5") {
    check_rope_values(3, 1, 5);
  }
}

TEST_CASE("lowering values: a mask chunk that crosses a head is cut at the head") {
  // Scores of 2 heads x 3 queries (rows) x 3 keys, fp32: row r is query r mod 3. Chunks of
  // ceil(6 / 4) = 2 rows: rows 0-1 (queries 0, 1), rows 2-3 (query 2 of head 0, then query 0 of
  // head 1: cut into two instructions, the second 1 row = 12 B further), rows 4-5 (queries
  // 1, 2). Keys start at 0.
  const Lowered l = lower(parse(R"({"ops": [{"op": "mask", "name": "m", "dtype": "fp32",
      "rows": 6, "cols": 3, "inputs": ["input"]}]})"),
                          target());
  const isa::CoreProgram& core = l.program.cores[0];
  const auto ops = of<isa::VectorOp>(core.queue(isa::QueueKind::compute), 0);
  REQUIRE(ops.size() == 4);
  struct Expect {
    std::uint64_t rows, addr, query;
  };
  const Expect want[] = {{2, 0, 0}, {1, kSlot, 2}, {1, kSlot + 12, 0}, {2, 0, 1}};
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(ops[i].rows == want[i].rows);
    CHECK(ops[i].cols == 3);
    CHECK(ops[i].src.addr == want[i].addr);
    CHECK(ops[i].dst.addr == want[i].addr);
    CHECK(ops[i].mask.query_pos0 == want[i].query);
    CHECK(ops[i].mask.key_pos0 == 0);
    CHECK(ops[i].mask.rows_per_query == 1);
  }
  // And the values: key c of row r is masked exactly when c > r mod 3.
  values::Machine m = fp32_machine(l.plans.size());
  values::DramImage& dram = m.dram();
  const std::vector<float> x = ramp(18, 0.9);
  put(dram, 0, x);
  run_values(core, m);
  const auto y = get(dram, lowest<isa::DmaStore>(core, isa::QueueKind::store, 0), 18);
  for (std::uint64_t r = 0; r < 6; ++r) {
    for (std::uint64_t c = 0; c < 3; ++c) {
      if (c > r % 3) {
        CHECK(y[r * 3 + c] == -std::numeric_limits<float>::infinity());
      } else {
        CHECK(y[r * 3 + c] == x[r * 3 + c]);
      }
    }
  }
}

TEST_CASE("lowering values: scale and mask fused in a matmul's epilogue keep their positions") {
  // s = A (6 x 4) x B (4 x 3), fp32: the scores of 2 query heads x 3 tokens sharing one KV head
  // (rows 0-2 head 0, 3-5 head 1), scaled by 0.5 and masked, both fused (auto mapping). Tiles
  // 4 x 4 x 2: row tiles 0-3 and 4-5, column tiles 0-1 and 2. Per tile one scale (scalar 0.5),
  // then the mask: tile rows 0-3 cross into head 1 at row 3, so two instructions (queries 0-2,
  // then query 0 at 3 rows x nt further); rows 4-5 are queries 1, 2. key_pos0 is the tile's
  // first column, 0 or 2. B row major (A at 0, B at 4096).
  const Workload w = parse(R"({"ops": [
    {"op": "matmul", "name": "s", "dtype": "fp32", "m": 6, "k": 4, "n": 3},
    {"op": "scale", "name": "sc", "dtype": "fp32", "rows": 6, "cols": 3, "scalar": 0.5,
     "inputs": ["s"]},
    {"op": "mask", "name": "m", "dtype": "fp32", "rows": 6, "cols": 3, "inputs": ["sc"]}]})");
  MappingOptions o;
  o.tiles = std::array<std::uint64_t, 3>{4, 4, 2};
  o.tiled_weights = false;
  const Lowered l = lower(w, target(), o);
  REQUIRE(l.plans[1].fused_into == 0);
  REQUIRE(l.plans[2].fused_into == 0);
  const isa::CoreProgram& core = l.program.cores[0];
  const auto scales = of<isa::VectorOp>(core.queue(isa::QueueKind::store), 1);
  REQUIRE(scales.size() == 4);
  for (const isa::VectorOp& v : scales) CHECK(v.scalar == 0.5);
  // In tile order (row tile, then column tile): rows, cols, query, key, offset in the tile.
  struct Expect {
    std::uint64_t rows, cols, query, key, offset;
  };
  const Expect want[] = {{3, 2, 0, 0, 0},         {1, 2, 0, 0, 3 * 2 * 4}, {3, 1, 0, 2, 0},
                         {1, 1, 0, 2, 3 * 1 * 4}, {2, 2, 1, 0, 0},         {2, 1, 1, 2, 0}};
  const auto masks = of<isa::VectorOp>(core.queue(isa::QueueKind::store), 2);
  REQUIRE(masks.size() == 6);
  const std::size_t tile_of[] = {0, 0, 1, 1, 2, 3};
  for (std::size_t i = 0; i < 6; ++i) {
    CHECK(masks[i].src.sram == isa::Sram::accumulator);
    CHECK(masks[i].rows == want[i].rows);
    CHECK(masks[i].cols == want[i].cols);
    CHECK(masks[i].mask.query_pos0 == want[i].query);
    CHECK(masks[i].mask.key_pos0 == want[i].key);
    CHECK(masks[i].src.addr == scales[tile_of[i]].src.addr + want[i].offset);
  }
  // The values: out = mask(0.5 A B), key c of row r masked when c > r mod 3.
  values::Machine m = fp32_machine(l.plans.size());
  values::DramImage& dram = m.dram();
  const std::vector<float> a = ramp(24, 0.41), b = ramp(12, 1.3);
  CHECK(lowest<isa::DmaLoad>(core, isa::QueueKind::load, 0) == 0);
  put(dram, 0, a);
  put(dram, 4096, b);
  run_values(core, m);
  const auto y = get(dram, lowest<isa::DmaStore>(core, isa::QueueKind::store, 0), 18);
  for (std::uint64_t r = 0; r < 6; ++r) {
    for (std::uint64_t c = 0; c < 3; ++c) {
      double s = 0;
      for (std::uint64_t k = 0; k < 4; ++k) s += double(a[r * 4 + k]) * double(b[k * 3 + c]);
      if (c > r % 3) {
        CHECK(y[r * 3 + c] == -std::numeric_limits<float>::infinity());
      } else {
        CHECK(y[r * 3 + c] == Approx(0.5 * s).margin(1e-6));
      }
    }
  }
}

TEST_CASE("lowering values: a standalone scale carries the trace's factor") {
  const Lowered l = lower(parse(R"({"ops": [{"op": "scale", "name": "sc", "dtype": "fp32",
      "rows": 4, "cols": 4, "scalar": -0.375, "inputs": ["input"]}]})"),
                          target());
  const auto ops = of<isa::VectorOp>(l.program.cores[0].queue(isa::QueueKind::compute), 0);
  REQUIRE(ops.size() == 4);  // chunks of ceil(4 / 4) = 1 row
  for (const isa::VectorOp& v : ops) CHECK(v.scalar == -0.375);
}

TEST_CASE("lowering values: the frontend's scale, rope and mask fields") {
  // GPT-2 (d = 64): scale 1/8; Llama-3-8B (d = 128, 32 heads, 8 KV heads): 1/sqrt(128), rope of
  // each head at the positions after the cache.
  const auto vec = [](const Workload& w, const std::string& name) {
    return std::get<VectorOp>(w.ops[std::size_t(w.index_of(name))].body());
  };
  TraceOptions o;
  o.seq = 16;
  o.layers = 1;
  const Workload g = build_trace(load_model("gpt2"), o);
  CHECK(vec(g, "layer0.scale").scalar == 0.125);
  const Workload g2 = parse_workload(to_json(g), "g");  // written and read back
  CHECK(vec(g2, "layer0.scale").scalar == 0.125);
  const ModelConfig llama = load_model("llama-3-8b");
  const Workload p = build_trace(llama, o);
  CHECK(vec(p, "layer0.scale").scalar == 1.0 / std::sqrt(128.0));
  for (const char* name : {"layer0.q_rope", "layer0.k_rope"}) {
    const VectorOp r = vec(p, name);
    CHECK(r.rows == 16);
    CHECK(r.head_dim == 128);
    CHECK(r.tokens == 16);
    CHECK(r.kv_len == 0);
  }
  CHECK(vec(p, "layer0.k_rope").cols == 8 * 128);
  o.phase = Phase::decode;
  o.seq = std::nullopt;
  o.kv_len = 100;
  o.batch = 2;
  const Workload dec = build_trace(llama, o);
  const VectorOp r = vec(dec, "layer0.q_rope");
  CHECK(r.rows == 2);  // one token per sequence, at position 100
  CHECK(r.tokens == 1);
  CHECK(r.kv_len == 100);
  CHECK(dec.index_of("layer0.mask") == -1);  // one query sees every cached key: no mask
  const Workload dec2 = parse_workload(to_json(dec), "d");
  CHECK(vec(dec2, "layer0.q_rope").kv_len == 100);
  CHECK(vec(dec2, "layer0.q_rope").head_dim == 128);
}
