// The lowering of a layer trace to ISA programs (workloads/lowering.h): where attention operands
// are read from, how vector ops are cut into pieces, the dependencies between ops, the
// compulsory bytes, and the multi-core split options.
#include <catch2/catch.hpp>

#include <algorithm>
#include <optional>
#include <set>
#include <variant>

#include "tests/support/instructions.h"
#include "tests/support/small_target.h"
#include "workloads/dram_buffers.h"
#include "workloads/lowering.h"
#include "workloads/model_config.h"
#include "workloads/transformer.h"
#include "workloads/workload.h"

namespace {

using llmsim::config::Json;
using namespace llmsim;
using namespace llmsim::workloads;

Workload parse(const std::string& text) {
  return parse_workload(Json::parse(text), "t");
}

// tests/support/small_target.h: a 16x16 array per core, GEMM cost m + k + n.
Target target(std::uint32_t cores = 1) {
  return testing::small_target(cores);
}

using testing::of;  // tests/support/instructions.h

}  // namespace

TEST_CASE("lowering: attention reads each head's columns of the token-major Q and K") {
  // q and k: 4 tokens x 8 features = 2 heads of d = 4, int8, token-major. The scores matmul
  // (batch 2 = 1 sequence x 2 KV heads, m = 4 tokens, k = d = 4, n = 4 keys, transpose_b)
  // reads, for head h, the 4 x 4 block at column 4h of q (row stride 8 B) and the same block
  // of k (K^T: stored rows are keys).
  const Workload w = parse(R"({"ops": [
    {"op": "matmul", "name": "q", "m": 4, "k": 8, "n": 8},
    {"op": "matmul", "name": "k", "m": 4, "k": 8, "n": 8},
    {"op": "matmul", "name": "qk", "batch": 2, "m": 4, "k": 4, "n": 4, "a": "q", "b": "k",
     "transpose_b": true}]})");
  const Lowered l = lower(w, target());
  const auto& load = l.program.cores[0].queue(isa::QueueKind::load);
  // DRAM: q's A (4 KiB page) at 0, B at 4096, C at 8192; k's A 12288, B 16384, C 20480.
  const std::uint64_t q = 8192, k = 20480;
  const auto blocks = of<isa::DmaLoad>(load, 2);
  REQUIRE(blocks.size() == 4);  // per head: A then B
  for (std::uint64_t h = 0; h < 2; ++h) {
    const isa::Block& a = blocks[2 * h].block;
    const isa::Block& b = blocks[2 * h + 1].block;
    CHECK(a.rows == 4);
    CHECK(a.cols == 4);
    CHECK(a.dram_addr == q + 4 * h);
    CHECK(a.dram_stride_bytes == 8);
    CHECK(b.rows == 4);  // keys
    CHECK(b.cols == 4);  // d
    CHECK(b.dram_addr == k + 4 * h);
    CHECK(b.dram_stride_bytes == 8);
  }
  // The weights of q and k and their inputs are compulsory; the scores matmul's are not
  // (its operands are op outputs), except its own output, the last op's.
  CHECK(l.plans[0].compulsory_bytes == 4 * 8 + 8 * 8);
  CHECK(l.plans[2].compulsory_bytes == 2 * 4 * 4);
}

TEST_CASE("lowering: grouped-query attention reads a KV head once for its query heads") {
  // Multi-query attention: 2 query heads (d = 4) share 1 KV head; 3 tokens. batch = 1 x 1,
  // m = g x s = 6: A's rows are head 0's 3 tokens (columns 0..3 of q, row stride 8 B), then
  // head 1's (columns 4..7); B is k (3 keys x 4) read once for both.
  const Workload w = parse(R"({"ops": [
    {"op": "matmul", "name": "q", "m": 3, "k": 8, "n": 8},
    {"op": "matmul", "name": "k", "m": 3, "k": 8, "n": 4},
    {"op": "matmul", "name": "qk", "batch": 1, "m": 6, "k": 4, "n": 3, "a": "q", "b": "k",
     "transpose_b": true}]})");
  const Lowered l = lower(w, target());
  const auto blocks = of<isa::DmaLoad>(l.program.cores[0].queue(isa::QueueKind::load), 2);
  // q's C at 8192 (A 0, B 4096); k's C at 20480.
  REQUIRE(blocks.size() == 3);
  CHECK(blocks[0].block.dram_addr == 8192);
  CHECK(blocks[1].block.dram_addr == 8192 + 4);
  for (int i = 0; i < 2; ++i) {
    CHECK(blocks[i].block.rows == 3);
    CHECK(blocks[i].block.cols == 4);
    CHECK(blocks[i].block.dram_stride_bytes == 8);
  }
  CHECK(blocks[2].block.dram_addr == 20480);
  CHECK(blocks[2].block.rows == 3);
  CHECK(blocks[2].block.dram_stride_bytes == 4);
}

TEST_CASE("lowering: a vector op runs in pieces through the three queues") {
  // softmax of 8 rows x 4 int8 on one core: a quarter of the rows per piece (2), 4 pieces, each
  // load -> vec.softmax in place -> store.
  const Workload w = parse(R"({"ops": [
    {"op": "softmax", "name": "sm", "rows": 8, "cols": 4, "inputs": ["input"]}]})");
  const Lowered l = lower(w, target());
  CHECK(l.plans[0].chunk_rows == 2);
  CHECK(l.plans[0].pieces == 4);
  const auto& core = l.program.cores[0];
  const auto vec = of<isa::VectorOp>(core.queue(isa::QueueKind::compute), 0);
  REQUIRE(vec.size() == 4);
  for (const auto& v : vec) {
    CHECK(v.kind == isa::VectorKind::softmax);
    CHECK(v.rows == 2);
    CHECK(v.cols == 4);
    CHECK(v.src.addr == v.dst.addr);
    CHECK(v.src.elem_bytes == 1);
  }
  CHECK(of<isa::DmaLoad>(core.queue(isa::QueueKind::load), 0).size() == 4);
  CHECK(of<isa::DmaStore>(core.queue(isa::QueueKind::store), 0).size() == 4);
  CHECK(l.plans[0].compulsory_bytes == 2 * 8 * 4);  // the input read, the output written
}

TEST_CASE("lowering: layernorm reads gamma and beta, add a broadcast weight row") {
  const Workload w = parse(R"({"ops": [
    {"op": "layernorm", "name": "ln", "rows": 4, "cols": 8, "inputs": ["input"]},
    {"op": "add", "name": "b", "rows": 4, "cols": 8, "inputs": ["ln", "weight"]}]})");
  const Lowered l = lower(w, target());
  const auto& ex = l.program.cores[0].queue(isa::QueueKind::compute);
  for (const auto& v : of<isa::VectorOp>(ex, 0)) CHECK(v.src2_rows == 2);
  for (const auto& v : of<isa::VectorOp>(ex, 1)) CHECK(v.src2_rows == 1);
}

TEST_CASE("lowering: a consumer waits for its producer's stores on every core") {
  const Workload w = parse(R"({"ops": [
    {"op": "matmul", "name": "a", "m": 64, "k": 16, "n": 16},
    {"op": "relu", "name": "r", "rows": 64, "cols": 16, "inputs": ["a"]},
    {"op": "matmul", "name": "b", "m": 64, "k": 16, "n": 16}]})");
  MappingOptions fixed;  // (auto would run relu in a's epilogue)
  fixed.automatic = false;
  const Lowered l = lower(w, target(2), fixed);
  CHECK(l.plans[1].fused_into == -1);
  for (const auto& core : l.program.cores) {
    const auto& ld = core.queue(isa::QueueKind::load);
    // Semaphores 0-4 are the double buffers' and the A regions', 5 operand slot 1's "free"
    // (fixed: two slots; slot 0's is 0); relu waits for a on 6.
    CHECK(of<isa::SemWait>(ld, 1).front().sem == 6);
    CHECK(of<isa::Barrier>(ld, 1).size() == 1);
    CHECK(of<isa::Barrier>(ld, 2).empty());  // b reads no op output: it may overlap
    // a's stores release relu (semaphore 6, signalled after a's last store on this core).
    std::set<std::uint32_t> signalled;
    for (const auto& i : core.queue(isa::QueueKind::store)) {
      if (const auto* s = std::get_if<isa::SemSignal>(&i.body); s && i.op == -1) {
        signalled.insert(s->sem);
      }
    }
    CHECK(signalled == std::set<std::uint32_t>{6});
  }
}

TEST_CASE("lowering: auto runs a matmul's element-wise successors in its epilogue") {
  // a (64 x 16 x 16) -> scale -> relu -> b reads relu. With auto, scale and relu run on each of
  // a's output tiles in the accumulator, from the store queue between the tile's acc_full wait
  // and its stores; a's stores write relu's output, which b loads; b waits for a's stores.
  const Workload w = parse(R"({"ops": [
    {"op": "matmul", "name": "a", "m": 64, "k": 16, "n": 16},
    {"op": "scale", "name": "s", "rows": 64, "cols": 16, "inputs": ["a"]},
    {"op": "relu", "name": "r", "rows": 64, "cols": 16, "inputs": ["s"]},
    {"op": "matmul", "name": "b", "m": 64, "k": 16, "n": 16, "a": "r"}]})");
  const Lowered l = lower(w, target(2));
  CHECK(l.plans[1].fused_into == 0);
  CHECK(l.plans[2].fused_into == 0);
  CHECK(l.plans[3].fused_into == -1);
  std::set<std::uint64_t> stored, loaded;
  std::uint64_t tiles = 0;
  for (const auto& core : l.program.cores) {
    // Nothing of s or r is loaded, computed by the compute queue, or waited for.
    for (int op : {1, 2}) {
      CHECK(of<isa::DmaLoad>(core.queue(isa::QueueKind::load), op).empty());
      CHECK(of<isa::SemWait>(core.queue(isa::QueueKind::load), op).empty());
      CHECK(of<isa::VectorOp>(core.queue(isa::QueueKind::compute), op).empty());
    }
    // The store queue: per tile of a, wait acc_full, scale, relu (in place on the accumulator
    // slot), then the stores.
    const auto& st = core.queue(isa::QueueKind::store);
    for (std::size_t i = 0; i < st.size(); ++i) {
      const auto* v = std::get_if<isa::VectorOp>(&st[i].body);
      if (v == nullptr || st[i].op != 1) continue;
      ++tiles;
      REQUIRE(i + 2 < st.size());
      CHECK(std::get<isa::SemWait>(st[i - 1].body).sem == 3);  // acc_full
      CHECK(v->kind == isa::VectorKind::scale);
      CHECK(v->src.sram == isa::Sram::accumulator);
      CHECK(v->src.elem_bytes == 4);  // int32 accumulators
      CHECK(v->dst.addr == v->src.addr);
      const auto& relu = std::get<isa::VectorOp>(st[i + 1].body);
      CHECK(st[i + 1].op == 2);
      CHECK(relu.kind == isa::VectorKind::relu);
      CHECK(relu.src.addr == v->src.addr);
      CHECK(std::holds_alternative<isa::DmaStore>(st[i + 2].body));
    }
    for (const auto& s : of<isa::DmaStore>(core.queue(isa::QueueKind::store), 0)) {
      stored.insert(s.block.dram_addr);
    }
    // b's A blocks come from where a's tiles went: its first rows start at the region a wrote.
    for (const auto& d : of<isa::DmaLoad>(core.queue(isa::QueueKind::load), 3)) {
      loaded.insert(d.block.dram_addr);
    }
  }
  CHECK(tiles == l.plans[1].pieces);
  CHECK(l.plans[2].pieces == l.plans[1].pieces);
  CHECK(l.plans[1].pieces == l.plans[0].pieces);  // one k tile: one epilogue per GEMM
  CHECK(std::includes(loaded.begin(), loaded.end(), stored.begin(), stored.end()));

  // The fixed mapping keeps them separate ops, each loading its input.
  MappingOptions fixed;
  fixed.automatic = false;
  const Lowered f = lower(w, target(2), fixed);
  CHECK(f.plans[1].fused_into == -1);
  CHECK_FALSE(of<isa::DmaLoad>(f.program.cores[0].queue(isa::QueueKind::load), 1).empty());
}

TEST_CASE("lowering: a residual add runs in the epilogue with its tile in the last k slot") {
  // x = matmul; a = matmul reading x (k = 32: two k tiles of 16); s = add(a, x). x is a's last
  // producer, so it is stored before a loads: s joins a's epilogue. Per output tile of a: the
  // load queue brings x's tile with the last k piece (tagged s), the compute queue leaves that
  // piece's slot taken, and the store queue adds the tile to the accumulator, frees the slot,
  // then stores.
  const Workload w = parse(R"({"ops": [
    {"op": "matmul", "name": "x", "m": 32, "k": 16, "n": 16},
    {"op": "matmul", "name": "a", "m": 32, "k": 16, "n": 16, "a": "x"},
    {"op": "add", "name": "s", "rows": 32, "cols": 16, "inputs": ["a", "x"]}]})");
  const Lowered l = lower(w, target(1));
  CHECK(l.plans[2].fused_into == 1);
  const auto& core = l.program.cores[0];
  const auto& ld = core.queue(isa::QueueKind::load);
  const auto& st = core.queue(isa::QueueKind::store);
  const auto residual = of<isa::DmaLoad>(ld, 2);
  REQUIRE(residual.size() == l.plans[1].pieces);  // one k tile: one residual tile per tile
  std::set<std::uint64_t> x_stored;
  for (const auto& s : of<isa::DmaStore>(st, 0)) x_stored.insert(s.block.dram_addr);
  for (const auto& r : residual) CHECK(x_stored.count(r.block.dram_addr) == 1);
  // Load queue: ... B of a, the residual tile, ab_full.
  for (std::size_t i = 0; i + 1 < ld.size(); ++i) {
    if (ld[i].op != 2) continue;
    CHECK(std::get<isa::SemSignal>(ld[i + 1].body).sem == 1);  // ab_full
  }
  // Compute queue: a's GEMMs are followed by acc_full only, not ab_free (sems 0 and 3).
  const auto& cq = core.queue(isa::QueueKind::compute);
  for (std::size_t i = 0; i + 1 < cq.size(); ++i) {
    if (cq[i].op != 1 || !std::holds_alternative<isa::Gemm>(cq[i].body)) continue;
    CHECK(std::get<isa::SemSignal>(cq[i + 1].body).sem == 3);
  }
  // Store queue: acc_full, add (src2 in the scratchpad, one row of x per row), ab_free, stores.
  std::size_t adds = 0;
  for (std::size_t i = 0; i + 2 < st.size(); ++i) {
    const auto* v = std::get_if<isa::VectorOp>(&st[i].body);
    if (v == nullptr) continue;
    ++adds;
    CHECK(st[i].op == 2);
    CHECK(v->kind == isa::VectorKind::add);
    CHECK(v->src.sram == isa::Sram::accumulator);
    CHECK(v->src2.sram == isa::Sram::scratchpad);
    CHECK(v->src2_rows == v->rows);
    CHECK(std::get<isa::SemWait>(st[i - 1].body).sem == 3);    // acc_full
    // ab_free of the residual's slot: slot 0's (0) or another's (from 5, initial count 1)
    const std::uint32_t f = std::get<isa::SemSignal>(st[i + 1].body).sem;
    CHECK((f == 0 || (f >= 5 && core.semaphore_init[f] == 1)));
    CHECK(std::holds_alternative<isa::DmaStore>(st[i + 2].body));
  }
  CHECK(adds == residual.size());

  // The same add with x computed after a (x is not a's producer, so nothing makes it wait for
  // x's stores): a separate op.
  const Workload later = parse(R"({"ops": [
    {"op": "matmul", "name": "a", "m": 32, "k": 16, "n": 16},
    {"op": "matmul", "name": "x", "m": 32, "k": 16, "n": 16},
    {"op": "add", "name": "s", "rows": 32, "cols": 16, "inputs": ["a", "x"]}]})");
  CHECK(lower(later, target(1)).plans[2].fused_into == -1);
}

TEST_CASE("lowering: what stays out of a matmul's epilogue") {
  auto fused = [](const std::string& text) {
    const Lowered l = lower(parse(text), target(1));
    std::vector<int> out;
    for (const auto& p : l.plans) out.push_back(p.fused_into);
    return out;
  };
  // An output read twice (gelu and the add) is stored as it is.
  CHECK(fused(R"({"ops": [
    {"op": "matmul", "name": "a", "m": 32, "k": 16, "n": 16},
    {"op": "gelu", "name": "g", "rows": 32, "cols": 16, "inputs": ["a"]},
    {"op": "add", "name": "s", "rows": 32, "cols": 16, "inputs": ["a", "g"]}]})") ==
        std::vector<int>{-1, -1, -1});
  // An add of a weight (a bias row) and ops with parameters (layernorm) stay separate.
  CHECK(fused(R"({"ops": [
    {"op": "matmul", "name": "a", "m": 32, "k": 16, "n": 16},
    {"op": "add", "name": "b", "rows": 32, "cols": 16, "inputs": ["a", "weight"]}]})") ==
        std::vector<int>{-1, -1});
  CHECK(fused(R"({"ops": [
    {"op": "matmul", "name": "a", "m": 32, "k": 16, "n": 16},
    {"op": "layernorm", "name": "n", "rows": 32, "cols": 16, "inputs": ["a"]}]})") ==
        std::vector<int>{-1, -1});
  // Softmax needs whole rows in a tile: n = 16 is one tile wide; n = 2048 is not (an
  // accumulator slot of this target, 32 KiB, holds at most 16 x 512 int32); the scale before
  // it is fused either way.
  CHECK(fused(R"({"ops": [
    {"op": "matmul", "name": "a", "m": 16, "k": 16, "n": 16},
    {"op": "scale", "name": "s", "rows": 16, "cols": 16, "inputs": ["a"]},
    {"op": "softmax", "name": "p", "rows": 16, "cols": 16, "inputs": ["s"]}]})") ==
        std::vector<int>{-1, 0, 0});
  CHECK(fused(R"({"ops": [
    {"op": "matmul", "name": "a", "m": 16, "k": 16, "n": 2048},
    {"op": "scale", "name": "s", "rows": 16, "cols": 2048, "inputs": ["a"]},
    {"op": "softmax", "name": "p", "rows": 16, "cols": 2048, "inputs": ["s"]}]})") ==
        std::vector<int>{-1, 0, -1});
  // A vector op of another shape (a view) is not the matmul's output tile.
  CHECK(fused(R"({"ops": [
    {"op": "matmul", "name": "a", "m": 32, "k": 16, "n": 16},
    {"op": "relu", "name": "r", "rows": 16, "cols": 32, "inputs": ["a"]}]})") ==
        std::vector<int>{-1, -1});
}

TEST_CASE("lowering: the split options deal output tiles to the cores") {
  // 2 items x (64/16 = 4 row tiles) x (32/16 = 2 col tiles) with fixed tiles 16 x 16 x 16... the
  // fixed mapping takes kt = nt = 16 and mt as large as fits (64): 1 row tile, 2 col tiles.
  const Workload w = parse(R"({"ops": [
    {"op": "matmul", "name": "bmm", "batch": 4, "m": 64, "k": 16, "n": 32}]})");
  auto gemms_per_core = [&](Split s) {
    MappingOptions o;
    o.automatic = false;
    o.split = s;
    const Lowered l = lower(w, target(4), o);
    std::vector<std::size_t> n;
    for (const auto& c : l.program.cores) {
      n.push_back(of<isa::Gemm>(c.queue(isa::QueueKind::compute), 0).size());
    }
    return n;
  };
  // 4 items x 1 row tile x 2 col tiles = 8 output tiles, 1 k tile each.
  CHECK(gemms_per_core(Split::tiles) == std::vector<std::size_t>{2, 2, 2, 2});
  CHECK(gemms_per_core(Split::batch) == std::vector<std::size_t>{2, 2, 2, 2});
  CHECK(gemms_per_core(Split::rows) == std::vector<std::size_t>{2, 2, 2, 2});
  // cols: tile column index bi * 2 + ni round robin over 4 cores: same balance here.
  CHECK(gemms_per_core(Split::cols) == std::vector<std::size_t>{2, 2, 2, 2});
  // One item: rows puts its single row tile (both columns) on core 0.
  const Workload one = parse(R"({"ops": [
    {"op": "matmul", "name": "mm", "m": 64, "k": 16, "n": 32}]})");
  MappingOptions rows;
  rows.automatic = false;
  rows.split = Split::rows;
  const Lowered l = lower(one, target(4), rows);
  CHECK(of<isa::Gemm>(l.program.cores[0].queue(isa::QueueKind::compute), 0).size() == 2);
  CHECK(of<isa::Gemm>(l.program.cores[1].queue(isa::QueueKind::compute), 0).empty());
  // auto balances: it would not choose rows here.
  CHECK(lower(one, target(4)).plans[0].tiling.split != Split::rows);
}

TEST_CASE("lowering: tiled weights make each B tile one contiguous block") {
  // 16 x 32 x 48 int8 on one core, fixed tiles kt = nt = 16: B (32 x 48, a weight) in 2 x 3
  // tiles of 16 x 16. Row major, tile (ki, ni) is 16 rows of 16 B at the matrix's pitch, 48 B,
  // starting k0 x 48 + n0 bytes in; tiled, row block ki (16 x 48 B) is contiguous and its tile
  // ni starts 16 x n0 bytes into it, a dense 16 x 16 block (pitch 16 B). A (16 x 32, pitch
  // 32 B) is an input and stays row major.
  const Workload w =
      parse(R"({"ops": [{"op": "matmul", "name": "fc", "m": 16, "k": 32, "n": 48}]})");
  auto b_loads = [&](std::optional<bool> tiled) {
    MappingOptions o;
    o.automatic = false;
    o.tiled_weights = tiled;
    const Lowered l = lower(w, target(1), o);
    std::vector<isa::Block> b;
    for (const auto& d : of<isa::DmaLoad>(l.program.cores[0].queue(isa::QueueKind::load), 0)) {
      if (d.block.dram_stride_bytes != 32) b.push_back(d.block);  // not A
    }
    return b;
  };
  auto offsets = [](const std::vector<isa::Block>& b) {
    std::vector<std::uint64_t> o;
    for (const isa::Block& x : b) o.push_back(x.dram_addr - b.front().dram_addr);
    return o;
  };
  const auto rows = b_loads(std::nullopt);  // fixed: row major by default
  REQUIRE(rows.size() == 6);
  for (const auto& x : rows) CHECK((x.rows == 16 && x.cols == 16 && x.dram_stride_bytes == 48));
  // In load order: the two k pieces of output tile 0, then of tile 1, then of tile 2.
  CHECK(offsets(rows) == std::vector<std::uint64_t>{0, 768, 16, 784, 32, 800});
  const auto tiled = b_loads(true);
  REQUIRE(tiled.size() == 6);
  for (const auto& x : tiled) CHECK((x.rows == 16 && x.cols == 16 && x.dram_stride_bytes == 16));
  CHECK(tiled.front().dram_addr == rows.front().dram_addr);  // the same buffer
  CHECK(offsets(tiled) == std::vector<std::uint64_t>{0, 768, 256, 1024, 512, 1280});
  // Defaults: auto tiles, fixed does not.
  CHECK(MappingOptions{}.tiles_weights());
  MappingOptions fixed;
  fixed.automatic = false;
  CHECK_FALSE(fixed.tiles_weights());
}

TEST_CASE("lowering: A-resident tiles read each row block of A once per core") {
  // 32 x 64 x 1024 int8 on one core. The accumulator slot (32 KiB of int32) holds at most
  // 8192 outputs, so at most 256 columns per output tile: several output tiles share the one
  // row block of A (32 x 64 = 2 KiB), which the auto mapping keeps in an A region (the
  // scratchpad's last quarter: slots of 96 KiB at 0 and 96 KiB, regions of 32 KiB at 192 KiB
  // and 224 KiB).
  const Workload w = parse(R"({"ops": [{"op": "matmul", "name": "fc", "m": 32, "k": 64,
                                        "n": 1024}]})");
  const Lowered l = lower(w, target());
  const Tiling& tl = l.plans[0].tiling;
  REQUIRE(tl.a_resident);
  REQUIRE(tl.mt == 32);
  REQUIRE(1024 / tl.nt > 1);
  const auto& core = l.program.cores[0];
  const std::uint64_t region = 192 * 1024;
  std::uint64_t a_bytes = 0, b_bytes = 0;
  for (const auto& ld : of<isa::DmaLoad>(core.queue(isa::QueueKind::load), 0)) {
    const std::uint64_t bytes = ld.block.rows * ld.block.cols;
    (ld.block.sram_addr >= region ? a_bytes : b_bytes) += bytes;
  }
  CHECK(a_bytes == 32 * 64);    // A once
  CHECK(b_bytes == 64 * 1024);  // B once
  for (const auto& g : of<isa::Gemm>(core.queue(isa::QueueKind::compute), 0)) {
    CHECK(g.a_addr >= region);  // every GEMM reads A from the region
    CHECK(g.b_addr < region);
  }
  // One row block: one wait for a free region (semaphore 4) before its first load, and its
  // release after the last GEMM.
  const auto waits = of<isa::SemWait>(core.queue(isa::QueueKind::load), 0);
  CHECK(std::count_if(waits.begin(), waits.end(), [](const auto& s) { return s.sem == 4; }) == 1);
  const auto signals = of<isa::SemSignal>(core.queue(isa::QueueKind::compute), 0);
  CHECK(std::count_if(signals.begin(), signals.end(), [](const auto& s) { return s.sem == 4; }) ==
        1);
  // The fixed mapping keeps the old layout (two halves) and reads A once per output tile.
  MappingOptions fixed;
  fixed.automatic = false;
  const Lowered f = lower(w, target(), fixed);
  CHECK_FALSE(f.plans[0].tiling.a_resident);
}

namespace {

// Lowers `w` and checks its DRAM buffers: every byte addressed lies in the footprint, and an op
// writes bytes that an earlier op reads only if that reader is done before the writer's loads
// may start -- at or before the writer's last producer, which every core has finished by then.
// Returns how many (write, earlier read) pairs overlap: buffers reused.
std::size_t check_buffers(const Workload& w, const Target& t) {
  const Lowered l = lower(w, t);
  // The DRAM bytes an instruction's block covers: [begin, end).
  struct Range {
    std::uint64_t begin, end;
    int op;
  };
  auto range = [](const isa::Block& b, std::uint64_t elem, int op) {
    return Range{b.dram_addr, b.dram_addr + (b.rows - 1) * b.dram_stride_bytes + b.cols * elem, op};
  };
  std::vector<Range> reads, writes;
  for (const auto& core : l.program.cores) {
    for (const auto& i : core.queue(isa::QueueKind::load)) {
      if (const auto* d = std::get_if<isa::DmaLoad>(&i.body)) {
        reads.push_back(range(d->block, d->elem_bytes, i.op));
      }
    }
    for (const auto& i : core.queue(isa::QueueKind::store)) {
      if (const auto* d = std::get_if<isa::DmaStore>(&i.body)) {
        writes.push_back(range(d->block, d->dram_elem_bytes, i.op));
      }
    }
  }
  std::vector<int> last_producer(w.ops.size(), -1);
  for (std::size_t j = 0; j < w.ops.size(); ++j) {
    for (const Operand& x : w.ops[j].operands()) {
      if (x.is_op()) last_producer[j] = std::max(last_producer[j], x.op);
    }
  }
  // Every byte addressed lies in the footprint.
  std::uint64_t end = 0;
  for (const auto& r : reads) end = std::max(end, r.end);
  for (const auto& r : writes) end = std::max(end, r.end);
  CHECK(end <= l.dram_footprint_bytes);
  std::size_t reused = 0;
  for (const auto& wr : writes) {
    for (const auto& rd : reads) {
      if (rd.op >= wr.op || rd.end <= wr.begin || wr.end <= rd.begin) continue;
      INFO(w.ops[std::size_t(wr.op)].name()
           << " writes what " << w.ops[std::size_t(rd.op)].name() << " reads");
      REQUIRE(rd.op <= last_producer[std::size_t(wr.op)]);
      ++reused;
    }
  }
  return reused;
}

}  // namespace

TEST_CASE("lowering: output buffers are reused once their last reader is done") {
  Target t = target(2);
  t.scratchpad_bytes = 8 << 20;
  t.accumulator_bytes = 2 << 20;
  // GPT-2, 2 layers of 64 tokens: the chain of ops reuses buffers.
  TraceOptions o;
  o.seq = 64;
  o.layers = 2;
  CHECK(check_buffers(build_trace(load_model("gpt2"), o), t) > 0);
  // c reads no op output, so it may run while r still reads a: a's buffer is not reused for
  // it, although r is lowered before c.
  const Workload w = parse(R"({"ops": [
    {"op": "matmul", "name": "a", "m": 64, "k": 16, "n": 16},
    {"op": "relu", "name": "r", "rows": 64, "cols": 16, "inputs": ["a"]},
    {"op": "matmul", "name": "c", "m": 64, "k": 16, "n": 16}]})");
  CHECK(check_buffers(w, t) == 0);
}

TEST_CASE("DRAM buffers: pages, release after the last reader, first fit with neighbours merged") {
  DramBuffers d;
  CHECK(d.fixed(100) == 0);              // one page
  CHECK(d.reusable(5000, -1) == 4096);   // two pages: [4096, 12288)
  CHECK(d.reusable(4096, -1) == 12288);  // [12288, 16384)
  d.release(4096, 5000, 3);              // both read last by op 3
  d.release(12288, 4096, 3);
  CHECK(d.reusable(12288, 2) == 16384);  // op 3 may still run: new DRAM
  CHECK(d.reusable(12288, 3) == 4096);   // the two released buffers, merged
  CHECK(d.footprint() == 16384 + 12288);
}

TEST_CASE("DRAM buffers of at least the memory's period start at a multiple of it") {
  using llmsim::workloads::DramBuffers;
  DramBuffers d(3 * 4096);                 // a period of 3 pages
  CHECK(d.fixed(100) == 0);                // small: packed, one page
  CHECK(d.fixed(3 * 4096) == 3 * 4096);    // large: at the next multiple, [12288, 24576)
  CHECK(d.fixed(4096) == 24576);           // small again: right after it
  CHECK(d.reusable(4 * 4096, -1) == 36864);  // large, new DRAM: from 28672 up to 3 periods
  CHECK(d.footprint() == 36864 + 16384);
  // A released block is cut around the first aligned start in it: [4096, 53248) was handed out
  // above; read last by op 1, it comes back whole.
  d.release(4096, 53248 - 4096, 1);
  CHECK(d.reusable(3 * 4096, 1) == 12288);  // leaves [4096, 12288) and [24576, 53248)
  CHECK(d.reusable(8192, 1) == 4096);       // a small one fills the piece before it
  CHECK(d.reusable(3 * 4096, 1) == 24576);
  CHECK(d.reusable(3 * 4096, 1) == 36864);  // leaves [49152, 53248): one page
  CHECK(d.reusable(3 * 4096, 1) == 61440);  // new DRAM, from 53248 up to the next multiple
  CHECK(d.reusable(4096, 1) == 49152);      // the page left
  // No period: plain first fit.
  DramBuffers plain;
  CHECK(plain.fixed(100) == 0);
  CHECK(plain.fixed(3 * 4096) == 4096);
}
