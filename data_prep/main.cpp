// kdprune-prep: data preparation (tokenize, embedded corpus, HDF5 pre-training shards, probes).
// Subcommand dispatch only; each command lives in its own *_command.cpp and registers itself there.
#include <iostream>
#include <thread>
#include <vector>

#include "commands.h"
#include "common/command_registry.h"
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
  const auto commands = kd::cli::add_commands("kdprune-prep", app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  kd::init_logging(0, 1);
  int rc = 1;
  try {
    rc = kd::cli::run_parsed(commands);
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
