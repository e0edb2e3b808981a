// LAMP's controls (mask_controls.h): random masks keep each matrix's count and follow their seed;
// flipped fractions, overlaps and the sparsity of combined independent masks match values worked
// out by hand or the average over many random draws; masks evaluated by their expectation σ(G)
// equal weights multiplied by σ(G) by hand, and a mask file remembers how it is to be evaluated.
#include <gtest/gtest.h>

#include <set>

#include "common/check.h"
#include "methods/relmask/mask_controls.h"
#include "methods/relmask/specialisation.h"
#include "support/distill_fixtures.h"
#include "support/test_support.h"

namespace kd::methods::relmask {
namespace {

model::BertForPreTraining control_model() {
  model::BertForPreTraining m(test::tiny_bert(16, 3));
  m->init_weights(5);
  m->eval();
  for (auto& p : m->parameters()) p.set_requires_grad(false);
  return m;
}

// Mask set whose matrix i keeps entries with σ(G) > 0.5 for G ~ N(init_i, 1): a different
// sparsity per matrix (init_i from -1.5 to 1.5).
RelationMasks uneven_masks(model::BertForPreTraining& m, uint64_t seed) {
  RelationMasks masks(m, MaskOptions{}, seed);
  torch::NoGradGuard no_grad;
  const double n = static_cast<double>(masks.logits().size());
  for (size_t i = 0; i < masks.logits().size(); ++i)
    masks.logits()[i].add_(-1.5 + 3.0 * static_cast<double>(i) / (n - 1));
  return masks;
}

int64_t kept(const RelationMasks& m, size_t i) {
  return m.hard_mask(i).sum().item<int64_t>();
}

TEST(MaskControls, RandomMasksKeepEachMatrixsCountAndFollowTheirSeed) {
  auto m = control_model();
  auto trained = uneven_masks(m, 1);
  RelationMasks a(m, MaskOptions{}, 0), b(m, MaskOptions{}, 0), c(m, MaskOptions{}, 0);
  randomise_like(a, trained, 7);
  randomise_like(b, trained, 7);
  randomise_like(c, trained, 8);
  std::set<int64_t> counts;
  for (size_t i = 0; i < trained.logits().size(); ++i) {
    EXPECT_EQ(kept(a, i), kept(trained, i)) << trained.names()[i];
    EXPECT_EQ(kept(c, i), kept(trained, i)) << trained.names()[i];
    EXPECT_TRUE(torch::equal(a.hard_mask(i), b.hard_mask(i))) << "same seed, same mask";
    counts.insert(kept(trained, i) * 1000 / trained.hard_mask(i).numel());
  }
  EXPECT_GT(counts.size(), 5u) << "the fixture's matrices should differ in sparsity";
  EXPECT_NEAR(a.sparsity(), trained.sparsity(), 1e-12);
  // Another seed draws another mask, and neither is the trained one: ~half their entries differ.
  EXPECT_GT(flipped_fraction(a, c), 0.3);
  EXPECT_GT(flipped_fraction(a, trained), 0.3);
}

TEST(MaskControls, FlippedFractionCountsChangedEntries) {
  auto m = control_model();
  RelationMasks a(m, MaskOptions{}, 3), b(m, MaskOptions{}, 3);
  EXPECT_EQ(flipped_fraction(a, b), 0.0);
  double total = 0;
  for (const auto& g : a.logits()) total += static_cast<double>(g.numel());
  {
    torch::NoGradGuard no_grad;
    auto flat = b.logits()[2].view({-1});
    flat.narrow(0, 0, 10).neg_();  // N(0, 1) draws are never exactly 0: each sign flip flips
  }
  EXPECT_NEAR(flipped_fraction(a, b), 10.0 / total, 1e-15);
  // Two independent N(0, 1) draws disagree on half the entries.
  EXPECT_NEAR(flipped_fraction(a, RelationMasks(m, MaskOptions{}, 4)), 0.5, 0.02);
}

TEST(MaskControls, OverlapMatchesCountsByHand) {
  auto m = control_model();
  MaskOptions one_layer;
  one_layer.first_layer = one_layer.last_layer = 1;
  RelationMasks a(m, one_layer, 1), b(m, one_layer, 2);
  // a keeps the first half of every matrix's entries, b the first quarter: they share a quarter
  // (b's entries); random masks of those sparsities share 1/2 · 1/4 = 1/8.
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < a.logits().size(); ++i) {
      const int64_t n = a.logits()[i].numel();
      auto ga = a.logits()[i].view({-1}), gb = b.logits()[i].view({-1});
      ga.fill_(-10), gb.fill_(-10);
      ga.narrow(0, 0, n / 2).fill_(10);
      gb.narrow(0, 0, n / 4).fill_(10);
    }
  }
  std::vector<RelationMasks> masks = {a, b};
  const auto o = mask_overlap(masks);
  EXPECT_NEAR(o["kept_both"][0][1].get<double>(), 0.25, 1e-12);
  EXPECT_NEAR(o["kept_both"][0][0].get<double>(), 0.5, 1e-12);
  EXPECT_NEAR(o["expected"][0][1].get<double>(), 0.125, 1e-12);
  EXPECT_NEAR(o["ratio"][1][0].get<double>(), 2.0, 1e-12);
  EXPECT_NEAR(o["mean_ratio_off_diagonal"].get<double>(), 2.0, 1e-12);
  // Combinations: the union of these two keeps half (sparsity 1/2); independent masks of the
  // same sparsities leave 1/2 · 3/4 zeros; their intersection 1 − 1/2 · 1/4.
  EXPECT_NEAR(independent_combination_sparsity(masks, "union"), 0.375, 1e-12);
  EXPECT_NEAR(independent_combination_sparsity(masks, "intersection"), 0.875, 1e-12);
  EXPECT_THROW(independent_combination_sparsity(masks, "frequency"), Error);
}

TEST(MaskControls, RandomMasksOverlapAndCombineAsThePredictionSays) {
  auto m = control_model();
  auto x = uneven_masks(m, 1), y = uneven_masks(m, 2);
  // Averaged over 40 pairs of random masks of x's and y's per-matrix sparsities: the overlap
  // ratio is 1 and the union's and intersection's sparsities are the independent ones.
  double ratio = 0, union_zeros = 0, intersection_zeros = 0;
  const int pairs = 40;
  for (int p = 0; p < pairs; ++p) {
    RelationMasks a(m, MaskOptions{}, 0), b(m, MaskOptions{}, 0);
    randomise_like(a, x, 100 + p);
    randomise_like(b, y, 200 + p);
    ratio += mask_overlap({a, b})["ratio"][0][1].get<double>() / pairs;
    double u = 0, in = 0, total = 0;
    for (size_t i = 0; i < a.logits().size(); ++i) {
      auto ha = a.hard_mask(i), hb = b.hard_mask(i);
      u += (~(ha | hb)).sum().item<double>();
      in += (~(ha & hb)).sum().item<double>();
      total += static_cast<double>(ha.numel());
    }
    union_zeros += u / total / pairs;
    intersection_zeros += in / total / pairs;
  }
  // 30,720 entries per draw, 40 draws: the standard error of each average is below 0.002.
  EXPECT_NEAR(ratio, 1.0, 0.01);
  EXPECT_NEAR(union_zeros, independent_combination_sparsity({x, y}, "union"), 0.005);
  EXPECT_NEAR(intersection_zeros, independent_combination_sparsity({x, y}, "intersection"), 0.005);
  // Not vacuous: x with itself overlaps far more than chance.
  EXPECT_GT(mask_overlap({x, x})["ratio"][0][1].get<double>(), 1.2);
}

model::ForwardOptions mlm_only() {
  model::ForwardOptions o;
  o.compute_nsp = false;
  return o;
}

TEST(MaskControls, ExpectationEvaluationMultipliesTheWeightsBySigmoidG) {
  auto m = control_model();
  torch::manual_seed(11);
  auto ids = torch::randint(5, 40, {3, 9});
  MaskOptions o;
  o.first_layer = o.last_layer = 1;
  o.eval = "expectation";
  RelationMasks masks(m, o, 4);
  masks.attach(m);
  masks.set_training(false);
  auto expectation = m->forward(ids, {}, {}, mlm_only()).mlm_logits;
  masks.set_training(true);  // training stays straight-through: the hard mask's forward
  auto training = m->forward(ids, {}, {}, mlm_only()).mlm_logits;
  RelationMasks::detach(m);
  // By hand: layer 1's weights times σ(G), and times the hard mask.
  auto by_hand = [&](bool soft) {
    auto copy = control_model();
    auto linears = copy->encoder_linears();
    torch::NoGradGuard g;
    for (size_t k = 0; k < 6; ++k)
      linears[6 + k]->weight.mul_(soft ? torch::sigmoid(masks.logits()[k])
                                       : masks.hard_mask(k).to(torch::kFloat));
    return copy->forward(ids, {}, {}, mlm_only()).mlm_logits;
  };
  const auto soft = by_hand(true), hard = by_hand(false);
  const double soft_error = (expectation - soft).abs().max().item<double>();
  EXPECT_LT(soft_error, 1e-6);
  EXPECT_LT((training - hard).abs().max().item<double>(), 1e-6);
  // The two by-hand models differ far more than the comparisons' errors (the tiny model's small
  // weights keep the difference near 1e-3).
  EXPECT_GT((soft - hard).abs().max().item<double>(), 1e-4);
}

TEST(MaskControls, AMaskFileRemembersHowItIsEvaluated) {
  auto m = control_model();
  MaskOptions o;
  o.eval = "expectation";
  RelationMasks masks(m, o, 4);
  const std::string dir = test::temp_dir("mask_controls");
  masks.save(dir + "/with_logits.safetensors", true);
  masks.save(dir + "/hard_only.safetensors", false);
  EXPECT_EQ(mask_options_of_file(dir + "/with_logits.safetensors").eval, "expectation");
  try {
    mask_options_of_file(dir + "/hard_only.safetensors");
    ADD_FAILURE() << "expectation masks without logits were accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("has no logits"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("hard_only.safetensors"), std::string::npos) << e.what();
  }
  MaskOptions hard;
  RelationMasks(m, hard, 4).save(dir + "/hard.safetensors", false);
  EXPECT_EQ(mask_options_of_file(dir + "/hard.safetensors").eval, "hard");
  MaskOptions bad;
  bad.eval = "mean";
  EXPECT_THROW(validate(bad), Error);
}

}  // namespace
}  // namespace kd::methods::relmask
