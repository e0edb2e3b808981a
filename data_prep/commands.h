// kdprune-prep subcommands: each registers its CLI11 options and a run callback.
#pragma once
#include <CLI/CLI.hpp>

#include <functional>

namespace kd::prep {

using Runner = std::function<int()>;

Runner register_tokenize(CLI::App& app);
Runner register_corpus(CLI::App& app);
Runner register_pretraining_data(CLI::App& app);
Runner register_probes(CLI::App& app);

// Worker threads for --threads 0 (= all hardware threads).
unsigned resolve_threads(int requested);

}  // namespace kd::prep
