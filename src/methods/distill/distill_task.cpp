#include "methods/distill/distill_task.h"

#include <filesystem>

#include "common/check.h"
#include "common/log.h"
#include "methods/pretrain/pretrain_task.h"
#include "model/model_dir.h"
#include "model/safetensors.h"
#include "train/trainer.h"

namespace kd::methods::distill {
namespace fs = std::filesystem;
namespace {
// Beside the model directory inside a checkpoint, so the model directory stays a plain
// Hugging Face layout.
std::string modules_path(const std::string& model_dir) {
  return (fs::path(model_dir).parent_path() / "distill_modules.safetensors").string();
}
}  // namespace

model::BertForPreTraining make_student(const DistillConfig& config) {
  if (!config.student.dir.empty()) return model::load_model_dir(config.student.dir);
  model::BertForPreTraining s(model_config_from(config.student));
  s->init_weights(config.seed);
  return s;
}

DistillTask::DistillTask(const DistillConfig& config, const data::SlotLayout& slots)
    : config_(config) {
  KD_CHECK_HINT(!config.teacher.dir.empty(), "set teacher.dir to a model directory",
                "teacher.dir is empty");
  KD_CHECK_HINT(!config.data.train.empty(), "set data.train to HDF5 shard globs",
                "data.train is empty");
  auto teacher = model::load_model_dir(config.teacher.dir);
  auto student = make_student(config);
  const auto& t = teacher->config();
  const auto& s = student->config();
  // The heads (projection, ratio head) take torch's default initialisation: seed it, so that a
  // run is reproducible (the Trainer re-seeds per rank for dropout and sampling afterwards).
  torch::manual_seed(train::derive_seed(config.seed, 0xD157));
  distiller_ = std::make_unique<Distiller>(config_, teacher, student);
  KD_CHECK_HINT(s.vocab_size == t.vocab_size, "distil into a student with the teacher's vocab.txt",
                "the student's vocabulary ({} entries) differs from the teacher's ({})",
                s.vocab_size, t.vocab_size);
  loader_ = make_train_loader(config.data, config.seed, slots, s.vocab_size, config.device);
  KD_CHECK(loader_->seq_len() <= s.max_position_embeddings &&
               loader_->seq_len() <= t.max_position_embeddings,
           "shards have sequences of {} tokens but the student takes {} and the teacher {}",
           loader_->seq_len(), s.max_position_embeddings, t.max_position_embeddings);
  int64_t extra = 0;
  for (auto& [name, p] : distiller_->module_state()) extra += p.numel();
  log_info("distill",
           "method {} · teacher L={} H={} ({:.2f}M) → student L={} H={} ({:.2f}M) · tutor + "
           "heads {:.2f}M · {} shard file(s)",
           config.distill.method, t.num_hidden_layers, t.hidden_size, t.num_parameters() / 1e6,
           s.num_hidden_layers, s.hidden_size, s.num_parameters() / 1e6, extra / 1e6,
           loader_->files().size());
}

train::NamedTensors DistillTask::trainable_parameters() {
  return distiller_->trainable_parameters();
}

train::MicroStepResult DistillTask::micro_step() {
  auto batch = loader_->next();
  KD_CHECK(batch.has_value(), "data loader ended unexpectedly");
  if (config_.device == "cuda") data::move_batch_to(*batch, torch::kCUDA);
  auto step = distiller_->step(*batch);
  train::MicroStepResult r;
  r.loss = step.loss;
  r.parts = std::move(step.parts);
  r.tokens = batch->input_ids.numel();
  return r;
}

nlohmann::json DistillTask::rank_state() const {
  return {{"loader", loader_->cursor()}};
}

void DistillTask::load_rank_state(const nlohmann::json& state) {
  loader_->restore(state.at("loader"));
}

void DistillTask::save_model(const std::string& dir) {
  model::save_model_dir(dir, distiller_->student(), config_.student.vocab);
  auto modules = distiller_->module_state();
  if (!modules.empty()) model::save_safetensors(modules_path(dir), modules);
}

void DistillTask::load_model(const std::string& dir) {
  model::load_weights_into(dir, distiller_->student());
  if (!distiller_->module_state().empty())
    distiller_->load_module_state(model::load_safetensors(modules_path(dir)));
}

}  // namespace kd::methods::distill
