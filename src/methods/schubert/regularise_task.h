// A schuBERT round's regularisation phase: the model's weights θ are frozen and only the
// pruning vectors α train, on L_MLM + L_NSP + λ Σ c_α |α| / P.
#pragma once
#include <memory>

#include "data/pretrain_loader.h"
#include "methods/pretrain/pretrain_config.h"
#include "methods/schubert/pruning_vectors.h"
#include "model/bert.h"
#include "train/training_task.h"

namespace kd::methods::schubert {

class RegulariseTask : public train::TrainingTask {
 public:
  // config.model.init_from: the round's starting model; `dims`: the variant's dimensions.
  RegulariseTask(const PretrainConfig& config, const std::set<Dim>& dims, double lambda, int rank,
                 int world);
  train::NamedTensors trainable_parameters() override { return alpha_.named(); }
  train::MicroStepResult micro_step() override;
  nlohmann::json rank_state() const override;
  void load_rank_state(const nlohmann::json& state) override;
  // The checkpoint's "model" is the α (DIR/alpha.safetensors); θ never changes in this phase.
  void save_model(const std::string& dir) override;
  void load_model(const std::string& dir) override;

  model::BertForPreTraining& model() { return model_; }
  PruningVectors& alpha() { return alpha_; }

 private:
  PretrainConfig config_;
  model::BertForPreTraining model_{nullptr};
  model::BertConfig start_config_;
  PruningVectors alpha_;
  double lambda_;
  std::unique_ptr<data::PretrainLoader> loader_;
};

}  // namespace kd::methods::schubert
