#include "arch/hbm/hbm_memory.h"

#include <algorithm>
#include <cstdint>

#include "sim/core/config.h"
#include "sim/core/error.h"

namespace llmsim::hbm {

HbmMemory::HbmMemory(const sc_core::sc_module_name& name, const HbmParams& p, stats::Group& parent,
                     const std::string& key_path)
    : sc_module(name),
      m_stats(parent, basename()),
      m_system(p, m_stats, key_path),
      m_clock(p.spec.timing.clock_mhz),
      m_held(m_system.interfaces(), false),
      m_due(m_system.interfaces(), kIdle),
      m_min_done_cycles(
          std::uint64_t{std::min(m_system.spec().timing.tCL, m_system.spec().timing.tCWL)} +
          m_system.spec().timing.tBL) {
  const Organization& o = m_system.spec().org;
  LLMSIM_CHECK(o.bank_groups <= 64 && o.banks_per_group <= 64 && o.columns <= (1u << 20),
               "hbm: organization too large for a port access word");
  sc_core::sc_spawn([this] { schedule(); }, "scheduler");
}

namespace {

// A port access word: bank group in bits 0-5, bank 6-11, column 12-31, row 32-63.
std::uint64_t pack(const DecodedAddress& d) {
  return std::uint64_t{d.bank_group} | std::uint64_t{d.bank} << 6 | std::uint64_t{d.column} << 12 |
         std::uint64_t{d.row} << 32;
}

BankAddress unpack(std::uint64_t w) {
  return {std::uint32_t(w & 63), std::uint32_t(w >> 6 & 63), std::uint32_t(w >> 32),
          std::uint32_t(w >> 12 & 0xfffff)};
}

}  // namespace

double HbmMemory::peak_bytes_per_second() const {
  return m_system.spec().peak_bytes_per_second();
}

double HbmMemory::idle_read_latency_seconds() const {
  const Timing& t = m_system.spec().timing;
  return double(t.tRCDRD + t.tCL + t.tBL) / (t.clock_mhz * 1e6);
}

void HbmMemory::finish() {
  const std::uint64_t end = m_clock.now().count();
  offer_arrivals();
  for (std::uint32_t i = 0; i < m_system.interfaces(); ++i) {
    ChannelController& c = m_system.controller(i);
    m_completed.clear();
    if (end > c.now()) c.advance(end, m_completed);
    LLMSIM_CHECK(
        m_completed.empty() && c.waiting() == 0 && c.queued_reads() == 0 && c.queued_writes() == 0,
        "HBM requests left at the end of the run");
    if (m_timeline) close_busy(i);
  }
}

void HbmMemory::trace_to(timeline::Timeline& tl) {
  m_timeline = &tl;
  const std::uint32_t pid = tl.process(basename());
  m_tracks.clear();
  for (std::uint32_t i = 0; i < m_system.interfaces(); ++i) {
    m_tracks.push_back(tl.track(pid, m_system.interface_name(i)));
  }
  m_busy_span = tl.kind("busy", {"read_bytes", "written_bytes", "data_cycles"});
  m_busy.assign(m_system.interfaces(), BusyPeriod{});
}

void HbmMemory::trace_busy(std::uint32_t i, const std::vector<Request>& completed) {
  const Timing& t = m_system.spec().timing;
  const std::uint64_t burst = m_system.mapping().burst_bytes();
  BusyPeriod& b = m_busy[i];
  for (const Request& r : completed) {
    const std::uint64_t data_start = r.done - t.tBL;
    if (b.data_cycles > 0 && data_start >= b.end + t.tRC) close_busy(i);
    if (b.data_cycles == 0) b.start = data_start;
    b.end = std::max(b.end, r.done);
    (r.write ? b.written_bytes : b.read_bytes) += burst;
    b.data_cycles += t.tBL;
  }
}

void HbmMemory::close_busy(std::uint32_t i) {
  BusyPeriod& b = m_busy[i];
  if (b.data_cycles == 0) return;
  m_timeline->span(m_tracks[i], m_busy_span, m_clock.to_time(Cycles(b.start)),
                   m_clock.to_time(Cycles(b.end)), -1,
                   {b.read_bytes, b.written_bytes, b.data_cycles});
  b = BusyPeriod{};
}

void HbmMemory::reschedule(std::uint32_t i) {
  const auto done = m_system.controller(i).earliest_done();
  m_due[i] = done ? *done - 1 : kIdle;
  // Arrivals held for a later cycle are not in the controller yet: keep their bound.
  if (m_held[i]) m_due[i] = std::min(m_due[i], held_bound());
}

void HbmMemory::retire(const std::vector<Request>& completed, const sc_core::sc_time& at) {
  // Handed out at the decision time of a cycle before its done cycle (m_due), so a requester
  // always learns of a completion before its data is there.
  for (const Request& r : completed) {
    LLMSIM_CHECK(m_clock.ticks(Cycles(r.done)) > at.value(), "HBM completion handed out late");
    Pending* p = reinterpret_cast<Pending*>(static_cast<std::uintptr_t>(r.id));
    LLMSIM_CHECK(p != nullptr && p->outstanding > 0, "HBM completion for an unknown request");
    p->last_done = std::max(p->last_done, r.done);
    if (--p->outstanding > 0) continue;
    if (p->all_done) {
      p->all_done->notify(sc_core::SC_ZERO_TIME);
    } else {
      m_free_pending.push_back(p);
      p->client->access_done(p->cookie, m_clock.to_time(Cycles(p->last_done)));
    }
  }
}

void HbmMemory::locate(const memory::Transfer& t, std::vector<Access>& out) const {
  for_each_burst(t, [&](const DecodedAddress& d) { out.push_back({d.interface, pack(d)}); });
}

void HbmMemory::access(std::uint32_t port, const std::uint64_t* words, std::size_t n, bool write,
                       std::uint32_t source, Client& client, std::uint64_t cookie,
                       const sc_core::sc_time& at) {
  LLMSIM_CHECK(port < m_due.size() && n > 0, "hbm: bad port access");
  if (m_free_pending.empty()) {
    m_pending.push_back(std::make_unique<Pending>());
    m_free_pending.push_back(m_pending.back().get());
  }
  Pending* p = m_free_pending.back();
  m_free_pending.pop_back();
  *p = Pending{n, 0, nullptr, &client, cookie};
  const std::uint64_t arrival = arrival_cycle(at);
  hold_requests(source, port, words, n, reinterpret_cast<std::uintptr_t>(p), write);
  hold(port, arrival);
}

std::uint64_t HbmMemory::arrival_cycle(const sc_core::sc_time& at) {
  const std::uint64_t a = m_clock.cycles_at_or_after(at).count();
  if (!m_arrivals.empty() && a != m_arrival_cycle) offer_arrivals();
  m_arrival_cycle = a;
  return a;
}

void HbmMemory::hold_requests(std::uint32_t source, std::uint32_t port, const std::uint64_t* words,
                              std::size_t n, std::uint64_t id, bool write) {
  const auto at = static_cast<std::uint32_t>(m_words.size());
  m_words.insert(m_words.end(), words, words + n);
  if (!m_arrivals.empty()) {
    Arrival& last = m_arrivals.back();
    if (last.source == source && last.port == port && last.id == id && last.write == write &&
        last.first + last.count == at) {
      last.count += static_cast<std::uint32_t>(n);
      return;
    }
  }
  m_arrivals.push_back({source, port, at, static_cast<std::uint32_t>(n), id, write});
}

void HbmMemory::hold(std::uint32_t i, std::uint64_t arrival) {
  if (m_held[i]) return;  // held arrivals share one cycle, so one bound
  m_held[i] = true;
  m_held_ports.push_back(i);
  // Nothing that arrived completes before arrival + the shorter data latency.
  m_due[i] = std::min(m_due[i], arrival + m_min_done_cycles - 1);
  wake_for(m_due[i]);
}

void HbmMemory::offer_arrivals() {
  if (m_arrivals.empty()) return;
  auto by_source = [](const Arrival& a, const Arrival& b) { return a.source < b.source; };
  if (!std::is_sorted(m_arrivals.begin(), m_arrivals.end(), by_source)) {
    // A counting sort: sources (cores) are few, and each keeps its arrival order.
    std::uint32_t sources = 0;
    for (const Arrival& a : m_arrivals) sources = std::max(sources, a.source + 1);
    m_source_start.assign(sources + 1, 0);
    for (const Arrival& a : m_arrivals) ++m_source_start[a.source + 1];
    for (std::uint32_t s = 0; s < sources; ++s) m_source_start[s + 1] += m_source_start[s];
    m_sorted.resize(m_arrivals.size());
    for (const Arrival& a : m_arrivals) m_sorted[m_source_start[a.source]++] = a;
    m_arrivals.swap(m_sorted);
  }
  Request r;
  r.arrival = m_arrival_cycle;
  for (const Arrival& a : m_arrivals) {
    ChannelController& c = m_system.controller(a.port);
    r.id = a.id;
    r.write = a.write;
    for (std::uint32_t k = a.first; k < a.first + a.count; ++k) {
      r.addr = unpack(m_words[k]);
      c.offer(r);
    }
  }
  m_arrivals.clear();
  m_words.clear();
  // The controller's bound covers the requests completed while catching up to the arrival too.
  for (const std::uint32_t i : m_held_ports) {
    m_held[i] = false;
    reschedule(i);
  }
  m_held_ports.clear();
}

void HbmMemory::wake_for(std::uint64_t cycle) {
  if (cycle < m_asleep_until) m_wake.notify(sc_core::SC_ZERO_TIME);
}

void HbmMemory::transfer(const memory::Transfer& t) {
  sc_core::sc_event all_done;
  Pending p;
  p.all_done = &all_done;
  const std::uint64_t arrival = arrival_cycle(sc_core::sc_time_stamp());
  const auto id = reinterpret_cast<std::uintptr_t>(&p);
  for_each_burst(t, [&](const DecodedAddress& d) {
    const std::uint64_t word = pack(d);
    hold_requests(t.source, d.interface, &word, 1, id, t.write);
    hold(d.interface, arrival);
    ++p.outstanding;
  });
  while (p.outstanding > 0) sc_core::wait(all_done);
  m_clock.wait_until(Cycles(p.last_done));
}

void HbmMemory::schedule() {
  // The earliest hand-out cycle over all interfaces: a scan of a few dozen integers. A transfer's
  // arrival may make it earlier; a wake-up computes the next one as it goes.
  std::uint64_t next = *std::min_element(m_due.begin(), m_due.end());
  for (;;) {
    if (next == kIdle) {
      m_asleep_until = kIdle;
      sc_core::wait(m_wake);
      m_asleep_until = 0;
      next = *std::min_element(m_due.begin(), m_due.end());
      continue;
    }
    const sc_core::sc_time at = m_clock.mid_cycle(next);
    const sc_core::sc_time now = sc_core::sc_time_stamp();
    // Sleep until `at` unless no other process can act before it (see the header).
    if (at > now && !kernel::quiet_through(at)) {
      m_asleep_until = next;
      m_wake.notify(at - now);
      sc_core::wait(m_wake);
      m_asleep_until = 0;
      if (sc_core::sc_time_stamp() < at) {  // a transfer arrived: decide again
        next = *std::min_element(m_due.begin(), m_due.end());
        continue;
      }
    }
    // This cycle's decisions see the requests that arrived by now, in source order.
    if (!m_arrivals.empty() && m_arrival_cycle <= next) offer_arrivals();
    // Every interface due by `next` issues its commands through cycle `next`, one interface
    // at a time, and hands out its completions. So does every interface due within the
    // shorter data latency after it: its next command is at or before `next` too (a due cycle
    // is at least that latency after the command), and no later arrival can change what
    // issues before next + 1 (arrivals enter at next + 1 or later), so serving it now saves a
    // wake-up. Their order does not matter: a response enters the network by its completion
    // time (NocFabric), and same-cycle arrivals enter the controllers in source order.
    const std::uint64_t horizon = next + m_min_done_cycles - 1;
    std::uint64_t following = kIdle;
    for (std::uint32_t i = 0; i < m_due.size(); ++i) {
      if (m_due[i] <= horizon) {
        m_completed.clear();
        m_system.controller(i).advance(next + 1, m_completed);
        if (m_timeline) trace_busy(i, m_completed);
        retire(m_completed, at);
        reschedule(i);
      }
      following = std::min(following, m_due[i]);
    }
    next = following;
  }
}

namespace {

std::unique_ptr<memory::MemoryBackend> make_hbm(const std::string& name, config::Reader& r,
                                                stats::Group& parent) {
  return std::make_unique<HbmMemory>(name.c_str(), HbmParams::parse(r), parent, r.path());
}

}  // namespace

LLMSIM_REGISTER(memory::MemoryRegistry, "hbm", make_hbm)

}  // namespace llmsim::hbm
