#pragma once
// The policy knobs of one pseudo-channel memory controller, read from `memory.controller`:
//   "controller": {"read_queue_depth": 32, "write_queue_depth": 32, "scheduler": "frfcfs",
//                  "page_policy": "open", "write_drain_high": 0.75, "write_drain_low": 0.25,
//                  "refresh": "all_bank"}
// Every key is optional; the defaults are the member initialisers below.
#include <cstdint>

namespace llmsim {
namespace config {
class Reader;
}
}  // namespace llmsim

namespace llmsim::hbm {

// fcfs: only the oldest request of the active queue may issue a command.
// frfcfs: row hits first (oldest first), then the oldest ready ACT/PRE.
enum class SchedulerKind { fcfs, frfcfs };
// open: rows stay open until a conflict or a refresh closes them.
// closed: a bank is precharged as soon as legal after a column command, unless a queued request
// still hits its row.
enum class PagePolicy { open, closed };
// all_bank: REFab every tREFI. per_bank: REFpb every tREFI / banks, banks in round robin.
// off: no refresh (for tests and for bounding the refresh overhead).
enum class RefreshMode { all_bank, per_bank, off };

const char* to_string(SchedulerKind k);
const char* to_string(PagePolicy p);
const char* to_string(RefreshMode m);

struct ControllerParams {
  std::uint32_t read_queue_depth = 32;   // requests
  std::uint32_t write_queue_depth = 32;  // requests
  SchedulerKind scheduler = SchedulerKind::frfcfs;
  PagePolicy page_policy = PagePolicy::open;
  // Write drain watermarks, as fractions of write_queue_depth, 0 < low < high <= 1: the
  // controller serves writes from when the write queue holds at least
  // write_drain_high_count() requests until it holds at most write_drain_low_count().
  double write_drain_high = 0.75;
  double write_drain_low = 0.25;
  RefreshMode refresh = RefreshMode::all_bank;

  // ceil(write_drain_high * write_queue_depth), at least 1.
  std::uint32_t write_drain_high_count() const;
  // floor(write_drain_low * write_queue_depth); always < write_drain_high_count().
  std::uint32_t write_drain_low_count() const;

  // Reads the keys above and validates them (ConfigError naming the key). Whether the device
  // supports per-bank refresh is checked by the controller, which knows the device.
  static ControllerParams parse(config::Reader& r);
};

}  // namespace llmsim::hbm
