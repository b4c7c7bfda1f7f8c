// The mapping search's cost model (workloads/tiling.h) on hand-derived cases, and the lowering's
// memo of searches.
#include <catch2/catch.hpp>

#include <string>

#include "tests/support/small_target.h"
#include "workloads/lowering.h"
#include "workloads/tiling.h"
#include "workloads/workload.h"

namespace {

using llmsim::config::Json;
using namespace llmsim;
using namespace llmsim::workloads;

// One core; its array's GEMM m x k x n takes m cycles per 32 x 32 fold of k x n (period) and
// 64 more on an idle array (latency); 16 bytes per cycle of DMA and DRAM, no DRAM latency.
Target folding_target() {
  Target t = testing::small_target();
  t.array_rows = t.array_cols = 32;
  t.scratchpad_bytes = 2 << 20;
  t.accumulator_bytes = 256 << 10;
  t.dma_bytes_per_cycle = 16;
  t.dram_bytes_per_cycle = 16;
  t.dma_max_outstanding_blocks = 1 << 20;
  t.gemm_cost = [](isa::Dataflow, std::uint64_t m, std::uint64_t k, std::uint64_t n) {
    const std::uint64_t period = m * ((k + 31) / 32) * ((n + 31) / 32);
    return Target::GemmCost{period + 64, period};
  };
  return t;
}

MappingCost cost_of(const Target& t, std::uint64_t mt, std::uint64_t kt, std::uint64_t nt,
                    bool resident) {
  MatmulOp op;
  op.name = "gemm";
  op.m = 1024, op.k = 1024, op.n = 1024;  // int8
  const MappingContext ctx{ScratchpadLayout{64 << 10, 8, 256 << 10}, false, std::nullopt, 0, {}};
  Tiling c;
  c.mt = mt, c.kt = kt, c.nt = nt, c.a_resident = resident;
  return mapping_cost(t, op, c, ctx);
}

}  // namespace

TEST_CASE("mapping cost: an A-resident tile that loads its row block waits for it") {
  const Target t = folding_target();
  // 128x32x32, A resident, 1024^3 int8: 8 row blocks x 32 output tiles, 32 k pieces each.
  // A tile: 32 GEMMs of period 128 = 4096 cycles (its store, 128*32/16 = 256 cycles, hides
  // behind the other accumulator slot's 4096). The first tile of each row block also loads the
  // row block, 128 x 1024 = 131072 bytes, and its B, 1024 x 32 = 32768: 163840 / 16 = 10240
  // cycles, so it waits 10240 - 4096 = 6144 more. Compute: 256 * 4096 + 8 * 6144 = 1,097,728;
  // memory: A 1 MiB + B 256 * 32 KiB + C 1 MiB = 10 MiB / 16 = 655,360. Plus the first load
  // (128*32 + 32*32) / 16 = 320, the last GEMM's drain 64 and the last store 256: 1,098,368.
  const MappingCost narrow = cost_of(t, 128, 32, 32, true);
  REQUIRE(narrow.fits);
  CHECK(narrow.compute == 1097728);
  CHECK(narrow.memory == 655360);
  CHECK(narrow.cycles == 1098368);
  CHECK(narrow.dram_bytes == 10 << 20);
  // 128x32x128: a tile's 32 GEMMs take 32 * 512 = 16384 cycles, as long as its row block and
  // B take to arrive ((131072 + 131072) / 16): no wait. Compute 64 * 16384 = 1,048,576; plus
  // the first load (4096 + 4096) / 16 = 512, the drain 64, the last store 16384 / 16 = 1024.
  const MappingCost wide = cost_of(t, 128, 32, 128, true);
  CHECK(wide.compute == 1048576);
  CHECK(wide.cycles == 1050176);
  // Without A resident each tile loads its A pieces with its B pieces, spread over its GEMMs:
  // the 128x32x32 tiles are then bound by memory, A 256 * 128 KiB + B 8 MiB + C 1 MiB = 41 MiB
  // / 16 = 2,686,976 cycles, plus 320 + 64 + 256.
  const MappingCost streamed = cost_of(t, 128, 32, 32, false);
  CHECK(streamed.compute == 1048576);
  CHECK(streamed.memory == 2686976);
  CHECK(streamed.cycles == 2687616);
}

TEST_CASE("lowering: a matmul's search is shared only by matmuls of its shape and epilogue") {
  // Two 256x64x256 matmuls, `fused` followed by an element-wise op that runs in its epilogue,
  // `plain` by nothing. On a vector unit of 1 cycle per element the epilogue takes as long as
  // a tile's GEMMs and shapes the tiles: `plain` must get the tiles it gets alone, not the
  // ones searched for `fused` (the memo of searches is keyed by shape and epilogue).
  Target t = testing::small_target();
  t.vector_cycles = [](const isa::VectorOp& v) { return v.rows * v.cols; };
  const auto tiling = [&](const std::string& ops, std::size_t op) {
    const Lowered l = lower(parse_workload(Json::parse(R"({"ops": [)" + ops + "]}"), "t"), t);
    return l.plans.at(op).tiling;
  };
  const std::string fused = R"({"op": "matmul", "name": "fused", "m": 256, "k": 64, "n": 256},
      {"op": "relu", "name": "r", "rows": 256, "cols": 256, "inputs": ["fused"]})";
  const std::string plain = R"({"op": "matmul", "name": "plain", "m": 256, "k": 64, "n": 256})";
  const Tiling alone = tiling(plain, 0);
  const Tiling with_epilogue = tiling(fused, 0);
  // The case tests something only if the epilogue changes the choice.
  REQUIRE((alone.mt != with_epilogue.mt || alone.nt != with_epilogue.nt ||
           alone.kt != with_epilogue.kt || alone.a_resident != with_epilogue.a_resident));
  const Tiling after = tiling(fused + ", " + plain, 2);
  CHECK(after.mt == alone.mt);
  CHECK(after.kt == alone.kt);
  CHECK(after.nt == alone.nt);
  CHECK(after.a_resident == alone.a_resident);
  const Tiling before = tiling(plain + ", " + fused, 1);
  CHECK(before.mt == with_epilogue.mt);
  CHECK(before.nt == with_epilogue.nt);
}
