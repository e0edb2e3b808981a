// Soft prompts for relational probing (METHODS.md §4): n trainable vectors in the input
// embedding space of a frozen BERT, written into the positions of placeholder tokens.
//   prepend     (Lester et al.)  [CLS] P1..Pn <manual cloze sentence> [SEP]
//   interleave  (OptiPrompt)     [CLS] <subject> V1..Vn [MASK] <template tail, e.g. "."> [SEP]
//                                (the template's words between [X] and [Y] are replaced by the
//                                vectors; words before the first and after the second
//                                placeholder stay)
// An ensemble is N prompts of one relation, stored as one tensor [N, n, H]; prompt_logits runs
// every fact once per prompt in ONE forward pass (rows p·B + i), which is how ensembles are
// trained and evaluated.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dist/communicator.h"
#include "methods/probing/eval_probe.h"
#include "model/bert.h"
#include "text/lama_reader.h"
#include "text/wordpiece_tokenizer.h"

namespace kd::methods::prompt {

struct PromptOptions {
  std::string style = "interleave";  // interleave (OptiPrompt) | prepend (Lester)
  int64_t length = 5;                // n vectors per prompt
  // One initialisation per prompt of the ensemble: manual | vocab | random | class_label
  // (kdprune prompt-task: the verbaliser's words, Lester's best).
  std::vector<std::string> inits = {"manual", "vocab", "vocab", "random"};
  // shared: every prompt of the ensemble sees the same facts in the same order; per_prompt: each
  // its own order (its own seed), so that members of one init type differ by seed as well.
  std::string orders = "shared";
  double init_range = 0.5;   // random: U(-r, r) (Lester)
  int64_t vocab_top = 5000;  // vocab: rows of the embedding table of the most frequent words
  std::string combine = "mean_prob";  // ensemble: mean_prob | vote
};
void validate(const PromptOptions& options);

// One fact ready for prompting: token ids with placeholder slots, where the slots are.
struct PromptItem {
  std::vector<int64_t> ids;    // [CLS] .. [SEP]; slot positions hold [PAD] (overwritten)
  std::vector<int64_t> slots;  // n positions, in prompt-vector order
  int64_t mask_at = 0;
  int64_t object = 0;
};
// Nothing when the object is not a single WordPiece (or is [UNK]), the record lacks what the style
// needs (interleave: a template with [X] and [Y]; prepend: a cloze sentence with [MASK]) or the
// sentence is longer than max_len.
std::optional<PromptItem> make_prompt_item(const text::WordPieceTokenizer& tokenizer,
                                           const text::ProbeRecord& record,
                                           const PromptOptions& options, int64_t max_len);

struct PromptBatch {
  torch::Tensor ids, attention_mask;  // [B, T]
  torch::Tensor slots;                // [B, n]
  torch::Tensor mask_at, objects;     // [B]
};
PromptBatch make_prompt_batch(const std::vector<PromptItem>& items, size_t begin, size_t end);

// MLM logits at the [MASK] of every fact under every prompt: prompts [N, n, H] ->
// [N, B, V] fp32, from one forward pass over N·B rows. Differentiable in `prompts`.
// rows_per_prompt: the batch already holds N·B rows, prompt p's facts in rows p·B .. p·B+B-1
// (orders: per_prompt), instead of B facts that every prompt sees.
torch::Tensor prompt_logits(model::BertForPreTraining& model, const torch::Tensor& prompts,
                            const PromptBatch& batch, bool rows_per_prompt = false);
// Ensemble scores [B, V] from per-prompt logits [N, B, V]: mean_prob = the prompts' averaged
// probabilities; vote = each prompt's top-1 as a vote, plus the averaged probability (< 1) so
// that ties between equal vote counts (and every rank below the votes) follow it.
torch::Tensor ensemble_scores(const torch::Tensor& logits, const std::string& combine);

// Runs visit(first, batch, logits [N, B, V]) over this rank's contiguous share of `items`
// (first = the batch's first index into items), in batches of `batch_size`, with the model in
// eval mode and no gradients (its mode restored afterwards). What scores prompts on a split.
void for_each_prompt_batch(
    model::BertForPreTraining& model, const torch::Tensor& prompts,
    const std::vector<PromptItem>& items, int64_t batch_size, const dist::Communicator& comm,
    const std::function<void(size_t, const PromptBatch&, const torch::Tensor&)>& visit);

// Every prompt of the ensemble and the ensemble itself scored on `items` (all ranks pass the
// same items; each scores a contiguous share, sums are all-reduced over `comm`).
struct PromptScores {
  std::vector<ProbeScore> each;  // one per prompt
  ProbeScore ensemble;
};
PromptScores score_prompts(model::BertForPreTraining& model, const torch::Tensor& prompts,
                           const std::vector<PromptItem>& items, const std::string& combine,
                           int top_k, int64_t batch_size, dist::Communicator& comm);

// The words a manual initialisation starts from: interleave = the template's words between [X]
// and [Y]; prepend = all of the template's words. Empty when the record has no template.
std::vector<int64_t> manual_init_tokens(const text::WordPieceTokenizer& tokenizer,
                                        const text::ProbeRecord& record, const std::string& style);
// Initial prompts [N, n, H], one per options.inits entry (deterministic for a seed):
// manual = the embeddings of `manual_tokens` (first min(n, m) vectors; the rest as vocab),
// class_label = the same with `manual_tokens` the verbaliser's words (Lester: the class labels'
// embeddings, sampled vocabulary for the rest of a longer prompt),
// vocab = embeddings of tokens drawn from the `vocab_top` most frequent words (BERT's vocab
// lists whole words by frequency from "the" on), random = U(-init_range, init_range).
torch::Tensor init_prompts(model::BertForPreTraining& model,
                           const text::WordPieceTokenizer& tokenizer, const PromptOptions& options,
                           const std::vector<int64_t>& manual_tokens, uint64_t seed);

// A relation's prompts with what is needed to use them again (eval-probe --prompts).
struct PromptFile {
  torch::Tensor prompts;  // [N, n, H] fp32
  PromptOptions options;
  int64_t best = 0;  // the prompt chosen on the dev split (the "soft prompt" column)
};
void save_prompts(const std::string& path, const PromptFile& file);
PromptFile load_prompts(const std::string& path);  // throws kd::Error naming the file

}  // namespace kd::methods::prompt
