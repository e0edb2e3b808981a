// The classification head and its loss against tests/model/reference_bert.py's `classify`: an
// independent float64 implementation of Hugging Face BertForSequenceClassification that also
// checks the saved directory's layout (config fields, exact tensor set). Logits, loss and the
// loss's gradients agree to 1e-4 (fp32 against float64); the head's init, save/load round trip
// and the regression/classification losses are checked against their definitions.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "common/check.h"
#include "model/model_dir.h"
#include "model/safetensors.h"
#include "model/sequence_classifier.h"
#include "model_test_util.h"

namespace kd::model {
namespace {
using testing::max_abs_diff;
using testing::run_reference;
namespace fs = std::filesystem;

constexpr double kClassifierTol = 1e-4;

struct Case {
  std::string variant;
  int64_t labels;
};

class ClassifierReference : public ::testing::TestWithParam<Case> {};

TEST_P(ClassifierReference, LogitsLossAndGradientsMatch) {
  KD_SKIP_WITHOUT_PYTHON_TORCH();
  const auto& c = GetParam();
  const std::string root = kd::test::temp_dir("cls-" + c.variant + std::to_string(c.labels));
  ASSERT_EQ(run_reference("make --out " + root + "/base --variant " + c.variant), 0);
  SequenceClassifier model(load_model_dir(root + "/base"), c.labels, 0.1, 99);
  std::vector<std::string> names;
  for (int64_t i = 0; i < c.labels && c.labels > 1; ++i) names.push_back("c" + std::to_string(i));
  save_classifier_dir(root + "/cls", model, names, "toy", root + "/base/vocab.txt");
  ASSERT_EQ(run_reference("classify --model " + root + "/cls --out " + root + "/ref.st"), 0);
  auto ref = load_safetensors(root + "/ref.st");

  model.train(false);  // the reference has no dropout
  auto logits =
      model.forward(ref.at("input_ids"), ref.at("token_type_ids"), ref.at("attention_mask"));
  EXPECT_LT(max_abs_diff(logits, ref.at("logits")), kClassifierTol);
  auto loss = sequence_classification_loss(logits, ref.at("labels"));
  EXPECT_LT(std::abs(loss.item<double>() - ref.at("loss").item<double>()), kClassifierTol);
  loss.backward();
  std::map<std::string, torch::Tensor> params;
  for (auto& [n, p] : model.named_parameters()) params[n] = p;
  EXPECT_LT(max_abs_diff(params.at("classifier.weight").grad(), ref.at("grad.classifier.weight")),
            kClassifierTol);
  EXPECT_LT(max_abs_diff(params.at("bert.pooler.dense.weight").grad(),
                         ref.at("grad.bert.pooler.dense.weight")),
            kClassifierTol);
}

INSTANTIATE_TEST_SUITE_P(Heads, ClassifierReference,
                         ::testing::Values(Case{"plain", 3}, Case{"plain", 1}, Case{"hetero", 2}),
                         [](const ::testing::TestParamInfo<Case>& i) {
                           return i.param.variant + "_" + std::to_string(i.param.labels);
                         });

TEST(SequenceClassifier, LayoutCheckRejectsPreTrainingHeads) {
  // The classify layout check must be able to fail: a directory with cls.* tensors is not HF's
  // BertForSequenceClassification.
  KD_SKIP_WITHOUT_PYTHON_TORCH();
  const std::string root = kd::test::temp_dir("cls-broken");
  ASSERT_EQ(run_reference("make --out " + root + "/base --variant plain"), 0);
  SequenceClassifier model(load_model_dir(root + "/base"), 2, 0.0, 1);
  save_classifier_dir(root + "/cls", model, {"a", "b"}, "toy", "");
  auto t = load_safetensors(root + "/cls/model.safetensors");
  std::vector<std::pair<std::string, torch::Tensor>> with_head(t.begin(), t.end());
  with_head.emplace_back("cls.predictions.bias", torch::zeros({3}));
  save_safetensors(root + "/cls/model.safetensors", with_head, {{"format", "pt"}});
  EXPECT_NE(run_reference("classify --model " + root + "/cls --out " + root + "/x.st 2>/dev/null"),
            0);
}

BertForPreTraining tiny_bert() {
  BertForPreTraining bert(BertConfig::uniform(50, 16, 2, 2, 32));
  bert->init_weights(3);
  return bert;
}

TEST(SequenceClassifier, HfNamesConfigAndRoundTrip) {
  SequenceClassifier model(tiny_bert(), 3, 0.1, 7);
  const auto named = model.named_parameters();
  for (const auto& [n, p] : named) EXPECT_NE(n.rfind("cls.", 0), 0u) << n;
  EXPECT_EQ(named[named.size() - 2].first, "classifier.weight");
  EXPECT_EQ(named.back().first, "classifier.bias");
  EXPECT_EQ(named[named.size() - 2].second.sizes(), (std::vector<int64_t>{3, 16}));
  // HF init: N(0, 0.02) weight, zero bias.
  EXPECT_NEAR(named[named.size() - 2].second.std().item<double>(), 0.02, 0.01);
  EXPECT_EQ(named.back().second.abs().sum().item<double>(), 0.0);

  const std::string dir = kd::test::temp_dir("cls-roundtrip") + "/m";
  save_classifier_dir(dir, model, {"x", "y", "z"}, "toy", "");
  std::ifstream in(dir + "/config.json");
  const auto cfg = nlohmann::json::parse(in);
  EXPECT_EQ(cfg["architectures"][0], "BertForSequenceClassification");
  EXPECT_EQ(cfg["num_labels"], 3);
  EXPECT_EQ(cfg["id2label"]["2"], "z");
  EXPECT_EQ(cfg["label2id"]["y"], 1);
  EXPECT_EQ(cfg["problem_type"], "single_label_classification");
  // kdprune's own loader reads it as a BERT (pre-training heads fresh, classifier ignored).
  EXPECT_EQ(load_config(dir).hidden_size, 16);

  SequenceClassifier other(tiny_bert(), 3, 0.1, 8);
  load_classifier_weights(dir, other);
  model.train(false);
  other.train(false);
  auto ids = torch::randint(5, 50, {2, 6}, torch::kLong);
  EXPECT_TRUE(torch::equal(model.forward(ids, {}, {}), other.forward(ids, {}, {})));
  EXPECT_THROW(save_classifier_dir(dir, model, {"only", "two"}, "toy", ""), kd::Error);
}

TEST(SequenceClassifier, LossesAreHfs) {
  auto logits = torch::tensor({{2.0, 0.0}, {0.0, 1.0}});
  auto ce = sequence_classification_loss(logits, torch::tensor({0, 0}));
  const double expect = (std::log(1 + std::exp(-2.0)) + std::log(1 + std::exp(1.0))) / 2;
  EXPECT_NEAR(ce.item<double>(), expect, 1e-6);
  auto mse = sequence_classification_loss(torch::tensor({{1.0}, {3.0}}), torch::tensor({2.0, 2.5}));
  EXPECT_NEAR(mse.item<double>(), (1.0 + 0.25) / 2, 1e-6);
}

TEST(SequenceClassifier, DropoutOnlyInTraining) {
  SequenceClassifier model(tiny_bert(), 2, 0.5, 7);
  auto ids = torch::randint(5, 50, {4, 6}, torch::kLong);
  model.train(false);
  auto a = model.forward(ids, {}, {}), b = model.forward(ids, {}, {});
  EXPECT_TRUE(torch::equal(a, b));
  model.train(true);
  torch::manual_seed(1);
  EXPECT_FALSE(torch::equal(model.forward(ids, {}, {}), a));
}

}  // namespace
}  // namespace kd::model
