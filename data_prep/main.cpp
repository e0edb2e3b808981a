// kdprune-prep: data preparation (tokenize, embedded corpus, HDF5 pre-training shards, probes).
// Subcommand dispatch only; each command lives in its own *_command.cpp.
#include <iostream>
#include <thread>
#include <vector>

#include "commands.h"
#include "common/log.h"
#include "dist/communicator.h"

namespace kd::prep {
unsigned resolve_threads(int requested) {
  if (requested > 0) return static_cast<unsigned>(requested);
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : hw;
}
}  // namespace kd::prep

int main(int argc, char** argv) {
  CLI::App app{"kdprune-prep: corpora, tokenization, HDF5 pre-training shards and probe sets"};
  app.require_subcommand(1);
  std::vector<std::pair<CLI::App*, kd::prep::Runner>> commands;
  auto add = [&](const char* name, const char* help, kd::prep::Runner (*reg)(CLI::App&)) {
    CLI::App* sub = app.add_subcommand(name, help);
    commands.emplace_back(sub, reg(*sub));
  };
  add("tokenize", "stdin lines -> space-separated WordPiece ids per line (no [CLS]/[SEP])",
      kd::prep::register_tokenize);
  add("corpus", "write the embedded default corpus from WordNet and GCIDE",
      kd::prep::register_corpus);
  add("pretraining-data", "text documents -> NVIDIA-layout HDF5 pre-training shards",
      kd::prep::register_pretraining_data);
  add("probes", "LAMA-format JSONL probe sets from WordNet relations", kd::prep::register_probes);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  kd::init_logging(0, 1);
  int rc = 1;
  try {
    for (auto& [sub, run] : commands)
      if (sub->parsed()) rc = run();
  } catch (const std::exception& e) {
    // In a parallel pretraining-data run the other ranks may wait in a collective: abort them.
    if (kd::dist::mpi_world_size() > 1)
      kd::dist::abort_job(std::string("kdprune-prep: error: ") + e.what());
    std::cerr << "kdprune-prep: error: " << e.what() << "\n";
    return 1;
  }
  kd::dist::finalize();
  return rc;
}
