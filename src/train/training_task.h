// What a method (pretrain, distill, relmask, prompt, schubert) plugs into the one Trainer loop.
// The loop owns stepping, gradient sync, clipping, the optimizer, the schedule, checkpoints,
// signals and metrics; a task owns its model, data and loss.
#pragma once
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "model/layer_norm.h"
#include "train/optimizer.h"

namespace kd::train {

struct MicroStepResult {
  torch::Tensor loss;  // scalar, mean over this rank's micro-batch; backwarded
  // Named terms for metrics (same keys every step): scalar tensors left on the device; the
  // Trainer reads them once per logged step, not once per term per micro-step.
  std::map<std::string, torch::Tensor> parts;
  int64_t tokens = 0;  // tokens processed on this rank (for tokens/s)
};

class TrainingTask {
 public:
  virtual ~TrainingTask() = default;
  // Parameters the optimizer updates, named, in a fixed order that is the same on every rank.
  virtual NamedTensors trainable_parameters() = 0;
  // Fetch the next micro-batch, run forward and return the loss (the Trainer runs backward).
  virtual MicroStepResult micro_step() = 0;

  // Per-rank state to resume exactly (data cursor, ...). Saved for every rank.
  virtual nlohmann::json rank_state() const { return nlohmann::json::object(); }
  virtual void load_rank_state(const nlohmann::json&) {}
  // Model weights: save is called on rank 0 only; load on every rank.
  virtual void save_model(const std::string& dir) = 0;
  virtual void load_model(const std::string& dir) = 0;

  // Optimizer state to start from when the run does not resume from a checkpoint (schuBERT
  // carries the moments it sliced through a prune step); empty = fresh moments.
  virtual NamedTensors initial_optimizer_state() { return {}; }

  // Clips the rank-averaged gradients before the optimizer step and returns the norm it saw
  // (for metrics). Default: one global norm over every trainable parameter.
  virtual double clip_gradients(const NamedTensors& params, double max_norm) {
    return clip_grad_norm(params, max_norm);
  }

  // Trainable word-embedding tables whose weight also has another use (a tied MLM decoder):
  // with dist.defer_embedding_grad on 2+ ranks their lookup gradients are deferred, so the
  // decoder's part is all-reduced during backward (dist::GradReducer).
  virtual std::vector<model::EmbeddingTable> tied_lookup_tables() { return {}; }

  // Hooks for methods that act between steps (prune rounds, evaluation, ...).
  virtual void after_step(int64_t /*step*/) {}
  // Final summary lines appended to the trainer's summary.
  virtual std::map<std::string, std::string> summary() { return {}; }
};

}  // namespace kd::train
