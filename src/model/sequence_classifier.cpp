#include "model/sequence_classifier.h"

#include <ATen/CPUGeneratorImpl.h>

#include <fstream>

#include "common/check.h"
#include "common/file_io.h"
#include "model/fast_dropout.h"
#include "model/model_dir.h"
#include "model/safetensors.h"
#include "model/shape_util.h"

namespace kd::model {

SequenceClassifier::SequenceClassifier(BertForPreTraining bert, int64_t num_labels, double dropout,
                                       uint64_t seed)
    : bert_(std::move(bert)), dropout_(dropout) {
  KD_CHECK(num_labels >= 1, "a sequence classifier needs at least one label, got {}", num_labels);
  KD_CHECK(dropout >= 0 && dropout < 1, "classifier dropout must be in [0, 1), got {}", dropout);
  const auto& cfg = bert_->config();
  const auto device = bert_->parameters().front().device();
  auto gen = at::detail::createCPUGenerator(seed);
  weight_ = torch::empty({num_labels, cfg.hidden_size});
  weight_.normal_(0.0, cfg.initializer_range, gen);  // HF _init_weights for nn.Linear
  weight_ = weight_.to(device).set_requires_grad(true);
  bias_ = torch::zeros({num_labels}, torch::TensorOptions(device)).set_requires_grad(true);
}

torch::Tensor SequenceClassifier::forward(const torch::Tensor& input_ids,
                                          const torch::Tensor& token_type_ids,
                                          const torch::Tensor& attention_mask) {
  ForwardOptions opt;
  opt.compute_mlm = false;
  opt.compute_nsp = false;
  const auto out = bert_->forward(input_ids, token_type_ids, attention_mask, opt);
  const auto pooled = fast_dropout(bert_->pooled_output(out.sequence_output), dropout_, training_);
  return torch::linear(pooled, weight_, bias_);  // fp32: the head is tiny
}

std::vector<std::pair<std::string, torch::Tensor>> SequenceClassifier::named_parameters() {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : bert_->named_parameters())
    if (p.key().rfind("cls.", 0) != 0) out.emplace_back(p.key(), p.value());
  out.emplace_back("classifier.weight", weight_);
  out.emplace_back("classifier.bias", bias_);
  return out;
}

void SequenceClassifier::train(bool on) {
  training_ = on;
  bert_->train(on);
}

torch::Tensor sequence_classification_loss(const torch::Tensor& logits,
                                           const torch::Tensor& labels) {
  if (logits.size(1) == 1)
    return torch::mse_loss(logits.squeeze(1), labels.to(logits.device(), torch::kFloat));
  return torch::cross_entropy_loss(logits, labels.to(logits.device(), torch::kLong));
}

void save_classifier_dir(const std::string& dir, SequenceClassifier& model,
                         const std::vector<std::string>& labels, const std::string& task,
                         const std::string& vocab_source) {
  KD_CHECK(model.regression() ? labels.empty()
                              : static_cast<int64_t>(labels.size()) == model.num_labels(),
           "{}: {} label names for a head with {} output(s)", dir, labels.size(),
           model.num_labels());
  write_dir_atomically(dir, [&](const std::string& tmp) {
    const BertConfig& cfg = model.bert()->config();
    auto j = cfg.to_json();
    j["architectures"] = {"BertForSequenceClassification"};
    j["num_labels"] = model.num_labels();
    j["problem_type"] = model.regression() ? "regression" : "single_label_classification";
    nlohmann::json id2label = nlohmann::json::object(), label2id = nlohmann::json::object();
    for (size_t i = 0; i < labels.size(); ++i) {
      id2label[std::to_string(i)] = labels[i];
      label2id[labels[i]] = static_cast<int64_t>(i);
    }
    if (model.regression()) id2label["0"] = "score";
    j["id2label"] = id2label;
    if (!model.regression()) j["label2id"] = label2id;
    j["kdprune_task"] = task;
    write_file_atomic(tmp + "/config.json", j.dump(2) + "\n");
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    for (const auto& [name, t] : model.named_parameters())
      tensors.emplace_back(name, t.detach().to(torch::kFloat));
    save_safetensors(tmp + "/model.safetensors", tensors, {{"format", "pt"}});
    copy_vocab(vocab_source, tmp, cfg.vocab_size);
  });
}

void load_classifier_weights(const std::string& dir, SequenceClassifier& model) {
  const std::string path = dir + "/model.safetensors";
  const auto tensors = load_safetensors(path);
  torch::NoGradGuard no_grad;
  for (auto& [name, p] : model.named_parameters()) {
    const auto it = tensors.find(name);
    KD_CHECK_HINT(it != tensors.end(), "the directory must come from the same fine-tuning run",
                  "{}: tensor '{}' missing", path, name);
    KD_CHECK(it->second.sizes() == p.sizes(), "{}: tensor '{}' has shape {}, the model's is {}",
             path, name, shape_str(it->second.sizes()), shape_str(p.sizes()));
    p.copy_(it->second.to(torch::kFloat));
  }
}

}  // namespace kd::model
