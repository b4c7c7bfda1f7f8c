#pragma once
// Test support: a small HBM-like device whose timing parameters are all distinct, so that a test
// in which two parameters were mixed up fails. 4 bank groups x 2 banks (bank index =
// 2 * bank group + bank), 1024 rows, 32 columns of 32-byte bursts, 1 GHz.
#include <cstdint>

#include "arch/hbm/dram_spec.h"

namespace llmsim::test {

inline hbm::DramSpec distinct_spec(std::uint32_t tREFI = 3900) {
  hbm::DramSpec s;
  s.name = "distinct";
  s.org.bank_groups = 4;
  s.org.banks_per_group = 2;
  s.org.rows = 1024;
  s.org.columns = 32;
  s.org.bus_width_bits = 64;
  s.org.burst_length = 4;  // 32-byte bursts
  hbm::Timing& t = s.timing;
  t.clock_mhz = 1000;
  t.tBL = 2;
  t.tRCDRD = 15;
  t.tRCDWR = 11;
  t.tRP = 13;
  t.tRAS = 31;
  t.tRC = 47;
  t.tCL = 17;
  t.tCWL = 5;
  t.tCCD_S = 3;
  t.tCCD_L = 7;
  t.tRRD_S = 4;
  t.tRRD_L = 6;
  t.tFAW = 23;
  t.tWR = 19;
  t.tWTR_S = 9;
  t.tWTR_L = 12;
  t.tRTP = 8;
  t.tRTW = 1;
  t.tRFC = 101;
  t.tRFCpb = 53;
  t.tRREFD = 10;
  t.tREFI = tREFI;
  return s;
}

}  // namespace llmsim::test
