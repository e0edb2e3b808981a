// The CLI contract (docs/cli.md): subcommands, their options, and the function each runs.
#pragma once
#include <CLI/CLI.hpp>

namespace kd::methods {

void register_commands(CLI::App& app);
// Runs the parsed subcommand; returns the process exit code.
int run_selected_command(CLI::App& app);

}  // namespace kd::methods
