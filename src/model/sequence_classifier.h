// Hugging Face BertForSequenceClassification: BERT's pooled output → dropout → a linear
// classifier [num_labels, H]; num_labels = 1 is regression (mean squared error), more labels are
// single-label classification (cross-entropy), as HF's problem_type inference does. Tensor names
// are HF's (`bert.*` without the pre-training heads, `classifier.weight/bias`), so a uniform
// model saved here loads in transformers' BertForSequenceClassification, and its config.json
// carries num_labels, id2label/label2id and problem_type.
#pragma once
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "model/bert.h"

namespace kd::model {

class SequenceClassifier {
 public:
  // A head on `bert` (any model kdprune reads, per-layer dims included), initialised as HF does
  // (N(0, initializer_range) weight, zero bias) from `seed`. `dropout` on the pooled output.
  SequenceClassifier(BertForPreTraining bert, int64_t num_labels, double dropout, uint64_t seed);

  // input_ids/token_type_ids/attention_mask as BertForPreTraining::forward → logits
  // [B, num_labels] fp32 (for regression [B, 1]).
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids,
                        const torch::Tensor& attention_mask);

  // Every tensor the classifier uses, HF names, fixed order: bert.* without cls.* (the
  // pre-training heads play no part), then classifier.weight, classifier.bias.
  std::vector<std::pair<std::string, torch::Tensor>> named_parameters();
  void train(bool on = true);
  bool regression() const { return weight_.size(0) == 1; }
  int64_t num_labels() const { return weight_.size(0); }
  torch::Device device() const { return weight_.device(); }  // where the model and head live
  BertForPreTraining& bert() { return bert_; }

 private:
  BertForPreTraining bert_;
  torch::Tensor weight_, bias_;  // classifier.weight [num_labels, H], classifier.bias
  double dropout_;
  bool training_ = true;
};

// HF's loss for the head: cross-entropy of int64 class ids, or MSE of float scores (regression),
// mean over the batch.
torch::Tensor sequence_classification_loss(const torch::Tensor& logits,
                                           const torch::Tensor& labels);

// Writes DIR atomically (as save_model_dir): config.json (BertConfig keys + architectures,
// num_labels, id2label, label2id, problem_type, and "kdprune_task" = `task`), model.safetensors
// (named_parameters(), fp32) and vocab.txt. `labels` are the class names (regression: empty).
void save_classifier_dir(const std::string& dir, SequenceClassifier& model,
                         const std::vector<std::string>& labels, const std::string& task,
                         const std::string& vocab_source);

// Copies DIR's weights (as save_classifier_dir writes them) into `model`: every tensor of
// named_parameters() must be there with its shape (errors name the tensor).
void load_classifier_weights(const std::string& dir, SequenceClassifier& model);

}  // namespace kd::model
