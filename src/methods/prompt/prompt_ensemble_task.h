// One relation's ensemble of soft prompts as a TrainingTask (the Trainer runs it): all N prompts
// in one batched forward pass over the frozen model, the loss the sum over prompts of each
// prompt's mean cross-entropy (so every prompt gets its own gradient), gradients clipped per
// prompt (each prompt of the ensemble trains exactly as if alone). A checkpoint holds the prompts
// and the fact-order cursor.
#pragma once
#include <vector>

#include "methods/probing/fact_batches.h"
#include "methods/prompt/soft_prompts.h"
#include "train/training_task.h"

namespace kd::methods::prompt {

class PromptEnsembleTask : public train::TrainingTask {
 public:
  // `prompts` [N, n, H] is a leaf that requires grad; it is trained in place.
  PromptEnsembleTask(model::BertForPreTraining model, torch::Tensor prompts,
                     std::vector<PromptItem> items, uint64_t order_seed, int64_t batch_size,
                     int rank, int world);
  train::NamedTensors trainable_parameters() override { return {{"prompts", prompts_}}; }
  train::MicroStepResult micro_step() override;
  double clip_gradients(const train::NamedTensors& params, double max_norm) override;
  nlohmann::json rank_state() const override { return facts_.state(); }
  void load_rank_state(const nlohmann::json& state) override { facts_.load_state(state); }
  void save_model(const std::string& dir) override;  // dir/prompts.safetensors
  void load_model(const std::string& dir) override;

 private:
  model::BertForPreTraining model_;
  torch::Tensor prompts_;
  probing::FactBatches<PromptItem> facts_;
};

}  // namespace kd::methods::prompt
