// MLM + NSP pre-training of a BertForPreTraining on NVIDIA-layout HDF5 shards.
#pragma once
#include <memory>

#include "data/slot_loader.h"
#include "methods/pretrain/pretrain_config.h"
#include "model/bert.h"
#include "train/trainer.h"
#include "train/training_task.h"

namespace kd::methods {

// MLM cross-entropy over labelled positions (+ NSP cross-entropy): the pre-training loss, shared
// by pretrain, schuBERT and the MLM-only distillation baseline.
struct MlmNspLoss {
  torch::Tensor total, mlm, nsp;
  int64_t masked = 0;
  torch::Tensor correct;  // int64 scalar on the device: argmax == label among masked positions
};
MlmNspLoss mlm_nsp_loss(model::BertForPreTraining& model, const data::PretrainBatch& batch,
                        bool with_nsp = true);

// The training loader a data section describes, for one rank of the slot layout.
// vocab_size: the model's; every shard value is checked against it as batches are built.
// device: the job's ("cuda" pins the batches on the prefetch thread for asynchronous copies).
std::unique_ptr<data::SlotLoader> make_train_loader(const DataSection& data, uint64_t seed,
                                                    const data::SlotLayout& slots,
                                                    int64_t vocab_size, const std::string& device);

// The data-slot layout of a job that trains on shards (data/slot_loader.h): when it resumes, the
// checkpoint's (its ranks x micro-steps, whatever this job's rank count), else this job's own.
// Sets config.train.grad_accum to the micro-steps that keep the checkpoint's batch (with a note
// when that changes it); a batch that `world` ranks cannot split evenly is an error.
data::SlotLayout plan_data_slots(train::JobConfig& config, int rank, int world);
// Trainer options that let a checkpoint of this layout resume on another number of ranks.
inline train::TrainerOptions slot_options(const data::SlotLayout& slots) {
  train::TrainerOptions options;
  options.data_world = slots.data_world;
  options.data_accum = slots.data_accum;
  return options;
}

// Compute dtype from train.precision (fp16 only on CUDA), device, train mode: what every job
// that trains a BertForPreTraining does to it first.
void prepare_for_training(model::BertForPreTraining& model, const train::JobConfig& config);

// Builds the model config from the model section (vocab size = lines of the vocab file).
model::BertConfig model_config_from(const ModelSection& m);

class PretrainTask : public train::TrainingTask {
 public:
  // config.train.grad_accum must equal slots.accum (plan_data_slots).
  PretrainTask(const PretrainConfig& config, const data::SlotLayout& slots);
  PretrainTask(const PretrainConfig& config, int rank, int world)
      : PretrainTask(config, data::SlotLayout::identity(rank, world, config.train.grad_accum)) {}
  train::NamedTensors trainable_parameters() override;
  train::MicroStepResult micro_step() override;
  nlohmann::json rank_state() const override;
  void load_rank_state(const nlohmann::json& state) override;
  void save_model(const std::string& dir) override;
  void load_model(const std::string& dir) override;
  std::vector<model::EmbeddingTable> tied_lookup_tables() override {
    return {model_->embeddings->word_embeddings};
  }
  model::BertForPreTraining& model() { return model_; }

 private:
  PretrainConfig config_;
  model::BertForPreTraining model_{nullptr};
  std::unique_ptr<data::SlotLoader> loader_;
};

}  // namespace kd::methods
