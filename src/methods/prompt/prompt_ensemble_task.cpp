#include "methods/prompt/prompt_ensemble_task.h"

#include <filesystem>

#include "common/check.h"
#include "model/safetensors.h"

namespace kd::methods::prompt {
namespace fs = std::filesystem;

PromptEnsembleTask::PromptEnsembleTask(model::BertForPreTraining model, torch::Tensor prompts,
                                       std::vector<PromptItem> items, uint64_t order_seed,
                                       int64_t batch_size, int rank, int world,
                                       bool per_prompt_orders, torch::Tensor classes)
    : model_(std::move(model)), prompts_(std::move(prompts)), classes_(std::move(classes)) {
  if (!per_prompt_orders) {
    orders_.emplace_back(std::move(items), order_seed, batch_size, rank, world);
    return;
  }
  for (int64_t p = 0; p < prompts_.size(0); ++p)
    orders_.emplace_back(items, text::mix_seed(order_seed, static_cast<uint64_t>(p)), batch_size,
                         rank, world);
}

train::MicroStepResult PromptEnsembleTask::micro_step() {
  // This rank's share of the group's batch: one for all prompts, or one per prompt (in order).
  std::vector<PromptItem> batch_items;
  for (auto& order : orders_) {
    auto part = order.next();
    batch_items.insert(batch_items.end(), part.begin(), part.end());
  }
  const bool per_prompt = orders_.size() > 1;
  auto b = make_prompt_batch(batch_items, 0, batch_items.size());
  auto logits = prompt_logits(model_, prompts_, b, per_prompt);  // [N, B, V]
  if (classes_.defined()) logits = logits.index_select(2, classes_.to(logits.device()));
  const int64_t n = prompts_.size(0);
  auto objects = b.objects.to(logits.device());
  train::MicroStepResult r;
  r.loss = torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(2)}),
                                                per_prompt ? objects : objects.repeat(n)) *
           static_cast<double>(n);
  r.parts["loss_per_prompt"] = r.loss.detach() / static_cast<double>(n);
  r.tokens = b.ids.numel() * (per_prompt ? 1 : n);
  return r;
}

nlohmann::json PromptEnsembleTask::rank_state() const {
  if (orders_.size() == 1) return orders_.front().state();
  auto out = nlohmann::json::array();
  for (const auto& order : orders_) out.push_back(order.state());
  return out;
}

void PromptEnsembleTask::load_rank_state(const nlohmann::json& state) {
  if (orders_.size() == 1) return orders_.front().load_state(state);
  KD_CHECK(state.is_array() && state.size() == orders_.size(),
           "prompt checkpoint: {} fact orders, one per prompt, expected (orders: per_prompt); got "
           "{} (a checkpoint written with orders: shared?)",
           orders_.size(), state.dump());
  for (size_t p = 0; p < orders_.size(); ++p) orders_[p].load_state(state[p]);
}

// Per prompt, so that one prompt's large gradient does not shrink the others' steps. Returns
// the norm of the whole gradient before clipping (for metrics).
double PromptEnsembleTask::clip_gradients(const train::NamedTensors&, double max_norm) {
  auto grad = prompts_.mutable_grad();
  auto norms = grad.view({grad.size(0), -1}).norm(2, 1);
  const double total = norms.norm().item<double>();
  if (max_norm <= 0) return total;
  auto scale = (max_norm / (norms + 1e-6)).clamp_max(1.0);
  grad.mul_(scale.view({-1, 1, 1}));
  return total;
}

void PromptEnsembleTask::save_model(const std::string& dir) {
  fs::create_directories(dir);
  model::save_safetensors((fs::path(dir) / "prompts.safetensors").string(),
                          {{"prompts", prompts_.detach()}});
}

void PromptEnsembleTask::load_model(const std::string& dir) {
  const auto path = (fs::path(dir) / "prompts.safetensors").string();
  auto saved = model::load_safetensors(path);
  auto it = saved.find("prompts");
  KD_CHECK(it != saved.end() && it->second.sizes() == prompts_.sizes(),
           "{}: no prompts of shape {} (a checkpoint of another prompt length or ensemble?)", path,
           c10::str(prompts_.sizes()));
  torch::NoGradGuard no_grad;
  prompts_.copy_(it->second);
}

}  // namespace kd::methods::prompt
