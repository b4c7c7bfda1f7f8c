#include "arch/hbm/dram_spec.h"

#include <limits>
#include <optional>
#include <sstream>

#include "sim/core/config.h"
#include "sim/core/error.h"

namespace llmsim::hbm {

std::uint64_t Organization::capacity_bytes() const {
  return std::uint64_t(stacks) * channels_per_stack * pseudo_channels * bank_groups *
         banks_per_group * rows * columns * (bus_width_bits / 8) * burst_length;
}

double DramSpec::peak_bytes_per_second() const {
  // Every interface moves bus_width_bits every beat, data_rate beats per tCK.
  const double interfaces = double(org.stacks) * org.channels_per_stack * org.pseudo_channels;
  return interfaces * (org.bus_width_bits / 8.0) * org.data_rate * timing.clock_mhz * 1e6;
}

namespace {

using config::Reader;

enum class Check { kPositive, kNonNegative, kPowerOfTwo };

struct OrgField {
  const char* key;
  std::uint32_t Organization::*member;
  Check check;
  std::uint32_t max;  // generous for any real device; the model allocates per bank and channel
};

// Counts that index address bits are powers of two; stacks need not be (a chip may carry 5 or 6).
constexpr OrgField kOrgFields[] = {
    {"stacks", &Organization::stacks, Check::kPositive, 64},
    {"channels_per_stack", &Organization::channels_per_stack, Check::kPowerOfTwo, 256},
    {"pseudo_channels", &Organization::pseudo_channels, Check::kPowerOfTwo, 16},
    {"bank_groups", &Organization::bank_groups, Check::kPowerOfTwo, 64},
    {"banks_per_group", &Organization::banks_per_group, Check::kPowerOfTwo, 64},
    {"rows", &Organization::rows, Check::kPowerOfTwo, 1u << 24},
    {"columns", &Organization::columns, Check::kPowerOfTwo, 1u << 16},
    {"bus_width_bits", &Organization::bus_width_bits, Check::kPowerOfTwo, 4096},
    {"burst_length", &Organization::burst_length, Check::kPowerOfTwo, 256},
    {"data_rate", &Organization::data_rate, Check::kPowerOfTwo, 16},
};

// `zero_default`: on a custom device an absent key is 0, meaning the feature is absent.
struct TimingField {
  const char* key;
  std::uint32_t Timing::*member;
  Check check;
  bool zero_default;
};

constexpr TimingField kTimingFields[] = {
    {"tBL", &Timing::tBL, Check::kPositive, false},
    {"tRCDRD", &Timing::tRCDRD, Check::kPositive, false},
    {"tRCDWR", &Timing::tRCDWR, Check::kPositive, false},
    {"tRP", &Timing::tRP, Check::kPositive, false},
    {"tRAS", &Timing::tRAS, Check::kPositive, false},
    {"tRC", &Timing::tRC, Check::kPositive, false},
    {"tCL", &Timing::tCL, Check::kPositive, false},
    {"tCWL", &Timing::tCWL, Check::kNonNegative, false},
    {"tCCD_S", &Timing::tCCD_S, Check::kPositive, false},
    {"tCCD_L", &Timing::tCCD_L, Check::kPositive, false},
    {"tRRD_S", &Timing::tRRD_S, Check::kPositive, false},
    {"tRRD_L", &Timing::tRRD_L, Check::kPositive, false},
    {"tFAW", &Timing::tFAW, Check::kPositive, false},
    {"tWR", &Timing::tWR, Check::kNonNegative, false},
    {"tWTR_S", &Timing::tWTR_S, Check::kNonNegative, false},
    {"tWTR_L", &Timing::tWTR_L, Check::kNonNegative, false},
    {"tRTP", &Timing::tRTP, Check::kNonNegative, false},
    {"tRTW", &Timing::tRTW, Check::kNonNegative, true},
    {"tRFC", &Timing::tRFC, Check::kPositive, false},
    {"tRFCpb", &Timing::tRFCpb, Check::kNonNegative, true},
    {"tRREFD", &Timing::tRREFD, Check::kNonNegative, true},
    {"tREFI", &Timing::tREFI, Check::kPositive, false},
};

struct EnergyField {
  const char* key;
  double Energy::*member;
};

constexpr EnergyField kEnergyFields[] = {
    {"act_pre_pj", &Energy::act_pre_pj},
    {"read_pj_per_bit", &Energy::read_pj_per_bit},
    {"write_pj_per_bit", &Energy::write_pj_per_bit},
    {"refresh_pj", &Energy::refresh_pj},
    {"background_mw", &Energy::background_mw},
};

std::string text(std::uint64_t x) {
  return std::to_string(x);
}

std::string text_real(double x) {
  std::ostringstream os;
  os << x;
  return os.str();
}

template <class T>
std::optional<T> from_base(const T* value) {
  return value ? std::optional<T>(*value) : std::nullopt;
}

// Timing constraints are at most config::kMaxLatencyCycles.
std::uint32_t read_u32(Reader& r, const char* key, Check check, std::optional<std::uint64_t> def,
                       std::uint32_t max = config::kMaxLatencyCycles) {
  std::uint64_t v = 0;
  switch (check) {
    case Check::kPositive:
      v = r.count(key, def, max);
      break;
    case Check::kNonNegative:
      v = r.uint(key, def, max);
      break;
    case Check::kPowerOfTwo:
      v = r.power_of_two(key, def, max);
      break;
  }
  return static_cast<std::uint32_t>(v);
}

void validate_organization(const Reader& r, const Organization& o) {
  if (o.bus_width_bits < 8) {
    r.fail("bus_width_bits",
           "must be at least 8 (a burst moves whole bytes), got " + text(o.bus_width_bits));
  }
  if (o.burst_length < o.data_rate) {
    r.fail("burst_length", "must be a multiple of data_rate = " + text(o.data_rate) +
                               " (a burst fills whole tCK), got " + text(o.burst_length));
  }
  // Derived counts are 32-bit and the capacity 64-bit: reject sizes that would overflow them.
  const double u32_max = std::numeric_limits<std::uint32_t>::max();
  const double interfaces = double(o.stacks) * o.channels_per_stack * o.pseudo_channels;
  const double banks = double(o.bank_groups) * o.banks_per_group;
  const double row_bytes = double(o.columns) * (o.bus_width_bits / 8) * o.burst_length;
  if (interfaces > u32_max || banks > u32_max || row_bytes > u32_max ||
      interfaces * banks * o.rows * row_bytes > 0x1p62) {
    r.fail("rows",
           "the organization is too large (capacity, pseudo channels, banks or row "
           "bytes overflow their counters)");
  }
}

// Cross-parameter constraints; each error names the key that breaks it and the bound.
void validate_timing(const Reader& r, const Organization& o, const Timing& t) {
  const auto at_least = [&r](const char* key, std::uint64_t value, std::uint64_t bound,
                             const std::string& bound_text, const std::string& why) {
    if (value < bound) {
      r.fail(key, "must be >= " + bound_text + " (" + why + "), got " + text(value));
    }
  };
  const std::uint32_t burst_ck = o.burst_length / o.data_rate;
  if (t.tBL != burst_ck) {
    r.fail("tBL", "must equal burst_length / data_rate = " + text(o.burst_length) + " / " +
                      text(o.data_rate) + " = " + text(burst_ck) +
                      " (data bus cycles of one burst), got " + text(t.tBL));
  }
  at_least("tRAS", t.tRAS, t.tRCDRD, "tRCDRD = " + text(t.tRCDRD),
           "a row is read before it may close");
  at_least("tRC", t.tRC, std::uint64_t(t.tRAS) + t.tRP,
           "tRAS + tRP = " + text(t.tRAS) + " + " + text(t.tRP) + " = " +
               text(std::uint64_t(t.tRAS) + t.tRP),
           "ACT to ACT of one bank spans its open and precharge times");
  at_least("tCCD_S", t.tCCD_S, t.tBL, "tBL = " + text(t.tBL),
           "bursts may not overlap on the data bus");
  at_least("tCCD_L", t.tCCD_L, t.tCCD_S, "tCCD_S = " + text(t.tCCD_S),
           "the same bank group is never faster than another one");
  at_least("tRRD_L", t.tRRD_L, t.tRRD_S, "tRRD_S = " + text(t.tRRD_S),
           "the same bank group is never faster than another one");
  at_least("tWTR_L", t.tWTR_L, t.tWTR_S, "tWTR_S = " + text(t.tWTR_S),
           "the same bank group is never faster than another one");
  at_least("tFAW", t.tFAW, t.tRRD_S, "tRRD_S = " + text(t.tRRD_S),
           "the four-activate window holds at least two ACTs");
  if (t.tREFI <= t.tRFC) {
    r.fail("tREFI", "must be > tRFC = " + text(t.tRFC) +
                        " (refresh would occupy the whole interval), got " + text(t.tREFI));
  }
  if (t.tRFCpb >= t.tRFC) {
    r.fail("tRFCpb", "must be < tRFC = " + text(t.tRFC) +
                         " (one bank refreshes faster than all), or 0 for no per-bank "
                         "refresh, got " +
                         text(t.tRFCpb));
  }
}

// " Refined in the config: timing_ck.tRCDRD = 15." for every value that differs from `base`.
std::string refinements(const DramSpec& base, const DramSpec& s) {
  std::string out;
  const auto add = [&out](const std::string& key, const std::string& value) {
    out += (out.empty() ? "" : ", ") + key + " = " + value;
  };
  if (s.timing.clock_mhz != base.timing.clock_mhz) add("clock_mhz", text_real(s.timing.clock_mhz));
  for (const auto& f : kOrgFields) {
    if (s.org.*f.member != base.org.*f.member) {
      add(std::string("organization.") + f.key, text(std::uint64_t(s.org.*f.member)));
    }
  }
  for (const auto& f : kTimingFields) {
    if (s.timing.*f.member != base.timing.*f.member) {
      add(std::string("timing_ck.") + f.key, text(std::uint64_t(s.timing.*f.member)));
    }
  }
  for (const auto& f : kEnergyFields) {
    if (s.energy.*f.member != base.energy.*f.member) {
      add(std::string("energy_pj.") + f.key, text_real(s.energy.*f.member));
    }
  }
  return out.empty() ? out : " Refined in the config: " + out + ".";
}

DramSpec read_device(Reader& dev) {
  std::optional<DramSpec> base;
  if (dev.has("preset")) base = preset(dev.choice("preset", preset_names()));

  DramSpec s;
  s.name = base ? base->name : "custom";
  s.source = base ? base->source : "custom device from the config";

  Reader org = dev.child("organization");
  for (const auto& f : kOrgFields) {
    s.org.*f.member =
        read_u32(org, f.key, f.check, from_base(base ? &(base->org.*f.member) : nullptr), f.max);
  }
  org.finish();
  validate_organization(org, s.org);

  s.timing.clock_mhz =
      dev.clock_mhz("clock_mhz", from_base(base ? &base->timing.clock_mhz : nullptr));

  Reader timing = dev.child("timing_ck");
  for (const auto& f : kTimingFields) {
    std::optional<std::uint64_t> def;
    if (f.member == &Timing::tBL) {
      def = s.org.burst_length / s.org.data_rate;  // derived, whether or not there is a preset
    } else if (base) {
      def = base->timing.*f.member;
    } else if (f.zero_default) {
      def = 0;
    }
    s.timing.*f.member = read_u32(timing, f.key, f.check, def);
  }
  timing.finish();
  validate_timing(timing, s.org, s.timing);

  Reader energy = dev.child("energy_pj");
  for (const auto& f : kEnergyFields) {
    s.energy.*f.member =
        energy.non_negative(f.key, from_base(base ? &(base->energy.*f.member) : nullptr));
  }
  energy.finish();

  if (base) s.source += refinements(*base, s);
  return s;
}

}  // namespace

DramSpec parse_device(config::Reader& memory) {
  if (memory.is_object("device")) {
    Reader dev = memory.child("device");
    DramSpec s = read_device(dev);
    dev.finish();
    return s;
  }
  // A preset name; anything else that is not an object fails here, listing the presets.
  const std::string name = memory.choice("device", preset_names());
  const config::Json shorthand = {{"preset", name}};
  Reader dev = memory.child_from("device", shorthand);
  DramSpec s = read_device(dev);
  dev.finish();
  return s;
}

}  // namespace llmsim::hbm
