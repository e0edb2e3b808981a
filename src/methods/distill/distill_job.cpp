#include <filesystem>

#include "common/config_io.h"
#include "common/log.h"
#include "methods/distill/distill_config.h"
#include "methods/distill/distill_task.h"
#include "methods/inference/eval_mlm.h"
#include "methods/job_setup.h"
#include "model/model_dir.h"

namespace kd::methods {
namespace fs = std::filesystem;

void DistillConfig::validate() const {
  train::JobConfig::validate();
  KD_CHECK(distill.method == "tutor_kd" || distill.method == "kd" || distill.method == "mlm",
           "distill.method must be tutor_kd, kd or mlm (got '{}')", distill.method);
  KD_CHECK(distill.temperature > 0, "distill.temperature must be > 0 (got {})",
           distill.temperature);
  for (auto [name, w] : {std::pair<const char*, double>{"logit", weights.logit},
                         {"hidden", weights.hidden},
                         {"attention", weights.attention},
                         {"mlm", weights.mlm},
                         {"kd", weights.kd},
                         {"policy", weights.policy},
                         {"kl", weights.kl}})
    KD_CHECK(w >= 0, "weights.{} must be >= 0 (got {})", name, w);
}

int run_distill(const std::string& config_path, const std::vector<std::string>& overrides) {
  auto config = config::load<DistillConfig>(config_path, overrides);
  JobContext ctx = setup_job(config, config::to_yaml(config), "distill");
  config.validate();
  distill::DistillTask task(config, ctx.comm->rank(), ctx.comm->size());
  train::Trainer trainer(config, ctx.config_yaml, ctx.comm, task);
  train::TrainResult result = trainer.run();

  std::map<std::string, std::string> extra;
  extra["method"] = config.distill.method;
  if (!result.stopped_by_signal) {
    // The student as a plain model directory (Hugging Face layout) for fill-mask, eval-mlm,
    // eval-probe and transformers.
    const std::string student_dir = (fs::path(config.run_dir) / "student").string();
    if (ctx.comm->is_root())
      model::save_model_dir(student_dir, task.distiller().student(), config.student.vocab);
    ctx.comm->barrier();
    extra["student"] = student_dir;
    extra["student_params"] =
        fmt::format("{:.2f}M", task.distiller().student()->config().num_parameters() / 1e6);
    if (!config.eval.data.empty()) {
      auto r = evaluate_mlm(task.distiller().student(), config.eval.data, config.eval.batch_size,
                            config.eval.max_batches, *ctx.comm);
      extra["heldout_mlm_acc"] = fmt::format("{:.4f}", r.accuracy());
      extra["heldout_ppl"] = fmt::format("{:.2f}", r.perplexity());
      extra["heldout_masked"] = std::to_string(r.masked);
    }
  }
  write_summary(ctx, config, "distill", result, extra);
  return exit_code(result);
}

}  // namespace kd::methods
