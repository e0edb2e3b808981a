// Model directories: round trip (uniform and heterogeneous), inspect, and load errors.
#include "model/model_dir.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "common/check.h"
#include "model/safetensors.h"
#include "support/test_support.h"

namespace kd::model {
namespace {
namespace fs = std::filesystem;

std::string write_vocab(const std::string& dir, int64_t n) {
  const std::string path = dir + "/vocab-src.txt";
  std::ofstream out(path);
  for (int64_t i = 0; i < n; ++i) out << "tok" << i << "\n";
  return path;
}

std::string load_error(const std::string& dir) {
  try {
    load_model_dir(dir);
  } catch (const kd::Error& e) {
    return e.what();
  }
  return "<no error>";
}

BertForPreTraining hetero_model() {
  auto cfg = BertConfig::uniform(60, 24, 3, 4, 48);
  cfg.layers[0] = {2, 5, 7, 30};
  cfg.layers[2] = {0, 6, 6, 12};
  BertForPreTraining m(cfg);
  m->init_weights(3);
  m->eval();
  return m;
}

TEST(ModelDir, HeterogeneousRoundTripIsIdentical) {
  const std::string root = kd::test::temp_dir("md-rt");
  auto m = hetero_model();
  save_model_dir(root + "/m", m, write_vocab(root, 60));
  for (const char* f : {"config.json", "model.safetensors", "vocab.txt"})
    EXPECT_TRUE(fs::exists(root + "/m/" + f)) << f;
  auto names = load_safetensors(root + "/m/model.safetensors");
  EXPECT_EQ(names.count("cls.predictions.decoder.weight"), 0u);  // tied: omitted like HF
  EXPECT_EQ(names.at("bert.encoder.layer.0.attention.self.value.weight").sizes(),
            (std::vector<int64_t>{14, 24}));
  auto r = load_model_dir(root + "/m");
  EXPECT_EQ(r->config().layers, m->config().layers);
  auto ids = torch::randint(0, 60, {2, 7}, torch::kLong);
  torch::NoGradGuard g;
  auto a = m->forward(ids, {}, {}), b = r->forward(ids, {}, {});
  EXPECT_TRUE(torch::equal(a.mlm_logits, b.mlm_logits));
  EXPECT_TRUE(torch::equal(a.nsp_logits, b.nsp_logits));
  // Saving again over an existing directory replaces it (trailing slash allowed).
  save_model_dir(root + "/m/", r, "");
  for (const auto& e : fs::directory_iterator(root))  // no temporary or old copies left
    EXPECT_TRUE(e.path().filename() == "m" || e.path().filename() == "vocab-src.txt") << e.path();
  EXPECT_FALSE(fs::exists(root + "/m/vocab.txt"));
  EXPECT_NO_THROW(load_model_dir(root + "/m"));
}

TEST(ModelDir, InspectListsLayersAndCounts) {
  const std::string root = kd::test::temp_dir("md-inspect");
  auto m = hetero_model();
  save_model_dir(root + "/m", m, "");
  const std::string s = inspect_model_dir(root + "/m");
  std::cout << s;
  EXPECT_NE(s.find("hidden_size H=24"), std::string::npos) << s;
  EXPECT_NE(s.find(std::to_string(m->config().num_parameters())), std::string::npos) << s;
  EXPECT_NE(s.find(std::to_string(m->config().layer_num_parameters(0))), std::string::npos) << s;
}

TEST(ModelDir, ErrorsNameTensorShapeAndField) {
  const std::string root = kd::test::temp_dir("md-err");
  auto m = hetero_model();
  save_model_dir(root + "/m", m, "");
  const std::string st = root + "/m/model.safetensors";
  auto tensors = load_safetensors(st);
  auto rewrite = [&](const std::map<std::string, torch::Tensor>& t) {
    std::vector<std::pair<std::string, torch::Tensor>> v(t.begin(), t.end());
    save_safetensors(st, v);
  };
  // Missing tensor.
  auto missing = tensors;
  missing.erase("bert.encoder.layer.1.intermediate.dense.bias");
  rewrite(missing);
  auto err = load_error(root + "/m");
  EXPECT_NE(err.find("'bert.encoder.layer.1.intermediate.dense.bias' missing"), std::string::npos)
      << err;
  // Shape disagreeing with the config: names tensor, shape and config field.
  auto wrong = tensors;
  wrong["bert.encoder.layer.1.intermediate.dense.weight"] = torch::zeros({40, 24});
  rewrite(wrong);
  err = load_error(root + "/m");
  EXPECT_NE(err.find("bert.encoder.layer.1.intermediate.dense.weight"), std::string::npos) << err;
  EXPECT_NE(err.find("[40, 24]"), std::string::npos) << err;
  EXPECT_NE(err.find("[48, 24]"), std::string::npos) << err;
  EXPECT_NE(err.find("intermediate_size"), std::string::npos) << err;
  // Integer tensor where a weight belongs.
  auto ints = tensors;
  ints["bert.pooler.dense.bias"] = torch::zeros({24}, torch::kLong);
  rewrite(ints);
  EXPECT_NE(load_error(root + "/m").find("floating point"), std::string::npos);
  // A whole head absent (BertForMaskedLM: no pooler, no NSP head) loads; the MLM head is intact.
  auto masked_lm = tensors;
  for (const char* n : {"bert.pooler.dense.weight", "bert.pooler.dense.bias",
                        "cls.seq_relationship.weight", "cls.seq_relationship.bias"})
    masked_lm.erase(n);
  rewrite(masked_lm);
  {
    auto r = load_model_dir(root + "/m");
    auto ids = torch::randint(0, 60, {2, 7}, torch::kLong);
    torch::NoGradGuard g;
    EXPECT_TRUE(
        torch::equal(r->forward(ids, {}, {}).mlm_logits, m->forward(ids, {}, {}).mlm_logits));
  }
  // A head present only in part is an error.
  auto partial = tensors;
  partial.erase("cls.seq_relationship.bias");
  rewrite(partial);
  EXPECT_NE(load_error(root + "/m").find("'cls.seq_relationship.bias' missing"), std::string::npos);
  // Extra tensors only warn.
  auto extra = tensors;
  extra["something.else"] = torch::zeros({2});
  rewrite(extra);
  EXPECT_NO_THROW(load_model_dir(root + "/m"));
  // Missing files.
  fs::remove(st);
  EXPECT_NE(load_error(root + "/m").find("model.safetensors not found"), std::string::npos);
  EXPECT_NE(load_error(root + "/nowhere").find("config.json"), std::string::npos);
}

}  // namespace
}  // namespace kd::model
