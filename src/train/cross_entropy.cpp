#include "train/cross_entropy.h"

#include "common/check.h"

namespace kd::train {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct CrossEntropyMean : public torch::autograd::Function<CrossEntropyMean> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& logits,
                               const torch::Tensor& targets) {
    auto logp = torch::log_softmax(logits, -1);                     // [M, C]
    auto picked = logp.gather(1, targets.unsqueeze(1)).squeeze(1);  // [M]
    ctx->save_for_backward({logp, targets});
    return -picked.mean();
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad_output) {
    auto saved = ctx->get_saved_variables();
    const auto& logp = saved[0];
    const auto& targets = saved[1];
    auto scale = grad_output[0] / static_cast<double>(logp.size(0));  // scalar tensor
    auto grad = logp.exp().mul_(scale);                               // softmax · g / M
    grad.scatter_add_(1, targets.unsqueeze(1), -scale.expand({logp.size(0), 1}));
    return {grad, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor cross_entropy_mean(const torch::Tensor& logits, const torch::Tensor& targets) {
  KD_CHECK(logits.dim() == 2 && targets.dim() == 1 && targets.size(0) == logits.size(0),
           "cross_entropy_mean: logits [M, C] and targets [M] expected");
  KD_CHECK(logits.size(0) > 0, "cross_entropy_mean: no rows (no masked tokens in the batch?)");
  return CrossEntropyMean::apply(logits, targets);
}

}  // namespace kd::train
