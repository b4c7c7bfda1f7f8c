#include "arch/hbm/address_mapping.h"

#include <algorithm>
#include <numeric>
#include <sstream>

#include "sim/core/error.h"
#include "sim/core/units.h"

namespace llmsim::hbm {

namespace {

constexpr const char* kNames[] = {"ch", "pc", "bg", "ba", "ro", "co"};

}  // namespace

std::vector<std::string> AddressMapping::presets() {
  return {"ro_ba_bg_co_pc_ch", "ro_co_ba_bg_pc_ch", "ro_ba_bg_pc_ch_co", "ch_pc_ro_ba_bg_co"};
}

AddressMapping::AddressMapping(const std::string& mapping, const Organization& org,
                               const std::string& key_path, InterfaceHash hash)
    : m_name(mapping),
      m_burst_bytes(org.burst_bytes()),
      m_capacity(org.capacity_bytes()),
      m_hash(hash) {
  m_count[int(Field::ch)] = std::uint64_t(org.stacks) * org.channels_per_stack;
  m_count[int(Field::pc)] = org.pseudo_channels;
  m_count[int(Field::bg)] = org.bank_groups;
  m_count[int(Field::ba)] = org.banks_per_group;
  m_count[int(Field::ro)] = org.rows;
  m_count[int(Field::co)] = org.columns;
  std::vector<Field> msb_first;
  std::stringstream ss(mapping);
  std::string part;
  while (std::getline(ss, part, '_')) {
    const auto it = std::find(std::begin(kNames), std::end(kNames), part);
    if (it == std::end(kNames)) {
      throw ConfigError(key_path + ": \"" + mapping + "\" has an unknown field \"" + part +
                        "\"; fields are ch, pc, bg, ba, ro, co, most significant first, e.g. " +
                        presets().front());
    }
    const Field f = Field(it - std::begin(kNames));
    if (std::find(msb_first.begin(), msb_first.end(), f) != msb_first.end()) {
      throw ConfigError(key_path + ": \"" + mapping + "\" names \"" + part + "\" twice");
    }
    msb_first.push_back(f);
  }
  if (msb_first.size() != 6) {
    throw ConfigError(key_path + ": \"" + mapping +
                      "\" must name each of ch, pc, bg, ba, ro, co exactly once");
  }
  m_lsb_first.assign(msb_first.rbegin(), msb_first.rend());
  m_interfaces = std::uint32_t(m_count[int(Field::ch)] * m_count[int(Field::pc)]);
  std::uint64_t place = 1;  // mod m_interfaces
  for (const Field f : m_lsb_first) {
    if (f == Field::ch || f == Field::pc) continue;
    m_weight[int(f)] = place;
    place = place * (m_count[int(f)] % m_interfaces) % m_interfaces;
  }
  auto log2 = [](std::uint64_t x) {
    std::uint32_t b = 0;
    while ((std::uint64_t(1) << b) < x) ++b;
    return b;
  };
  for (int f = 0; f < 6; ++f) m_bits[f] = is_power_of_two(m_count[f]) ? log2(m_count[f]) : 0;
  m_pow2 = is_power_of_two(m_burst_bytes);
  for (int f = 0; f < 6; ++f) m_pow2 = m_pow2 && is_power_of_two(m_count[f]);
  if (m_pow2) {
    std::uint32_t at = log2(m_burst_bytes);
    for (Field f : m_lsb_first) {
      m_shift[int(f)] = at;
      m_mask[int(f)] = m_count[int(f)] - 1;
      at += m_bits[int(f)];
    }
  }
}

std::uint64_t AddressMapping::period_bytes() const {
  std::uint64_t span = m_burst_bytes;
  for (const Field f : m_lsb_first) {
    if (f == Field::ro) break;
    span *= m_count[int(f)];
  }
  std::uint64_t rows = 1;
  if (m_hash == InterfaceHash::rotate) {
    // A row step rotates the interface by weight(ro) mod interfaces.
    rows = m_interfaces / std::gcd<std::uint64_t>(m_interfaces, m_weight[int(Field::ro)]);
  }
  return span * rows;
}

DecodedAddress AddressMapping::decode_mixed_radix(std::uint64_t addr) const {
  if (addr >= m_capacity) {
    throw WorkloadError("address " + std::to_string(addr) + " lies beyond the memory capacity of " +
                        std::to_string(m_capacity) + " bytes");
  }
  // Shift and mask the power-of-two fields, divide only by the others.
  std::array<std::uint64_t, 6> v{};
  std::uint64_t rest = addr / m_burst_bytes;
  for (Field f : m_lsb_first) {
    const int i = int(f);
    if (is_power_of_two(m_count[i])) {
      v[i] = rest & (m_count[i] - 1);
      rest >>= m_bits[i];
    } else {
      v[i] = rest % m_count[i];
      rest /= m_count[i];
    }
  }
  DecodedAddress d;
  d.interface = std::uint32_t(v[int(Field::ch)] * m_count[int(Field::pc)] + v[int(Field::pc)]);
  d.bank_group = std::uint32_t(v[int(Field::bg)]);
  d.bank = std::uint32_t(v[int(Field::ba)]);
  d.row = std::uint32_t(v[int(Field::ro)]);
  d.column = std::uint32_t(v[int(Field::co)]);
  return d;
}

BurstCursor::BurstCursor(const AddressMapping& mapping, std::uint64_t addr)
    : m_mapping(mapping),
      m_addr(addr / mapping.m_burst_bytes * mapping.m_burst_bytes),
      m_decoded(mapping.decode_fields(addr)) {
  const std::uint32_t pcs = std::uint32_t(mapping.m_count[int(Field::pc)]);
  m_value[int(Field::ch)] = m_decoded.interface / pcs;
  m_value[int(Field::pc)] = m_decoded.interface % pcs;
  m_value[int(Field::bg)] = m_decoded.bank_group;
  m_value[int(Field::ba)] = m_decoded.bank;
  m_value[int(Field::ro)] = m_decoded.row;
  m_value[int(Field::co)] = m_decoded.column;
  set_interface(true);
}

void BurstCursor::set(Field f, std::uint32_t v) {
  m_value[int(f)] = v;
  switch (f) {
    case Field::ch:
    case Field::pc:
      break;
    case Field::bg:
      m_decoded.bank_group = v;
      break;
    case Field::ba:
      m_decoded.bank = v;
      break;
    case Field::ro:
      m_decoded.row = v;
      break;
    case Field::co:
      m_decoded.column = v;
      break;
  }
  set_interface(f != Field::ch && f != Field::pc);
}

BurstCursor::Step BurstCursor::step(const AddressMapping& mapping, std::uint64_t bursts) {
  Step s;
  s.bursts = bursts;
  std::uint64_t rest = bursts;
  for (const Field f : mapping.m_lsb_first) {
    const std::uint64_t n = mapping.m_count[int(f)];
    s.digit[int(f)] = std::uint32_t(rest % n);
    rest /= n;
  }
  s.beyond = rest > 0;
  return s;
}

void BurstCursor::advance(const Step& s) {
  m_addr += s.bursts * m_mapping.m_burst_bytes;
  std::uint32_t carry = 0;
  for (const Field f : m_mapping.m_lsb_first) {
    const std::uint64_t n = m_mapping.m_count[int(f)];
    std::uint64_t v = std::uint64_t{m_value[int(f)]} + s.digit[int(f)] + carry;
    carry = v >= n;
    if (carry) v -= n;
    m_value[int(f)] = std::uint32_t(v);
  }
  if (carry || s.beyond) {
    m_mapping.decode(m_addr);  // beyond the capacity, which throws
    LLMSIM_CHECK(false, "HBM burst cursor wrapped within the capacity");
  }
  refresh();
}

void BurstCursor::refresh() {
  m_decoded.bank_group = m_value[int(Field::bg)];
  m_decoded.bank = m_value[int(Field::ba)];
  m_decoded.row = m_value[int(Field::ro)];
  m_decoded.column = m_value[int(Field::co)];
  set_interface(true);
}

void BurstCursor::set_interface(bool other_fields_changed) {
  const std::uint32_t raw =
      m_value[int(Field::ch)] * std::uint32_t(m_mapping.m_count[int(Field::pc)]) +
      m_value[int(Field::pc)];
  if (m_mapping.m_hash == InterfaceHash::none) {
    m_decoded.interface = raw;
    return;
  }
  if (other_fields_changed) m_rotation = m_mapping.rotation(m_decoded);
  m_decoded.interface = m_mapping.rotated(raw, m_rotation);
}

void BurstCursor::next() {
  m_addr += m_mapping.m_burst_bytes;
  for (const Field f : m_mapping.m_lsb_first) {
    const std::uint32_t v = m_value[int(f)] + 1;
    if (v < m_mapping.m_count[int(f)]) {
      set(f, v);
      return;
    }
    set(f, 0);  // carry into the next field
  }
  m_mapping.decode(m_addr);  // every field wrapped: beyond the capacity, which throws
  LLMSIM_CHECK(false, "HBM burst cursor wrapped within the capacity");
}

}  // namespace llmsim::hbm
