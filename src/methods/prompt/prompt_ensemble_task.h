// One relation's ensemble of soft prompts as a TrainingTask (the Trainer runs it): all N prompts
// in one batched forward pass over the frozen model, the loss the sum over prompts of each
// prompt's mean cross-entropy (so every prompt gets its own gradient), gradients clipped per
// prompt (each prompt of the ensemble trains exactly as if alone). A checkpoint holds the prompts
// and the fact-order cursor (one per prompt with orders: per_prompt). With `classes` (token ids
// of a verbaliser, prompt-task) the cross-entropy is over those tokens only and an item's object
// is its class index.
#pragma once
#include <vector>

#include "methods/probing/fact_batches.h"
#include "methods/prompt/soft_prompts.h"
#include "train/training_task.h"

namespace kd::methods::prompt {

class PromptEnsembleTask : public train::TrainingTask {
 public:
  // `prompts` [N, n, H] is a leaf that requires grad; it is trained in place. per_prompt_orders:
  // prompt p draws its own order, seeded mix_seed(order_seed, p).
  PromptEnsembleTask(model::BertForPreTraining model, torch::Tensor prompts,
                     std::vector<PromptItem> items, uint64_t order_seed, int64_t batch_size,
                     int rank, int world, bool per_prompt_orders = false,
                     torch::Tensor classes = {});
  train::NamedTensors trainable_parameters() override { return {{"prompts", prompts_}}; }
  train::MicroStepResult micro_step() override;
  double clip_gradients(const train::NamedTensors& params, double max_norm) override;
  nlohmann::json rank_state() const override;
  void load_rank_state(const nlohmann::json& state) override;
  void save_model(const std::string& dir) override;  // dir/prompts.safetensors
  void load_model(const std::string& dir) override;

 private:
  model::BertForPreTraining model_;
  torch::Tensor prompts_;
  std::vector<probing::FactBatches<PromptItem>> orders_;  // one, or one per prompt
  torch::Tensor classes_;                                 // undefined: the whole vocabulary
};

}  // namespace kd::methods::prompt
