#include "arch/hbm/request_queue.h"

#include "sim/core/error.h"

namespace llmsim::hbm {

RequestQueue::RequestQueue(std::uint32_t capacity, std::uint32_t banks)
    : m_slots(capacity), m_banks(banks), m_capacity(capacity) {
  LLMSIM_CHECK(banks <= 64, "HBM request queue: bank masks hold at most 64 banks");
  LLMSIM_CHECK(capacity <= kMaxCapacity, "HBM request queue: too many slots");
  m_free.reserve(capacity);
  for (std::uint32_t i = capacity; i > 0; --i) m_free.push_back(static_cast<std::int32_t>(i - 1));
}

std::int32_t RequestQueue::push(const Request& r, std::uint64_t seq, std::uint32_t bank, bool hit) {
  LLMSIM_CHECK(!full(), "push to a full HBM request queue");
  const std::int32_t slot = m_free.back();
  m_free.pop_back();
  BankList& list = m_banks[bank];
  Entry& s = m_slots[slot];
  s.req = r;
  s.seq = seq;
  s.bank = static_cast<std::uint8_t>(bank);
  s.needed_act = false;
  s.needed_pre = false;
  s.prev = static_cast<std::int16_t>(list.tail);
  s.next = kNone;
  if (list.tail == kNone) {
    list.head = slot;
  } else {
    m_slots[list.tail].next = static_cast<std::int16_t>(slot);
  }
  list.tail = slot;
  ++list.count;
  m_nonempty |= std::uint64_t{1} << bank;
  if (hit) ++list.hits;
  ++m_size;
  return slot;
}

void RequestQueue::remove(std::int32_t slot, bool hit) {
  Entry& s = m_slots[slot];
  BankList& list = m_banks[s.bank];
  LLMSIM_CHECK(list.count > 0 && (!hit || list.hits > 0), "HBM request queue lists corrupt");
  if (s.prev == kNone) {
    list.head = s.next;
  } else {
    m_slots[s.prev].next = s.next;
  }
  if (s.next == kNone) {
    list.tail = s.prev;
  } else {
    m_slots[s.next].prev = s.prev;
  }
  if (--list.count == 0) m_nonempty &= ~(std::uint64_t{1} << s.bank);
  if (hit) --list.hits;
  --m_size;
  m_free.push_back(slot);
}

std::int32_t RequestQueue::oldest_hit(std::uint32_t bank, std::uint32_t row) const {
  for (std::int32_t s = m_banks[bank].head; s != kNone; s = m_slots[s].next) {
    if (m_slots[s].req.addr.row == row) return s;
  }
  LLMSIM_CHECK(false, "HBM request queue has no row hit where its count says one");
  return kNone;
}

void RequestQueue::on_open(std::uint32_t bank, std::uint32_t row) {
  std::uint32_t hits = 0;
  for (std::int32_t s = m_banks[bank].head; s != kNone; s = m_slots[s].next) {
    hits += m_slots[s].req.addr.row == row;  // no branch: hits and misses mix unpredictably
  }
  m_banks[bank].hits = hits;
}

}  // namespace llmsim::hbm
