// What every training job does before and after its method-specific work: run directory,
// logging, communicator, threads, effective config, and the closing summary.
#pragma once
#include <memory>
#include <string>

#include "dist/communicator.h"
#include "train/train_config.h"
#include "train/trainer.h"

namespace kd::methods {

struct JobContext {
  std::shared_ptr<dist::Communicator> comm;
  std::string config_yaml;  // effective config
};

// Creates run_dir, starts the communicator chosen by config, sets intra-op threads, seeds,
// installs stop-signal handlers and saves the effective config as run_dir/config.yaml.
JobContext setup_job(const train::JobConfig& config, const std::string& config_yaml,
                     const std::string& job_name);

// Prints the end-of-job summary (rank 0) and writes run_dir/summary.json.
void write_summary(const JobContext& ctx, const train::JobConfig& config,
                   const std::string& job_name, const train::TrainResult& result,
                   const std::map<std::string, std::string>& extra);

// Exit code for a finished job: 0, or kExitCheckpointedOnSignal when stopped by a signal.
int exit_code(const train::TrainResult& result);

}  // namespace kd::methods
