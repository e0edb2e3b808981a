#include "methods/relmask/relation_mask_task.h"

#include <filesystem>

#include "common/check.h"
#include "model/safetensors.h"

namespace kd::methods::relmask {
namespace fs = std::filesystem;

RelationMaskTask::RelationMaskTask(model::BertForPreTraining model, RelationMasks& masks,
                                   std::vector<ProbeItem> items, uint64_t order_seed,
                                   int64_t batch_size, int rank, int world)
    : model_(std::move(model)),
      masks_(masks),
      facts_(std::move(items), order_seed, batch_size, rank, world) {}

train::MicroStepResult RelationMaskTask::micro_step() {
  const auto batch_items = facts_.next();  // this rank's share of the group's batch
  auto b = make_probe_batch(batch_items, 0, batch_items.size());
  auto logits = probe_logits(model_, b);
  train::MicroStepResult r;
  r.loss = torch::nn::functional::cross_entropy(logits, b.objects.to(logits.device()));
  r.tokens = b.ids.numel();
  return r;
}

void RelationMaskTask::save_model(const std::string& dir) {
  fs::create_directories(dir);
  model::save_safetensors((fs::path(dir) / "mask_logits.safetensors").string(),
                          masks_.named_logits());
}

void RelationMaskTask::load_model(const std::string& dir) {
  const auto path = (fs::path(dir) / "mask_logits.safetensors").string();
  auto saved = model::load_safetensors(path);
  torch::NoGradGuard no_grad;
  for (auto& [name, g] : masks_.named_logits()) {
    auto it = saved.find(name);
    KD_CHECK(it != saved.end() && it->second.sizes() == g.sizes(),
             "{}: no mask logits '{}' of shape {} (a checkpoint of another mask layout?)", path,
             name, c10::str(g.sizes()));
    g.copy_(it->second);
  }
}

}  // namespace kd::methods::relmask
