// A schuBERT round's regularisation phase: the model's weights θ are frozen and only the
// pruning vectors α train, on L_MLM + L_NSP + λ Σ c_α |α| / P. Data, loss and the data cursor
// are pre-training's (PretrainTask); this task swaps what trains and what a checkpoint holds.
#pragma once
#include "methods/pretrain/pretrain_task.h"
#include "methods/schubert/pruning_vectors.h"

namespace kd::methods::schubert {

class RegulariseTask : public PretrainTask {
 public:
  // config.model.dir: the round's starting model; `dims`: the variant's dimensions.
  RegulariseTask(const PretrainConfig& config, const std::set<Dim>& dims, double lambda, int rank,
                 int world);
  train::NamedTensors trainable_parameters() override { return alpha_.named(); }
  train::MicroStepResult micro_step() override;
  // The checkpoint's "model" is the α (DIR/alpha.safetensors); θ never changes in this phase.
  void save_model(const std::string& dir) override;
  void load_model(const std::string& dir) override;

  PruningVectors& alpha() { return alpha_; }

 private:
  model::BertConfig start_config_;
  PruningVectors alpha_;
  double lambda_;
};

}  // namespace kd::methods::schubert
