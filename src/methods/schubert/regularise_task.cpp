#include "methods/schubert/regularise_task.h"

#include <filesystem>

#include "common/check.h"
#include "model/safetensors.h"

namespace kd::methods::schubert {

RegulariseTask::RegulariseTask(const PretrainConfig& config, const std::set<Dim>& dims,
                               double lambda, int rank, int world)
    : PretrainTask(config, rank, world), lambda_(lambda) {
  start_config_ = model()->config();
  for (auto& p : model()->parameters()) p.set_requires_grad(false);
  alpha_ = PruningVectors(start_config_, dims, model()->parameters().front().device());
  alpha_.attach(model());
}

train::MicroStepResult RegulariseTask::micro_step() {
  train::MicroStepResult r = PretrainTask::micro_step();
  auto penalty = alpha_.penalty(start_config_);
  r.loss = r.loss + lambda_ * penalty;
  r.parts["penalty"] = penalty;
  return r;
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
