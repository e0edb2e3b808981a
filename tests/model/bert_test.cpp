// BertForPreTraining: HF parameter names, init, forward variants, bf16, structural surgery.
#include "model/bert.h"

#include <gtest/gtest.h>

#include <set>

#include "common/check.h"
#include "model/model_test_util.h"

namespace kd::model {
namespace {

BertConfig small_config() {
  auto c = BertConfig::uniform(50, 16, 2, 4, 24);
  c.max_position_embeddings = 20;
  return c;
}

// A model with weights far from the init scale, so that every part matters numerically.
BertForPreTraining random_model(const BertConfig& cfg, uint64_t seed = 5) {
  BertForPreTraining m(cfg);
  m->init_weights(seed);
  torch::manual_seed(seed);
  torch::NoGradGuard g;
  for (auto& p : m->named_parameters()) {
    if (p.key().find("LayerNorm.weight") != std::string::npos)
      p.value().copy_(1.0 + 0.2 * torch::randn(p.value().sizes()));
    else
      p.value().copy_(0.3 * torch::randn(p.value().sizes()));
  }
  m->eval();
  return m;
}

struct Batch {
  torch::Tensor ids, tt, mask;
};
Batch make_batch(int64_t V, int64_t B = 3, int64_t T = 9) {
  torch::manual_seed(11);
  Batch b{torch::randint(0, V, {B, T}, torch::kLong), torch::zeros({B, T}, torch::kLong),
          torch::ones({B, T}, torch::kLong)};
  b.tt.slice(1, T / 2).fill_(1);
  b.mask[1].slice(0, T - 3).fill_(0);
  return b;
}

std::set<std::string> hf_keys(const BertConfig& c) {
  std::set<std::string> k = {"bert.embeddings.word_embeddings.weight",
                             "bert.embeddings.position_embeddings.weight",
                             "bert.embeddings.token_type_embeddings.weight",
                             "bert.embeddings.LayerNorm.weight",
                             "bert.embeddings.LayerNorm.bias",
                             "bert.pooler.dense.weight",
                             "bert.pooler.dense.bias",
                             "cls.predictions.bias",
                             "cls.predictions.transform.dense.weight",
                             "cls.predictions.transform.dense.bias",
                             "cls.predictions.transform.LayerNorm.weight",
                             "cls.predictions.transform.LayerNorm.bias",
                             "cls.seq_relationship.weight",
                             "cls.seq_relationship.bias"};
  for (int64_t l = 0; l < c.num_hidden_layers; ++l)
    for (const char* n : {"attention.self.query", "attention.self.key", "attention.self.value",
                          "attention.output.dense", "attention.output.LayerNorm",
                          "intermediate.dense", "output.dense", "output.LayerNorm"})
      for (const char* wb : {"weight", "bias"})
        k.insert("bert.encoder.layer." + std::to_string(l) + "." + n + "." + wb);
  return k;
}

TEST(Bert, NamedParametersAreHuggingFaceKeys) {
  auto cfg = small_config();
  BertForPreTraining m(cfg);
  std::set<std::string> got;
  int64_t n = 0;
  for (const auto& p : m->named_parameters()) {
    got.insert(p.key());
    n += p.value().numel();
  }
  EXPECT_EQ(got, hf_keys(cfg));
  EXPECT_EQ(n, cfg.num_parameters());
  EXPECT_EQ(m->encoder_linears().size(), 12u);
  EXPECT_EQ(m->encoder_linears()[3]->out_features(), 16);  // layer 0 attention.output.dense
}

TEST(Bert, InitWeightsIsDeterministicHfInit) {
  auto cfg = BertConfig::uniform(300, 64, 2, 4);
  BertForPreTraining a(cfg), b(cfg), c(cfg);
  a->init_weights(7);
  b->init_weights(7);
  c->init_weights(8);
  auto pa = a->named_parameters(), pb = b->named_parameters(), pc = c->named_parameters();
  for (const auto& k : pa.keys()) EXPECT_TRUE(torch::equal(pa[k], pb[k])) << k;
  EXPECT_FALSE(torch::equal(pa["bert.encoder.layer.0.attention.self.query.weight"],
                            pc["bert.encoder.layer.0.attention.self.query.weight"]));
  EXPECT_TRUE(torch::equal(pa["bert.embeddings.LayerNorm.weight"], torch::ones({64})));
  EXPECT_TRUE(torch::equal(pa["bert.encoder.layer.1.output.dense.bias"], torch::zeros({64})));
  EXPECT_TRUE(torch::equal(pa["cls.predictions.bias"], torch::zeros({300})));
  EXPECT_TRUE(torch::equal(pa["bert.embeddings.word_embeddings.weight"][0], torch::zeros({64})));
  const double sd = pa["bert.encoder.layer.0.intermediate.dense.weight"].std().item<double>();
  EXPECT_NEAR(sd, 0.02, 0.002);
}

TEST(Bert, ForwardVariantsAgree) {
  auto cfg = small_config();
  auto m = random_model(cfg);
  auto b = make_batch(cfg.vocab_size);
  torch::NoGradGuard g;
  auto ref = m->forward(b.ids, b.tt, b.mask);
  EXPECT_EQ(ref.mlm_logits.sizes(), (std::vector<int64_t>{3, 9, 50}));
  EXPECT_EQ(ref.nsp_logits.sizes(), (std::vector<int64_t>{3, 2}));
  auto e = m->forward_embeds(m->word_embeddings(b.ids), b.tt, b.mask);
  EXPECT_TRUE(torch::equal(e.mlm_logits, ref.mlm_logits));
  auto f = m->forward_encoder(m->input_embeddings(b.ids, b.tt), b.mask);
  EXPECT_TRUE(torch::equal(f.mlm_logits, ref.mlm_logits));
  ForwardOptions opt;
  opt.compute_mlm = false;
  opt.compute_nsp = false;
  opt.output_hidden_states = true;
  auto h = m->forward(b.ids, b.tt, b.mask, opt);
  EXPECT_FALSE(h.mlm_logits.defined());
  EXPECT_FALSE(h.nsp_logits.defined());
  ASSERT_EQ(h.hidden_states.size(), 3u);
  EXPECT_TRUE(torch::equal(h.hidden_states[2], h.sequence_output));
  // Padding is masked: changing a padded token changes nothing at the kept positions.
  auto ids2 = b.ids.clone();
  ids2[1][8] = (ids2[1][8].item<int64_t>() + 1) % cfg.vocab_size;
  auto p = m->forward(ids2, b.tt, b.mask);
  EXPECT_LT(testing::max_abs_diff(p.mlm_logits[1].slice(0, 0, 6), ref.mlm_logits[1].slice(0, 0, 6)),
            1e-5);
  // Undefined token types and mask mean zeros and all-ones.
  auto d = m->forward(b.ids, {}, {});
  auto d2 = m->forward(b.ids, torch::zeros_like(b.ids), torch::ones_like(b.ids));
  EXPECT_TRUE(torch::equal(d.mlm_logits, d2.mlm_logits));
}

TEST(Bert, DropoutOnlyInTrainMode) {
  auto cfg = small_config();
  auto m = random_model(cfg);
  auto b = make_batch(cfg.vocab_size);
  auto e1 = m->forward(b.ids, b.tt, b.mask).mlm_logits;
  auto e2 = m->forward(b.ids, b.tt, b.mask).mlm_logits;
  EXPECT_TRUE(torch::equal(e1, e2));
  m->train();
  auto t1 = m->forward(b.ids, b.tt, b.mask).mlm_logits;
  EXPECT_FALSE(torch::equal(t1, e1));
}

TEST(Bert, Bf16ForwardCloseToFp32) {
  // Tolerance: bf16 rounds each matmul operand to 8 mantissa bits; through 2 layers plus the
  // heads the logits stay within 5e-2 of the fp32 logits' scale (max |logit|).
  auto cfg = BertConfig::uniform(200, 64, 2, 4, 128);
  auto m = random_model(cfg);
  auto b = make_batch(cfg.vocab_size, 2, 16);
  ForwardOptions opt;
  opt.output_hidden_states = true;
  opt.output_attentions = true;
  BertOutput ref, out;
  {
    torch::NoGradGuard g;
    ref = m->forward(b.ids, b.tt, b.mask, opt);
    m->set_compute_dtype(torch::kBFloat16);
    out = m->forward(b.ids, b.tt, b.mask, opt);
  }
  for (auto& lin : m->encoder_linears()) EXPECT_EQ(lin->compute_dtype(), torch::kBFloat16);
  EXPECT_EQ(out.mlm_logits.scalar_type(), torch::kFloat);
  EXPECT_EQ(out.hidden_states.back().scalar_type(), torch::kFloat);
  EXPECT_EQ(out.attention_scores[0].scalar_type(), torch::kFloat);
  const double scale = ref.mlm_logits.abs().max().item<double>();
  const double rel = testing::max_abs_diff(out.mlm_logits, ref.mlm_logits) / scale;
  EXPECT_LT(rel, 5e-2);
  EXPECT_GT(rel, 0.0);
  EXPECT_LT(testing::max_abs_diff(out.nsp_logits, ref.nsp_logits) /
                ref.nsp_logits.abs().max().item<double>(),
            5e-2);
  // Training through the bf16 path updates fp32 master weights.
  m->train();
  m->zero_grad();
  auto loss = m->forward(b.ids, b.tt, b.mask).mlm_logits.logsumexp(-1).mean();
  loss.backward();
  auto gq = m->encoder_linears()[0]->weight.grad();
  ASSERT_TRUE(gq.defined());
  EXPECT_EQ(gq.scalar_type(), torch::kFloat);
}

// Removing heads equals zeroing their value rows (their context becomes exactly 0).
TEST(BertSurgery, KeepHeadsEqualsZeroingTheirValues) {
  auto cfg = small_config();  // 4 heads of 4
  auto m = random_model(cfg);
  auto b = make_batch(cfg.vocab_size);
  torch::NoGradGuard g;
  auto layer = m->layer(1);
  {
    auto v = layer->value;
    for (int64_t h : {0, 2}) {
      v->weight.slice(0, h * 4, h * 4 + 4).zero_();
      v->bias.slice(0, h * 4, h * 4 + 4).zero_();
    }
  }
  auto ref = m->forward(b.ids, b.tt, b.mask);
  layer->keep_heads(torch::tensor({1, 3}, torch::kLong));
  EXPECT_EQ(layer->query->out_features(), 8);
  EXPECT_EQ(layer->attn_out->in_features(), 8);
  EXPECT_EQ(m->config().layers[1].num_heads, 2);
  auto out = m->forward(b.ids, b.tt, b.mask);
  EXPECT_LT(testing::max_abs_diff(out.mlm_logits, ref.mlm_logits), 1e-4);
  // All heads removed: the attention block is its output bias; the model still runs.
  layer->keep_heads(torch::zeros({0}, torch::kLong));
  EXPECT_EQ(m->config().layers[1].num_heads, 0);
  ForwardOptions opt;
  opt.output_attentions = true;
  auto z = m->forward(b.ids, b.tt, b.mask, opt);
  EXPECT_EQ(z.attention_scores[1].size(1), 0);
  EXPECT_TRUE(torch::isfinite(z.mlm_logits).all().item<bool>());
}

TEST(BertSurgery, KeepIntermediateAndQkAndVDimsAreExact) {
  auto cfg = small_config();
  auto m = random_model(cfg);
  auto b = make_batch(cfg.vocab_size);
  torch::NoGradGuard g;
  auto layer = m->layer(0);
  auto units = torch::tensor({0, 3, 5, 6, 10, 20, 23}, torch::kLong);
  auto zero_cols = torch::ones({24});
  zero_cols.index_fill_(0, units, 0.0);
  layer->ffn_out->weight.mul_(1.0 - zero_cols);  // removed units contribute nothing
  // Removed value dims 1, 3 of every head contribute nothing to attention.output.
  auto vdims = torch::tensor({0, 2}, torch::kLong);
  for (int64_t h = 0; h < 4; ++h)
    for (int64_t j : {1, 3}) layer->attn_out->weight.select(1, h * 4 + j).zero_();
  // Removed qk dims 0, 1 contribute nothing to the scores.
  auto qkdims = torch::tensor({2, 3}, torch::kLong);
  for (int64_t h = 0; h < 4; ++h)
    for (int64_t j : {0, 1}) {
      layer->query->weight[h * 4 + j].zero_();
      layer->query->bias[h * 4 + j].zero_();
    }
  ForwardOptions opt;
  opt.output_attentions = true;
  auto ref = m->forward(b.ids, b.tt, b.mask, opt);
  layer->keep_intermediate(units);
  layer->keep_v_dims(vdims);
  layer->keep_qk_dims(qkdims);
  auto d = m->config().layers[0];
  EXPECT_EQ(d.intermediate_size, 7);
  EXPECT_EQ(d.v_head_size, 2);
  EXPECT_EQ(d.qk_head_size, 2);
  EXPECT_FALSE(m->config().is_uniform());
  auto out = m->forward(b.ids, b.tt, b.mask, opt);
  EXPECT_LT(testing::max_abs_diff(out.mlm_logits, ref.mlm_logits), 1e-4);
  EXPECT_LT(testing::max_abs_diff(out.attention_scores[0], ref.attention_scores[0]), 1e-4);
  EXPECT_THROW(layer->keep_qk_dims(torch::tensor({5}, torch::kLong)), kd::Error);
}

TEST(BertSurgery, KeepHiddenAndLayersShrinkEverything) {
  auto cfg = small_config();
  auto m = random_model(cfg);
  auto b = make_batch(cfg.vocab_size);
  auto idx = torch::arange(0, 16, 2, torch::kLong);
  m->keep_hidden(idx);
  m->keep_layers({1});
  const auto& c = m->config();
  EXPECT_EQ(c.hidden_size, 8);
  EXPECT_EQ(c.num_hidden_layers, 1);
  int64_t n = 0;
  for (const auto& p : m->parameters()) n += p.numel();
  EXPECT_EQ(n, c.num_parameters());
  std::set<std::string> got;
  for (const auto& p : m->named_parameters()) got.insert(p.key());
  EXPECT_EQ(got, hf_keys(c));
  auto out = m->forward(b.ids, b.tt, b.mask);
  EXPECT_EQ(out.mlm_logits.sizes(), (std::vector<int64_t>{3, 9, 50}));
  EXPECT_TRUE(torch::isfinite(out.mlm_logits).all().item<bool>());
}

}  // namespace
}  // namespace kd::model
