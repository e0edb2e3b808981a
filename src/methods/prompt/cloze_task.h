// A downstream classification task recast as a cloze for prompt tuning (Lester et al., METHODS.md
// §4): every example becomes [CLS] P1..Pn <cloze> [SEP], where the cloze is a template such as
// "[A] ? [MASK] , [B]" holding the example's texts, and the class is read at [MASK] from the MLM
// logits of the verbaliser's words (one single-WordPiece word per label), never from the whole
// vocabulary.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "dist/communicator.h"
#include "methods/finetune/downstream_task.h"
#include "methods/finetune/glue_tasks.h"
#include "methods/prompt/soft_prompts.h"
#include "model/bert.h"
#include "text/wordpiece_tokenizer.h"

namespace kd::methods::prompt {

// The verbaliser: words[c] (and its token id ids[c]) stands for class c.
struct Verbaliser {
  std::vector<std::string> words;
  std::vector<int64_t> ids;
};
// `words` in the task's label order; empty = the label names themselves. Throws naming the task,
// the label and the word when a word is not one WordPiece, two labels share a word, the count
// differs from the labels' or the task is a regression.
Verbaliser make_verbaliser(const text::WordPieceTokenizer& tokenizer,
                           const finetune::TaskSpec& spec, const std::vector<std::string>& words,
                           const std::string& task_dir);

// Throws unless `cloze` holds [A] and [MASK] once each, and [B] once exactly when `pair`.
void validate_cloze(const std::string& cloze, bool pair);

struct ClozeItems {
  std::vector<PromptItem> items;  // object = the class index
  int64_t truncated = 0;          // examples whose texts were cut to fit max_seq_length
};
// Every example as [CLS] P1..Pn <cloze> [SEP] with n = prompt_length slots, its texts truncated
// longest-first so that the whole input fits max_seq_length and the texts together hold at most
// max_text_tokens (0 = no limit of their own; a limit gives every prompt length the same text).
// Throws when the prompt and the cloze's own words leave fewer than one text token per text.
ClozeItems cloze_items(const text::WordPieceTokenizer& tokenizer,
                       const std::vector<finetune::TaskExample>& examples, const std::string& cloze,
                       bool pair, int64_t prompt_length, int64_t max_seq_length,
                       int64_t max_text_tokens, int64_t num_classes);

// Predicted classes of every prompt and of the ensemble (ensemble_scores over the verbaliser's
// logits): each[p][i], ensemble[i]. All ranks pass the same items; each predicts a contiguous
// share and the predictions are all-reduced over `comm`.
struct ClassPredictions {
  std::vector<std::vector<double>> each;
  std::vector<double> ensemble;
};
ClassPredictions predict_classes(model::BertForPreTraining& model, const torch::Tensor& prompts,
                                 const std::vector<PromptItem>& items,
                                 const std::vector<int64_t>& class_ids, const std::string& combine,
                                 int64_t batch_size, dist::Communicator& comm);

}  // namespace kd::methods::prompt
