#include "arch/hbm/controller_params.h"

#include <cmath>
#include <string>

#include "arch/hbm/request_queue.h"
#include "sim/core/config.h"

namespace llmsim::hbm {

const char* to_string(SchedulerKind k) {
  return k == SchedulerKind::fcfs ? "fcfs" : "frfcfs";
}

const char* to_string(PagePolicy p) {
  return p == PagePolicy::open ? "open" : "closed";
}

const char* to_string(RefreshMode m) {
  switch (m) {
    case RefreshMode::all_bank:
      return "all_bank";
    case RefreshMode::per_bank:
      return "per_bank";
    case RefreshMode::off:
      return "off";
  }
  return "?";
}

std::uint32_t ControllerParams::write_drain_high_count() const {
  const auto n = static_cast<std::uint32_t>(std::ceil(write_drain_high * write_queue_depth));
  return n == 0 ? 1 : n;
}

std::uint32_t ControllerParams::write_drain_low_count() const {
  return static_cast<std::uint32_t>(std::floor(write_drain_low * write_queue_depth));
}

namespace {

std::uint32_t depth(config::Reader& r, const std::string& key) {
  constexpr std::uint64_t kMax = RequestQueue::kMaxCapacity;  // a hardware queue, not a buffer
  const std::uint64_t d = r.count(key, 32);
  if (d > kMax)
    r.fail(key, "must be at most " + std::to_string(kMax) + ", got " + std::to_string(d));
  return static_cast<std::uint32_t>(d);
}

double fraction(config::Reader& r, const std::string& key, double def) {
  const double f = r.positive(key, def);
  if (f > 1.0) r.fail(key, "must be in (0, 1], got " + config::short_dump(f));
  return f;
}

}  // namespace

ControllerParams ControllerParams::parse(config::Reader& r) {
  ControllerParams p;
  p.read_queue_depth = depth(r, "read_queue_depth");
  p.write_queue_depth = depth(r, "write_queue_depth");
  p.scheduler = r.choice("scheduler", {"frfcfs", "fcfs"}, std::string("frfcfs")) == "fcfs"
                    ? SchedulerKind::fcfs
                    : SchedulerKind::frfcfs;
  p.page_policy = r.choice("page_policy", {"open", "closed"}, std::string("open")) == "closed"
                      ? PagePolicy::closed
                      : PagePolicy::open;
  p.write_drain_high = fraction(r, "write_drain_high", 0.75);
  p.write_drain_low = fraction(r, "write_drain_low", 0.25);
  if (!(p.write_drain_low < p.write_drain_high)) {
    r.fail("write_drain_low", "must be below write_drain_high (" +
                                  config::short_dump(p.write_drain_high) + "), got " +
                                  config::short_dump(p.write_drain_low));
  }
  const std::string refresh =
      r.choice("refresh", {"all_bank", "per_bank", "off"}, std::string("all_bank"));
  p.refresh = refresh == "per_bank" ? RefreshMode::per_bank
              : refresh == "off"    ? RefreshMode::off
                                    : RefreshMode::all_bank;
  return p;
}

}  // namespace llmsim::hbm
