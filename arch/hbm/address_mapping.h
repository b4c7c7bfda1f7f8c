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
//
// Interface hash (memory.interface_hash): with "rotate", the interface the fields name is
// rotated by the address's other fields: interface = (ch * pseudo_channels + pc + r) mod
// interfaces, where r is the number formed by the fields other than ch and pc (in the mapping's
// order) mod interfaces. For a given (bank group, bank, row, column) that is a rotation, so the
// mapping stays one to one. When ch and pc are the least significant fields, r is the burst
// index divided by the number of interfaces: a sequential stream still visits every interface
// once per round, and a strided one (a tile's rows, whose pitch is a multiple of a few
// interfaces' worth of bursts) no longer lands on the same few interfaces in every row -- the
// partition camping that GPU memory systems hash addresses against. "none" (the default)
// keeps the plain mapping.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "arch/hbm/dram_spec.h"

namespace llmsim::hbm {

enum class InterfaceHash { none, rotate };

struct DecodedAddress {
  std::uint32_t interface = 0;  // channel * pseudo_channels + pseudo channel
  std::uint32_t bank_group = 0, bank = 0, row = 0, column = 0;
};

class AddressMapping {
 public:
  enum class Field { ch, pc, bg, ba, ro, co };

  // Throws ConfigError naming `key_path` if `mapping` is not a permutation of the six fields.
  AddressMapping(const std::string& mapping, const Organization& org, const std::string& key_path,
                 InterfaceHash hash = InterfaceHash::none);

  // Throws WorkloadError if `addr` lies beyond the memory's capacity.
  DecodedAddress decode(std::uint64_t addr) const {
    DecodedAddress d = decode_fields(addr);
    if (m_hash == InterfaceHash::rotate) d.interface = rotated(d.interface, rotation(d));
    return d;
  }
  std::uint32_t burst_bytes() const { return m_burst_bytes; }
  const std::string& name() const { return m_name; }
  // The interleaving period: the smallest shift of an address, a multiple of one row of every
  // bank on every interface, that keeps its interface, bank group, bank and column (the row
  // moves on by a constant). Two buffers whose starts differ by a multiple of it meet the
  // memory alike. It is the span of the fields below the row field, times the rows after
  // which the interface hash's rotation comes round again; with fields above the row, a shift
  // keeps them too unless the row number wraps.
  std::uint64_t period_bytes() const;

  static std::vector<std::string> presets();  // documented examples; any permutation is valid

 private:
  friend class BurstCursor;

  // decode() before the interface hash: the interface the ch and pc fields name.
  DecodedAddress decode_fields(std::uint64_t addr) const {
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
  // decode_fields() when some count is not a power of two (or `addr` is out of range).
  DecodedAddress decode_mixed_radix(std::uint64_t addr) const;
  // The hash's rotation r of an address with these bank group, bank, row and column.
  std::uint32_t rotation(const DecodedAddress& d) const {
    return std::uint32_t((d.bank_group * m_weight[int(Field::bg)] + d.bank * m_weight[int(Field::ba)] +
                          d.row * m_weight[int(Field::ro)] + d.column * m_weight[int(Field::co)]) %
                         m_interfaces);
  }
  // Interface `raw` (ch * pseudo_channels + pc) rotated by r < interfaces.
  std::uint32_t rotated(std::uint32_t raw, std::uint32_t r) const {
    const std::uint32_t i = raw + r;
    return i >= m_interfaces ? i - m_interfaces : i;
  }

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
  InterfaceHash m_hash = InterfaceHash::none;
  std::uint32_t m_interfaces = 1;
  // Indexed by Field: a field's place value, mod interfaces, in the number formed by the
  // fields other than ch and pc (0 for ch and pc).
  std::array<std::uint64_t, 6> m_weight{};
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

  // A jump over a fixed number of bursts, decomposed once into the mapping's digits, so that
  // a DMA block's rows (a fixed pitch apart) are each found by a digit-wise add instead of a
  // decode().
  struct Step {
    std::uint64_t bursts = 0;
    std::array<std::uint32_t, 6> digit{};  // indexed by Field
    bool beyond = false;                   // at least the memory's whole capacity
  };
  static Step step(const AddressMapping& mapping, std::uint64_t bursts);
  // Moves `s.bursts` bursts forward. Throws WorkloadError if that lies beyond the capacity.
  void advance(const Step& s);

 private:
  using Field = AddressMapping::Field;
  void set(Field f, std::uint32_t v);
  // m_decoded from m_value (and the hash).
  void refresh();
  // m_decoded.interface from ch and pc, rotated by the hash; its rotation is recomputed when
  // bank group, bank, row or column changed.
  void set_interface(bool other_fields_changed);

  const AddressMapping& m_mapping;
  std::uint64_t m_addr;                    // first byte of the current burst
  std::array<std::uint32_t, 6> m_value{};  // indexed by Field, before the interface hash
  std::uint32_t m_rotation = 0;            // the hash's r for the current burst
  DecodedAddress m_decoded;
};

// Calls f(decoded burst) for the bursts of a 2-D block (`rows` rows of `row_bytes` bytes, row r
// at addr + r * stride_bytes) in the order a DMA engine walks it: row by row, each row's bursts
// in address order, decoded as a counter (BurstCursor, no division); rows a whole number of
// bursts apart start one BurstCursor::Step after the other. Throws WorkloadError as decode()
// does for a burst beyond the capacity.
template <class F>
void for_each_burst(const AddressMapping& m, std::uint64_t addr, std::uint64_t rows,
                    std::uint64_t row_bytes, std::uint64_t stride_bytes, F&& f) {
  const std::uint64_t burst = m.burst_bytes();
  if (rows == 0 || row_bytes == 0) return;
  const bool stepped = rows > 1 && stride_bytes % burst == 0;
  const BurstCursor::Step step =
      stepped ? BurstCursor::step(m, stride_bytes / burst) : BurstCursor::Step{};
  std::optional<BurstCursor> row_start;
  for (std::uint64_t row = 0; row < rows; ++row) {
    const std::uint64_t begin = addr + row * stride_bytes, end = begin + row_bytes;
    std::uint64_t a = begin / burst * burst;
    if (stepped) {
      if (row_start) {
        row_start->advance(step);
      } else {
        row_start.emplace(m, a);
      }
    }
    BurstCursor c = stepped ? *row_start : BurstCursor(m, a);
    for (;;) {
      f(*c);
      a += burst;
      if (a >= end) break;
      c.next();
    }
  }
}

}  // namespace llmsim::hbm
