#include <filesystem>

#include "common/config_io.h"
#include "common/log.h"
#include "methods/distill/distill_config.h"
#include "methods/distill/distill_task.h"
#include "methods/inference/eval_mlm.h"
#include "methods/input_checks.h"
#include "methods/job_setup.h"
#include "methods/pretrain/pretrain_task.h"
#include "methods/training_command.h"
#include "model/model_dir.h"

namespace kd::methods {
namespace fs = std::filesystem;

void DistillConfig::validate() const {
  train::JobConfig::validate();
  KD_CHECK(distill.method == "tutor_kd" || distill.method == "kd" || distill.method == "minilm" ||
               distill.method == "mlm",
           "distill.method must be tutor_kd, kd, minilm or mlm (got '{}')", distill.method);
  KD_CHECK(distill.minilm_teacher_layer >= 0 && distill.minilm_relation_heads >= 0,
           "distill.minilm_teacher_layer and distill.minilm_relation_heads must be >= 0 (0 = "
           "default; got {} and {})",
           distill.minilm_teacher_layer, distill.minilm_relation_heads);
  KD_CHECK(distill.temperature > 0, "distill.temperature must be > 0 (got {})",
           distill.temperature);
  for (auto [name, w] : {std::pair<const char*, double>{"logit", weights.logit},
                         {"hidden", weights.hidden},
                         {"attention", weights.attention},
                         {"mlm", weights.mlm},
                         {"kd", weights.kd},
                         {"minilm", weights.minilm},
                         {"policy", weights.policy},
                         {"kl", weights.kl}})
    KD_CHECK(w >= 0, "weights.{} must be >= 0 (got {})", name, w);
}

int run_distill(const DistillConfig& config, std::shared_ptr<dist::Communicator> comm) {
  config.validate();  // also when called as a library function with a config made in code
  // Everything the run reads, before its first step (data.heldout is read only at the end).
  require_model_dir("teacher.dir", config.teacher.dir);
  if (!config.student.dir.empty()) require_model_dir("student.dir", config.student.dir);
  require_file("student.vocab", config.student.vocab);
  require_globs("data.train", config.data.train);
  require_globs("data.heldout", config.data.heldout, /*required=*/false);
  JobContext ctx = setup_job(config, config::to_yaml(config), "distill", std::move(comm));
  DistillConfig effective = config;
  const auto slots = plan_data_slots(effective, ctx.comm->rank(), ctx.comm->size());
  distill::DistillTask task(effective, slots);
  train::Trainer trainer(effective, ctx.config_yaml, ctx.comm, task, slot_options(slots));
  train::TrainResult result = trainer.run();

  nlohmann::json extra = {{"method", config.distill.method}};
  if (!result.stopped_by_signal) {
    // The student as a plain model directory (Hugging Face layout) for fill-mask, eval-mlm,
    // eval-probe and transformers.
    const std::string model_dir = (fs::path(config.run_dir) / "model").string();
    if (ctx.comm->is_root())
      model::save_model_dir(model_dir, task.distiller().student(), config.student.vocab);
    ctx.comm->barrier();
    extra["model"] = model_dir;
    extra["student_params"] = task.distiller().student()->config().num_parameters();
    if (!config.data.heldout.empty()) {
      auto r = evaluate_mlm(task.distiller().student(), config.data.heldout, config.eval.batch_size,
                            config.eval.max_batches, *ctx.comm);
      extra["heldout_mlm_acc"] = r.accuracy();
      extra["heldout_ppl"] = r.perplexity();
      extra["heldout_masked"] = r.masked;
    }
  }
  write_summary(ctx, config, "distill", result, extra);
  return exit_code(result);
}

KD_COMMAND("kdprune", "distill",
           "distil a teacher into a student (Tutor-KD, plain KD, MiniLMv2 or MLM-only baseline)",
           training_command<DistillConfig>(run_distill));

}  // namespace kd::methods
