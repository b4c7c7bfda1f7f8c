// Value mode (issue 21) through the driver: the lowered programs compute what the ops define,
// for every mapping option, and the cycles do not move.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "sim/driver/presets.h"
#include "sim/driver/run.h"
#include "workloads/model_config.h"
#include "workloads/transformer.h"

namespace {

using namespace llmsim;
using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

driver::RunResult run(const std::string& arch, workloads::Workload w,
                      const workloads::MappingOptions& mapping, bool values,
                      std::vector<std::string> overrides = {}) {
  driver::RunSpec spec{arch, driver::load_arch(arch), std::move(overrides), std::move(w), mapping};
  if (values) spec.values = driver::ValuesSpec{7};
  return driver::run(spec);
}

struct MatmulCase {
  std::uint64_t m, k, n, batch;
  bool transpose_b, bias;
};

workloads::Workload matmul(const MatmulCase& c, const char* dtype) {
  const config::Json doc = {{"ops",
                             {{{"op", "matmul"},
                               {"name", "g"},
                               {"m", c.m},
                               {"k", c.k},
                               {"n", c.n},
                               {"batch", c.batch},
                               {"transpose_b", c.transpose_b},
                               {"bias", c.bias},
                               {"dtype", dtype}}}}};
  return workloads::parse_workload(doc, "inline");
}

Matrix matrix(const driver::TensorValues& t) {
  Matrix m(Eigen::Index(t.rows), Eigen::Index(t.cols));
  for (std::size_t i = 0; i < t.data.size(); ++i) m.data()[i] = t.data[i];
  return m;
}

const driver::TensorValues& tensor(const driver::RunResult& r, const std::string& role) {
  for (const auto& t : r.tensors) {
    if (t.role == role) return t;
  }
  FAIL("no tensor " << role);
  return r.tensors.front();
}

// The largest |simulated - reference| / max |reference| over the matmul's output.
double matmul_error(const driver::RunResult& r, const MatmulCase& c) {
  const Matrix a = matrix(tensor(r, "a")), b = matrix(tensor(r, "b"));
  const std::uint64_t sr = c.transpose_b ? c.n : c.k, sc = c.transpose_b ? c.k : c.n;
  REQUIRE(r.values.size() == 1);
  REQUIRE(r.values[0].stored);
  double err = 0, scale = 0;
  for (std::uint64_t bi = 0; bi < c.batch; ++bi) {
    Matrix bb = b.block(Eigen::Index(bi * sr), 0, Eigen::Index(sr), Eigen::Index(sc));
    if (c.transpose_b) bb.transposeInPlace();
    Matrix ref = a.block(Eigen::Index(bi * c.m), 0, Eigen::Index(c.m), Eigen::Index(c.k)) * bb;
    if (c.bias) ref.rowwise() += matrix(tensor(r, "bias")).row(0);
    for (std::uint64_t i = 0; i < c.m; ++i) {
      for (std::uint64_t j = 0; j < c.n; ++j) {
        const double got = r.values[0].data[(bi * c.m + i) * c.n + j];
        err = std::max(err, std::abs(got - ref(Eigen::Index(i), Eigen::Index(j))));
        scale = std::max(scale, std::abs(ref(Eigen::Index(i), Eigen::Index(j))));
      }
    }
  }
  return err / scale;
}

}  // namespace

TEST_CASE("values: a matmul computes (A x B + bias) under every mapping option", "[values]") {
  // Partial tiles (300, 129, 257 are no multiple of any tile), B read transposed, a bias row,
  // batched GEMMs; each under auto and fixed, every split, tiled and row-major weights.
  // fp32 on datacenter: the reference is exact (double) on the fp32 inputs; the simulated sum
  // is fp32 (Eigen) over k <= 257 products, so within 1e-5 of the largest output. bf16 on edge:
  // the output is rounded to bf16 (8 bits: 2^-8 relative) on its way to DRAM.
  const std::vector<MatmulCase> cases = {
      {300, 200, 500, 1, false, true},
      {64, 96, 80, 1, true, false},
      {50, 64, 70, 3, false, false},
      {129, 257, 65, 1, true, true},
  };
  const std::vector<std::vector<std::string>> options = {
      {"auto", ""}, {"fixed", ""}, {"auto", "rows"}, {"auto", "cols"}, {"auto", "batch"}};
  for (const auto& [arch, dtype, tolerance] :
       {std::tuple{"datacenter", "fp32", 1e-5}, std::tuple{"edge", "bf16", 1.0 / 256}}) {
    for (const MatmulCase& c : cases) {
      for (const auto& o : options) {
        for (const char* weights : {"tiled", "row_major"}) {
          CAPTURE(arch, c.m, c.k, c.n, c.batch, c.transpose_b, c.bias, o[0], o[1], weights);
          const auto mapping = driver::mapping_options(o[0], o[1], "", weights);
          CHECK(matmul_error(run(arch, matmul(c, dtype), mapping, true), c) <= tolerance);
        }
      }
    }
  }
}

TEST_CASE("values: the cycles are those of the timing-only run", "[values]") {
  // Values are made by the units as each instruction takes effect and add no event: every
  // op's span is the same to the cycle. GPT-2 with one layer, prefill, and a batched GEMM
  // through HBM and the NoC.
  workloads::TraceOptions o;
  o.seq = 32;
  o.layers = 1;
  const workloads::Workload gpt2 = workloads::build_trace(workloads::load_model("gpt2"), o);
  for (const char* arch : {"datacenter", "edge", "hbm2-stack"}) {
    CAPTURE(arch);
    const auto mapping = driver::mapping_options("auto", "", "");
    const driver::RunResult timing = run(arch, gpt2, mapping, false);
    const driver::RunResult values = run(arch, gpt2, mapping, true);
    CHECK(values.total_cycles == timing.total_cycles);
    REQUIRE(values.ops.size() == timing.ops.size());
    for (std::size_t i = 0; i < timing.ops.size(); ++i) {
      CHECK(values.ops[i].start_cycle == timing.ops[i].start_cycle);
      CHECK(values.ops[i].end_cycle == timing.ops[i].end_cycle);
    }
    CHECK(timing.values.empty());
    CHECK(values.values.size() == gpt2.ops.size());
  }
}

TEST_CASE("values: keep none computes at the same cycles and keeps no copy", "[values]") {
  // GPT-2, one layer, seq 32, int8 on datacenter: keep all holds every op's output (the stored
  // ones with rows x cols floats) and every external operand; keep none holds neither, and
  // its cycles are those of keep all, op by op.
  workloads::TraceOptions o;
  o.seq = 32;
  o.layers = 1;
  const workloads::Workload gpt2 = workloads::build_trace(workloads::load_model("gpt2"), o);
  const auto mapping = driver::mapping_options("auto", "", "");
  const auto keep_run = [&](driver::KeepValues keep) {
    driver::RunSpec spec{"datacenter", driver::load_arch("datacenter"), {}, gpt2, mapping};
    spec.values = driver::ValuesSpec{7};
    spec.values->keep = keep;
    return driver::run(spec);
  };
  const driver::RunResult all = keep_run(driver::KeepValues::all);
  const driver::RunResult none = keep_run(driver::KeepValues::none);
  REQUIRE(all.values.size() == gpt2.ops.size());
  std::size_t stored = 0;
  for (const driver::OpValues& v : all.values) {
    if (!v.stored) continue;
    ++stored;
    CHECK(v.data.size() == v.rows * v.cols);
  }
  CHECK(stored > 0);
  CHECK_FALSE(all.tensors.empty());
  CHECK(none.values.empty());
  CHECK(none.tensors.empty());
  CHECK(none.total_cycles == all.total_cycles);
  REQUIRE(none.ops.size() == all.ops.size());
  for (std::size_t i = 0; i < all.ops.size(); ++i) {
    CHECK(none.ops[i].start_cycle == all.ops[i].start_cycle);
    CHECK(none.ops[i].end_cycle == all.ops[i].end_cycle);
  }
}

TEST_CASE("values: a wrong stride planted in one DMA is caught at its op", "[values]") {
  // x (64 x 96) -> up = x W1 (96 x 128) -> down = up W2 (128 x 80). The first load of `down`
  // with more than one row (a block of up's output or of W2) is given a stride one element
  // short: its rows slide, `down` computes the wrong numbers and `up` stays right. Checked op by op
  // against Eigen on the run's own inputs, the first op out of tolerance is `down`.
  const config::Json doc = {
      {"ops",
       {{{"op", "matmul"}, {"name", "up"}, {"m", 64}, {"k", 96}, {"n", 128}, {"dtype", "fp32"}},
        {{"op", "matmul"},
         {"name", "down"},
         {"m", 64},
         {"k", 128},
         {"n", 80},
         {"a", "up"},
         {"dtype", "fp32"}}}}};
  const workloads::Workload w = workloads::parse_workload(doc, "inline");
  const auto mapping = driver::mapping_options("auto", "", "");
  driver::RunSpec spec{"datacenter", driver::load_arch("datacenter"), {}, w, mapping};
  spec.values = driver::ValuesSpec{3};
  const auto errors = [](const driver::RunResult& r) {
    const Matrix x = matrix(r.tensors.at(0)), w1 = matrix(r.tensors.at(1)),
                 w2 = matrix(r.tensors.at(2));
    REQUIRE(r.tensors.at(1).role == "b");
    REQUIRE(r.tensors.at(2).op == 1);
    const auto out = [&](int op) {
      Matrix m(Eigen::Index(r.values[op].rows), Eigen::Index(r.values[op].cols));
      for (std::size_t i = 0; i < r.values[op].data.size(); ++i) m.data()[i] = r.values[op].data[i];
      return m;
    };
    const Matrix up = out(0), down = out(1);
    // Each op against its reference on the inputs it read (down: the simulated up).
    return std::pair{(up - x * w1).cwiseAbs().maxCoeff() / (x * w1).cwiseAbs().maxCoeff(),
                     (down - up * w2).cwiseAbs().maxCoeff() / (up * w2).cwiseAbs().maxCoeff()};
  };
  const auto [up_ok, down_ok] = errors(driver::run(spec));
  CHECK(up_ok <= 1e-5);
  CHECK(down_ok <= 1e-5);
  spec.edit_program = [](isa::Program& p) {
    for (auto& core : p.cores) {
      for (auto& inst : core.queue(isa::QueueKind::load)) {
        auto* ld = std::get_if<isa::DmaLoad>(&inst.body);
        if (ld && inst.op == 1 && ld->block.rows > 1) {
          ld->block.dram_stride_bytes -= 4;  // one fp32 element short
          return;
        }
      }
    }
    FAIL("no load of op 1");
  };
  const auto [up_err, down_err] = errors(driver::run(spec));
  CHECK(up_err <= 1e-5);
  CHECK(down_err > 1e-2);
}

TEST_CASE("values: the attention context is stored token-major for the output projection",
          "[values]") {
  // Grouped-query attention in bf16 on edge, B = 2 sequences of s = 3 tokens, H = 4 query
  // heads sharing Hkv = 2 KV heads (g = 2), d = 16. The context matmul (b, j) holds the rows
  // of query heads 2j, 2j+1 (3 tokens each); it is stored as the 6 x 64 token-major matrix
  // the output projection reads: token t of sequence b, head h, at row 3b + t, cols 16h...
  // Its 6 rows cross a head within one tile, and a bf16 tile's accumulator rows are 4-byte
  // (not 2-byte) elements apart: both must be right. Each op is checked against its
  // reference on the simulated outputs it read, within bf16's rounding (2^-8 relative).
  const std::uint64_t B = 2, s = 3, H = 4, Hkv = 2, g = H / Hkv, d = 16;
  const auto copy = [](const char* name, std::uint64_t cols) {
    return config::Json{{"op", "copy"}, {"name", name}, {"rows", B * s}, {"cols", cols},
                        {"inputs", {"input"}}, {"dtype", "bf16"}};
  };
  const config::Json doc = {
      {"ops",
       {copy("q", H * d), copy("k", Hkv * d), copy("v", Hkv * d),
        {{"op", "matmul"}, {"name", "scores"}, {"m", g * s}, {"k", d}, {"n", s},
         {"batch", B * Hkv}, {"a", "q"}, {"b", "k"}, {"transpose_b", true}, {"dtype", "bf16"}},
        {{"op", "softmax"}, {"name", "probs"}, {"rows", B * H * s}, {"cols", s},
         {"inputs", {"scores"}}, {"dtype", "bf16"}},
        {{"op", "matmul"}, {"name", "context"}, {"m", g * s}, {"k", s}, {"n", d},
         {"batch", B * Hkv}, {"a", "probs"}, {"b", "v"}, {"dtype", "bf16"}},
        {{"op", "matmul"}, {"name", "o"}, {"m", B * s}, {"k", H * d}, {"n", 8},
         {"a", "context"}, {"dtype", "bf16"}}}}};
  const workloads::Workload w = workloads::parse_workload(doc, "inline");
  const driver::RunResult r =
      run("edge", w, driver::mapping_options("auto", "", ""), /*values=*/true);
  const auto out = [&](int op) {
    const driver::OpValues& v = r.values[std::size_t(op)];
    REQUIRE(v.stored);
    Matrix m(Eigen::Index(v.rows), Eigen::Index(v.cols));
    for (std::size_t i = 0; i < v.data.size(); ++i) m.data()[i] = v.data[i];
    return m;
  };
  const Matrix v = out(2), probs = out(4), ctx = out(5), o = out(6);
  REQUIRE(ctx.rows() == Eigen::Index(B * s));
  REQUIRE(ctx.cols() == Eigen::Index(H * d));
  Matrix ref(ctx.rows(), ctx.cols());
  for (std::uint64_t b = 0; b < B; ++b) {
    for (std::uint64_t h = 0; h < H; ++h) {
      const std::uint64_t j = h / g;  // its KV head
      // probs of (b, j): rows (h % g) * s + t of matmul b*Hkv + j; V: tokens of b, head j.
      const Matrix p = probs.block(Eigen::Index(((b * Hkv + j) * g + h % g) * s), 0,
                                   Eigen::Index(s), Eigen::Index(s));
      const Matrix vj = v.block(Eigen::Index(b * s), Eigen::Index(j * d), Eigen::Index(s),
                                Eigen::Index(d));
      ref.block(Eigen::Index(b * s), Eigen::Index(h * d), Eigen::Index(s), Eigen::Index(d)) =
          p * vj;
    }
  }
  CHECK((ctx - ref).cwiseAbs().maxCoeff() <= std::ldexp(ref.cwiseAbs().maxCoeff(), -8));
  const Matrix wo = matrix(tensor(r, "b")), oref = ctx * wo;
  CHECK((o - oref).cwiseAbs().maxCoeff() <= std::ldexp(oref.cwiseAbs().maxCoeff(), -8));
}
