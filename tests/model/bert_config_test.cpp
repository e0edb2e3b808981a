// BertConfig: HF keys in and out, per-layer lists, validation errors, parameter counts.
#include "model/bert_config.h"

#include <gtest/gtest.h>

#include "common/check.h"

namespace kd::model {
namespace {
using nlohmann::json;

std::string error_of(const json& j) {
  try {
    BertConfig::from_json(j, "cfg.json");
  } catch (const kd::Error& e) {
    return e.what();
  }
  return "<no error>";
}

json bert_base_json() {
  // bert-base-uncased's config.json (Hugging Face hub), verbatim keys.
  return json::parse(R"({
    "architectures": ["BertForMaskedLM"], "attention_probs_dropout_prob": 0.1,
    "gradient_checkpointing": false, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
    "hidden_size": 768, "initializer_range": 0.02, "intermediate_size": 3072,
    "layer_norm_eps": 1e-12, "max_position_embeddings": 512, "model_type": "bert",
    "num_attention_heads": 12, "num_hidden_layers": 12, "pad_token_id": 0,
    "position_embedding_type": "absolute", "transformers_version": "4.6.0.dev0",
    "type_vocab_size": 2, "use_cache": true, "vocab_size": 30522})");
}

TEST(BertConfig, BertBaseFromHuggingFaceJson) {
  auto c = BertConfig::from_json(bert_base_json());
  EXPECT_EQ(c.hidden_size, 768);
  ASSERT_EQ(c.layers.size(), 12u);
  EXPECT_EQ(c.layers[5].num_heads, 12);
  EXPECT_EQ(c.layers[5].qk_head_size, 64);
  EXPECT_EQ(c.layers[5].v_head_size, 64);
  EXPECT_EQ(c.layers[5].intermediate_size, 3072);
  EXPECT_TRUE(c.is_uniform());
  // Hugging Face BertForPreTraining(bert-base-uncased) has 110,106,428 parameters (tied decoder).
  EXPECT_EQ(c.num_parameters(), 110106428);
  EXPECT_EQ(c.num_parameters(), BertConfig::uniform(30522, 768, 12, 12).num_parameters());
}

TEST(BertConfig, UniformToJsonHasHfKeysOnly) {
  auto c = BertConfig::uniform(120, 32, 2, 4, 64);
  auto j = c.to_json();
  EXPECT_EQ(j["architectures"][0], "BertForPreTraining");
  EXPECT_EQ(j["model_type"], "bert");
  for (const char* k : {"vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                        "intermediate_size", "hidden_act", "hidden_dropout_prob",
                        "attention_probs_dropout_prob", "max_position_embeddings",
                        "type_vocab_size", "initializer_range", "layer_norm_eps", "pad_token_id"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_FALSE(j.contains("layer_num_attention_heads"));
  EXPECT_EQ(j["intermediate_size"], 64);
  auto back = BertConfig::from_json(j);
  EXPECT_EQ(back.layers, c.layers);
  EXPECT_EQ(back.num_parameters(), c.num_parameters());
}

TEST(BertConfig, HeterogeneousRoundTrip) {
  auto c = BertConfig::uniform(100, 48, 3, 4);
  c.layers[0] = {3, 7, 5, 50};
  c.layers[1] = {0, 12, 12, 17};
  c.hidden_act = "relu";
  EXPECT_FALSE(c.is_uniform());
  auto j = c.to_json();
  EXPECT_EQ(j["layer_num_attention_heads"], json({3, 0, 4}));
  EXPECT_EQ(j["layer_attention_head_size"], json({7, 12, 12}));
  EXPECT_EQ(j["layer_value_head_size"], json({5, 12, 12}));
  EXPECT_EQ(j["layer_intermediate_size"], json({50, 17, 192}));
  EXPECT_EQ(48 % j["num_attention_heads"].get<int64_t>(), 0);  // HF invariant kept
  auto back = BertConfig::from_json(j);
  EXPECT_EQ(back.layers, c.layers);
  EXPECT_EQ(back.hidden_act, "relu");
  // Layers all alike but head size != H/A also needs the lists.
  auto d = BertConfig::uniform(100, 48, 2, 4);
  for (auto& l : d.layers) l.qk_head_size = 8;
  EXPECT_FALSE(d.is_uniform());
  EXPECT_TRUE(d.to_json().contains("layer_attention_head_size"));
}

TEST(BertConfig, PartialListsFallBackToUniform) {
  auto j = bert_base_json();
  j["num_hidden_layers"] = 2;
  j["layer_intermediate_size"] = {100, 200};
  auto c = BertConfig::from_json(j);
  EXPECT_EQ(c.layers[0].intermediate_size, 100);
  EXPECT_EQ(c.layers[1].intermediate_size, 200);
  EXPECT_EQ(c.layers[1].qk_head_size, 64);
}

TEST(BertConfig, ErrorsNameTheField) {
  auto j = bert_base_json();
  j["num_attention_heads"] = 10;
  EXPECT_NE(error_of(j).find("not a multiple of num_attention_heads"), std::string::npos);
  j = bert_base_json();
  j["layer_num_attention_heads"] = {1, 2};
  EXPECT_NE(error_of(j).find("'layer_num_attention_heads' has 2 entries"), std::string::npos);
  j = bert_base_json();
  j["hidden_size"] = "big";
  EXPECT_NE(error_of(j).find("'hidden_size' must be an integer"), std::string::npos);
  j = bert_base_json();
  j["hidden_act"] = "swish";
  EXPECT_NE(error_of(j).find("hidden_act 'swish'"), std::string::npos);
  j = bert_base_json();
  j["model_type"] = "roberta";
  EXPECT_NE(error_of(j).find("model_type is 'roberta'"), std::string::npos);
  j = bert_base_json();
  j["vocab_size"] = 0;
  EXPECT_NE(error_of(j).find("vocab_size must be > 0"), std::string::npos);
  j = bert_base_json();
  j["layer_intermediate_size"] = std::vector<int64_t>(12, -1);
  EXPECT_NE(error_of(j).find("intermediate_size must be >= 0"), std::string::npos);
  EXPECT_NE(error_of(j).find("cfg.json"), std::string::npos);  // names the source
}

}  // namespace
}  // namespace kd::model
