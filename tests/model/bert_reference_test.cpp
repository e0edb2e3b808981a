// Hugging Face exactness: our BertForPreTraining against tests/model/reference_bert.py, an
// independent float64 implementation of HF BertForPreTraining semantics with its own
// safetensors writer. Tolerance: max |diff| < 1e-4 in fp32.
#include <gtest/gtest.h>

#include <filesystem>

#include "model/model_dir.h"
#include "model/safetensors.h"
#include "model_test_util.h"

namespace kd::model {
namespace {
using testing::max_abs_diff;
using testing::run_reference;
namespace fs = std::filesystem;

constexpr double kTol = 1e-4;

BertOutput run_fixed(BertForPreTraining& model, const std::map<std::string, torch::Tensor>& ref) {
  model->eval();
  torch::NoGradGuard no_grad;
  ForwardOptions opt;
  opt.output_hidden_states = true;
  opt.output_attentions = true;
  opt.compute_nsp = true;
  return model->forward(ref.at("input_ids"), ref.at("token_type_ids"), ref.at("attention_mask"),
                        opt);
}

void expect_matches(const BertOutput& out, const std::map<std::string, torch::Tensor>& ref,
                    bool heads = true) {
  const size_t L = out.attention_scores.size();
  ASSERT_EQ(out.hidden_states.size(), L + 1);
  for (size_t i = 0; i <= L; ++i)
    EXPECT_LT(max_abs_diff(out.hidden_states[i], ref.at("hidden_states." + std::to_string(i))),
              kTol)
        << "hidden_states." << i;
  for (size_t i = 0; i < L; ++i)
    EXPECT_LT(
        max_abs_diff(out.attention_scores[i], ref.at("attention_scores." + std::to_string(i))),
        kTol)
        << "attention_scores." << i;
  if (!heads) return;
  EXPECT_LT(max_abs_diff(out.mlm_logits, ref.at("mlm_logits")), kTol);
  EXPECT_LT(max_abs_diff(out.nsp_logits, ref.at("nsp_logits")), kTol);
}

class ReferenceVariant : public ::testing::TestWithParam<std::string> {};

TEST_P(ReferenceVariant, LoadedModelMatchesReference) {
  KD_SKIP_WITHOUT_PYTHON_TORCH();
  const std::string dir = kd::test::temp_dir("ref-" + GetParam()) + "/model";
  ASSERT_EQ(run_reference("make --out " + dir + " --variant " + GetParam()), 0);
  auto model = load_model_dir(dir);
  auto ref = load_safetensors(dir + "/expected.safetensors");
  // The fixture has padding: the check is only meaningful if the mask changes something.
  ASSERT_LT(ref.at("attention_mask").sum().item<int64_t>(), ref.at("attention_mask").numel());
  expect_matches(run_fixed(model, ref), ref, GetParam() != "bertmodel");
}

INSTANTIATE_TEST_SUITE_P(Variants, ReferenceVariant,
                         ::testing::Values("plain", "gammabeta", "bf16", "f16", "decoder",
                                           "bertmodel", "hetero"),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

TEST(Reference, HeterogeneousConfigIsRead) {
  KD_SKIP_WITHOUT_PYTHON_TORCH();
  const std::string dir = kd::test::temp_dir("ref-hetero-cfg") + "/model";
  ASSERT_EQ(run_reference("make --out " + dir + " --variant hetero"), 0);
  const BertConfig cfg = load_config(dir);
  ASSERT_EQ(cfg.num_hidden_layers, 3);
  EXPECT_EQ(cfg.layers[0].num_heads, 3);
  EXPECT_EQ(cfg.layers[1].num_heads, 0);
  EXPECT_EQ(cfg.layers[2].qk_head_size, 4);
  EXPECT_EQ(cfg.layers[2].v_head_size, 6);
  EXPECT_EQ(cfg.layers[1].intermediate_size, 17);
  EXPECT_EQ(cfg.hidden_act, "gelu_new");
  EXPECT_FALSE(cfg.is_uniform());
}

TEST(Reference, MlmPositionsSelectTheSameLogits) {
  KD_SKIP_WITHOUT_PYTHON_TORCH();
  const std::string dir = kd::test::temp_dir("ref-pos") + "/model";
  ASSERT_EQ(run_reference("make --out " + dir + " --variant plain"), 0);
  auto model = load_model_dir(dir);
  model->eval();
  auto ref = load_safetensors(dir + "/expected.safetensors");
  torch::NoGradGuard no_grad;
  ForwardOptions opt;
  opt.mlm_positions = torch::tensor({0, 5, 13, 30, 35}, torch::kLong);
  auto out =
      model->forward(ref.at("input_ids"), ref.at("token_type_ids"), ref.at("attention_mask"), opt);
  const int64_t V = ref.at("mlm_logits").size(2);
  auto expect = ref.at("mlm_logits").reshape({-1, V}).index_select(0, opt.mlm_positions);
  EXPECT_LT(max_abs_diff(out.mlm_logits, expect), kTol);
}

TEST(Reference, SavedUniformDirPassesHfLayoutCheckAndRoundTrips) {
  KD_SKIP_WITHOUT_PYTHON_TORCH();
  const std::string root = kd::test::temp_dir("ref-save");
  ASSERT_EQ(run_reference("make --out " + root + "/src --variant gammabeta"), 0);
  auto model = load_model_dir(root + "/src");
  save_model_dir(root + "/saved", model, root + "/src/vocab.txt");
  EXPECT_TRUE(fs::exists(root + "/saved/vocab.txt"));
  EXPECT_FALSE(fs::exists(root + "/saved.tmp." + std::to_string(::getpid())));
  // HF layout: the reference reads it with HF rules (exact key set, config keys, format=pt)
  // and its outputs agree with ours.
  ASSERT_EQ(run_reference("check --model " + root + "/saved --out " + root + "/check.st"), 0);
  auto ref = load_safetensors(root + "/check.st");
  auto reloaded = load_model_dir(root + "/saved");
  expect_matches(run_fixed(reloaded, ref), ref);
  // Round trip: identical logits to the model we saved.
  auto a = run_fixed(model, ref), b = run_fixed(reloaded, ref);
  EXPECT_TRUE(torch::equal(a.mlm_logits, b.mlm_logits));
  EXPECT_TRUE(torch::equal(a.nsp_logits, b.nsp_logits));
}

TEST(Reference, HfLayoutCheckRejectsABrokenDir) {
  // The layout check must be able to fail: drop a tensor and it must refuse.
  KD_SKIP_WITHOUT_PYTHON_TORCH();
  const std::string root = kd::test::temp_dir("ref-broken");
  ASSERT_EQ(run_reference("make --out " + root + "/m --variant plain"), 0);
  auto t = load_safetensors(root + "/m/model.safetensors");
  std::vector<std::pair<std::string, torch::Tensor>> kept;
  for (auto& [n, v] : t)
    if (n != "bert.pooler.dense.bias") kept.emplace_back(n, v);
  save_safetensors(root + "/m/model.safetensors", kept, {{"format", "pt"}});
  EXPECT_NE(run_reference("check --model " + root + "/m --out " + root + "/x.st 2>/dev/null"), 0);
}

}  // namespace
}  // namespace kd::model
