#pragma once
// One request queue (reads or writes) of a pseudo-channel controller: a fixed pool of slots and,
// per bank, a list of that bank's requests in arrival order with the number of them that hit
// the bank's open row. The scheduler only ever needs, per bank, the oldest request, the oldest
// row hit and whether any request hits, so a decision costs O(banks), not O(queue depth).
#include <cstdint>
#include <vector>

#include "arch/hbm/bank_timing.h"

namespace llmsim::hbm {

// A memory request as the controller sees it: one burst (one RD or WR) to one location.
struct Request {
  std::uint64_t id = 0;  // caller's tag
  bool write = false;
  BankAddress addr;
  std::uint64_t arrival = 0;  // tCK cycle the request entered the controller
  std::uint64_t done = 0;     // set by the controller: the cycle after the last data beat
};

class RequestQueue {
 public:
  static constexpr std::int32_t kNone = -1;

  // One cache line: a bank's list is walked at every ACT (on_open) and the scheduler reads the
  // entries it picks, so an entry never straddles two lines.
  struct alignas(64) Entry {
    Request req;
    std::uint64_t seq = 0;                    // enqueue order over both queues: smaller is older
    std::uint8_t bank = 0;                    // bank index within the pseudo channel
    bool needed_act = false;                  // an ACT was issued on its behalf (row miss)
    bool needed_pre = false;                  // a PRE was issued on its behalf (row conflict)
    std::int16_t prev = kNone, next = kNone;  // neighbours in its bank's list
  };
  static constexpr std::uint32_t kMaxCapacity = 1u << 15;  // slots fit an int16_t
  static_assert(sizeof(Entry) == 64, "a queue entry is one cache line");

  // Contract: banks <= 64, capacity <= kMaxCapacity.
  RequestQueue(std::uint32_t capacity, std::uint32_t banks);

  std::uint32_t size() const { return m_size; }
  std::uint32_t capacity() const { return m_capacity; }
  bool empty() const { return m_size == 0; }
  bool full() const { return m_size == m_capacity; }

  // Appends `r` to the list of `bank` (its bank index) with age `seq`; `hit` says whether it
  // hits the bank's open row. Returns its slot. Contract: !full(), seq larger than any queued
  // seq.
  std::int32_t push(const Request& r, std::uint64_t seq, std::uint32_t bank, bool hit);
  // Removes the request in `slot`; `hit` as it stands now.
  void remove(std::int32_t slot, bool hit);

  const Entry& entry(std::int32_t slot) const { return m_slots[slot]; }
  Entry& entry(std::int32_t slot) { return m_slots[slot]; }

  std::uint32_t count(std::uint32_t bank) const { return m_banks[bank].count; }
  // Bit b set when bank b has a request queued.
  std::uint64_t nonempty_mask() const { return m_nonempty; }
  std::uint32_t hits(std::uint32_t bank) const { return m_banks[bank].hits; }
  // The oldest request of `bank`, kNone if there is none.
  std::int32_t oldest(std::uint32_t bank) const { return m_banks[bank].head; }
  // The oldest request of `bank` to `row`. Contract: hits(bank) > 0 and `row` is open.
  std::int32_t oldest_hit(std::uint32_t bank, std::uint32_t row) const;

  // The bank opened `row` / was closed: recounts the hits of its requests.
  void on_open(std::uint32_t bank, std::uint32_t row);
  void on_close(std::uint32_t bank) { m_banks[bank].hits = 0; }

 private:
  struct BankList {
    std::int32_t head = kNone, tail = kNone;
    std::uint32_t count = 0;
    std::uint32_t hits = 0;
  };

  std::vector<Entry> m_slots;
  std::vector<std::int32_t> m_free;  // free slots, used as a stack
  std::vector<BankList> m_banks;
  std::uint32_t m_capacity;
  std::uint32_t m_size = 0;
  std::uint64_t m_nonempty = 0;
};

}  // namespace llmsim::hbm
