#include "train/optimizer.h"

#include <cmath>
#include <map>

#include "common/check.h"
#include "model/shape_util.h"

namespace kd::train {

bool uses_weight_decay(const std::string& name) {
  return name.find("bias") == std::string::npos && name.find("LayerNorm") == std::string::npos &&
         name.find("layer_norm") == std::string::npos;
}

Optimizer::Optimizer(NamedTensors params, OptimizerConfig config)
    : params_(std::move(params)), config_(std::move(config)) {
  for (const auto& [name, p] : params_) {
    KD_CHECK(p.scalar_type() == torch::kFloat, "optimizer: parameter {} must be fp32", name);
    exp_avg_.push_back(torch::zeros_like(p));
    exp_avg_sq_.push_back(torch::zeros_like(p));
    decay_.push_back(uses_weight_decay(name) && config_.weight_decay > 0);
  }
}

void Optimizer::zero_grad() {
  for (auto& [name, p] : params_) p.mutable_grad() = torch::Tensor();
}

void Optimizer::step(double lr) {
  torch::NoGradGuard no_grad;
  ++step_;
  const double b1 = config_.beta1, b2 = config_.beta2;
  const double bc1 = 1.0 - std::pow(b1, static_cast<double>(step_));
  const double bc2 = 1.0 - std::pow(b2, static_cast<double>(step_));
  const bool lamb = config_.name == "lamb";
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& p = params_[i].second;
    const auto& g = p.grad();
    if (!g.defined()) continue;
    auto& m = exp_avg_[i];
    auto& v = exp_avg_sq_[i];
    m.mul_(b1).add_(g, 1.0 - b1);
    v.mul_(b2).addcmul_(g, g, 1.0 - b2);
    auto denom = (v / bc2).sqrt_().add_(config_.eps);
    if (!lamb) {
      if (decay_[i]) p.mul_(1.0 - lr * config_.weight_decay);
      p.addcdiv_(m, denom, -lr / bc1);
    } else {
      auto update = (m / bc1).div_(denom);
      if (decay_[i]) update.add_(p, config_.weight_decay);
      double w_norm = p.norm().item<double>();
      double u_norm = update.norm().item<double>();
      double trust = (w_norm > 0 && u_norm > 0) ? w_norm / u_norm : 1.0;
      p.add_(update, -lr * trust);
    }
  }
}

NamedTensors Optimizer::state() const {
  NamedTensors out;
  for (size_t i = 0; i < params_.size(); ++i) {
    out.emplace_back("exp_avg/" + params_[i].first, exp_avg_[i]);
    out.emplace_back("exp_avg_sq/" + params_[i].first, exp_avg_sq_[i]);
  }
  out.emplace_back("step", torch::tensor({step_}, torch::kLong));
  return out;
}

void Optimizer::load_state(const std::vector<std::pair<std::string, torch::Tensor>>& state) {
  std::map<std::string, torch::Tensor> byname(state.begin(), state.end());
  auto get = [&](const std::string& key, const torch::Tensor& like) {
    auto it = byname.find(key);
    KD_CHECK_HINT(it != byname.end(), "the checkpoint was written for another model shape",
                  "optimizer state: tensor '{}' missing", key);
    KD_CHECK(it->second.sizes() == like.sizes(),
             "optimizer state: '{}' has shape {} but expected {}", key,
             model::shape_str(it->second.sizes()), model::shape_str(like.sizes()));
    return it->second.to(like.options()).contiguous();
  };
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    exp_avg_[i].copy_(get("exp_avg/" + params_[i].first, exp_avg_[i]));
    exp_avg_sq_[i].copy_(get("exp_avg_sq/" + params_[i].first, exp_avg_sq_[i]));
  }
  auto it = byname.find("step");
  KD_CHECK(it != byname.end(), "optimizer state: 'step' missing");
  step_ = it->second.to(torch::kLong).item<int64_t>();
}

double learning_rate(const ScheduleConfig& s, double peak, int64_t step, int64_t total) {
  const int64_t warmup = s.warmup_steps > 0
                             ? s.warmup_steps
                             : static_cast<int64_t>(std::llround(s.warmup_fraction * total));
  if (warmup > 0 && step < warmup)
    return peak * static_cast<double>(step + 1) / static_cast<double>(warmup);
  if (s.kind == "constant") return peak;
  const double end = peak * s.end_lr_ratio;
  const double span = static_cast<double>(std::max<int64_t>(1, total - warmup));
  const double progress = std::min(1.0, static_cast<double>(step - warmup) / span);
  const double power = s.kind == "poly" ? s.power : 1.0;
  return end + (peak - end) * std::pow(1.0 - progress, power);
}

double clip_grad_norm(const NamedTensors& params, double max_norm) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> norms;
  for (const auto& [name, p] : params)
    if (p.grad().defined()) norms.push_back(p.grad().norm(2).to(torch::kDouble));
  if (norms.empty()) return 0.0;
  double total = torch::stack(norms).norm(2).item<double>();
  if (max_norm > 0 && std::isfinite(total) && total > max_norm) {
    double scale = max_norm / (total + 1e-6);
    for (const auto& [name, p] : params)
      if (p.grad().defined()) p.mutable_grad().mul_(scale);
  }
  return total;
}

}  // namespace kd::train
