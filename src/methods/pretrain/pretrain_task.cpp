#include "methods/pretrain/pretrain_task.h"

#include <filesystem>
#include <fstream>

#include "common/check.h"
#include "common/json_file.h"
#include "common/log.h"
#include "model/model_dir.h"
#include "train/checkpoint.h"
#include "train/cross_entropy.h"

namespace kd::methods {

model::BertConfig model_config_from(const ModelSection& m) {
  std::ifstream in(m.vocab);
  KD_CHECK_HINT(in.good(), "set model.vocab to a vocab.txt (one WordPiece per line)",
                "model.vocab: cannot read '{}'", m.vocab);
  int64_t lines = 0;
  for (std::string s; std::getline(in, s);) ++lines;
  KD_CHECK(lines > 5, "model.vocab '{}' has only {} lines", m.vocab, lines);
  KD_CHECK_HINT(m.num_heads > 0 && m.hidden_size % m.num_heads == 0,
                "choose model.num_heads dividing model.hidden_size",
                "model.hidden_size {} is not divisible by model.num_heads {}", m.hidden_size,
                m.num_heads);
  auto c = model::BertConfig::uniform(lines, m.hidden_size, m.num_layers, m.num_heads,
                                      m.intermediate_size);
  c.max_position_embeddings = m.max_position_embeddings;
  c.hidden_dropout_prob = m.hidden_dropout;
  c.attention_probs_dropout_prob = m.attention_dropout;
  c.validate("model section");
  return c;
}

std::unique_ptr<data::SlotLoader> make_train_loader(const DataSection& data, uint64_t seed,
                                                    const data::SlotLayout& slots,
                                                    int64_t vocab_size, const std::string& device) {
  data::LoaderOptions lo;
  lo.files = data::expand_globs(data.train);
  lo.batch_size = data.batch_size;
  lo.seed = seed;
  lo.prefetch = data.prefetch;
  lo.vocab_size = vocab_size;
  lo.pin_memory = device == "cuda";
  return std::make_unique<data::SlotLoader>(lo, slots);
}

data::SlotLayout plan_data_slots(train::JobConfig& config, int rank, int world) {
  auto slots = data::SlotLayout::identity(rank, world, config.train.grad_accum);
  const auto checkpoint = train::find_resume_checkpoint(config.run_dir, config.resume);
  if (!checkpoint) return slots;
  const auto path = (std::filesystem::path(*checkpoint) / "trainer_state.json").string();
  const auto state = read_json_file(path);
  if (!state.contains("data_world")) return slots;  // older checkpoints: same rank count only
  slots.data_world = state.at("data_world").get<int>();
  slots.data_accum = state.at("data_accum").get<int64_t>();
  KD_CHECK_HINT(slots.slots() % world == 0,
                fmt::format("resume on a number of ranks that divides {}", slots.slots()),
                "{}: a step of this checkpoint is {} micro-batches ({} ranks x {}), which {} "
                "ranks cannot share evenly",
                path, slots.slots(), slots.data_world, slots.data_accum, world);
  slots.accum = slots.slots() / world;
  if (slots.accum != config.train.grad_accum || slots.data_world != world)
    log_info("train",
             "resuming {} ({} ranks x {} micro-steps) on {} ranks: train.grad_accum {} (was {} "
             "in the config) keeps its batch and data order",
             *checkpoint, slots.data_world, slots.data_accum, world, slots.accum,
             config.train.grad_accum);
  config.train.grad_accum = slots.accum;
  return slots;
}

MlmNspLoss mlm_nsp_loss(model::BertForPreTraining& model, const data::PretrainBatch& batch,
                        bool with_nsp) {
  auto labels = batch.mlm_labels.reshape(-1);               // [B*T]
  auto positions = (labels != -100).nonzero().reshape(-1);  // [M]
  model::ForwardOptions opt;
  opt.mlm_positions = positions;
  opt.compute_nsp = with_nsp;
  auto out = model->forward(batch.input_ids, batch.token_type_ids, batch.attention_mask, opt);
  auto targets = labels.index_select(0, positions);  // [M]
  MlmNspLoss l;
  l.mlm = train::cross_entropy_mean(out.mlm_logits, targets);  // [M, V] fp32
  l.total = l.mlm;
  if (with_nsp) {
    l.nsp = torch::nn::functional::cross_entropy(out.nsp_logits, batch.nsp_labels);
    l.total = l.total + l.nsp;
  }
  l.masked = positions.numel();
  {
    torch::NoGradGuard no_grad;
    l.correct = (out.mlm_logits.argmax(-1) == targets).sum();
  }
  return l;
}

void prepare_for_training(model::BertForPreTraining& model, const train::JobConfig& config) {
  torch::ScalarType compute = torch::kFloat;
  if (config.train.precision == "bf16") compute = torch::kBFloat16;
  KD_CHECK(config.train.precision != "fp16" || config.device == "cuda",
           "train.precision fp16 is for GPUs; use bf16 on CPU");
  if (config.train.precision == "fp16") compute = torch::kHalf;
  model->set_compute_dtype(compute);
  if (config.device == "cuda") model->to(torch::kCUDA);
  model->train();
}

PretrainTask::PretrainTask(const PretrainConfig& config, const data::SlotLayout& slots)
    : config_(config) {
  KD_CHECK_HINT(!config.data.train.empty(), "set data.train to HDF5 shard globs",
                "data.train is empty");
  if (config.model.dir.empty()) {
    model_ = model::BertForPreTraining(model_config_from(config.model));
    model_->init_weights(config.seed);
  } else {
    model_ = model::load_model_dir(config.model.dir);
  }
  prepare_for_training(model_, config);

  loader_ = make_train_loader(config.data, config.seed, slots, model_->config().vocab_size,
                              config.device);
  const auto& mc = model_->config();
  log_info("pretrain",
           "model: L={} H={} A={} F={} V={} · {:.2f}M parameters · {} shard file(s), "
           "{} batches/epoch/rank",
           mc.num_hidden_layers, mc.hidden_size, mc.layers.empty() ? 0 : mc.layers[0].num_heads,
           mc.layers.empty() ? 0 : mc.layers[0].intermediate_size, mc.vocab_size,
           mc.num_parameters() / 1e6, loader_->files().size(), loader_->batches_per_epoch());
}

train::NamedTensors PretrainTask::trainable_parameters() {
  train::NamedTensors out;
  for (auto& item : model_->named_parameters()) out.emplace_back(item.key(), item.value());
  return out;
}

train::MicroStepResult PretrainTask::micro_step() {
  auto batch = loader_->next();
  KD_CHECK(batch.has_value(), "data loader ended unexpectedly");
  if (config_.device == "cuda") data::move_batch_to(*batch, torch::kCUDA);
  auto l = mlm_nsp_loss(model_, *batch);
  train::MicroStepResult r;
  r.loss = l.total;
  r.parts["mlm_loss"] = l.mlm;
  r.parts["nsp_loss"] = l.nsp.defined() ? l.nsp : torch::zeros_like(l.mlm);
  r.parts["mlm_acc"] =
      l.correct.to(torch::kDouble) / static_cast<double>(std::max<int64_t>(1, l.masked));
  r.tokens = batch->input_ids.numel();
  return r;
}

nlohmann::json PretrainTask::rank_state() const {
  return {{"loader", loader_->cursor()}};
}

void PretrainTask::load_rank_state(const nlohmann::json& state) {
  loader_->restore(state.at("loader"));
}

void PretrainTask::save_model(const std::string& dir) {
  model::save_model_dir(dir, model_, config_.model.vocab);
}

void PretrainTask::load_model(const std::string& dir) {
  model::load_weights_into(dir, model_);
}

}  // namespace kd::methods
