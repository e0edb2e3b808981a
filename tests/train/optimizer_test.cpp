// Our AdamW against LibTorch's torch::optim::AdamW (the reference) and LAMB against its
// formula computed by hand; schedules at known points.
#include <gtest/gtest.h>

#include "common/check.h"
#include "train/optimizer.h"

namespace kd::train {
namespace {

TEST(Optimizer, AdamWMatchesLibTorchAdamW) {
  torch::manual_seed(0);
  auto init = torch::randn({6, 5});
  auto ours = init.clone().requires_grad_();
  auto ref = init.clone().requires_grad_();
  OptimizerConfig c;
  c.lr = 0.01;
  c.weight_decay = 0.1;
  c.eps = 1e-6;
  Optimizer opt({{"encoder.weight", ours}}, c);
  torch::optim::AdamW reference({ref}, torch::optim::AdamWOptions(c.lr)
                                           .betas({c.beta1, c.beta2})
                                           .eps(c.eps)
                                           .weight_decay(c.weight_decay));
  for (int step = 0; step < 5; ++step) {
    auto target = torch::randn({6, 5});
    ((ours - target).pow(2).sum()).backward();
    ((ref - target).pow(2).sum()).backward();
    opt.step(c.lr);
    reference.step();
    opt.zero_grad();
    reference.zero_grad();
  }
  EXPECT_LT((ours - ref).abs().max().item<double>(), 1e-6);
  EXPECT_GT((ours - init).abs().max().item<double>(), 1e-3);
}

TEST(Optimizer, NoWeightDecayOnBiasAndLayerNorm) {
  EXPECT_TRUE(uses_weight_decay("bert.encoder.layer.0.attention.self.query.weight"));
  EXPECT_FALSE(uses_weight_decay("bert.encoder.layer.0.attention.self.query.bias"));
  EXPECT_FALSE(uses_weight_decay("bert.embeddings.LayerNorm.weight"));
}

TEST(Optimizer, LambFollowsTrustRatioFormula) {
  auto p = torch::tensor({3.0f, 4.0f}).requires_grad_();
  OptimizerConfig c;
  c.name = "lamb";
  c.weight_decay = 0.0;
  c.eps = 0.0;
  Optimizer opt({{"w", p}}, c);
  p.mutable_grad() = torch::tensor({1.0f, -2.0f});
  opt.step(0.1);
  // Step 1: m̂ = g, v̂ = g², update = g/|g| = (1, -1); ratio = |p| / |u| = 5 / √2.
  double ratio = 5.0 / std::sqrt(2.0);
  EXPECT_NEAR(p[0].item<double>(), 3.0 - 0.1 * ratio, 1e-5);
  EXPECT_NEAR(p[1].item<double>(), 4.0 + 0.1 * ratio, 1e-5);
}

TEST(Optimizer, StateRoundTripContinuesIdentically) {
  auto a = torch::ones({3}).requires_grad_();
  auto b = torch::ones({3}).requires_grad_();
  OptimizerConfig c;
  Optimizer oa({{"w", a}}, c), ob({{"w", b}}, c);
  a.mutable_grad() = torch::tensor({0.1f, 0.2f, 0.3f});
  oa.step(0.1);
  {
    torch::NoGradGuard g;
    b.copy_(a);
  }
  ob.load_state(oa.state());
  EXPECT_EQ(ob.steps_taken(), 1);
  a.mutable_grad() = torch::tensor({0.3f, -0.2f, 0.1f});
  b.mutable_grad() = a.grad().clone();
  oa.step(0.1);
  ob.step(0.1);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_THROW(ob.load_state({{"step", torch::tensor({1L})}}), Error);
}

TEST(Schedule, WarmupThenLinearAndPolyDecay) {
  ScheduleConfig s;
  s.warmup_steps = 10;
  EXPECT_DOUBLE_EQ(learning_rate(s, 1.0, 0, 110), 0.1);
  EXPECT_DOUBLE_EQ(learning_rate(s, 1.0, 9, 110), 1.0);
  EXPECT_DOUBLE_EQ(learning_rate(s, 1.0, 10, 110), 1.0);
  EXPECT_DOUBLE_EQ(learning_rate(s, 1.0, 60, 110), 0.5);
  EXPECT_DOUBLE_EQ(learning_rate(s, 1.0, 110, 110), 0.0);
  s.kind = "poly";
  s.power = 2.0;
  EXPECT_DOUBLE_EQ(learning_rate(s, 1.0, 60, 110), 0.25);
  s.kind = "constant";
  EXPECT_DOUBLE_EQ(learning_rate(s, 1.0, 100, 110), 1.0);
}

TEST(Schedule, WarmupAsAFractionOfTheSteps) {
  ScheduleConfig s;
  s.warmup_fraction = 0.2;  // 20 of 100 steps (LAMP)
  EXPECT_DOUBLE_EQ(learning_rate(s, 1.0, 0, 100), 0.05);
  EXPECT_DOUBLE_EQ(learning_rate(s, 1.0, 19, 100), 1.0);
  EXPECT_DOUBLE_EQ(learning_rate(s, 1.0, 60, 100), 0.5);
  s.warmup_steps = 10;  // an explicit step count wins
  EXPECT_DOUBLE_EQ(learning_rate(s, 1.0, 0, 100), 0.1);
}

TEST(ClipGradNorm, ScalesToMaxNorm) {
  auto p = torch::zeros({2}).requires_grad_();
  p.mutable_grad() = torch::tensor({3.0f, 4.0f});
  double before = clip_grad_norm({{"p", p}}, 1.0);
  EXPECT_NEAR(before, 5.0, 1e-6);
  EXPECT_NEAR(p.grad().norm().item<double>(), 1.0, 1e-5);
}

}  // namespace
}  // namespace kd::train
