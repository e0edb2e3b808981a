// kdprune: subcommand dispatch only. Every command registers itself (KD_COMMAND) from its own
// file in src/methods/; this entry point is the only place a world communicator is made (by the
// command's runner, from its config).
#include <CLI/CLI.hpp>

#include "common/allocator.h"
#include "common/command_registry.h"
#include "common/signals.h"
#include "dist/communicator.h"

int main(int argc, char** argv) {
  kd::configure_allocator_for_training();
  kd::install_fatal_signal_handlers();
  CLI::App app{"kdprune: distributed compression and specialisation of BERT models"};
  app.require_subcommand(1);
  const auto commands = kd::cli::add_commands("kdprune", app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  int code = 0;
  try {
    code = kd::cli::run_parsed(commands);
  } catch (const std::exception& e) {
    // One rank's error ends the whole job (MPI_Abort), never a hang in a collective.
    kd::dist::abort_job(e.what(), 1);
  }
  kd::dist::finalize();
  return code;
}
