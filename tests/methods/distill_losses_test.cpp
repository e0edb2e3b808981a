// Tutor-KD reward and loss math on hand-built distributions (METHODS.md §1), and the
// distillation terms vanishing when the student is the teacher.
#include <gtest/gtest.h>

#include "common/check.h"
#include "data/loader_types.h"
#include "methods/distill/distill_losses.h"
#include "methods/distill/distiller.h"
#include "support/distill_fixtures.h"

namespace kd::methods::distill {
namespace {

// Logits whose softmax is exactly `probs` (rows).
torch::Tensor logits_of(std::vector<std::vector<double>> probs) {
  std::vector<torch::Tensor> rows;
  for (auto& r : probs) rows.push_back(torch::tensor(r, torch::kDouble).log().to(torch::kFloat));
  return torch::stack(rows);
}

TEST(TutorKdRewards, TeacherRewardIsNegativeWhenTheTeacherPrefersTheReplacement) {
  // Position 0: teacher p(x)=0.6, p(a)=0.1 -> R_T = +0.5. Position 1: p(x)=0.2, p(a)=0.7 -> -0.5.
  auto logits = logits_of({{0.6, 0.1, 0.3}, {0.2, 0.7, 0.1}});
  auto x = torch::tensor({0, 0}, torch::kLong);
  auto a = torch::tensor({1, 1}, torch::kLong);
  auto r = teacher_reward(pair_probs(logits, x, a));
  EXPECT_NEAR(r[0].item<double>(), 0.5, 1e-6);
  EXPECT_NEAR(r[1].item<double>(), -0.5, 1e-6);
  EXPECT_LT(r[1].item<double>(), 0);
}

TEST(TutorKdRewards, ModifiedLogitRatioIsCappedAtOneAndOneWhenNotReplaced) {
  auto logits = logits_of({{0.6, 0.1, 0.3}, {0.2, 0.7, 0.1}, {0.5, 0.25, 0.25}});
  auto x = torch::tensor({0, 0, 0}, torch::kLong);
  auto a = torch::tensor({1, 1, 0}, torch::kLong);
  auto replaced = a != x;
  auto r = capped_ratio(pair_probs(logits, x, a), replaced);
  EXPECT_NEAR(r[0].item<double>(), 0.1 / 0.6, 1e-5);  // below the cap
  EXPECT_FLOAT_EQ(r[1].item<float>(), 1.0f);          // 0.7 / 0.2 = 3.5, capped
  EXPECT_FLOAT_EQ(r[2].item<float>(), 1.0f);          // not replaced
  // A vanishing p(x) gives the cap, not inf/nan.
  auto tiny = logits_of({{1e-30, 1 - 1e-30, 0.0 + 1e-40}});
  auto rt =
      capped_ratio(pair_probs(tiny, torch::tensor({0}), torch::tensor({1})), torch::tensor({true}));
  EXPECT_FLOAT_EQ(rt[0].item<float>(), 1.0f);
  // Student reward: distance of the ratios, detached.
  auto rs = torch::tensor({0.5f, 1.0f, 1.0f}, torch::requires_grad());
  auto reward = student_reward(r, rs);
  EXPECT_NEAR(reward[0].item<double>(), std::abs(0.1 / 0.6 - 0.5), 1e-5);
  EXPECT_FALSE(reward.requires_grad());
}

TEST(TutorKdRewards, ReinforceRaisesTheLogProbabilityOfHighRewardSamples) {
  // One position, vocabulary of 4, uniform policy; token 1 sampled with reward +1 and token 2
  // with reward -1 (two draws). A gradient step must move probability from 2 to 1.
  auto logits = torch::zeros({2, 4}, torch::requires_grad());
  auto sampled = torch::tensor({1, 2}, torch::kLong);
  auto reward = torch::tensor({1.0f, -1.0f});
  for (bool baseline : {false, true}) {
    if (logits.grad().defined()) logits.mutable_grad().zero_();
    auto logp = torch::log_softmax(logits, -1).gather(1, sampled.view({-1, 1})).view(-1);
    reinforce_loss(logp, reward, baseline).backward();
    auto updated = (logits - 0.5 * logits.grad()).detach();
    auto p = torch::softmax(updated, -1);
    EXPECT_GT(p[0][1].item<double>(), 0.25) << "baseline " << baseline;
    EXPECT_LT(p[1][2].item<double>(), 0.25) << "baseline " << baseline;
  }
}

TEST(TutorKdRewards, KlToTheTeacherIsZeroForEqualDistributionsAndPositiveOtherwise) {
  auto t = torch::randn({5, 7});
  EXPECT_NEAR(kl_to_target(t.clone(), t).item<double>(), 0.0, 1e-6);
  EXPECT_GT(kl_to_target(torch::randn({5, 7}), t).item<double>(), 1e-3);
  // Hand value: p = (0.5, 0.5), q = (0.25, 0.75): KL = 0.5 ln 2 + 0.5 ln(2/3).
  auto kl = kl_to_target(logits_of({{0.25, 0.75}}), logits_of({{0.5, 0.5}}));
  EXPECT_NEAR(kl.item<double>(), 0.5 * std::log(2.0) + 0.5 * std::log(2.0 / 3.0), 1e-6);
  // Plain KD scales by T^2.
  auto s = torch::randn({3, 4}), tt = torch::randn({3, 4});
  EXPECT_NEAR(logit_kd_loss(s, tt, 2.0).item<double>(),
              4.0 * kl_to_target(s, tt, 2.0).item<double>(), 1e-6);
}

TEST(TutorKdRewards, RatioBceIsMinimalWhereTheStudentMatchesTheTeacher) {
  auto target = torch::tensor({0.2f, 0.9f});
  auto at = ratio_bce(target.clone(), target).item<double>();
  EXPECT_LT(at, ratio_bce(torch::tensor({0.5f, 0.5f}), target).item<double>());
  // From logits, masked entries do not count.
  auto logit = torch::tensor({0.0f, 100.0f});
  auto w = torch::tensor({1.0f, 0.0f});
  EXPECT_NEAR(ratio_bce_with_logits(logit, torch::tensor({0.5f, 0.0f}), w).item<double>(),
              std::log(2.0), 1e-5);
}

TEST(TutorKdRewards, SamplingFollowsTheTutorDistribution) {
  torch::manual_seed(1);
  const int64_t n = 40000;
  auto probs = torch::tensor({0.1f, 0.0f, 0.6f, 0.3f}).expand({n, 4}).contiguous();
  auto s = sample_categorical(probs);
  auto freq = torch::bincount(s, {}, 4).to(torch::kDouble) / n;
  EXPECT_EQ(freq[1].item<double>(), 0.0);  // zero probability: never drawn
  for (int i : {0, 2, 3})  // 4 standard deviations of a binomial at n = 40000 is <= 0.01
    EXPECT_NEAR(freq[i].item<double>(), probs[0][i].item<double>(), 0.01) << i;
  // Unnormalised rows sample the same way.
  auto scaled = sample_categorical(probs * 7.0);
  EXPECT_NEAR((torch::bincount(scaled, {}, 4).to(torch::kDouble) / n)[2].item<double>(), 0.6, 0.01);
}

TEST(DistillLayers, UniformMapAndValidation) {
  EXPECT_EQ(resolve_layer_map({}, 2, 4), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(resolve_layer_map({}, 4, 12), (std::vector<int64_t>{3, 6, 9, 12}));
  EXPECT_EQ(resolve_layer_map({}, 3, 3), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(resolve_layer_map({1, 3}, 2, 4), (std::vector<int64_t>{1, 3}));
  EXPECT_THROW(resolve_layer_map({1}, 2, 4), Error);
  EXPECT_THROW(resolve_layer_map({1, 5}, 2, 4), Error);
}

TEST(DistillLayers, HiddenAndAttentionLossesCompareMappedLayersOnRealTokens) {
  // Student 1 layer, teacher 2 layers: student layer 1 <-> teacher layer 2.
  auto mask = torch::tensor({{1, 1, 0}}, torch::kLong);
  std::vector<torch::Tensor> t{torch::randn({1, 3, 4}), torch::randn({1, 3, 4}),
                               torch::randn({1, 3, 4})};
  std::vector<torch::Tensor> s{t[0].clone(), t[2].clone()};
  EXPECT_NEAR(hidden_loss(s, t, {2}, nullptr, mask).item<double>(), 0.0, 1e-7);
  s[1].select(1, 2).add_(5.0);  // a padded token: ignored
  EXPECT_NEAR(hidden_loss(s, t, {2}, nullptr, mask).item<double>(), 0.0, 1e-7);
  s[1].select(1, 0).add_(1.0);  // a real token: 4 features off by 1 over 2 tokens x 4
  EXPECT_NEAR(hidden_loss(s, t, {2}, nullptr, mask).item<double>(), 0.5, 1e-6);
  // Mismatched widths need a projection.
  std::vector<torch::Tensor> narrow{torch::randn({1, 3, 2}), torch::randn({1, 3, 2})};
  EXPECT_THROW(hidden_loss(narrow, t, {2}, nullptr, mask), Error);
  EXPECT_NO_THROW(hidden_loss(narrow, t, {2}, torch::nn::Linear(2, 4), mask));

  std::vector<torch::Tensor> at{torch::randn({1, 2, 3, 3}), torch::randn({1, 2, 3, 3})};
  std::vector<torch::Tensor> as{at[1].clone()};
  EXPECT_NEAR(attention_loss(as, at, {2}, mask).item<double>(), 0.0, 1e-7);
  as[0].select(3, 2).add_(3.0);  // scores of a padded key: ignored
  EXPECT_NEAR(attention_loss(as, at, {2}, mask).item<double>(), 0.0, 1e-7);
  // Different head counts: compared after averaging over heads.
  std::vector<torch::Tensor> one_head{at[1].mean(1, true)};
  EXPECT_NEAR(attention_loss(one_head, at, {2}, mask).item<double>(), 0.0, 1e-7);
}

TEST(Distiller, DistillationTermsVanishWhenTheStudentIsTheTeacher) {
  model::BertForPreTraining teacher(test::tiny_bert(16, 2));
  teacher->init_weights(3);
  model::BertForPreTraining student(test::tiny_bert(16, 2));
  {
    torch::NoGradGuard g;
    auto src = teacher->named_parameters();
    for (auto& kv : student->named_parameters()) kv.value().copy_(*src.find(kv.key()));
  }
  auto batch = test::masked_batch(4, 8, 5);
  DistillConfig c;
  c.distill.method = "kd";
  Distiller kd(c, teacher, student);
  auto r = kd.step(batch);
  EXPECT_NEAR(r.parts.at("kd").item<double>(), 0.0, 1e-5);
  EXPECT_NEAR(r.parts.at("hidden").item<double>(), 0.0, 1e-6);
  EXPECT_LT(r.parts.at("attention").item<double>(),
            1e-12);  // scores at init are ~1e-3: compare tightly

  c.distill.method = "tutor_kd";
  c.distill.student_ratio = "probs";
  Distiller tkd(c, teacher, student);
  auto t = tkd.step(batch);
  EXPECT_NEAR(t.parts.at("hidden").item<double>(), 0.0, 1e-6);
  EXPECT_LT(t.parts.at("attention").item<double>(), 1e-12);
  EXPECT_NEAR(t.parts.at("reward_student").item<double>(), 0.0, 1e-5);  // r_S == r_T everywhere
  EXPECT_NEAR(t.parts.at("kl").item<double>(), 0.0,
              1e-5);  // the tutor head starts as the teacher's head
  EXPECT_GT(t.parts.at("replaced").item<double>(), 0.0);

  // A different student: the terms are not vacuous.
  model::BertForPreTraining other(test::tiny_bert(8, 1));
  other->init_weights(11);
  c.distill.method = "kd";
  Distiller kd2(c, teacher, other);
  auto r2 = kd2.step(batch);
  EXPECT_GT(r2.parts.at("kd").item<double>(), 1e-3);
  EXPECT_GT(r2.parts.at("hidden").item<double>(), 1e-3);
  EXPECT_GT(r2.parts.at("attention").item<double>(), 1e-7);
}

TEST(Distiller, TutorAndStudentGetGradientsOnlyFromTheirOwnLosses) {
  model::BertForPreTraining teacher(test::tiny_bert(16, 2));
  teacher->init_weights(3);
  model::BertForPreTraining student(test::tiny_bert(8, 1));
  student->init_weights(4);
  DistillConfig c;
  c.weights.logit = c.weights.hidden = c.weights.attention = c.weights.mlm = 0;  // student off
  Distiller d(c, teacher, student);
  d.step(test::masked_batch(4, 8, 5)).loss.backward();
  for (auto& [name, p] : d.trainable_parameters()) {
    const bool has = p.grad().defined() && p.grad().abs().sum().item<double>() > 0;
    if (name.rfind("student.", 0) == 0) {
      EXPECT_FALSE(has) << name;
    }
    if (name.rfind("tutor.", 0) == 0 && name.find("decoder") != std::string::npos) {
      EXPECT_TRUE(has) << name;
    }
  }
  for (auto& p : teacher->parameters()) EXPECT_FALSE(p.grad().defined());
}

}  // namespace
}  // namespace kd::methods::distill
