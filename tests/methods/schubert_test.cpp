// schuBERT's pruning vectors, prune plans and surgery on a small random BERT (fp32, eval mode):
//   - surgery is exact: the pruned model's forward equals the α-model's forward with the removed
//     units' α at 0 (MLM and NSP logits and the surviving hidden features, 1e-5 absolute);
//   - parameter accounting: counted tensors == config formula == the plan's prediction, and
//     c_α matches hand-derived per-unit counts;
//   - plans per variant (smallest |α| first, uniform, layers) and an unreachable target;
//   - optimizer moments sliced through a decision land on the same entries as the weights;
//   - a heterogeneous model survives save/load exactly.
#include <gtest/gtest.h>

#include <fstream>

#include "common/check.h"
#include "methods/schubert/prune_decision.h"
#include "methods/schubert/pruning_vectors.h"
#include "model/model_dir.h"
#include "support/test_support.h"

namespace kd::methods::schubert {
namespace {

model::BertConfig small_config() {
  auto c = model::BertConfig::uniform(50, 16, 2, 4, 32);  // H 16, A 4 (k = v = 4), F 32
  c.max_position_embeddings = 12;
  return c;
}

model::BertForPreTraining small_model(uint64_t seed = 3) {
  model::BertForPreTraining m(small_config());
  m->init_weights(seed);
  {
    // Non-trivial LayerNorms and biases, so that a mistake in either shows.
    torch::NoGradGuard no_grad;
    auto gen = at::detail::createCPUGenerator(seed + 100);
    for (auto& p : m->parameters())
      if (p.dim() == 1) p.add_(torch::randn(p.sizes(), gen) * 0.1);
  }
  m->eval();
  return m;
}

struct Inputs {
  torch::Tensor ids, types, mask;
};
Inputs inputs() {
  auto gen = at::detail::createCPUGenerator(9);
  Inputs in;
  in.ids = torch::randint(1, 50, {3, 10}, gen);
  in.types = torch::cat({torch::zeros({3, 5}, torch::kLong), torch::ones({3, 5}, torch::kLong)}, 1);
  in.mask = torch::ones({3, 10}, torch::kLong);
  in.mask.index_put_({2, torch::indexing::Slice(7)}, 0);  // padding in one row
  return in;
}

model::BertOutput run(model::BertForPreTraining& m, const Inputs& in) {
  torch::NoGradGuard no_grad;
  return m->forward(in.ids, in.types, in.mask);
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return (a - b).abs().max().item<double>();
}

// A decision that removes some of every dimension.
PruneDecision some_of_everything(const model::BertConfig& cfg) {
  auto d = PruneDecision::keep_all(cfg);
  d.heads = {{0, 2, 3}, {1, 3}};
  d.qk = {{0, 1, 3}, {2}};
  d.v = {{1, 2}, {0, 1, 3}};
  d.filter = {{0, 3, 4, 5, 9, 17, 20, 31}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 30}};
  d.hidden = {0, 1, 2, 4, 5, 7, 8, 9, 12, 13, 15};
  return d;
}

PruningVectors random_alpha(const model::BertConfig& cfg, const std::set<Dim>& dims) {
  PruningVectors a(cfg, dims);
  auto gen = at::detail::createCPUGenerator(21);
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : a.named()) t.copy_(torch::rand(t.sizes(), gen) + 0.5);  // U(0.5, 1.5)
  return a;
}

TEST(SchubertSurgery, PrunedForwardEqualsAlphaForwardWithRemovedAlphaAtZero) {
  auto m = small_model();
  const auto cfg = m->config();
  const auto decision = some_of_everything(cfg);
  auto alpha = random_alpha(cfg, variant_dims("all"));
  {
    // The reference: the removed units' α at 0, everything else as trained.
    torch::NoGradGuard no_grad;
    for (Dim d : kAllDims)
      for (size_t l = 0; l < (d == Dim::Hidden ? 1u : cfg.layers.size()); ++l) {
        auto keep = torch::zeros_like(alpha.get(d, l));
        keep.index_fill_(0, torch::tensor(decision.kept(d, l)), 1.0);
        alpha.get(d, l).mul_(keep);
      }
  }
  alpha.attach(m);
  const auto in = inputs();
  const auto ref = run(m, in);

  apply_decision(m, decision, &alpha);
  const auto got = run(m, in);
  EXPECT_EQ(m->config().hidden_size, 11);
  EXPECT_EQ(m->config().layers[0].num_heads, 3);
  EXPECT_EQ(m->config().layers[1].qk_head_size, 1);
  EXPECT_LT(max_diff(got.mlm_logits, ref.mlm_logits), 1e-5);
  EXPECT_LT(max_diff(got.nsp_logits, ref.nsp_logits), 1e-5);
  auto kept_h = torch::tensor(decision.hidden);
  EXPECT_LT(max_diff(got.sequence_output, ref.sequence_output.index_select(2, kept_h)), 1e-5);
  // In the α-model the removed hidden features are exactly zero.
  auto removed = torch::tensor(std::vector<int64_t>{3, 6, 10, 11, 14});
  EXPECT_EQ(ref.sequence_output.index_select(2, removed).abs().max().item<double>(), 0.0);
  // Nothing of the α is left in the model: no transform, no gate.
  for (auto& lin : m->encoder_linears()) EXPECT_FALSE(lin->transform());
  for (auto& norm : m->hidden_layer_norms()) EXPECT_FALSE(norm->gate().defined());
}

TEST(SchubertSurgery, GatedLayerNormEqualsLayerNormOverTheKeptFeatures) {
  model::LayerNorm norm(6, 1e-12);
  {
    torch::NoGradGuard no_grad;
    norm->weight.copy_(torch::tensor({1.0, 2.0, 0.5, 1.5, 1.0, 3.0}));
    norm->bias.copy_(torch::tensor({0.1, -0.2, 0.3, 0.0, 0.5, -1.0}));
  }
  auto x = torch::randn({4, 6});
  norm->set_gate(torch::tensor({1.0f, 0.0f, 2.0f, 1.0f, 0.0f, 0.5f}));
  auto gated = norm->forward(x);
  auto kept = torch::tensor(std::vector<int64_t>{0, 2, 3, 5});
  auto plain = torch::layer_norm(x.index_select(1, kept), {4}, norm->weight.index_select(0, kept),
                                 norm->bias.index_select(0, kept), 1e-12) *
               torch::tensor({1.0f, 2.0f, 1.0f, 0.5f});
  EXPECT_LT(max_diff(gated.index_select(1, kept), plain), 1e-5);
  EXPECT_EQ(
      gated.index_select(1, torch::tensor(std::vector<int64_t>{1, 4})).abs().max().item<double>(),
      0.0);
}

TEST(SchubertAccounting, CountedParametersMatchConfigAndPlan) {
  auto m = small_model();
  const auto cfg = m->config();
  const auto decision = some_of_everything(cfg);
  apply_decision(m, decision, nullptr);
  int64_t counted = 0;
  for (const auto& p : m->parameters()) counted += p.numel();
  EXPECT_EQ(counted, m->config().num_parameters());
  EXPECT_EQ(counted, decision.apply_to(cfg).num_parameters());
  EXPECT_LT(counted, cfg.num_parameters());
}

TEST(SchubertAccounting, UnitCostsMatchHandCounts) {
  const auto cfg = small_config();  // H 16, k = v = 4, A 4, F 32, V 50, P 12, 2 layers
  const int64_t H = 16, k = 4, v = 4, A = 4, F = 32;
  EXPECT_EQ(unit_cost(cfg, Dim::Filter, 0), 2 * H + 1);  // W1 row + b1 + W2 column
  EXPECT_EQ(unit_cost(cfg, Dim::Heads, 1), 2 * (k * H + k) + (v * H + v) + H * v);
  EXPECT_EQ(unit_cost(cfg, Dim::QK, 0), A * 2 * (H + 1));     // a q and a k row per head
  EXPECT_EQ(unit_cost(cfg, Dim::V, 0), A * (H + 1) + A * H);  // v rows, W_O columns
  // A hidden feature: embeddings (V + P + 2 types) + their LayerNorm, per layer the q/k/v
  // columns, W_O row + bias, W1 column, W2 row + bias, two LayerNorms; pooler, MLM transform
  // (row + column + bias each), MLM LayerNorm, NSP column.
  const int64_t per_layer = 3 * A * k + (A * v + 1) + F + (F + 1) + 2 * 2;
  const int64_t heads = (2 * H - 1 + 1) * 2 + 2 + 2;
  EXPECT_EQ(unit_cost(cfg, Dim::Hidden, 0), (50 + 12 + 2) + 2 + 2 * per_layer + heads);
}

TEST(SchubertPlan, SmallestAlphaGoesFirstAndOneUnitSurvives) {
  const auto cfg = small_config();
  PruningVectors scores(cfg, variant_dims("F"));
  {
    torch::NoGradGuard no_grad;
    scores.get(Dim::Filter, 0).copy_(torch::linspace(1.0, 2.0, 32));  // layer 0: 0 smallest
    scores.get(Dim::Filter, 1).copy_(torch::linspace(0.0, 0.5, 32));  // layer 1 all smaller
  }
  const int64_t unit = unit_cost(cfg, Dim::Filter, 0);
  auto d = plan_prune(cfg, scores, "F", cfg.num_parameters() - 5 * unit);
  EXPECT_EQ(d.filter[0].size(), 32u);
  EXPECT_EQ(d.filter[1].size(), 27u);
  EXPECT_EQ(d.filter[1].front(), 5);  // 0..4 removed
  // Down to one unit per layer and no further.
  const int64_t floor =
      with_dim_size(with_dim_size(cfg, Dim::Filter, 0, 1), Dim::Filter, 1, 1).num_parameters();
  d = plan_prune(cfg, scores, "F", floor);
  EXPECT_EQ(d.filter[0], std::vector<int64_t>{31});
  EXPECT_EQ(d.filter[1], std::vector<int64_t>{31});
  EXPECT_THROW(plan_prune(cfg, scores, "F", floor - 1), kd::Error);
}

TEST(SchubertPlan, AllReachesTheTargetAcrossDimensions) {
  const auto cfg = small_config();
  auto scores = random_alpha(cfg, variant_dims("all")).abs_detached();
  const int64_t target = cfg.num_parameters() * 7 / 10;
  auto d = plan_prune(cfg, scores, "all", target);
  const auto after = d.apply_to(cfg);
  EXPECT_LE(after.num_parameters(), target);
  // The plan stops as soon as it is under: before its last removal (at most one hidden unit,
  // the costliest unit) the count was still over the target.
  EXPECT_GT(after.num_parameters() + unit_cost(cfg, Dim::Hidden, 0), target);
  for (const auto& l : after.layers) {
    EXPECT_GE(l.num_heads, 1);
    EXPECT_GE(l.intermediate_size, 1);
  }
}

TEST(SchubertPlan, UniformShrinksEveryDimensionAlike) {
  const auto cfg = small_config();
  auto scores = random_alpha(cfg, variant_dims("uniform")).abs_detached();
  const int64_t target = cfg.num_parameters() * 6 / 10;
  auto d = plan_prune(cfg, scores, "uniform", target);
  const auto after = d.apply_to(cfg);
  EXPECT_LE(after.num_parameters(), target);
  EXPECT_TRUE(after.layers[0] == after.layers[1]);
  EXPECT_LT(after.hidden_size, 16);
  // The highest-scored filter units of layer 0 are the ones kept.
  auto s = scores.get(Dim::Filter, 0);
  auto top = std::get<0>(std::get<1>(s.topk(static_cast<int64_t>(d.filter[0].size()))).sort());
  EXPECT_TRUE(torch::equal(top, torch::tensor(d.filter[0])));
}

TEST(SchubertPlan, LayersKeepsTheLongestPrefixWithinTheTarget) {
  auto cfg = small_config();
  cfg.layers.push_back(cfg.layers[0]);
  cfg.num_hidden_layers = 3;
  const int64_t one_layer = cfg.layer_num_parameters(0);
  auto d = plan_prune(cfg, PruningVectors(), "layers", cfg.num_parameters() - one_layer);
  EXPECT_EQ(d.layers, (std::vector<int64_t>{0, 1}));
  auto m = model::BertForPreTraining(cfg);
  apply_decision(m, d, nullptr);
  EXPECT_EQ(m->num_layers(), 2);
  EXPECT_EQ(m->config().num_parameters(), cfg.num_parameters() - one_layer);
}

TEST(SchubertDecision, JsonRoundTrip) {
  const auto d = some_of_everything(small_config());
  const auto back = PruneDecision::from_json(nlohmann::json::parse(d.to_json().dump()), "test");
  EXPECT_EQ(back.to_json(), d.to_json());
  EXPECT_THROW(PruneDecision::from_json(nlohmann::json{{"hidden", {1}}}, "bad.json"), kd::Error);
}

TEST(SchubertOptimizer, SlicedMomentsFollowTheirWeights) {
  auto m = small_model();
  const auto cfg = m->config();
  const auto decision = some_of_everything(cfg);
  train::NamedTensors state;
  for (const auto& p : m->named_parameters()) {
    state.emplace_back("exp_avg/" + p.key(), p.value().detach().clone());
    state.emplace_back("exp_avg_sq/" + p.key(), p.value().detach().abs() * 2);
  }
  state.emplace_back("step", torch::tensor({int64_t{7}}));
  auto sliced = slice_optimizer_state(cfg, decision, state);
  apply_decision(m, decision, nullptr, /*rescale_query=*/false);
  std::map<std::string, torch::Tensor> by_name(sliced.begin(), sliced.end());
  for (const auto& p : m->named_parameters()) {
    SCOPED_TRACE(p.key());
    ASSERT_TRUE(by_name.count("exp_avg/" + p.key()));
    EXPECT_TRUE(torch::equal(by_name["exp_avg/" + p.key()], p.value().detach()));
    EXPECT_TRUE(torch::equal(by_name["exp_avg_sq/" + p.key()], p.value().detach().abs() * 2));
  }
  EXPECT_EQ(by_name["step"].item<int64_t>(), 7);
}

TEST(SchubertModelDir, HeterogeneousModelSurvivesSaveAndLoad) {
  auto m = small_model();
  apply_decision(m, some_of_everything(m->config()), nullptr);
  const auto dir = test::temp_dir("schubert-model") + "/model";
  model::save_model_dir(dir, m, test::vocab_path());
  auto json = nlohmann::json::parse(std::ifstream(dir + "/config.json"));
  EXPECT_EQ(json.at("layer_num_attention_heads"), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(json.at("layer_intermediate_size"), (std::vector<int64_t>{8, 11}));
  auto back = model::load_model_dir(dir);
  const auto in = inputs();
  EXPECT_EQ(max_diff(run(back, in).mlm_logits, run(m, in).mlm_logits), 0.0);
  EXPECT_NE(model::inspect_model_dir(dir).find("total parameters"), std::string::npos);
}

}  // namespace
}  // namespace kd::methods::schubert
