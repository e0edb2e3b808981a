// PrunableLinear: exact surgery, the weight transform hook, and the bf16 compute path.
#include "model/prunable_linear.h"

#include <gtest/gtest.h>

#include "common/check.h"
#include "model/model_test_util.h"

namespace kd::model {
namespace {

PrunableLinear make_linear(int64_t in, int64_t out, uint64_t seed = 1) {
  torch::manual_seed(seed);
  PrunableLinear lin(in, out);
  torch::NoGradGuard g;
  lin->weight.normal_(0, 0.5);
  lin->bias.normal_(0, 0.5);
  return lin;
}

TEST(PrunableLinear, HuggingFaceParameterNames) {
  PrunableLinear lin(4, 3);
  auto p = lin->named_parameters();
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p.keys()[0], "weight");
  EXPECT_EQ(p.keys()[1], "bias");
  EXPECT_EQ(p["weight"].sizes(), (std::vector<int64_t>{3, 4}));
}

TEST(PrunableLinear, KeepRowsEqualsSelectingOutputs) {
  auto lin = make_linear(6, 8);
  auto x = torch::randn({2, 5, 6});
  auto full = lin(x);
  auto idx = torch::tensor({6, 1, 3}, torch::kLong);  // any order is kept
  lin->keep_rows(idx);
  EXPECT_EQ(lin->out_features(), 3);
  EXPECT_EQ(lin->named_parameters()["weight"].sizes(), (std::vector<int64_t>{3, 6}));
  EXPECT_EQ(lin->named_parameters()["bias"].sizes(), (std::vector<int64_t>{3}));
  EXPECT_TRUE(torch::equal(lin(x), full.index_select(-1, idx)));
}

TEST(PrunableLinear, KeepColsEqualsZeroingRemovedInputs) {
  auto lin = make_linear(7, 4);
  auto x = torch::randn({3, 7});
  auto idx = torch::tensor({0, 2, 5, 6}, torch::kLong);
  auto keep_mask = torch::zeros({7});
  keep_mask.index_fill_(0, idx, 1.0);
  auto expect = lin(x * keep_mask);  // full model with the removed inputs zeroed
  lin->keep_cols(idx);
  EXPECT_EQ(lin->in_features(), 4);
  EXPECT_LT(testing::max_abs_diff(lin(x.index_select(1, idx)), expect), 1e-6);
}

TEST(PrunableLinear, SurgeryKeepsTrainabilityAndDegenerateSizesWork) {
  auto lin = make_linear(5, 4);
  lin->keep_rows(torch::tensor({0, 2}, torch::kLong));
  EXPECT_TRUE(lin->weight.requires_grad());
  auto x = torch::randn({3, 5});
  lin(x).sum().backward();
  ASSERT_TRUE(lin->weight.grad().defined());
  EXPECT_EQ(lin->weight.grad().sizes(), lin->weight.sizes());
  // No inputs left: the output is the bias. No outputs left: an empty last dimension.
  auto b = lin->bias.detach().clone();
  lin->keep_cols(torch::zeros({0}, torch::kLong));
  EXPECT_TRUE(torch::allclose(lin(torch::zeros({3, 0})), b.expand({3, 2})));
  lin->keep_rows(torch::zeros({0}, torch::kLong));
  EXPECT_EQ(lin(torch::zeros({3, 0})).sizes(), (std::vector<int64_t>{3, 0}));
  EXPECT_THROW(lin->keep_rows(torch::tensor({0}, torch::kLong)), kd::Error);  // out of range
}

TEST(PrunableLinear, MaskTransformIsApplied) {
  auto lin = make_linear(6, 5);
  auto x = torch::randn({4, 6});
  auto mask = (torch::rand({5, 6}) > 0.5).to(torch::kFloat);
  auto expect = torch::matmul(x, (lin->weight * mask).t()) + lin->bias;
  lin->set_transform([mask](const torch::Tensor& w) { return w * mask; });
  EXPECT_LT(testing::max_abs_diff(lin(x), expect), 1e-6);
  // Gradients reach the transform's own parameters (LAMP's mask logits).
  auto logits = torch::zeros({5, 6}, torch::requires_grad());
  lin->set_transform([logits](const torch::Tensor& w) { return w * torch::sigmoid(logits); });
  lin(x).sum().backward();
  ASSERT_TRUE(logits.grad().defined());
  EXPECT_GT(logits.grad().abs().sum().item<double>(), 0.0);
  // Surgery with a transform that does not follow it is refused.
  EXPECT_THROW(lin->keep_rows(torch::tensor({0}, torch::kLong)), kd::Error);
  lin->clear_transform();
  EXPECT_LT(testing::max_abs_diff(lin(x), torch::matmul(x, lin->weight.t()) + lin->bias), 1e-6);
}

// schuBERT-style pruning vectors: rows scaled by α_out (bias too), columns by α_in; follows
// surgery by selecting its own entries.
struct AlphaTransform : WeightTransform {
  torch::Tensor a_out, a_in;
  torch::Tensor weight(const torch::Tensor& w) override {
    return w * a_out.unsqueeze(1) * a_in.unsqueeze(0);
  }
  torch::Tensor bias(const torch::Tensor& b) override { return b * a_out; }
  void keep_rows(const torch::Tensor& i) override { a_out = a_out.index_select(0, i); }
  void keep_cols(const torch::Tensor& i) override { a_in = a_in.index_select(0, i); }
};

TEST(PrunableLinear, AlphaTransformFollowsSurgeryAndFolds) {
  auto lin = make_linear(6, 5);
  auto t = std::make_shared<AlphaTransform>();
  t->a_out = torch::rand({5}) + 0.5;
  t->a_in = torch::rand({6}) + 0.5;
  lin->set_transform(t);
  auto x = torch::randn({3, 6});
  auto expect =
      torch::matmul(x * t->a_in, (lin->weight * t->a_out.unsqueeze(1)).t()) + lin->bias * t->a_out;
  EXPECT_LT(testing::max_abs_diff(lin(x), expect), 1e-5);
  auto full = lin(x).detach();
  auto rows = torch::tensor({4, 0, 2}, torch::kLong);
  lin->keep_rows(rows);
  EXPECT_LT(testing::max_abs_diff(lin(x), full.index_select(1, rows)), 1e-6);
  lin->fold_transform();  // α into the weights, transform gone, same function
  EXPECT_EQ(lin->transform(), nullptr);
  EXPECT_LT(testing::max_abs_diff(lin(x), full.index_select(1, rows)), 1e-5);
}

TEST(PrunableLinear, Bf16ComputeCloseToFp32) {
  // bf16 has an 8-bit mantissa (relative rounding 2^-9 per operand); with fp32 accumulation
  // the output error stays well below 2e-2 of the output scale.
  auto lin = make_linear(256, 64);
  auto x = torch::randn({8, 256});
  auto ref = lin(x);
  lin->set_compute_dtype(torch::kBFloat16);
  auto y = lin(x);
  EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
  EXPECT_EQ(lin->weight.scalar_type(), torch::kFloat);  // fp32 master weights
  const double rel = testing::max_abs_diff(y, ref) / ref.abs().max().item<double>();
  EXPECT_LT(rel, 2e-2);
  EXPECT_GT(rel, 0.0);  // it really ran in bf16
  y.to(torch::kFloat).sum().backward();
  ASSERT_TRUE(lin->weight.grad().defined());
  EXPECT_EQ(lin->weight.grad().scalar_type(), torch::kFloat);
  EXPECT_THROW(lin->set_compute_dtype(torch::kInt), kd::Error);
}

}  // namespace
}  // namespace kd::model
