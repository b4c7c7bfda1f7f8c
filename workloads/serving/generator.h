#pragma once
// A synthetic request stream: Poisson arrivals at `rate_rps` requests per second, input and
// output lengths each drawn from a LengthDist, seeded, identical on every platform.
//
// Randomness: std::mt19937_64 (its output sequence is fixed by the C++ standard), turned into
// samples here from its raw bits, never through std::*_distribution (whose algorithms differ
// between standard libraries). Three independent streams, seeded from splitmix64(seed + k),
// drive the arrival gaps (k = 0), the input lengths (k = 1) and the output lengths (k = 2): at a
// fixed seed, changing the rate only rescales the arrival times and changing one length
// distribution leaves the other stream alone (common random numbers for sweeps). The samples go
// through std::log, std::exp, std::sqrt and std::cos, which glibc rounds correctly or nearly so;
// across other libms a length could differ by one in rare ties.
//
// Arrivals: a Poisson process started at t = 0: request i arrives at the sum of i + 1
// exponential gaps of mean 1 / rate_rps seconds (gap = -ln(1 - u) / rate, u uniform in [0, 1)),
// rounded to the nearest ns.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "workloads/serving/request.h"

namespace llmsim {
namespace config {
class Reader;
}
}  // namespace llmsim

namespace llmsim::serving {

// A distribution of token counts, each sample rounded to the nearest integer and clamped to
// [1, max] (so the realised mean is slightly off `mean` when the clamp bites):
//  - fixed:     every sample is `value`;
//  - uniform:   an integer uniform in [lo, hi], both included (mean (lo + hi) / 2);
//  - lognormal: exp(N(mu, sigma^2)) with mu = ln(mean) - sigma^2 / 2, so that the mean of the
//               unclamped lengths is `mean` (the "mean input 512"), and sigma the
//               standard deviation of ln(length).
struct LengthDist {
  enum class Kind { kFixed, kUniform, kLognormal };
  Kind kind = Kind::kFixed;
  std::uint64_t value = 1;       // fixed
  std::uint64_t lo = 1, hi = 1;  // uniform
  double mean = 1, sigma = 0;    // lognormal
  std::uint64_t max = kMaxTokens;

  static LengthDist fixed(std::uint64_t value);
  static LengthDist uniform(std::uint64_t lo, std::uint64_t hi);
  static LengthDist lognormal(double mean, double sigma, std::uint64_t max = kMaxTokens);

  // Strict JSON form, one of:
  //   {"dist": "fixed", "value": 512}
  //   {"dist": "uniform", "lo": 128, "hi": 1024}
  //   {"dist": "lognormal", "mean": 512, "sigma": 1.0, "max": 8192}   (max defaults to 2^24)
  static LengthDist parse(config::Reader& r);
};

struct GeneratorParams {
  std::uint64_t num_requests = 1;
  double rate_rps = 1;  // mean arrivals per second, > 0
  std::uint64_t seed = 0;
  LengthDist input;
  LengthDist output;

  // Strict JSON form: {"num_requests": 500, "rate_rps": 4.0, "seed": 1,
  //                    "input": {...}, "output": {...}} (LengthDist::parse for the two).
  static GeneratorParams parse(config::Reader& r);
};

// Draws `p.num_requests` requests (ids 0, 1, ...). Throws ConfigError for a parameter out of
// range (num_requests above kMaxRequests, a rate so low that arrivals pass kMaxArrivalNs).
std::vector<Request> generate_requests(const GeneratorParams& p);

// The random source, exposed for the tests: mt19937_64 seeded with splitmix64(seed).
class Rng {
 public:
  explicit Rng(std::uint64_t seed);
  // Uniform in [0, 1): the top 53 bits of one engine output times 2^-53.
  double uniform();
  // Standard normal: Box-Muller's cosine branch on two uniforms (two engine outputs a sample).
  double normal();

 private:
  std::mt19937_64 m_engine;
};

// One length from `dist` (rounded, clamped to [1, dist.max]); fixed draws nothing.
std::uint64_t sample_length(const LengthDist& dist, Rng& rng);

}  // namespace llmsim::serving
