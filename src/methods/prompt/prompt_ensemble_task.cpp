#include "methods/prompt/prompt_ensemble_task.h"

#include <filesystem>

#include "common/check.h"
#include "model/safetensors.h"

namespace kd::methods::prompt {
namespace fs = std::filesystem;

PromptEnsembleTask::PromptEnsembleTask(model::BertForPreTraining model, torch::Tensor prompts,
                                       std::vector<PromptItem> items, uint64_t order_seed,
                                       int64_t batch_size, int rank, int world)
    : model_(std::move(model)),
      prompts_(std::move(prompts)),
      facts_(std::move(items), order_seed, batch_size, rank, world) {}

train::MicroStepResult PromptEnsembleTask::micro_step() {
  const auto batch_items = facts_.next();  // this rank's share of the group's batch
  auto b = make_prompt_batch(batch_items, 0, batch_items.size());
  auto logits = prompt_logits(model_, prompts_, b);  // [N, B, V]
  const int64_t n = prompts_.size(0);
  train::MicroStepResult r;
  r.loss = torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(2)}),
                                                b.objects.to(logits.device()).repeat(n)) *
           static_cast<double>(n);
  r.parts["loss_per_prompt"] = r.loss.detach() / static_cast<double>(n);
  r.tokens = b.ids.numel() * n;
  return r;
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
