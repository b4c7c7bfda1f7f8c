#pragma once
// A DRAM device as the HBM controller sees it: organisation, timing (in clock cycles tCK of the
// DRAM command clock) and energy. Presets for HBM2, HBM2E and HBM3 live in hbm_presets.cpp, each
// citing its public source; a custom device is written in the arch JSON with the same keys:
//   "memory": {"type": "hbm", "device": "HBM2", ...}                  a preset, or
//   "memory": {"type": "hbm", "device": {"clock_mhz": 1000, "organization": {...},
//              "timing_ck": {...}, "energy_pj": {...}}, ...}          a custom device, or
//   "memory": {"type": "hbm", "device": {"preset": "HBM2", "timing_ck": {"tRCDRD": 15}}}
//                                                                     a refined preset.
// Keys are the field names below (Timing's clock_mhz sits in the device object itself). With a
// preset, absent keys keep the preset's values; without one every key is required except tBL
// (defaults to burst_length / data_rate) and tRTW, tRFCpb, tRREFD (default 0: feature absent).
// The resolved config records the whole device, defaults included, under "device".
//
// Refresh contract: REFab every tREFI per pseudo channel, blocking it for tRFC. With per-bank
// refresh (tRFCpb > 0) each bank takes one REFpb per tREFI, i.e. one REFpb every
// tREFI / banks() on the pseudo channel, each blocking its bank for tRFCpb; consecutive REFpb
// (and REFpb -> ACT to another bank) are tRREFD apart. Whether to use it is controller policy.
#include <cstdint>
#include <string>
#include <vector>

namespace llmsim {
namespace config {
class Reader;
}
}  // namespace llmsim

namespace llmsim::hbm {

struct Organization {
  std::uint32_t stacks = 1;
  std::uint32_t channels_per_stack = 8;
  std::uint32_t pseudo_channels = 2;  // per channel; 1 = legacy mode
  std::uint32_t bank_groups = 4;      // per pseudo channel
  std::uint32_t banks_per_group = 4;
  std::uint32_t rows = 1u << 14;      // per bank
  std::uint32_t columns = 64;         // bursts per row (row size = columns * burst bytes)
  std::uint32_t bus_width_bits = 64;  // per pseudo channel
  std::uint32_t burst_length = 4;     // BL: data beats per RD/WR
  std::uint32_t data_rate = 2;        // beats per tCK (2 = DDR)

  std::uint32_t burst_bytes() const { return bus_width_bits / 8 * burst_length; }
  std::uint32_t row_bytes() const { return columns * burst_bytes(); }  // page per pseudo channel
  std::uint32_t banks() const { return bank_groups * banks_per_group; }
  // Independent command/data interfaces: every pseudo channel of every channel of every stack.
  std::uint32_t interfaces() const { return stacks * channels_per_stack * pseudo_channels; }
  std::uint64_t capacity_bytes() const;
};

// JEDEC-style timing constraints, all in tCK. Names follow JESD235 (HBM) / JESD238 (HBM3).
struct Timing {
  double clock_mhz = 1000;  // 1 / tCK
  std::uint32_t tBL = 2;    // data bus cycles of one burst = burst_length / data_rate
  std::uint32_t tRCDRD = 14, tRCDWR = 10;  // ACT -> RD / WR, same bank
  std::uint32_t tRP = 14;                  // PRE -> ACT, same bank
  std::uint32_t tRAS = 34;                 // ACT -> PRE, same bank
  std::uint32_t tRC = 48;                  // ACT -> ACT, same bank
  std::uint32_t tCL = 14;                  // RL: RD -> first data beat
  std::uint32_t tCWL = 4;                  // WL: WR -> first data beat
  std::uint32_t tCCD_S = 2, tCCD_L = 4;    // RD->RD or WR->WR, other / same bank group
  std::uint32_t tRRD_S = 4, tRRD_L = 6;    // ACT -> ACT, other / same bank group
  std::uint32_t tFAW = 16;                 // window holding at most four ACTs (per pseudo channel)
  std::uint32_t tWR = 16;                  // end of write data -> PRE, same bank
  std::uint32_t tWTR_S = 3, tWTR_L = 8;    // end of write data -> RD, other / same bank group
  std::uint32_t tRTP = 4;                  // RD -> PRE, same bank
  std::uint32_t tRTW = 0;      // extra RD -> WR bus turnaround beyond tCL + tBL - tCWL (0 = none)
  std::uint32_t tRFC = 260;    // REFab -> any command (all banks)
  std::uint32_t tRFCpb = 0;    // REFpb -> ACT same bank; 0 = the standard has no per-bank refresh
  std::uint32_t tRREFD = 0;    // REFpb -> REFpb / ACT other bank (HBM3)
  std::uint32_t tREFI = 3900;  // average refresh interval (all-bank)
};

// Energy per action, with background power; sources cited per preset.
struct Energy {
  double act_pre_pj = 0;        // one ACT + its PRE
  double read_pj_per_bit = 0;   // array + I/O, per bit read
  double write_pj_per_bit = 0;  // per bit written
  double refresh_pj = 0;        // one all-bank refresh of one pseudo channel
  double background_mw = 0;     // per pseudo channel
};

struct DramSpec {
  std::string name;    // preset name, or "custom"
  std::string source;  // where the numbers come from
  Organization org;
  Timing timing;
  Energy energy;

  double peak_bytes_per_second() const;  // all interfaces, no refresh
};

// The preset names, and a preset by name (InternalError if unknown: callers check the name).
std::vector<std::string> preset_names();
DramSpec preset(const std::string& name);

// Reads `device` (a preset name string or an object) from the `memory` config object, applying
// refinements, and validates cross-parameter constraints (tRC >= tRAS + tRP, powers of two,
// ...), with ConfigErrors naming the key (memory.device.timing_ck.tRC: ...). Consumes only
// "device" of `memory` (the caller finishes `memory`); rejects unknown keys inside it. A
// refined preset keeps the preset's name; its source lists the refined keys.
DramSpec parse_device(config::Reader& memory);

}  // namespace llmsim::hbm
