// Epilogue fusion (workloads/lowering.h) on a real model: BERT-base's attention scale and
// softmax run on the scores tiles, its GELUs on the up projection's and the MLM head
// transform's tiles, its residual adds on the output and down projections' tiles, in the
// accumulator, and their inputs no longer go through DRAM.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <optional>
#include <string>

#include "sim/driver/presets.h"
#include "sim/driver/run.h"
#include "workloads/transformer.h"

namespace {

using namespace llmsim;

// `tiles`: every matmul's tile sizes (--tiles), or the search's.
driver::RunResult run(const std::string& arch, const workloads::Workload& w, bool fusion,
                      std::optional<std::array<std::uint64_t, 3>> tiles = std::nullopt) {
  workloads::MappingOptions m;
  m.fusion = fusion;
  m.tiles = tiles;
  return driver::run(driver::RunSpec{arch, driver::load_arch(arch), {}, w, m});
}

std::size_t index(const driver::RunResult& r, const std::string& name) {
  const auto it = std::find_if(r.ops.begin(), r.ops.end(),
                               [&](const driver::OpResult& o) { return o.name == name; });
  REQUIRE(it != r.ops.end());
  return std::size_t(it - r.ops.begin());
}

}  // namespace

TEST_CASE("fusion: BERT-base's scale, softmax, GELU and residual adds run in matmul epilogues") {
  workloads::TraceOptions o;
  o.layers = 1;  // seq 128, batch 1, int8
  const auto w = workloads::build_trace(workloads::load_model("bert-base-uncased"), o);
  // The same tiles with and without fusion (the search prices an epilogue, so it may cut the
  // matmuls differently when they fuse): 128 x 128 x 128, whole rows of the scores.
  const std::array<std::uint64_t, 3> tiles{128, 128, 128};
  const auto on = run("datacenter", w, true, tiles);
  const auto off = run("datacenter", w, false, tiles);
  REQUIRE(on.ops.size() == off.ops.size());  // the op list is the trace's either way

  const std::size_t scores = index(on, "layer0.scores"), up = index(on, "layer0.up_proj"),
                    o_proj = index(on, "layer0.o_proj"), down = index(on, "layer0.down_proj"),
                    transform = index(on, "head.mlm_transform");
  for (const auto& [name, into] : {std::pair<std::string, std::size_t>{"layer0.scale", scores},
                                   {"layer0.softmax", scores},
                                   {"layer0.act", up},
                                   {"layer0.attn_residual", o_proj},
                                   {"layer0.ffn_residual", down},
                                   {"head.mlm_act", transform}}) {
    INFO(name);
    const auto& f = on.ops[index(on, name)];
    CHECK(f.plan.fused_into == int(into));
    // A residual add reads its other operand's tiles (128 x 768 B); nothing else moves.
    const bool residual = name.find("residual") != std::string::npos;
    CHECK(f.dram_read_bytes == (residual ? 128 * 768 : 0));
    CHECK(f.dram_written_bytes == 0);
    // Its work happens on the matmul's tiles, inside the matmul's span.
    CHECK(f.start_cycle >= on.ops[into].start_cycle);
    CHECK(f.end_cycle <= on.ops[into].end_cycle);
    CHECK(off.ops[index(off, name)].plan.fused_into == -1);
  }
  // Layer norms have parameters and need whole rows: not fused.
  CHECK(on.ops[index(on, "layer0.attn_norm")].plan.fused_into == -1);
  CHECK(on.ops[index(on, "layer0.ffn_norm")].plan.fused_into == -1);

  // Each fused op saves reading its input and writing its output (the matmul's stores write
  // the chain's last output instead of its own): scale and softmax 2 x (12 heads x 128 x 128)
  // B each, the layer's GELU 2 x (128 x 3072) B, the MLM head's 2 x (128 x 768) B, and each
  // residual add 2 x (128 x 768) B (it still reads the residual).
  const auto bytes = [](const driver::RunResult& r) {
    return r.dram_read_bytes + r.dram_written_bytes;
  };
  CHECK(bytes(off) - bytes(on) ==
        2 * 2 * 12 * 128 * 128 + 2 * 128 * 3072 + 2 * 128 * 768 + 2 * 2 * 128 * 768);
  CHECK(on.total_cycles < off.total_cycles);
}

TEST_CASE("fusion: softmax stays separate where a scores tile does not hold whole rows") {
  // Scores tiles of 64 keys (--tiles 128x64x64) hold half a row of 128 keys.
  workloads::TraceOptions o;
  o.layers = 1;
  const auto w = workloads::build_trace(workloads::load_model("bert-base-uncased"), o);
  const auto r = run("edge", w, true, std::array<std::uint64_t, 3>{128, 64, 64});
  const auto& scores = r.ops[index(r, "layer0.scores")];
  CHECK(scores.plan.tiling.nt < 128);
  CHECK(r.ops[index(r, "layer0.scale")].plan.fused_into == int(index(r, "layer0.scores")));
  CHECK(r.ops[index(r, "layer0.softmax")].plan.fused_into == -1);
}
