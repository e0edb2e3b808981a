// LAMP relation masks: the straight-through gradient reaches the mask logits; sparsity at init
// follows the prior; a masked forward equals a forward with those weights zeroed by hand; two
// relations share one model; bit-packed masks round-trip.
#include <gtest/gtest.h>

#include <cmath>

#include "common/check.h"
#include "methods/relmask/relation_masks.h"
#include "methods/relmask/specialisation.h"
#include "support/distill_fixtures.h"
#include "support/test_support.h"

namespace kd::methods::relmask {
namespace {

model::BertForPreTraining tiny_model() {
  model::BertForPreTraining m(test::tiny_bert(16, 3));
  m->init_weights(5);
  m->eval();
  for (auto& p : m->parameters()) p.set_requires_grad(false);  // LAMP freezes θ
  return m;
}

torch::Tensor mlm_logits(model::BertForPreTraining& m, const torch::Tensor& ids) {
  model::ForwardOptions o;
  o.compute_nsp = false;
  return m->forward(ids, {}, {}, o).mlm_logits;
}

TEST(RelationMasks, StraightThroughGradientReachesTheMaskLogits) {
  auto m = tiny_model();
  MaskOptions o;  // deterministic; a normal prior, so the hard mask is neither empty nor full
  o.prior = "normal";
  o.first_layer = 1;
  RelationMasks masks(m, o, 3);
  masks.attach(m);
  masks.set_training(true);
  auto ids = torch::randint(5, 40, {2, 8});
  mlm_logits(m, ids).logsumexp(-1).sum().backward();
  ASSERT_EQ(masks.logits().size(), 2u * 6u);  // layers 1 and 2, 6 linears each
  for (size_t i = 0; i < masks.logits().size(); ++i) {
    ASSERT_TRUE(masks.logits()[i].grad().defined()) << masks.names()[i];
    EXPECT_GT(masks.logits()[i].grad().abs().sum().item<double>(), 0) << masks.names()[i];
  }
  EXPECT_EQ(masks.names().front(), "bert.encoder.layer.1.attention.self.query.weight");
  EXPECT_EQ(masks.names().back(), "bert.encoder.layer.2.output.dense.weight");
}

TEST(RelationMasks, InitialSparsityFollowsThePrior) {
  auto m = tiny_model();
  // Stochastic, constant G = g: a sampled mask has σ(−g) entries below 1/2 (init 0 → 50%).
  for (double g : {0.0, 0.41, 1.0, 2.95}) {
    MaskOptions o;
    o.kind = "stochastic";
    o.prior = "constant";
    o.init = g;
    RelationMasks masks(m, o, 1);
    masks.attach(m);
    masks.set_training(true);
    torch::manual_seed(2);
    double zeros = 0, total = 0;
    for (int draw = 0; draw < 10; ++draw)  // 61,440 entries: 0.01 is > 4 standard deviations
      for (auto& lin : m->encoder_linears()) {
        auto w = torch::ones_like(lin->weight);
        auto sampled = lin->transform()->weight(w);  // = M for W of ones
        zeros += (sampled < 0.5).sum().item<double>();
        total += static_cast<double>(w.numel());
      }
    EXPECT_NEAR(zeros / total, 1.0 / (1.0 + std::exp(g)), 0.01) << "init " << g;
  }
  // Deterministic, constant 0: σ(0) = 0.5 is not > 0.5, so every weight starts pruned (the trap
  // `kdprune relmask` warns about); the default prior is the normal one.
  MaskOptions constant;
  constant.prior = "constant";
  EXPECT_EQ(RelationMasks(m, constant, 9).sparsity(), 1.0);
  // Deterministic, normal prior N(0, 1) (the default): half of the hard mask is zero.
  MaskOptions o;
  ASSERT_EQ(o.prior, "normal");
  RelationMasks masks(m, o, 9);
  EXPECT_NEAR(masks.sparsity(), 0.5, 0.02);
  for (double s : masks.sparsity_per_matrix()) EXPECT_NEAR(s, 0.5, 0.1);
  // Per layer: the numel-weighted mean of that layer's six matrices, for every layer 0..2.
  const auto per_layer = masks.sparsity_per_layer();
  ASSERT_EQ(per_layer.size(), 3u);
  const auto per_matrix = masks.sparsity_per_matrix();
  for (const auto& [layer, s] : per_layer) {
    double zeros = 0, total = 0;
    for (size_t i = 0; i < per_matrix.size(); ++i)
      if (masks.names()[i].rfind("bert.encoder.layer." + std::to_string(layer) + ".", 0) == 0) {
        zeros += per_matrix[i] * static_cast<double>(masks.logits()[i].numel());
        total += static_cast<double>(masks.logits()[i].numel());
      }
    EXPECT_NEAR(s, zeros / total, 1e-12) << layer;
  }
}

TEST(RelationMasks, MaskedForwardEqualsWeightsZeroedByHand) {
  auto m = tiny_model();
  auto ids = torch::randint(5, 40, {3, 9});
  MaskOptions o;
  o.prior = "normal";
  o.first_layer = 1;
  o.last_layer = 1;
  RelationMasks masks(m, o, 4);
  masks.attach(m);
  masks.set_training(false);
  auto masked = mlm_logits(m, ids);
  RelationMasks::detach(m);
  auto full = mlm_logits(m, ids);
  // By hand: zero the masked-out entries of layer 1's weights in a copy.
  auto copy = tiny_model();
  auto linears = copy->encoder_linears();
  {
    torch::NoGradGuard g;
    for (size_t k = 0; k < 6; ++k) linears[6 + k]->weight.mul_(masks.hard_mask(k));
  }
  auto by_hand = mlm_logits(copy, ids);
  EXPECT_LT((masked - by_hand).abs().max().item<double>(), 1e-5);
  EXPECT_GT((masked - full).abs().max().item<double>(), 1e-3);  // the mask changed something
}

TEST(RelationMasks, TwoRelationsShareOneModel) {
  auto m = tiny_model();
  auto ids = torch::randint(5, 40, {2, 7});
  MaskOptions o;
  o.prior = "normal";
  RelationMasks a(m, o, 1), b(m, o, 2);
  a.set_training(false);
  b.set_training(false);
  a.attach(m);
  auto ya = mlm_logits(m, ids);
  b.attach(m);
  auto yb = mlm_logits(m, ids);
  a.attach(m);
  EXPECT_TRUE(torch::equal(mlm_logits(m, ids), ya));
  EXPECT_GT((ya - yb).abs().max().item<double>(), 1e-3);
}

TEST(RelationMasks, CombinationsOfMasks) {
  auto a = torch::tensor({true, true, false, false, true});
  auto b = torch::tensor({true, false, true, false, false});
  auto c = torch::tensor({true, false, false, false, false});
  EXPECT_TRUE(torch::equal(combine_masks({a, b, c}, {1, 1, 1}, "union"),
                           torch::tensor({true, true, true, false, true})));
  EXPECT_TRUE(torch::equal(combine_masks({a, b, c}, {1, 1, 1}, "intersection"),
                           torch::tensor({true, false, false, false, false})));
  // Frequency-weighted: a carries 3 of 5 votes, so a's entries win; b alone (1 of 5) does not.
  EXPECT_TRUE(torch::equal(combine_masks({a, b, c}, {3, 1, 1}, "frequency"), a));
  EXPECT_TRUE(torch::equal(combine_masks({a, b, c}, {1, 1, 1}, "frequency"),
                           torch::tensor({true, false, false, false, false})));
  EXPECT_THROW(combine_masks({a}, {1}, "xor"), Error);
}

TEST(RelationMasks, BitPackedMasksRoundTrip) {
  auto bits = torch::rand({13, 7}) > 0.5;
  auto packed = pack_bits(bits);
  EXPECT_EQ(packed.numel(), (13 * 7 + 7) / 8);
  EXPECT_TRUE(torch::equal(unpack_bits(packed, {13, 7}), bits));
  EXPECT_THROW(unpack_bits(packed, {13, 9}), Error);

  auto m = tiny_model();
  MaskOptions o;
  o.prior = "normal";
  RelationMasks a(m, o, 1), b(m, o, 2), c(m, o, 3);
  const std::string dir = test::temp_dir("relmask");
  a.save(dir + "/hard.safetensors", false);
  a.save(dir + "/logits.safetensors", true);
  b.load(dir + "/hard.safetensors");
  c.load(dir + "/logits.safetensors");
  for (size_t i = 0; i < a.logits().size(); ++i) {
    EXPECT_TRUE(torch::equal(a.hard_mask(i), b.hard_mask(i))) << i;
    EXPECT_TRUE(torch::equal(a.logits()[i], c.logits()[i])) << i;
  }
}

}  // namespace
}  // namespace kd::methods::relmask
