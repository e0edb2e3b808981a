// Soft prompts: where the slots go for each style; a prompt made of token embeddings gives the
// plain forward of those tokens; the batched ensemble forward equals one forward per prompt;
// gradients reach the prompts only; inits; ensemble combination; prompt files round-trip.
#include <gtest/gtest.h>

#include "common/check.h"
#include "methods/prompt/soft_prompts.h"
#include "support/distill_fixtures.h"
#include "support/test_support.h"

namespace kd::methods::prompt {
namespace {

// 40 tokens, the size of test::tiny_bert's vocabulary.
text::WordPieceTokenizer tiny_tokenizer() {
  std::vector<std::string> t = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".",      "a",
                                "the",   "dog",   "is",    "kind",  "of",     "animal", "cat",
                                "one",   "fur",   "has",   "part",  "big",    "##s"};
  while (t.size() < 40) t.push_back("w" + std::to_string(t.size()));
  return text::WordPieceTokenizer::from_tokens(t);
}

model::BertForPreTraining tiny_model() {
  model::BertForPreTraining m(test::tiny_bert(16, 2));
  m->init_weights(9);
  m->eval();
  for (auto& p : m->parameters()) p.set_requires_grad(false);  // the model stays frozen
  return m;
}

text::ProbeRecord record(const std::string& subject, const std::string& object,
                         const std::string& tmpl) {
  text::ProbeRecord r;
  r.sub_label = subject;
  r.obj_label = object;
  r.relation = "IsA";
  r.template_text = tmpl;
  std::string s = tmpl;
  s.replace(s.find("[X]"), 3, subject);
  s.replace(s.find("[Y]"), 3, "[MASK]");
  r.masked_sentences = {s};
  return r;
}

std::vector<int64_t> ids_of(const text::WordPieceTokenizer& tok, const std::string& text) {
  std::vector<int64_t> out;
  for (int32_t id : tok.encode(text)) out.push_back(id);
  return out;
}

TEST(SoftPrompts, SlotsGoWhereEachStyleSays) {
  auto tok = tiny_tokenizer();
  PromptOptions o;
  o.length = 3;
  const int64_t P = tok.pad_id;
  auto it = make_prompt_item(tok, record("dog", "animal", "[X] is a kind of [Y] ."), o, 16);
  ASSERT_TRUE(it);
  EXPECT_EQ(it->ids, (std::vector<int64_t>{tok.cls_id, tok.token_id("dog"), P, P, P, tok.mask_id,
                                           tok.token_id("."), tok.sep_id}));
  EXPECT_EQ(it->slots, (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(it->mask_at, 5);
  EXPECT_EQ(it->object, tok.token_id("animal"));
  // Object first in the template: the words before it stay, the subject follows the vectors.
  it = make_prompt_item(tok, record("dog", "animal", "one kind of [Y] is [X] ."), o, 16);
  ASSERT_TRUE(it);
  EXPECT_EQ(it->ids, (std::vector<int64_t>{tok.cls_id, tok.token_id("one"), tok.token_id("kind"),
                                           tok.token_id("of"), tok.mask_id, P, P, P,
                                           tok.token_id("dog"), tok.token_id("."), tok.sep_id}));
  EXPECT_EQ(it->slots, (std::vector<int64_t>{5, 6, 7}));
  EXPECT_EQ(it->mask_at, 4);
  // Prepend: the vectors, then the manual cloze sentence.
  o.style = "prepend";
  it = make_prompt_item(tok, record("dog", "animal", "[X] is a kind of [Y] ."), o, 16);
  ASSERT_TRUE(it);
  std::vector<int64_t> want = {tok.cls_id, P, P, P};
  for (auto id : ids_of(tok, "dog is a kind of [MASK] .")) want.push_back(id);
  want.push_back(tok.sep_id);
  EXPECT_EQ(it->ids, want);
  EXPECT_EQ(it->slots, (std::vector<int64_t>{1, 2, 3}));
  // Unusable: a multi-piece or unknown object, no template (interleave), too long.
  o.style = "interleave";
  EXPECT_FALSE(make_prompt_item(tok, record("cat", "dogs", "[X] is a kind of [Y] ."), o, 16));
  EXPECT_FALSE(make_prompt_item(tok, record("dog", "zebra", "[X] is a kind of [Y] ."), o, 16));
  auto no_template = record("dog", "animal", "[X] is a kind of [Y] .");
  no_template.template_text.clear();
  EXPECT_FALSE(make_prompt_item(tok, no_template, o, 16));
  EXPECT_FALSE(make_prompt_item(tok, record("dog", "animal", "[X] is a kind of [Y] ."), o, 7));
}

TEST(SoftPrompts, PromptOfTokenEmbeddingsEqualsThePlainForwardOfThoseTokens) {
  auto tok = tiny_tokenizer();
  auto m = tiny_model();
  PromptOptions o;
  o.length = 4;
  std::vector<PromptItem> items;
  for (const char* s : {"dog", "cat", "big dog"})
    items.push_back(*make_prompt_item(tok, record(s, "animal", "[X] is a kind of [Y] ."), o, 16));
  auto batch = make_prompt_batch(items, 0, items.size());
  const auto words = ids_of(tok, "is a kind of");
  auto table = m->embeddings->word_embeddings->weight.detach();
  auto prompts = table.index_select(0, torch::tensor(words)).unsqueeze(0);  // [1, 4, H]
  auto got = prompt_logits(m, prompts, batch)[0];

  // The same sentences as ordinary text, padded the same way.
  auto ids = batch.ids.clone();
  for (int64_t i = 0; i < ids.size(0); ++i)
    for (int64_t k = 0; k < 4; ++k) ids[i][batch.slots[i][k].item<int64_t>()] = words[k];
  model::ForwardOptions f;
  f.compute_nsp = false;
  f.mlm_positions = torch::arange(ids.size(0)) * ids.size(1) + batch.mask_at;
  auto want = m->forward(ids, torch::zeros_like(ids), batch.attention_mask, f).mlm_logits;
  EXPECT_TRUE(torch::allclose(got, want, 1e-5, 1e-5)) << (got - want).abs().max();
}

TEST(SoftPrompts, BatchedEnsembleEqualsOneForwardPerPrompt) {
  auto tok = tiny_tokenizer();
  auto m = tiny_model();
  PromptOptions o;
  o.length = 2;
  std::vector<PromptItem> items;
  for (const char* s : {"dog", "cat", "big cat", "a dog"})
    items.push_back(*make_prompt_item(tok, record(s, "animal", "[X] is a kind of [Y] ."), o, 16));
  auto batch = make_prompt_batch(items, 0, items.size());
  torch::manual_seed(4);
  auto prompts = torch::randn({3, 2, 16});
  auto together = prompt_logits(m, prompts, batch);  // [3, 4, V]
  ASSERT_EQ(together.sizes(), (std::vector<int64_t>{3, 4, 40}));
  for (int64_t p = 0; p < 3; ++p) {
    auto alone = prompt_logits(m, prompts.narrow(0, p, 1), batch)[0];
    EXPECT_TRUE(torch::allclose(together[p], alone, 1e-6, 1e-6))
        << "prompt " << p << ": " << (together[p] - alone).abs().max();
  }
  // Different prompts do give different predictions (else the check above is vacuous).
  EXPECT_GT((together[0] - together[1]).abs().max().item<double>(), 1e-4);
}

TEST(SoftPrompts, GradientReachesThePromptsAndNotTheModel) {
  auto tok = tiny_tokenizer();
  auto m = tiny_model();
  PromptOptions o;
  o.length = 2;
  std::vector<PromptItem> items = {
      *make_prompt_item(tok, record("dog", "animal", "[X] is a kind of [Y] ."), o, 16)};
  auto batch = make_prompt_batch(items, 0, 1);
  auto prompts = torch::randn({2, 2, 16}).set_requires_grad(true);
  prompt_logits(m, prompts, batch).logsumexp(-1).sum().backward();
  ASSERT_TRUE(prompts.grad().defined());
  for (int64_t p = 0; p < 2; ++p)
    for (int64_t k = 0; k < 2; ++k) EXPECT_GT(prompts.grad()[p][k].abs().sum().item<double>(), 0);
  for (const auto& param : m->parameters()) EXPECT_FALSE(param.grad().defined());
}

TEST(SoftPrompts, InitsFollowTheirKind) {
  auto tok = tiny_tokenizer();
  auto m = tiny_model();
  PromptOptions o;
  o.length = 6;
  o.inits = {"manual", "vocab", "random"};
  o.vocab_top = 5;
  const auto rec = record("dog", "animal", "[X] is a kind of [Y] .");
  const auto manual = manual_init_tokens(tok, rec, "interleave");
  EXPECT_EQ(manual, ids_of(tok, "is a kind of"));
  EXPECT_EQ(manual_init_tokens(tok, rec, "prepend"), ids_of(tok, "is a kind of ."));
  auto p = init_prompts(m, tok, o, manual, 11);
  ASSERT_EQ(p.sizes(), (std::vector<int64_t>{3, 6, 16}));
  auto table = m->embeddings->word_embeddings->weight.detach();
  for (size_t k = 0; k < manual.size(); ++k)
    EXPECT_TRUE(torch::equal(p[0][static_cast<int64_t>(k)], table[manual[k]]));
  // Vocab rows (and manual's leftovers) are rows of the 5 words from "the" on.
  const int64_t first = tok.token_id("the");
  auto is_frequent_row = [&](const torch::Tensor& row) {
    for (int64_t id = first; id < first + 5; ++id)
      if (torch::equal(row, table[id])) return true;
    return false;
  };
  for (int64_t k = 4; k < 6; ++k) EXPECT_TRUE(is_frequent_row(p[0][k])) << k;
  for (int64_t k = 0; k < 6; ++k) EXPECT_TRUE(is_frequent_row(p[1][k])) << k;
  EXPECT_LE(p[2].abs().max().item<double>(), 0.5);
  EXPECT_GT(p[2].abs().max().item<double>(), 0.25);
  EXPECT_TRUE(torch::equal(p, init_prompts(m, tok, o, manual, 11)));  // deterministic
  EXPECT_FALSE(torch::equal(p[2], init_prompts(m, tok, o, manual, 12)[2]));
  EXPECT_THROW(init_prompts(m, tok, o, {}, 11), kd::Error);  // manual without a template
}

TEST(SoftPrompts, EnsembleCombinesByMeanProbabilityOrVote) {
  // Two prompts prefer token 0 mildly, one prefers token 2 strongly.
  auto probs = torch::tensor({{0.5, 0.4, 0.1}, {0.5, 0.4, 0.1}, {0.0, 0.0, 1.0}}).view({3, 1, 3});
  auto logits = torch::log(probs + 1e-9);
  auto mean = ensemble_scores(logits, "mean_prob")[0];
  EXPECT_EQ(mean.argmax().item<int64_t>(), 2);  // (0.33, 0.27, 0.4)
  auto vote = ensemble_scores(logits, "vote")[0];
  EXPECT_EQ(vote.argmax().item<int64_t>(), 0);  // two votes against one
  // Below the votes the averaged probability orders the rest.
  EXPECT_GT(vote[2].item<double>(), vote[1].item<double>());
}

TEST(SoftPrompts, PromptFilesRoundTrip) {
  PromptFile f;
  f.prompts = torch::randn({2, 3, 4});
  f.options.length = 3;
  f.options.inits = {"manual", "random"};
  f.options.style = "prepend";
  f.options.combine = "vote";
  f.best = 1;
  const auto path = test::temp_dir("prompt_files") + "/IsA.safetensors";
  save_prompts(path, f);
  auto g = load_prompts(path);
  EXPECT_TRUE(torch::equal(g.prompts, f.prompts));
  EXPECT_EQ(g.options.inits, f.options.inits);
  EXPECT_EQ(g.options.style, "prepend");
  EXPECT_EQ(g.options.combine, "vote");
  EXPECT_EQ(g.best, 1);
  f.best = 2;  // out of range: the file contradicts itself
  save_prompts(path, f);
  EXPECT_THROW(load_prompts(path), kd::Error);
}

}  // namespace
}  // namespace kd::methods::prompt
