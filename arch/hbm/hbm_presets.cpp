// HBM device presets. Timing is in tCK of each preset's command clock; where a source gives
// nanoseconds the value is rounded up to whole tCK (JEDEC rounding).
//
// Sources, cited by short name below:
//  [JESD235]  JEDEC JESD235A-D, High Bandwidth Memory (HBM) DRAM: 8 x 128-bit channels per stack,
//             pseudo-channel mode (2 x 64 bits, BL4, 1 KB page per pseudo channel), 4 bank groups
//             of 4 banks, tREFI 3.9 us, single-bank refresh (REFSB).
//  [JESD238]  JEDEC JESD238/238A, HBM3 DRAM: 16 x 64-bit channels of 2 x 32-bit pseudo channels,
//             BL8, CK at a quarter of the pin data rate, per-bank refresh.
//  [DRAMsim3] umd-memsys/DRAMsim3 configs/HBM2_8Gb_x128.ini (tCK 1 ns): CL 14, CWL 4,
//             tRCDRD/tRCDWR/tRP 14, tRAS 34, tRRD_S/L 4/6, tWTR_S/L 6/8, tFAW 30, tWR 16,
//             tRTP_S 4, tRFC 260, tREFI 3900; VDD 1.2 V, IDD0 65, IDD2N 40, IDD3N 55,
//             IDD4R 390, IDD4W 500, IDD5AB 250 mA per 128-bit channel. tRC = tRAS + tRP there.
//  [gem5]     gem5 src/mem/DRAMInterface.py HBM_2000_4H_1x64: one HBM2 pseudo channel at 1 GHz,
//             4H stack of 8 Gb dies, 256 MiB and a 1 KiB row per pseudo channel, 16 banks.
//  [Ram2]     CMU-SAFARI/ramulator2 src/dram/impl/HBM2.cpp / HBM3.cpp: RD -> WR is
//             CL + BL + 2 - CWL; tRFC by channel density (4 Gb 260, 8 Gb 350, 16 Gb 450 ns);
//             HBM2 REFSB tRFCSB 160 ns, tRREFD 8 ns; the JESD238A-based HBM3 revision
//             (HBM3_6.4Gbps: tCK = 4 / rate = 0.625 ns, nBL 2, nCCDS/L 2/4, nRFCSB 320 tCK,
//             nRREFD 13, the DRAMsim3 HBM2 nanoseconds re-rounded at 0.625 ns).
//  [FGDRAM]   O'Connor et al., "Fine-Grained DRAM", MICRO 2017: ~3.9 pJ/bit per HBM2 access.
//
// Energy method (DRAMsim3's and DRAMPower's IDD formulas, V x mA x ns = pJ) on [DRAMsim3]'s
// per-channel currents:
//   ACT+PRE  VDD (IDD0 tRC - IDD3N tRAS - IDD2N tRP) = 1.2 (65*48 - 55*34 - 40*14) = 828 pJ for
//            the 2 KB legacy page; a pseudo channel opens 1 KB: 414 pJ (estimate: halved).
//   RD       VDD (IDD4R - IDD3N) tBurst = 1.2 * 335 * 2 = 804 pJ per 64 B = 1.57 pJ/bit.
//   WR       VDD (IDD4W - IDD3N) tBurst = 1.2 * 445 * 2 = 1068 pJ per 64 B = 2.09 pJ/bit.
//   REFab    VDD (IDD5AB - IDD3N) tRFC / 2 pseudo channels = 1.2 * 195 * tRFC_ns / 2 pJ.
//   standby  VDD IDD3N / 2 = 1.2 * 55 / 2 = 33 mW per pseudo channel (active standby).
// These are DRAM-side; 1.57 pJ/bit streaming plus 414 pJ per 32 B burst opened spans
// 1.6-3.2 pJ/bit, the order of [FGDRAM]'s ~3.9 pJ/bit for HBM2 (which includes more I/O).
#include "arch/hbm/dram_spec.h"

#include "sim/core/error.h"

namespace llmsim::hbm {

namespace {

// Pseudo-channel organisation shared by the presets: 4 bank groups x 4 banks, a 1 KB page
// [JESD235] [JESD238] [gem5]. Stack IDs (8-Hi and taller) are folded into rows, which keeps the
// capacity and the per-bank timing but not the extra banks of the second stack ID.
Organization pseudo_channel_org(std::uint32_t channels, std::uint32_t bus_width_bits,
                                std::uint32_t burst_length, std::uint32_t data_rate,
                                std::uint32_t rows) {
  Organization o;
  o.stacks = 1;
  o.channels_per_stack = channels;
  o.pseudo_channels = 2;
  o.bank_groups = 4;
  o.banks_per_group = 4;
  o.rows = rows;
  o.bus_width_bits = bus_width_bits;
  o.burst_length = burst_length;
  o.data_rate = data_rate;
  o.columns = 1024 / o.burst_bytes();  // 1 KB page
  return o;
}

// [DRAMsim3]'s HBM2 core timings (ns), re-rounded up at tCK = 0.625 ns (1600 MHz), as [Ram2]'s
// JESD238A-based HBM3 preset does; tRC kept at tRAS + tRP (78, where separate rounding gives 77).
Timing timing_at_1600mhz() {
  Timing t;
  t.clock_mhz = 1600;
  t.tBL = 2;
  t.tRCDRD = 23, t.tRCDWR = 23;  // 14 ns
  t.tRP = 23;                    // 14 ns
  t.tRAS = 55;                   // 34 ns
  t.tRC = 78;                    // tRAS + tRP
  t.tCL = 23;                    // 14 ns
  t.tCWL = 7;                    // 4 ns
  t.tCCD_S = 2, t.tCCD_L = 4;    // tBL, 2 x tCCD_S [Ram2]
  t.tRRD_S = 7, t.tRRD_L = 10;   // 4 / 6 ns
  t.tFAW = 48;                   // 30 ns
  t.tWR = 26;                    // 16 ns
  t.tWTR_S = 10, t.tWTR_L = 13;  // 6 / 8 ns
  t.tRTP = 7;                    // 4 ns
  t.tRTW = 2;                    // [Ram2] RD -> WR = CL + BL + 2 - CWL
  t.tREFI = 6240;                // 3.9 us
  t.tRFCpb = 320;                // 200 ns [Ram2] HBM3
  t.tRREFD = 13;                 // 8 ns
  return t;
}

DramSpec hbm2() {
  DramSpec s;
  s.name = "HBM2";
  s.source =
      "HBM2, 2.0 Gb/s/pin, 4H stack of 8 Gb dies in pseudo-channel mode: organisation from JEDEC "
      "JESD235A and gem5 HBM_2000_4H_1x64; timing from DRAMsim3 configs/HBM2_8Gb_x128.ini "
      "(tCK 1 ns) with Ramulator2 HBM2.cpp for single-bank refresh and RD->WR turnaround; "
      "energy from DRAMsim3's HBM2 IDD values by the DRAMsim3/DRAMPower formulas (ACT per 1 KB "
      "page halved from the 2 KB legacy page: estimate), cf. O'Connor et al. MICRO 2017.";
  // 8 channels x 2 pseudo channels x 64 bits, BL4 at DDR: 16 x 16 banks x 16384 rows x 1 KB
  // = 4 GiB; 16 x 8 B x 2 x 1 GHz = 256 GB/s [JESD235] [gem5].
  s.org = pseudo_channel_org(8, 64, 4, 2, 1u << 14);

  Timing& t = s.timing;
  t.clock_mhz = 1000;            // 2.0 Gb/s DDR
  t.tBL = 2;                     // BL4 / 2
  t.tRCDRD = 14, t.tRCDWR = 14;  // [DRAMsim3]
  t.tRP = 14;                    // [DRAMsim3]
  t.tRAS = 34;                   // [DRAMsim3]
  t.tRC = 48;                    // tRAS + tRP [DRAMsim3]
  t.tCL = 14, t.tCWL = 4;        // [DRAMsim3]
  t.tCCD_S = 2;                  // = tBL in pseudo-channel mode [JESD235]
  t.tCCD_L = 4;                  // 2 x tCCD_S, [DRAMsim3]'s L/S ratio
  t.tRRD_S = 4, t.tRRD_L = 6;    // [DRAMsim3], [gem5]
  t.tFAW = 30;                   // [DRAMsim3]
  t.tWR = 16;                    // [DRAMsim3]
  t.tWTR_S = 6, t.tWTR_L = 8;    // [DRAMsim3]
  t.tRTP = 4;                    // tRTP_S [DRAMsim3]
  t.tRTW = 2;                    // [Ram2]
  t.tRFC = 260;                  // 4 Gb per channel [DRAMsim3] [gem5] [Ram2]
  t.tRFCpb = 160;                // REFSB [Ram2]
  t.tRREFD = 8;                  // [Ram2]
  t.tREFI = 3900;                // 3.9 us [JESD235]

  // Derivations in the file comment, at tRFC 260 ns.
  s.energy = {414, 1.57, 2.09, 30420, 33};
  return s;
}

DramSpec hbm2e() {
  DramSpec s;
  s.name = "HBM2E";
  s.source =
      "HBM2E, 3.2 Gb/s/pin (Samsung Flashbolt class), 8H stack of 16 Gb dies: JEDEC JESD235C/D "
      "organisation; timing is DRAMsim3's HBM2_8Gb_x128 nanoseconds re-rounded at tCK 0.625 ns "
      "(the method of Ramulator2's JESD238A-based HBM3 preset), tRFC 450 ns for 16 Gb per "
      "channel from Ramulator2's JESD table, per-bank refresh as HBM3 (estimate); energy held at "
      "the HBM2 values (same 1.2 V, 1 KB page: estimate) with refresh scaled by tRFC.";
  // 16 pseudo channels x 16 banks x 65536 rows x 1 KB = 16 GiB; 16 x 8 B x 2 x 1.6 GHz =
  // 409.6 GB/s [JESD235].
  s.org = pseudo_channel_org(8, 64, 4, 2, 1u << 16);
  s.timing = timing_at_1600mhz();
  s.timing.tRFC = 720;  // 450 ns [Ram2]
  // Refresh 1.2 * 195 * 450 / 2 = 52650 pJ.
  s.energy = {414, 1.57, 2.09, 52650, 33};
  return s;
}

DramSpec hbm3() {
  DramSpec s;
  s.name = "HBM3";
  s.source =
      "HBM3, 6.4 Gb/s/pin, 16 GB stack: JEDEC JESD238A organisation (16 channels x 2 pseudo "
      "channels x 32 bits, BL8, CK = data rate / 4 = 1.6 GHz) and Ramulator2's JESD238A-based "
      "HBM3_6.4Gbps preset (DRAMsim3 HBM2 nanoseconds at 0.625 ns, per-bank refresh); tRFC "
      "350 ns for 8 Gb per channel; energy is the HBM2 values scaled by (1.1 V / 1.2 V)^2 "
      "(estimate).";
  // 32 pseudo channels x 32 bits, BL8 at 4 beats per tCK (32 B per burst, 2 tCK):
  // 32 x 16 banks x 32768 rows x 1 KB = 16 GiB; 32 x 4 B x 4 x 1.6 GHz = 819.2 GB/s [JESD238].
  s.org = pseudo_channel_org(16, 32, 8, 4, 1u << 15);
  s.timing = timing_at_1600mhz();
  s.timing.tRFC = 560;  // 350 ns [Ram2]
  // (1.1 / 1.2)^2 = 0.840: ACT 414 -> 348 pJ, RD 1.57 -> 1.32, WR 2.09 -> 1.75 pJ/bit,
  // REFab 1.2 * 195 * 350 / 2 * 0.840 = 34400 pJ; standby 33 * 1.1 / 1.2 = 30 mW.
  s.energy = {348, 1.32, 1.75, 34400, 30};
  return s;
}

}  // namespace

std::vector<std::string> preset_names() {
  return {"HBM2", "HBM2E", "HBM3"};
}

DramSpec preset(const std::string& name) {
  if (name == "HBM2") return hbm2();
  if (name == "HBM2E") return hbm2e();
  if (name == "HBM3") return hbm3();
  throw InternalError("hbm::preset: unknown preset \"" + name + "\" (callers check the name)");
}

}  // namespace llmsim::hbm
