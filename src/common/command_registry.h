// The command registry both binaries use (kdprune and kdprune-prep): each command registers
// itself from its own file with KD_COMMAND, so adding a command touches one place. A command adds
// its options to its CLI11 subcommand and returns what to run once the command line is parsed.
#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace kd::cli {

using Runner = std::function<int()>;
using AddCommand = std::function<Runner(CLI::App& subcommand)>;

struct CommandEntry {
  std::string name, help;
  AddCommand add;
};

// Registers `name` for `program` ("kdprune" or "kdprune-prep"); returns true (for static
// registration). Duplicate names are a programming error (std::logic_error at start-up).
bool register_command(const std::string& program, std::string name, std::string help,
                      AddCommand add);
// The program's commands in name order.
std::vector<CommandEntry> commands_of(const std::string& program);

// Adds every registered command of `program` to `app` and returns (subcommand, runner) pairs; run
// the one whose subcommand was parsed.
std::vector<std::pair<CLI::App*, Runner>> add_commands(const std::string& program, CLI::App& app);
// Runs the parsed subcommand; 2 when none was (CLI11 requires one, so this does not happen).
int run_parsed(const std::vector<std::pair<CLI::App*, Runner>>& commands);

}  // namespace kd::cli

#define KD_CLI_CONCAT_(a, b) a##b
#define KD_CLI_CONCAT(a, b) KD_CLI_CONCAT_(a, b)
// KD_COMMAND("kdprune", "fill-mask", "predict the [MASK] tokens of a text", add_fill_mask);
#define KD_COMMAND(program, name, help, add)                          \
  static const bool KD_CLI_CONCAT(kd_command_registered_, __LINE__) = \
      ::kd::cli::register_command(program, name, help, add)
