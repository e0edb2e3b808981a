#include "methods/finetune/finetune_task.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <random>

#include "common/check.h"
#include "common/file_io.h"
#include "common/log.h"
#include "train/trainer.h"

namespace kd::methods::finetune {
namespace fs = std::filesystem;
namespace {

std::string pack(const std::vector<double>& v) {
  std::string s(v.size() * sizeof(double), '\0');
  if (!v.empty()) std::memcpy(s.data(), v.data(), s.size());
  return s;
}

std::vector<double> unpack(const std::string& s) {
  std::vector<double> v(s.size() / sizeof(double));
  if (!v.empty()) std::memcpy(v.data(), s.data(), v.size() * sizeof(double));
  return v;
}

}  // namespace

ClassifierBatch make_classifier_batch(const std::vector<const EncodedExample*>& rows,
                                      int64_t pad_id, bool regression, torch::Device device) {
  const int64_t B = static_cast<int64_t>(rows.size());
  int64_t T = 0;
  for (const auto* r : rows) T = std::max<int64_t>(T, static_cast<int64_t>(r->ids.size()));
  auto ids = torch::full({B, T}, pad_id, torch::kLong);
  auto types = torch::zeros({B, T}, torch::kLong);
  auto mask = torch::zeros({B, T}, torch::kLong);
  auto labels = regression ? torch::empty({B}, torch::kFloat) : torch::empty({B}, torch::kLong);
  auto id_a = ids.accessor<int64_t, 2>();
  auto type_a = types.accessor<int64_t, 2>();
  auto mask_a = mask.accessor<int64_t, 2>();
  ClassifierBatch batch;
  for (int64_t b = 0; b < B; ++b) {
    const auto& r = *rows[static_cast<size_t>(b)];
    const int64_t n = static_cast<int64_t>(r.ids.size());
    for (int64_t t = 0; t < n; ++t) {
      id_a[b][t] = r.ids[static_cast<size_t>(t)];
      type_a[b][t] = t >= r.pair_start ? 1 : 0;
      mask_a[b][t] = 1;
    }
    batch.tokens += n;
    if (regression)
      labels[b] = r.label;
    else
      labels[b] = static_cast<int64_t>(r.label);
  }
  batch.input_ids = ids.to(device);
  batch.token_type_ids = types.to(device);
  batch.attention_mask = mask.to(device);
  batch.labels = labels.to(device);
  return batch;
}

std::vector<double> predict(model::SequenceClassifier& model, const EncodedSet& set,
                            int64_t batch_size, int64_t pad_id, dist::Communicator& comm) {
  const int64_t n = static_cast<int64_t>(set.examples.size());
  const int64_t begin = n * comm.rank() / comm.size(), end = n * (comm.rank() + 1) / comm.size();
  const auto device = model.device();
  std::vector<double> mine;
  mine.reserve(static_cast<size_t>(end - begin));
  torch::NoGradGuard no_grad;
  model.train(false);
  for (int64_t start = begin; start < end; start += batch_size) {
    std::vector<const EncodedExample*> rows;
    for (int64_t i = start; i < std::min(end, start + batch_size); ++i)
      rows.push_back(&set.examples[static_cast<size_t>(i)]);
    const auto batch = make_classifier_batch(rows, pad_id, model.regression(), device);
    auto logits = model.forward(batch.input_ids, batch.token_type_ids, batch.attention_mask);
    auto out = (model.regression() ? logits.squeeze(1) : logits.argmax(1).to(torch::kFloat))
                   .to(torch::kCPU, torch::kDouble)
                   .contiguous();
    const double* p = out.data_ptr<double>();
    mine.insert(mine.end(), p, p + out.numel());
  }
  model.train(true);
  const auto parts = comm.gather_strings(pack(mine), 0);
  std::string all;
  if (comm.is_root())
    for (const auto& p : parts) all += p;
  return unpack(comm.broadcast_string(all, 0));
}

FinetuneTask::FinetuneTask(model::SequenceClassifier& model, FinetuneRunSpec spec,
                           std::shared_ptr<dist::Communicator> group)
    : model_(model), spec_(std::move(spec)), group_(std::move(group)) {
  KD_CHECK(spec_.task && spec_.train && spec_.dev, "FinetuneTask needs a task, train and dev");
  KD_CHECK(!spec_.train->examples.empty(), "{}: no training examples", spec_.task->name);
}

train::NamedTensors FinetuneTask::trainable_parameters() {
  return model_.named_parameters();
}

const std::vector<int64_t>& FinetuneTask::epoch_order(int64_t epoch) {
  if (epoch != order_epoch_) {
    const int64_t n = static_cast<int64_t>(spec_.train->examples.size());
    order_.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) order_[static_cast<size_t>(i)] = i;
    std::mt19937_64 rng(train::derive_seed(spec_.order_seed, static_cast<uint64_t>(epoch)));
    for (int64_t i = n - 1; i > 0; --i) {  // Fisher-Yates with an explicit draw: the same order
      const auto j = static_cast<int64_t>(rng() % static_cast<uint64_t>(i + 1));  // everywhere
      std::swap(order_[static_cast<size_t>(i)], order_[static_cast<size_t>(j)]);
    }
    order_epoch_ = epoch;
  }
  return order_;
}

train::MicroStepResult FinetuneTask::micro_step() {
  const int64_t n = static_cast<int64_t>(spec_.train->examples.size());
  const int64_t B = spec_.batch_size;
  const int64_t first = (cursor_ * group_->size() + group_->rank()) * B;
  ++cursor_;
  std::vector<const EncodedExample*> rows;
  for (int64_t i = first; i < first + B; ++i) {
    const auto& order = epoch_order(i / n);
    rows.push_back(&spec_.train->examples[static_cast<size_t>(order[static_cast<size_t>(i % n)])]);
  }
  const auto device = model_.device();
  const auto batch = make_classifier_batch(rows, spec_.pad_id, model_.regression(), device);
  auto logits = model_.forward(batch.input_ids, batch.token_type_ids, batch.attention_mask);
  train::MicroStepResult r;
  r.loss = model::sequence_classification_loss(logits, batch.labels);
  r.tokens = batch.tokens;
  return r;
}

void FinetuneTask::after_step(int64_t step) {
  if ((spec_.eval_every > 0 && step % spec_.eval_every == 0) || step == spec_.steps) evaluate(step);
}

void FinetuneTask::evaluate_if_needed(int64_t step) {
  if (step > 0 && last_evaluated_ != step) evaluate(step);
}

void FinetuneTask::evaluate(int64_t step) {
  const auto& spec = spec_.task->spec;
  const auto predicted = predict(model_, *spec_.dev, spec_.eval_batch_size, spec_.pad_id, *group_);
  std::vector<double> gold;
  for (const auto& e : spec_.dev->examples) gold.push_back(e.label);
  const auto scores = score_predictions(spec, predicted, gold);
  last_evaluated_ = step;
  evaluations_.push_back({{"step", step}, {"dev", scores}});
  const double value = scores[spec.metric].get<double>();
  const bool better = best_.is_null() || value > best_["dev"][spec.metric].get<double>();
  if (group_->is_root())
    log_all("finetune", "{}: step {} dev {} {:.4f}{}", spec_.label, step, spec.metric, value,
            better ? " (best so far)" : "");
  if (!better) return;
  best_ = {{"step", step}, {"dev", scores}};
  if (group_->is_root())
    model::save_classifier_dir(spec_.best_dir, model_, spec.labels, spec_.task->name, spec_.vocab);
  group_->barrier();
}

nlohmann::json FinetuneTask::rank_state() const {
  return {{"cursor", cursor_},
          {"last_evaluated", last_evaluated_},
          {"best", best_},
          {"evaluations", evaluations_}};
}

void FinetuneTask::load_rank_state(const nlohmann::json& state) {
  cursor_ = state.at("cursor").get<int64_t>();
  last_evaluated_ = state.value("last_evaluated", int64_t{0});
  best_ = state.value("best", nlohmann::json());
  evaluations_ = state.value("evaluations", nlohmann::json::array());
}

void FinetuneTask::save_model(const std::string& dir) {
  model::save_classifier_dir(dir, model_, spec_.task->spec.labels, spec_.task->name, spec_.vocab);
}

void FinetuneTask::load_model(const std::string& dir) {
  model::load_classifier_weights(dir, model_);
}

}  // namespace kd::methods::finetune
