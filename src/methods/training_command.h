// What every training command (pretrain, distill, relmask, prompt, schubert) adds to its CLI11
// subcommand (--config, --set, --help-config, --dump-config), and what running it does at the
// binary's entry point: load the config, create the world communicator it asks for, start
// logging, then call the command. The command itself is a library call,
// run_X(config, communicator), which runs unchanged on any communicator (a group of the world).
#pragma once
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "common/command_registry.h"
#include "common/config_io.h"
#include "common/log.h"
#include "dist/communicator.h"

namespace kd::methods {

template <class Config>
using TrainingCommand = int (*)(const Config&, std::shared_ptr<dist::Communicator>);

template <class Config>
cli::AddCommand training_command(TrainingCommand<Config> run) {
  return [run](CLI::App& sub) -> cli::Runner {
    struct Args {
      std::string config;
      std::vector<std::string> sets;
      bool help_config = false, dump_config = false;
    };
    auto args = std::make_shared<Args>();
    sub.add_option("--config", args->config, "YAML config (see configs/)")
        ->check(CLI::ExistingFile);
    sub.add_option("--set", args->sets, "override a config key: --set train.steps=100 (repeatable)")
        ->take_all();
    sub.add_flag("--help-config", args->help_config,
                 "list every config key with its type, default and meaning, then exit");
    sub.add_flag("--dump-config", args->dump_config,
                 "print the effective config (defaults < --config < --set) as YAML, then exit");
    const std::string name = sub.get_name();
    return [run, args, name]() -> int {
      if (args->help_config) {
        Config defaults;
        std::fputs(config::help_text(defaults, "kdprune " + name).c_str(), stdout);
        return 0;
      }
      Config config = config::load<Config>(args->config, args->sets, "kdprune " + name);
      if (args->dump_config) {
        std::printf("%s\n", config::to_yaml(config).c_str());
        return 0;
      }
      auto comm = dist::make_world_communicator(
          {config.dist.backend, config.device, config.dist.mpi_nonblocking, config.dist.comm_thread,
           config.dist.comm_poll_us, config.dist.hierarchical, config.dist.stall_warn_s,
           config.dist.timeout_s});
      init_logging(comm->rank(), comm->size(), config.log_level);
      return run(config, comm);
    };
  };
}

}  // namespace kd::methods
