#include "workloads/serving/generator.h"

#include <cmath>

#include "sim/core/config.h"
#include "sim/core/error.h"

namespace llmsim::serving {
namespace {

// splitmix64 (Steele, Lea, Flood 2014): spreads a small seed over all 64 bits.
std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

constexpr double kPi = 3.14159265358979323846;

std::uint64_t round_clamp(double x, std::uint64_t max) {
  if (!(x >= 1.5)) return 1;  // also NaN
  if (x >= double(max)) return max;
  return std::uint64_t(std::llround(x));
}

// The checks parse() makes, for a LengthDist built in code.
void check_dist(const LengthDist& d, const std::string& name) {
  const auto bad = [&](const std::string& what) { throw ConfigError(name + ": " + what); };
  const std::string tokens = "[1, " + std::to_string(kMaxTokens) + "]";
  switch (d.kind) {
    case LengthDist::Kind::kFixed:
      if (d.value < 1 || d.value > kMaxTokens) bad("value must be in " + tokens);
      break;
    case LengthDist::Kind::kUniform:
      if (d.lo < 1 || d.hi < d.lo || d.hi > kMaxTokens) bad("needs 1 <= lo <= hi <= 2^24");
      break;
    case LengthDist::Kind::kLognormal:
      if (!(d.mean >= 1 && d.mean <= double(kMaxTokens))) bad("mean must be in " + tokens);
      if (!(d.sigma >= 0 && d.sigma <= 4)) bad("sigma must be in [0, 4]");
      if (d.max < 1 || d.max > kMaxTokens) bad("max must be in " + tokens);
      break;
  }
}

}  // namespace

Rng::Rng(std::uint64_t seed) : m_engine(splitmix64(seed)) {}

double Rng::uniform() {
  return double(m_engine() >> 11) * 0x1.0p-53;
}

double Rng::normal() {
  const double u1 = uniform(), u2 = uniform();
  // 1 - u1 is in (0, 1]: the logarithm is finite.
  return std::sqrt(-2.0 * std::log(1.0 - u1)) * std::cos(2.0 * kPi * u2);
}

std::uint64_t sample_length(const LengthDist& d, Rng& rng) {
  switch (d.kind) {
    case LengthDist::Kind::kFixed:
      return d.value;
    case LengthDist::Kind::kUniform: {
      const std::uint64_t span = d.hi - d.lo + 1;
      const std::uint64_t k = std::uint64_t(rng.uniform() * double(span));
      return d.lo + (k < span ? k : span - 1);
    }
    case LengthDist::Kind::kLognormal: {
      const double mu = std::log(d.mean) - d.sigma * d.sigma / 2;
      return round_clamp(std::exp(mu + d.sigma * rng.normal()), d.max);
    }
  }
  LLMSIM_CHECK(false, "unknown LengthDist kind");
  return 0;
}

LengthDist LengthDist::fixed(std::uint64_t value) {
  LengthDist d;
  d.kind = Kind::kFixed;
  d.value = value;
  return d;
}

LengthDist LengthDist::uniform(std::uint64_t lo, std::uint64_t hi) {
  LengthDist d;
  d.kind = Kind::kUniform;
  d.lo = lo;
  d.hi = hi;
  return d;
}

LengthDist LengthDist::lognormal(double mean, double sigma, std::uint64_t max) {
  LengthDist d;
  d.kind = Kind::kLognormal;
  d.mean = mean;
  d.sigma = sigma;
  d.max = max;
  return d;
}

LengthDist LengthDist::parse(config::Reader& r) {
  const std::string kind = r.choice("dist", {"fixed", "uniform", "lognormal"});
  if (kind == "fixed") return fixed(r.count("value", std::nullopt, kMaxTokens));
  if (kind == "uniform") {
    const std::uint64_t lo = r.count("lo", std::nullopt, kMaxTokens);
    const std::uint64_t hi = r.count("hi", std::nullopt, kMaxTokens);
    if (hi < lo) {
      r.fail("hi", "must be at least lo = " + std::to_string(lo) + ", got " + std::to_string(hi));
    }
    return uniform(lo, hi);
  }
  const double mean = r.positive("mean");
  if (mean < 1 || mean > double(kMaxTokens)) {
    r.fail("mean", "must be in [1, " + std::to_string(kMaxTokens) + "], got " +
                       config::short_dump(config::Json(mean)));
  }
  const double sigma = r.non_negative("sigma");
  if (sigma > 4) {
    r.fail("sigma", "must be in [0, 4] (the standard deviation of ln(length)), got " +
                        config::short_dump(config::Json(sigma)));
  }
  const std::uint64_t max = r.count("max", kMaxTokens, kMaxTokens);
  return lognormal(mean, sigma, max);
}

GeneratorParams GeneratorParams::parse(config::Reader& r) {
  GeneratorParams p;
  p.num_requests = r.count("num_requests", std::nullopt, kMaxRequests);
  p.rate_rps = r.positive("rate_rps");
  p.seed = r.uint("seed", 0, ~std::uint64_t(0));
  p.input = r.parse_child<LengthDist>("input");
  p.output = r.parse_child<LengthDist>("output");
  return p;
}

std::vector<Request> generate_requests(const GeneratorParams& p) {
  if (p.num_requests < 1 || p.num_requests > kMaxRequests) {
    throw ConfigError("num_requests: must be in [1, " + std::to_string(kMaxRequests) + "], got " +
                      std::to_string(p.num_requests));
  }
  if (!(p.rate_rps > 0) || !std::isfinite(p.rate_rps)) {
    throw ConfigError("rate_rps: must be a positive number, got " +
                      config::short_dump(config::Json(p.rate_rps)));
  }
  check_dist(p.input, "input");
  check_dist(p.output, "output");
  Rng gaps(p.seed), inputs(p.seed + 1), outputs(p.seed + 2);
  std::vector<Request> out;
  out.reserve(p.num_requests);
  double t_s = 0;
  for (std::uint64_t i = 0; i < p.num_requests; ++i) {
    t_s += -std::log(1.0 - gaps.uniform()) / p.rate_rps;
    const double ns = std::round(t_s * 1e9);
    if (!(ns <= double(kMaxArrivalNs))) {
      throw ConfigError("rate_rps: " + config::short_dump(config::Json(p.rate_rps)) +
                        " is too low: request " + std::to_string(i) + " would arrive after " +
                        std::to_string(kMaxArrivalNs) + " ns");
    }
    Request r;
    r.id = i;
    r.arrival_ns = std::uint64_t(ns);
    r.input_tokens = sample_length(p.input, inputs);
    r.output_tokens = sample_length(p.output, outputs);
    out.push_back(r);
  }
  return out;
}

}  // namespace llmsim::serving
