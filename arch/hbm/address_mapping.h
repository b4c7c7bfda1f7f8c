#pragma once
// Physical address -> (interface, bank group, bank, row, column). The mapping names the fields
// from the most to the least significant, separated by '_':
//   ch  channel (over all stacks)   pc  pseudo channel   bg  bank group   ba  bank
//   ro  row                          co  column (in bursts)
// Below the least significant field sits the byte offset within one burst. The decomposition
// is mixed-radix (div/mod by each field's count), so counts need not be powers of two (three
// stacks give 24 channels). Default "ro_ba_bg_co_pc_ch": consecutive bursts go to consecutive
// channels, then pseudo channels, then columns of the same row (a sequential stream keeps every
// interface busy and hits open rows).
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "arch/hbm/dram_spec.h"

namespace llmsim::hbm {

struct DecodedAddress {
  std::uint32_t interface = 0;  // channel * pseudo_channels + pseudo channel
  std::uint32_t bank_group = 0, bank = 0, row = 0, column = 0;
};

class AddressMapping {
 public:
  enum class Field { ch, pc, bg, ba, ro, co };

  // Throws ConfigError naming `key_path` if `mapping` is not a permutation of the six fields.
  AddressMapping(const std::string& mapping, const Organization& org, const std::string& key_path);

  // Throws WorkloadError if `addr` lies beyond the memory's capacity.
  DecodedAddress decode(std::uint64_t addr) const {
    if (m_pow2 && addr < m_capacity) {
      // Every count a power of two: each field is (addr >> shift) & mask.
      auto field = [this, addr](Field f) {
        return std::uint32_t((addr >> m_shift[int(f)]) & m_mask[int(f)]);
      };
      DecodedAddress d;
      d.interface = field(Field::ch) << m_bits[int(Field::pc)] | field(Field::pc);
      d.bank_group = field(Field::bg);
      d.bank = field(Field::ba);
      d.row = field(Field::ro);
      d.column = field(Field::co);
      return d;
    }
    return decode_mixed_radix(addr);
  }
  std::uint32_t burst_bytes() const { return m_burst_bytes; }
  const std::string& name() const { return m_name; }

  static std::vector<std::string> presets();  // documented examples; any permutation is valid

 private:
  friend class BurstCursor;

  // decode() when some count is not a power of two (or `addr` is out of range).
  DecodedAddress decode_mixed_radix(std::uint64_t addr) const;

  std::string m_name;
  std::uint32_t m_burst_bytes;
  std::uint64_t m_capacity;
  std::vector<Field> m_lsb_first;          // fields from least to most significant
  std::array<std::uint64_t, 6> m_count{};  // indexed by Field
  // Fast path when every count is a power of two: each field is (addr >> shift) & mask,
  // independently of the others.
  bool m_pow2 = false;
  std::array<std::uint32_t, 6> m_shift{};  // indexed by Field: bit position of the field
  std::array<std::uint64_t, 6> m_mask{};   // indexed by Field: count - 1
  std::array<std::uint32_t, 6> m_bits{};   // indexed by Field: log2(count) for powers of two
};

// Decodes a run of consecutive bursts without dividing: decode() for the first, then each next
// burst adds one to the least significant field and carries into the more significant ones
// (a mixed-radix counter). Gives what decode() gives for every burst.
class BurstCursor {
 public:
  // At the burst holding `addr`. Throws WorkloadError as decode() does. `mapping` must outlive
  // the cursor.
  BurstCursor(const AddressMapping& mapping, std::uint64_t addr);

  const DecodedAddress& operator*() const { return m_decoded; }
  const DecodedAddress* operator->() const { return &m_decoded; }
  // Moves to the next burst. Throws WorkloadError if it lies beyond the memory's capacity.
  void next();

 private:
  using Field = AddressMapping::Field;
  void set(Field f, std::uint32_t v);

  const AddressMapping& m_mapping;
  std::uint64_t m_addr;                    // first byte of the current burst
  std::array<std::uint32_t, 6> m_value{};  // indexed by Field
  DecodedAddress m_decoded;
};

}  // namespace llmsim::hbm
