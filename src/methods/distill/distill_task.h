// `kdprune distill` as a TrainingTask: loader + Distiller; checkpoints hold the student as a
// model directory and the tutor/heads beside it (distill_modules.safetensors).
#pragma once
#include <memory>

#include "data/slot_loader.h"
#include "methods/distill/distill_config.h"
#include "methods/distill/distiller.h"
#include "train/training_task.h"

namespace kd::methods::distill {

class DistillTask : public train::TrainingTask {
 public:
  // config.train.grad_accum must equal slots.accum (plan_data_slots).
  DistillTask(const DistillConfig& config, const data::SlotLayout& slots);
  train::NamedTensors trainable_parameters() override;
  train::MicroStepResult micro_step() override;
  nlohmann::json rank_state() const override;
  void load_rank_state(const nlohmann::json& state) override;
  void save_model(const std::string& dir) override;
  void load_model(const std::string& dir) override;
  std::vector<model::EmbeddingTable> tied_lookup_tables() override {
    return {distiller_->student()->embeddings->word_embeddings};
  }
  Distiller& distiller() { return *distiller_; }

 private:
  DistillConfig config_;
  std::unique_ptr<Distiller> distiller_;
  std::unique_ptr<data::SlotLoader> loader_;
};

// The student network the config describes (random init from the seed, or student.dir).
model::BertForPreTraining make_student(const DistillConfig& config);

}  // namespace kd::methods::distill
