#include "common/config_io.h"
#include "common/log.h"
#include "methods/input_checks.h"
#include "methods/job_setup.h"
#include "methods/pretrain/pretrain_config.h"
#include "methods/pretrain/pretrain_task.h"
#include "methods/training_command.h"

namespace kd::methods {

int run_pretrain(const PretrainConfig& config, std::shared_ptr<dist::Communicator> comm) {
  config.validate();  // also when called as a library function with a config made in code
  if (!config.model.dir.empty()) require_model_dir("model.dir", config.model.dir);
  require_file("model.vocab", config.model.vocab);
  require_globs("data.train", config.data.train);
  JobContext ctx = setup_job(config, config::to_yaml(config), "pretrain", std::move(comm));
  PretrainConfig effective = config;
  const auto slots = plan_data_slots(effective, ctx.comm->rank(), ctx.comm->size());
  PretrainTask task(effective, slots);
  train::Trainer trainer(effective, ctx.config_yaml, ctx.comm, task, slot_options(slots));
  train::TrainResult result = trainer.run();
  nlohmann::json extra = nlohmann::json::object();
  if (!result.stopped_by_signal && !result.last_checkpoint.empty()) {
    publish_final_model(ctx, config, result.last_checkpoint + "/model");
    extra["model"] = config.run_dir + "/model";
  }
  write_summary(ctx, config, "pretrain", result, extra);
  return exit_code(result);
}

KD_COMMAND("kdprune", "pretrain", "pre-train a BERT (MLM + NSP) on HDF5 shards",
           training_command<PretrainConfig>(run_pretrain));

}  // namespace kd::methods
