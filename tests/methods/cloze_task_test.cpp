// Prompt tuning on a classification task recast as a cloze (prompt-task): the verbaliser and its
// errors, where prompt slots, texts and [MASK] go, longest-first truncation (and the texts' own
// limit), class-label inits, members trained in their own data order equal to each trained
// alone in that order, and class predictions equal to the argmax over the verbaliser's logits.
#include <gtest/gtest.h>

#include "common/check.h"
#include "dist/local_communicator.h"
#include "methods/probing/fact_batches.h"
#include "methods/prompt/cloze_task.h"
#include "methods/prompt/prompt_ensemble_task.h"
#include "support/distill_fixtures.h"

namespace kd::methods::prompt {
namespace {

text::WordPieceTokenizer cloze_tokenizer() {  // 40 tokens, test::tiny_bert's vocabulary size
  std::vector<std::string> t = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".",     "?",
                                ",",     "yes",   "no",    "ham",   "spam",   "cheap", "pills",
                                "meet",  "at",    "noon",  "dog",   "the",    "##s"};
  while (t.size() < 40) t.push_back("w" + std::to_string(t.size()));
  return text::WordPieceTokenizer::from_tokens(t);
}

model::BertForPreTraining frozen_tiny_model() {
  model::BertForPreTraining m(test::tiny_bert(16, 2));
  m->init_weights(5);
  m->eval();
  for (auto& p : m->parameters()) p.set_requires_grad(false);
  return m;
}

finetune::TaskSpec spam_spec(bool pair = false) {
  finetune::TaskSpec s;
  s.name = "spam";
  s.labels = {"ham", "spam"};
  s.pair = pair;
  s.metric = "accuracy";
  return s;
}

finetune::TaskExample example(const std::string& a, const std::string& b, int label) {
  finetune::TaskExample e;
  e.text_a = a;
  e.text_b = b;
  e.label = label;
  return e;
}

int64_t id(const text::WordPieceTokenizer& tok, const char* word) {
  return tok.token_id(word);
}

// Runs `f` and checks that it throws a kd::Error whose message holds `part`.
template <class F>
void expect_cloze_error(F&& f, const std::string& part) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one containing: " << part;
  } catch (const kd::Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(ClozeTask, VerbaliserDefaultsToTheLabelsAndRefusesWhatItCannotRead) {
  auto tok = cloze_tokenizer();
  auto v = make_verbaliser(tok, spam_spec(), {}, "tasks/spam");
  EXPECT_EQ(v.words, (std::vector<std::string>{"ham", "spam"}));
  EXPECT_EQ(v.ids, (std::vector<int64_t>{id(tok, "ham"), id(tok, "spam")}));
  EXPECT_EQ(make_verbaliser(tok, spam_spec(), {"no", "yes"}, "t").ids,
            (std::vector<int64_t>{id(tok, "no"), id(tok, "yes")}));
  expect_cloze_error([&] { make_verbaliser(tok, spam_spec(), {"no"}, "t"); },
                     "1 words for the 2 labels of t (ham, spam)");
  expect_cloze_error(
      [&] {
        make_verbaliser(tok, spam_spec(), {"no", "dogs"}, "t");
      },
      "'dogs' (label 'spam' of t) is 2 WordPieces");
  expect_cloze_error(
      [&] {
        make_verbaliser(tok, spam_spec(), {"zebra", "no"}, "t");
      },
      "'zebra' (label 'ham' of t)");
  expect_cloze_error(
      [&] {
        make_verbaliser(tok, spam_spec(), {"no", "no"}, "t");
      },
      "'no' stands for two labels");
  auto regression = spam_spec();
  regression.labels.clear();
  expect_cloze_error([&] { make_verbaliser(tok, regression, {}, "t"); }, "is a regression");
}

TEST(ClozeTask, ItemsHoldPromptSlotsTextsAndTheMask) {
  auto tok = cloze_tokenizer();
  const int64_t P = tok.pad_id;
  auto single =
      cloze_items(tok, {example("cheap pills", "", 1)}, "[A] [MASK] .", false, 2, 16, 0, 2);
  ASSERT_EQ(single.items.size(), 1u);
  const auto& s = single.items[0];
  EXPECT_EQ(s.ids, (std::vector<int64_t>{tok.cls_id, P, P, id(tok, "cheap"), id(tok, "pills"),
                                         tok.mask_id, id(tok, "."), tok.sep_id}));
  EXPECT_EQ(s.slots, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(s.mask_at, 5);
  EXPECT_EQ(s.object, 1);  // the class index, not a token id
  EXPECT_EQ(single.truncated, 0);

  auto pair = cloze_items(tok, {example("dog", "meet at noon", 0)}, "[A] ? [MASK] , [B]", true, 1,
                          16, 0, 2);
  EXPECT_EQ(pair.items[0].ids, (std::vector<int64_t>{tok.cls_id, P, id(tok, "dog"), id(tok, "?"),
                                                     tok.mask_id, id(tok, ","), id(tok, "meet"),
                                                     id(tok, "at"), id(tok, "noon"), tok.sep_id}));
  EXPECT_EQ(pair.items[0].mask_at, 4);
}

TEST(ClozeTask, TextsAreCutLongestFirstToFitTheWholeInput) {
  auto tok = cloze_tokenizer();
  // Budget = 10 - 2 ([CLS] [SEP]) - 2 slots - 3 (? [MASK] ,) = 3 text tokens: a = "dog" (1),
  // b = "meet at noon" (3) -> b, the longer, is cut to 2.
  auto cut = cloze_items(tok, {example("dog", "meet at noon", 0)}, "[A] ? [MASK] , [B]", true, 2,
                         10, 0, 2);
  EXPECT_EQ(cut.truncated, 1);
  EXPECT_EQ(cut.items[0].ids.size(), 10u);
  EXPECT_EQ(cut.items[0].ids[8], id(tok, "at"));  // "meet at", "noon" dropped
  EXPECT_EQ(cut.items[0].ids[9], tok.sep_id);
  // Longest first: a (4) and b (1) with room for 3 -> a loses 2.
  auto a_cut = cloze_items(tok, {example("cheap pills at noon", "dog", 0)}, "[A] ? [MASK] , [B]",
                           true, 2, 10, 0, 2);
  EXPECT_EQ(a_cut.items[0].ids[3], id(tok, "cheap"));
  EXPECT_EQ(a_cut.items[0].ids[5], id(tok, "?"));
  // The texts' own limit holds whatever room max_seq_length leaves: 2 text tokens for any
  // prompt length that leaves at least that.
  for (int64_t n : {1, 5}) {
    auto limited = cloze_items(tok, {example("cheap pills at noon", "", 0)}, "[A] [MASK] .", false,
                               n, 16, 2, 2);
    EXPECT_EQ(limited.truncated, 1);
    EXPECT_EQ(limited.items[0].ids.size(), static_cast<size_t>(1 + n + 2 + 2 + 1)) << n;
    EXPECT_EQ(limited.items[0].ids[static_cast<size_t>(1 + n + 1)], id(tok, "pills"));
  }
  // No room left for the text: a clear error naming the prompt length and the limit.
  expect_cloze_error(
      [&] { cloze_items(tok, {example("dog", "", 0)}, "[A] [MASK] .", false, 8, 10, 0, 2); },
      "a prompt of 8 vectors and the cloze '[A] [MASK] .' (2 tokens) leave no room");
  expect_cloze_error(
      [&] { cloze_items(tok, {example("dog", "", 2)}, "[A] [MASK] .", false, 1, 10, 0, 2); },
      "label 2 is not a class id below 2");
  expect_cloze_error([&] { validate_cloze("[A] .", false); }, "must hold [A] and [MASK] once each");
  expect_cloze_error([&] { validate_cloze("[A] [MASK]", true); }, "lacks [B]");
  expect_cloze_error([&] { validate_cloze("[A] [MASK] [B]", false); }, "must not hold [B]");
}

TEST(ClozeTask, ClassLabelInitStartsFromTheVerbaliserThenSampledWords) {
  auto tok = cloze_tokenizer();
  auto m = frozen_tiny_model();
  PromptOptions o;
  o.length = 4;
  o.inits = {"class_label", "class_label"};
  o.vocab_top = 5;
  const std::vector<int64_t> labels = {id(tok, "no"), id(tok, "yes")};
  auto p = init_prompts(m, tok, o, labels, 3);
  auto table = m->embeddings->word_embeddings->weight.detach();
  for (int64_t member = 0; member < 2; ++member) {
    EXPECT_TRUE(torch::equal(p[member][0], table[labels[0]]));
    EXPECT_TRUE(torch::equal(p[member][1], table[labels[1]]));
  }
  // The rest is sampled vocabulary, drawn afresh for each member.
  EXPECT_FALSE(torch::equal(p[0].narrow(0, 2, 2), p[1].narrow(0, 2, 2)));
  o.length = 1;  // shorter than the label list: its first words
  EXPECT_TRUE(torch::equal(init_prompts(m, tok, o, labels, 3)[1][0], table[labels[0]]));
  expect_cloze_error([&] { init_prompts(m, tok, o, {}, 3); }, "class_label");
}

std::vector<PromptItem> toy_items(const text::WordPieceTokenizer& tok, int64_t length) {
  std::vector<finetune::TaskExample> ex;
  const char* texts[] = {"cheap pills", "meet at noon", "the dog", "cheap dog",
                         "noon pills",  "meet the dog", "at noon", "pills"};
  for (int i = 0; i < 8; ++i) ex.push_back(example(texts[i], "", i % 2));
  return cloze_items(tok, ex, "[A] [MASK] .", false, length, 16, 0, 2).items;
}

TEST(ClozeTask, MembersInTheirOwnOrderTrainAsIfAlone) {
  auto tok = cloze_tokenizer();
  auto m = frozen_tiny_model();
  const auto items = toy_items(tok, 2);
  const std::vector<int64_t> classes = {id(tok, "ham"), id(tok, "spam")};
  auto class_ids = torch::tensor(classes, torch::kLong);
  torch::manual_seed(8);
  auto start = torch::randn({2, 2, 16});
  auto prompts = start.clone().set_requires_grad(true);
  PromptEnsembleTask ensemble(m, prompts, items, 77, 3, 0, 1, /*per_prompt_orders=*/true,
                              class_ids);
  probing::FactBatches<PromptItem> order0(items, text::mix_seed(77, 0), 3, 0, 1);
  probing::FactBatches<PromptItem> order1(items, text::mix_seed(77, 1), 3, 0, 1);
  for (int step = 0; step < 3; ++step) {
    auto got = ensemble.micro_step().loss;
    // Each member alone on its own batch, cross-entropy over the two class words.
    double want = 0;
    int differing = 0;
    auto b0 = order0.next(), b1 = order1.next();
    for (int p = 0; p < 2; ++p) {
      const auto& part = p == 0 ? b0 : b1;
      auto batch = make_prompt_batch(part, 0, part.size());
      auto logits = prompt_logits(m, start.narrow(0, p, 1), batch)[0].index_select(1, class_ids);
      want += torch::nn::functional::cross_entropy(logits, batch.objects).item<double>();
    }
    for (size_t i = 0; i < b0.size(); ++i) differing += b0[i].ids != b1[i].ids;
    EXPECT_NEAR(got.item<double>(), want, 1e-5) << "step " << step;
    EXPECT_GT(differing + step, 0);  // the two orders are not the same sequence
  }
  // The cursor is one per member and resumes.
  const auto state = ensemble.rank_state();
  ASSERT_TRUE(state.is_array());
  EXPECT_EQ(state.size(), 2u);
  PromptEnsembleTask resumed(m, start.clone().set_requires_grad(true), items, 77, 3, 0, 1, true,
                             class_ids);
  resumed.load_rank_state(state);
  PromptEnsembleTask shared(m, start.clone().set_requires_grad(true), items, 77, 3, 0, 1, false,
                            class_ids);
  expect_cloze_error([&] { resumed.load_rank_state(shared.rank_state()); }, "one per prompt");
}

TEST(ClozeTask, PredictionsAreTheArgmaxOverTheVerbaliser) {
  auto tok = cloze_tokenizer();
  auto m = frozen_tiny_model();
  const auto items = toy_items(tok, 3);
  const std::vector<int64_t> classes = {id(tok, "ham"), id(tok, "spam")};
  torch::manual_seed(2);
  auto prompts = torch::randn({3, 3, 16}) * 2;
  dist::LocalCommunicator comm;
  auto got = predict_classes(m, prompts, items, classes, "mean_prob", 3, comm);
  auto batch = make_prompt_batch(items, 0, items.size());
  auto logits = prompt_logits(m, prompts, batch).index_select(2, torch::tensor(classes));
  auto want = logits.argmax(-1);
  auto want_ensemble = torch::softmax(logits, -1).mean(0).argmax(-1);
  ASSERT_EQ(got.each.size(), 3u);
  int disagreements = 0;
  for (int64_t i = 0; i < static_cast<int64_t>(items.size()); ++i) {
    for (int64_t p = 0; p < 3; ++p)
      EXPECT_EQ(got.each[p][i], want[p][i].item<int64_t>()) << p << "," << i;
    EXPECT_EQ(got.ensemble[i], want_ensemble[i].item<int64_t>()) << i;
    disagreements += want[0][i].item<int64_t>() != want[1][i].item<int64_t>();
  }
  // Not every prediction the same class (else the comparison proves little).
  EXPECT_GT(want.sum().item<int64_t>(), 0);
  EXPECT_LT(want.sum().item<int64_t>(), want.numel());
  (void)disagreements;
}

}  // namespace
}  // namespace kd::methods::prompt
