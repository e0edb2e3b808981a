// What every training job does before and after its method-specific work: run directory,
// logging, communicator, threads, effective config, and the closing summary.
#pragma once
#include <nlohmann/json.hpp>

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

// On `comm` (the world or a group of it, given by the caller), for a config the command has
// validated (its own validate() covers every section): creates run_dir, sets intra-op
// threads, installs stop-signal handlers and saves the effective config as run_dir/config.yaml.
JobContext setup_job(const train::JobConfig& config, const std::string& config_yaml,
                     const std::string& job_name, std::shared_ptr<dist::Communicator> comm);

// Prints the end-of-job summary (rank 0 of the job's communicator) and writes
// run_dir/summary.json: the training result's numbers as JSON numbers, plus `extra` (a JSON
// object: numbers stay numbers, paths are strings; "model" names the final model directory).
void write_summary(const JobContext& ctx, const train::JobConfig& config,
                   const std::string& job_name, const train::TrainResult& result,
                   const nlohmann::json& extra);

// run_dir/summary.json for jobs without one training run (relmask, prompt): job, ranks, fields.
void write_summary(const JobContext& ctx, const train::JobConfig& config,
                   const std::string& job_name, const nlohmann::json& fields);

// Makes run_dir/model the model directory `source` (a checkpoint's model/): its files hard-linked
// (copied where links fail), replaced atomically. Rank 0 of ctx's communicator; collective.
void publish_final_model(const JobContext& ctx, const train::JobConfig& config,
                         const std::string& source);

// Exit code for a finished job: 0, or kExitCheckpointedOnSignal when stopped by a signal.
int exit_code(const train::TrainResult& result);

}  // namespace kd::methods
