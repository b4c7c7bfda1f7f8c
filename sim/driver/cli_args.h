#pragma once
// Strict parsing of `llmsim` command arguments, shared by the commands.
//
// Every option is read as text and converted here, never by boost's lexical_cast (which reads
// "-1" as 2^64 - 1 and accepts "nan" and "inf"). Every failure is a UserError of one line
// naming the option, the value given and what is allowed.
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

namespace llmsim::driver {

namespace po = boost::program_options;

// A command's help: `llmsim NAME SYNOPSIS`, then SUMMARY (lines indented by the printer).
struct CommandHelp {
  std::string name, synopsis, summary;
};

// Every command, in the order of the general usage.
const std::vector<CommandHelp>& commands();
const CommandHelp& command_help(const std::string& name);

// The general usage (`llmsim --help`).
std::string usage();

// Parses the arguments of `llmsim CMD` into `desc`'s variables. Adds --help/-h to `desc`:
// returns false after printing the command's usage and options to `out` when it is given
// (before required options are checked). Long options only in full (no abbreviations); a
// positional argument, an unknown or repeated option is a UserError naming it and the command.
bool parse_command(const std::string& cmd, po::options_description& desc,
                   const std::vector<std::string>& args, po::variables_map& vm, std::ostream& out);

// --arch PRESET|FILE (required) and --set KEY=VALUE (repeatable).
void add_arch_options(po::options_description& desc, std::string& arch,
                      std::vector<std::string>& sets);

// `--NAME TEXT` as an integer in [lo, hi]: decimal digits only, no sign, no spaces.
std::uint64_t integer_option(const std::string& name, const std::string& text, std::uint64_t lo,
                             std::uint64_t hi, const std::string& allowed_note = "");

// A positive integer option, up to 2^64 - 1.
std::uint64_t count_option(const std::string& name, const std::string& text);

// --tokens: ids separated by commas or white space, or @FILE for a file holding them (at most
// kMaxTokenFileBytes). UserError naming the option, the id text and its position for what is
// not a non-negative integer below 2^64, and for an empty list or an unreadable file.
inline constexpr std::uint64_t kMaxTokenFileBytes = std::uint64_t(64) << 20;
std::vector<std::uint64_t> token_ids_option(const std::string& text);

// `--NAME TEXT` as a finite real number in [lo, hi] (lo excluded when `lo_open`).
double real_option(const std::string& name, const std::string& text, double lo, double hi,
                   bool lo_open = false);

// UserError "--NAME VALUE: applies only <condition>" when the option is given though what it
// sets is not used.
void require_applies(const po::variables_map& vm, const std::string& name, bool applies,
                     const std::string& condition);

// The commands in their own files (cli_memtest.cpp, cli_noctest.cpp): the exit code.
int memtest_command(const std::vector<std::string>& args, std::ostream& out);
int noctest_command(const std::vector<std::string>& args, std::ostream& out);
int serve_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace llmsim::driver
