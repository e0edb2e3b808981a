// Tutor-KD reward and loss math on hand-built distributions (METHODS.md §1), the distillation
// terms vanishing when the student is the teacher, and the released code's choices beside
// kdprune's variants: r_T from X^M or X', a random or teacher-copied tutor head, reward ablations.
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

// The tests' teacher (16 wide, 2 layers), a smaller student (8 wide, 1 layer) and an exact copy.
model::BertForPreTraining tiny_model(int64_t hidden, int64_t layers, uint64_t seed) {
  model::BertForPreTraining m(test::tiny_bert(hidden, layers));
  m->init_weights(seed);
  return m;
}
model::BertForPreTraining tiny_teacher() {
  return tiny_model(16, 2, 3);
}
model::BertForPreTraining tiny_student() {
  return tiny_model(8, 1, 4);
}
model::BertForPreTraining copy_of(model::BertForPreTraining& source) {
  model::BertForPreTraining copy(source->config());
  torch::NoGradGuard g;
  auto src = source->named_parameters();
  for (auto& kv : copy->named_parameters()) kv.value().copy_(*src.find(kv.key()));
  return copy;
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
  auto teacher = tiny_teacher();
  auto student = copy_of(teacher);
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
  c.distill.teacher_ratio = "pseudo";  // r_T and r_S both from X': equal for equal models
  c.tutor.head_init = "teacher";
  Distiller tkd(c, teacher, student);
  auto t = tkd.step(batch);
  EXPECT_NEAR(t.parts.at("hidden").item<double>(), 0.0, 1e-6);
  EXPECT_LT(t.parts.at("attention").item<double>(), 1e-12);
  EXPECT_NEAR(t.parts.at("reward_student").item<double>(), 0.0, 1e-5);  // r_S == r_T everywhere
  EXPECT_NEAR(t.parts.at("kl").item<double>(), 0.0,
              1e-5);  // the tutor head starts as the teacher's head
  EXPECT_GT(t.parts.at("replaced").item<double>(), 0.0);

  // A different student: the terms are not vacuous.
  auto other = tiny_model(8, 1, 11);
  c.distill.method = "kd";
  Distiller kd2(c, teacher, other);
  auto r2 = kd2.step(batch);
  EXPECT_GT(r2.parts.at("kd").item<double>(), 1e-3);
  EXPECT_GT(r2.parts.at("hidden").item<double>(), 1e-3);
  EXPECT_GT(r2.parts.at("attention").item<double>(), 1e-7);
}

TEST(Distiller, TutorAndStudentGetGradientsOnlyFromTheirOwnLosses) {
  auto teacher = tiny_teacher();
  auto student = tiny_student();
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

// The released code's r_T: min(1, p_T(a)/p_T(x)) from the teacher's pass on X^M. With the tutor
// head a copy of the teacher's, π is the teacher's distribution on X^M, so the tutor's samples can
// be drawn again by hand from the same generator state and r_T worked out from them.
TEST(Distiller, TeacherRatioComesFromTheMaskedInputOrThePseudoSample) {
  auto teacher = tiny_teacher();
  auto student = tiny_student();
  auto batch = test::masked_batch(4, 8, 5);
  DistillConfig c;
  c.tutor.head_init = "teacher";
  c.distill.student_ratio = "probs";
  auto ratio_of = [&](const std::string& variant) {
    c.distill.teacher_ratio = variant;
    Distiller d(c, teacher, student);
    torch::manual_seed(21);
    return d.step(batch).parts.at("ratio_teacher").item<double>();
  };
  const double masked = ratio_of("masked"), pseudo = ratio_of("pseudo");
  // By hand: the teacher on X^M, a sample from its distribution at the masked positions.
  auto labels = batch.mlm_labels.reshape(-1);
  auto pos = (labels != -100).nonzero().reshape(-1);
  auto x = labels.index_select(0, pos);
  model::ForwardOptions o;
  o.mlm_positions = pos;
  o.compute_nsp = false;
  torch::Tensor logits;
  {
    torch::NoGradGuard g;
    teacher->eval();
    logits = teacher->forward(batch.input_ids, batch.token_type_ids, batch.attention_mask, o)
                 .mlm_logits.to(torch::kFloat);
  }
  torch::manual_seed(21);
  auto sampled = sample_categorical(torch::softmax(logits, -1));
  auto p = pair_probs(logits, x, sampled);
  const double by_hand =
      capped_ratio(p, sampled != x).sum().item<double>() / static_cast<double>(x.numel());
  EXPECT_NEAR(masked, by_hand, 1e-5);
  EXPECT_GT(std::abs(masked - pseudo), 1e-3) << "on X' the teacher sees the replacement";
  c.distill.teacher_ratio = "student";
  EXPECT_THROW(Distiller(c, teacher, student), Error);
}

TEST(Distiller, TheTutorHeadStartsRandomAsReleasedOrAsTheTeachersHead) {
  auto teacher = tiny_teacher();
  auto student = tiny_student();
  auto batch = test::masked_batch(4, 8, 5);
  DistillConfig c;
  auto first_kl = [&](const std::string& init) {
    c.tutor.head_init = init;
    Distiller d(c, teacher, student);
    auto decoder = [&] {
      for (auto& [name, t] : d.trainable_parameters())
        if (name == "tutor.decoder_weight") return t;
      return torch::Tensor();
    }();
    EXPECT_TRUE(decoder.defined());
    const bool copied = torch::equal(decoder, teacher->embeddings->word_embeddings->weight);
    EXPECT_EQ(copied, init == "teacher");
    return d.step(batch).parts.at("kl").item<double>();
  };
  EXPECT_NEAR(first_kl("teacher"), 0.0, 1e-5);
  EXPECT_GT(first_kl("random"), 1e-3);
  c.tutor.head_init = "zeros";
  EXPECT_THROW(Distiller(c, teacher, student), Error);
}

// Reward ablations: with the student equal to the teacher and both ratios from X', R_S = 0, so
// the student-only reward gives no policy gradient and the teacher-only one equals both.
TEST(Distiller, RewardAblationsUseOnlyTheChosenReward) {
  auto teacher = tiny_teacher();
  auto student = copy_of(teacher);
  auto batch = test::masked_batch(4, 8, 5);
  DistillConfig c;
  c.distill.student_ratio = "probs";
  c.distill.teacher_ratio = "pseudo";
  auto policy_of = [&](const std::string& reward) {
    c.distill.reward = reward;
    Distiller d(c, teacher, student);
    torch::manual_seed(8);
    return d.step(batch).parts.at("policy").item<double>();
  };
  const double both = policy_of("both"), teacher_only = policy_of("teacher");
  EXPECT_NEAR(policy_of("student"), 0.0, 1e-6);
  EXPECT_GT(std::abs(both), 1e-4);
  EXPECT_NEAR(teacher_only, both, 1e-6);
  c.distill.reward = "tutor";
  EXPECT_THROW(Distiller(c, teacher, student), Error);
}

// MiniLMv2's relation loss against a loop over batch rows, relation heads and real positions
// in double precision, with different teacher and student widths and one padded row.
TEST(MiniLm, RelationLossMatchesALoopByHandAndIgnoresPadding) {
  torch::manual_seed(4);
  const int64_t B = 2, T = 5, heads = 4;
  std::array<torch::Tensor, 3> s, t;
  for (auto& a : s) a = torch::randn({B, T, 8});
  for (auto& a : t) a = torch::randn({B, T, 12});
  auto mask = torch::ones({B, T}, torch::kLong);
  mask[1][3] = mask[1][4] = 0;
  auto relation = [&](const torch::Tensor& a, int64_t b, int64_t h, int64_t i, int64_t j) {
    const int64_t d = a.size(2) / heads;
    auto qi = a[b][i].narrow(0, h * d, d).to(torch::kDouble);
    double z = 0;
    for (int64_t k = 0; k < T; ++k)
      if (mask[b][k].item<int64_t>())
        z += std::exp(qi.dot(a[b][k].narrow(0, h * d, d).to(torch::kDouble)).item<double>() /
                      std::sqrt(double(d)));
    return std::exp(qi.dot(a[b][j].narrow(0, h * d, d).to(torch::kDouble)).item<double>() /
                    std::sqrt(double(d))) /
           z;
  };
  double total = 0, rows = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < T; ++i) {
      if (!mask[b][i].item<int64_t>()) continue;
      rows += heads;
      for (int64_t h = 0; h < heads; ++h)
        for (size_t which = 0; which < 3; ++which)
          for (int64_t j = 0; j < T; ++j)
            if (mask[b][j].item<int64_t>()) {
              const double pt = relation(t[which], b, h, i, j), ps = relation(s[which], b, h, i, j);
              total += pt * std::log(pt / ps);
            }
    }
  const double loss = relation_loss(s, t, heads, mask).item<double>();
  EXPECT_NEAR(loss, total / rows, 1e-5);
  EXPECT_GT(loss, 1e-3);
  // Padded positions (row 1, positions 3-4) do not matter, as queries or as keys.
  for (auto& a : s) a[1].narrow(0, 3, 2).fill_(7.0);
  EXPECT_NEAR(relation_loss(s, t, heads, mask).item<double>(), loss, 1e-6);
  EXPECT_NEAR(relation_loss(t, t, heads, mask).item<double>(), 0.0, 1e-6);
  EXPECT_THROW(relation_loss(s, t, 5, mask), Error);  // 5 divides neither 8 nor 12
}

TEST(MiniLm, TheStudentsLastLayerLearnsTheTeachersRelations) {
  auto teacher = tiny_teacher();
  auto same = copy_of(teacher);
  auto batch = test::masked_batch(4, 8, 5);
  DistillConfig c;
  c.distill.method = "minilm";
  Distiller equal(c, teacher, same);
  EXPECT_NEAR(equal.step(batch).parts.at("minilm").item<double>(), 0.0, 1e-9);

  auto student = tiny_student();
  Distiller d(c, teacher, student);
  auto r = d.step(batch);
  // Weights of N(0, 0.02) make every relation nearly uniform: the KL is small but not zero.
  EXPECT_GT(r.parts.at("minilm").item<double>(), 1e-5);
  r.loss.backward();
  for (const char* name : {"bert.encoder.layer.0.attention.self.query.weight",
                           "bert.encoder.layer.0.attention.self.value.weight",
                           "bert.embeddings.word_embeddings.weight"}) {
    auto p = student->named_parameters()[name];
    ASSERT_TRUE(p.grad().defined()) << name;
    EXPECT_GT(p.grad().abs().sum().item<double>(), 0) << name;
  }
  for (auto& p : teacher->parameters()) EXPECT_FALSE(p.grad().defined());
  // A teacher layer past the last, or relation heads that do not divide the widths (tiny_bert
  // widths: 16 teacher, 8 student), are refused when the distiller is made.
  c.distill.minilm_teacher_layer = 3;
  EXPECT_THROW(Distiller(c, teacher, student), Error);
  c.distill.minilm_teacher_layer = 1;
  c.distill.minilm_relation_heads = 16;
  EXPECT_THROW(Distiller(c, teacher, student), Error);
  c.distill.minilm_relation_heads = 4;
  EXPECT_GT(Distiller(c, teacher, student).step(batch).parts.at("minilm").item<double>(), 1e-5);
}

}  // namespace
}  // namespace kd::methods::distill
