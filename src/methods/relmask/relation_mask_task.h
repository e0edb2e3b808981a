// One relation's LAMP masks as a TrainingTask (the Trainer runs it): the frozen model with this
// relation's masks attached, MLM cross-entropy of the object at the [MASK] of its training facts,
// only the mask logits G train. A checkpoint holds G and the fact-order cursor.
#pragma once
#include <vector>

#include "methods/probing/eval_probe.h"
#include "methods/probing/fact_batches.h"
#include "methods/relmask/relation_masks.h"
#include "model/bert.h"
#include "train/training_task.h"

namespace kd::methods::relmask {

class RelationMaskTask : public train::TrainingTask {
 public:
  // `masks` must be attached to `model` and stay alive while the task trains.
  RelationMaskTask(model::BertForPreTraining model, RelationMasks& masks,
                   std::vector<ProbeItem> items, uint64_t order_seed, int64_t batch_size, int rank,
                   int world);
  train::NamedTensors trainable_parameters() override { return masks_.named_logits(); }
  train::MicroStepResult micro_step() override;
  nlohmann::json rank_state() const override { return facts_.state(); }
  void load_rank_state(const nlohmann::json& state) override { facts_.load_state(state); }
  void save_model(const std::string& dir) override;  // dir/mask_logits.safetensors
  void load_model(const std::string& dir) override;

 private:
  model::BertForPreTraining model_;
  RelationMasks& masks_;
  probing::FactBatches<ProbeItem> facts_;
};

}  // namespace kd::methods::relmask
