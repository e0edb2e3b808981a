// AdamW (decoupled weight decay, PyTorch semantics) and LAMB (layer-wise trust ratio, You et
// al. 2020), over named fp32 parameters. State is a list of named tensors so that checkpoints
// store it in safetensors next to the model, independent of the LibTorch version.
#pragma once
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "train/train_config.h"

namespace kd::train {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

class Optimizer {
 public:
  Optimizer(NamedTensors params, OptimizerConfig config);
  // One update with learning rate `lr` from the parameters' .grad (undefined grad = skipped).
  void step(double lr);
  void zero_grad();  // sets .grad to undefined (no memory traffic)
  int64_t steps_taken() const { return step_; }
  // "exp_avg/<name>", "exp_avg_sq/<name>" and "step" (as a 1-element int64 tensor).
  NamedTensors state() const;
  void load_state(const std::vector<std::pair<std::string, torch::Tensor>>& state);
  const NamedTensors& params() const { return params_; }

 private:
  NamedTensors params_;
  OptimizerConfig config_;
  std::vector<torch::Tensor> exp_avg_, exp_avg_sq_;
  std::vector<bool> decay_;
  int64_t step_ = 0;
};

// Whether weight decay applies (BERT recipe: not to biases and LayerNorm parameters).
bool uses_weight_decay(const std::string& name);

// Learning rate at optimizer step `step` (0-based): linear warm-up, then linear/poly decay.
double learning_rate(const ScheduleConfig& s, double peak_lr, int64_t step, int64_t total_steps);

// Scales gradients so their global L2 norm is at most max_norm; returns the norm before.
double clip_grad_norm(const NamedTensors& params, double max_norm);

}  // namespace kd::train
