// MLM + NSP pre-training of a BertForPreTraining on NVIDIA-layout HDF5 shards.
#pragma once
#include <memory>

#include "data/pretrain_loader.h"
#include "methods/pretrain/pretrain_config.h"
#include "model/bert.h"
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

// The training loader a data section describes, for one rank of `world`.
// vocab_size: the model's; every shard value is checked against it as batches are built.
std::unique_ptr<data::PretrainLoader> make_train_loader(const DataSection& data, uint64_t seed,
                                                        int rank, int world, int64_t vocab_size);

// Compute dtype from train.precision (fp16 only on CUDA), device, train mode: what every job
// that trains a BertForPreTraining does to it first.
void prepare_for_training(model::BertForPreTraining& model, const train::JobConfig& config);

// Builds the model config from the model section (vocab size = lines of the vocab file).
model::BertConfig model_config_from(const ModelSection& m);

class PretrainTask : public train::TrainingTask {
 public:
  PretrainTask(const PretrainConfig& config, int rank, int world);
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
  std::unique_ptr<data::PretrainLoader> loader_;
};

}  // namespace kd::methods
