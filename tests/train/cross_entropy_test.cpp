// Our cross-entropy against LibTorch's: value and gradient, fp32 and fp64 inputs.
#include <gtest/gtest.h>

#include "train/cross_entropy.h"

namespace kd::train {
namespace {

TEST(CrossEntropy, MatchesLibTorchValueAndGradient) {
  for (auto dtype : {torch::kFloat, torch::kDouble}) {
    torch::manual_seed(3);
    auto base = (torch::randn({37, 1000}) * 4).to(dtype);
    auto targets = torch::randint(0, 1000, {37}, torch::kLong);
    auto ours_in = base.clone().requires_grad_();
    auto ref_in = base.clone().requires_grad_();
    auto ours = cross_entropy_mean(ours_in, targets);
    auto ref = torch::nn::functional::cross_entropy(ref_in, targets);
    (ours * 2.5).backward();  // a non-unit upstream gradient
    (ref * 2.5).backward();
    const double tol = dtype == torch::kFloat ? 1e-6 : 1e-12;
    EXPECT_NEAR(ours.item<double>(), ref.item<double>(), tol * 10);
    EXPECT_LT((ours_in.grad() - ref_in.grad()).abs().max().item<double>(), tol);
    EXPECT_GT(ours_in.grad().abs().max().item<double>(), 1e-4);
  }
}

TEST(CrossEntropy, RejectsBadShapes) {
  EXPECT_THROW(cross_entropy_mean(torch::zeros({2, 3}), torch::zeros({3}, torch::kLong)),
               std::exception);
  EXPECT_THROW(cross_entropy_mean(torch::zeros({0, 3}), torch::zeros({0}, torch::kLong)),
               std::exception);
}

}  // namespace
}  // namespace kd::train
