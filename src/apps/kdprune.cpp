// kdprune: subcommand dispatch only. Each subcommand's work lives in src/methods/.
#include <CLI/CLI.hpp>

#include "common/allocator.h"
#include "common/check.h"
#include "dist/communicator.h"
#include "methods/commands.h"

int main(int argc, char** argv) {
  kd::configure_allocator_for_training();
  CLI::App app{"kdprune: distributed compression and specialisation of BERT models"};
  app.require_subcommand(1);
  kd::methods::register_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  int code = 0;
  try {
    code = kd::methods::run_selected_command(app);
  } catch (const std::exception& e) {
    // One rank's error ends the whole job (MPI_Abort), never a hang in a collective.
    kd::dist::abort_job(e.what(), 1);
  }
  kd::dist::finalize();
  return code;
}
