// kdprune-prep subcommands: each *_command.cpp registers itself with KD_COMMAND("kdprune-prep",
// ...) (common/command_registry.h): its CLI11 options and a run callback.
#pragma once
#include <CLI/CLI.hpp>

#include "common/command_registry.h"

namespace kd::prep {

using Runner = cli::Runner;

// Worker threads for --threads 0 (= all hardware threads).
unsigned resolve_threads(int requested);

}  // namespace kd::prep
