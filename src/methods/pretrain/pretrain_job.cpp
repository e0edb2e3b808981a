#include "common/config_io.h"
#include "common/log.h"
#include "methods/job_setup.h"
#include "methods/pretrain/pretrain_config.h"
#include "methods/pretrain/pretrain_task.h"

namespace kd::methods {

int run_pretrain(const std::string& config_path, const std::vector<std::string>& overrides) {
  auto config = config::load<PretrainConfig>(config_path, overrides);
  JobContext ctx = setup_job(config, config::to_yaml(config), "pretrain");
  PretrainTask task(config, ctx.comm->rank(), ctx.comm->size());
  train::Trainer trainer(config, ctx.config_yaml, ctx.comm, task);
  train::TrainResult result = trainer.run();
  write_summary(ctx, config, "pretrain", result, {});
  return exit_code(result);
}

}  // namespace kd::methods
