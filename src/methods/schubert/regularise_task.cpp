#include "methods/schubert/regularise_task.h"

#include <filesystem>

#include "common/check.h"
#include "methods/pretrain/pretrain_task.h"
#include "model/model_dir.h"
#include "model/safetensors.h"

namespace kd::methods::schubert {

RegulariseTask::RegulariseTask(const PretrainConfig& config, const std::set<Dim>& dims,
                               double lambda, int rank, int world)
    : config_(config), lambda_(lambda) {
  model_ = model::load_model_dir(config.model.init_from);
  start_config_ = model_->config();
  for (auto& p : model_->parameters()) p.set_requires_grad(false);
  prepare_for_training(model_, config);
  alpha_ = PruningVectors(start_config_, dims, model_->parameters().front().device());
  alpha_.attach(model_);
  loader_ = make_train_loader(config.data, config.seed, rank, world);
}

train::MicroStepResult RegulariseTask::micro_step() {
  auto batch = loader_->next();
  KD_CHECK(batch.has_value(), "data loader ended unexpectedly");
  if (config_.device == "cuda") data::move_batch_to(*batch, torch::kCUDA);
  auto l = mlm_nsp_loss(model_, *batch);
  auto penalty = alpha_.penalty(start_config_);
  train::MicroStepResult r;
  r.loss = l.total + lambda_ * penalty;
  r.parts["mlm_loss"] = l.mlm.item<double>();
  r.parts["nsp_loss"] = l.nsp.item<double>();
  r.parts["penalty"] = penalty.item<double>();
  r.tokens = batch->input_ids.numel();
  return r;
}

nlohmann::json RegulariseTask::rank_state() const {
  return {{"loader", loader_->cursor()}};
}

void RegulariseTask::load_rank_state(const nlohmann::json& state) {
  loader_->restore(state.at("loader"));
}

void RegulariseTask::save_model(const std::string& dir) {
  std::filesystem::create_directories(dir);
  model::save_safetensors(dir + "/alpha.safetensors", alpha_.named());
}

void RegulariseTask::load_model(const std::string& dir) {
  auto saved = model::load_safetensors(dir + "/alpha.safetensors");
  std::map<std::string, torch::Tensor> by_name(saved.begin(), saved.end());
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : alpha_.named()) {
    auto it = by_name.find(name);
    KD_CHECK(it != by_name.end() && it->second.sizes() == t.sizes(),
             "{}/alpha.safetensors: '{}' missing or of another shape", dir, name);
    t.copy_(it->second);
  }
}

}  // namespace kd::methods::schubert
