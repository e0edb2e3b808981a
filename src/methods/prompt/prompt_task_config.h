// `kdprune prompt-task` configuration: Lester-style prompt tuning of a frozen model on a
// downstream classification task recast as a cloze with a verbaliser (cloze_task.h), one
// ensemble of prompts per prompt length.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dist/communicator.h"
#include "methods/probing/probe_sets.h"
#include "methods/prompt/prompt_config.h"
#include "train/train_config.h"

namespace kd::methods {

struct PromptTaskSection {
  std::string dir;                      // a task directory (kdprune-prep tasks, or GLUE's)
  std::string cloze = "[A] [MASK] .";   // the example's texts in [A] (and [B])
  std::vector<std::string> verbaliser;  // one word per label; empty = the label names
  std::vector<int64_t> lengths;         // one ensemble per prompt length; empty = prompt.length
  int64_t max_seq_length = 128;         // the whole input, prompt vectors included
  int64_t max_text_tokens = 0;          // the texts' own limit (0 = none)
  int64_t batch_size = 16;              // examples per step and rank
  double epochs = 0;                    // passes over the training set; 0 = train.steps
  int64_t eval_batch_size = 64;
  template <class V>
  void visit(V& v) {
    v("dir", dir, "task directory with train/dev(/test) and a task.json (kdprune-prep tasks)");
    v("cloze", cloze, "the cloze: [A] (and [B] for pairs) = the texts, [MASK] = the label word");
    v("verbaliser", verbaliser,
      "one single-token word per label, in task.json's order (empty: the label names)");
    v("lengths", lengths, "prompt lengths, one ensemble each (empty: prompt.length)");
    v("max_seq_length", max_seq_length,
      "tokens per input, prompt included; texts are cut longest-first");
    v("max_text_tokens", max_text_tokens,
      "the texts' own limit, the same for every prompt length (0: only max_seq_length)");
    v("batch_size", batch_size, "examples per step and rank");
    v("epochs", epochs, "passes over the training set (steps follow); 0 = train.steps");
    v("eval_batch_size", eval_batch_size, "examples per evaluation batch and rank");
  }
};

struct PromptTaskConfig : train::JobConfig {
  FrozenModelSection model;
  PromptTaskSection task;
  PromptSection prompt;
  template <class V>
  void visit(V& v) {
    train::JobConfig::visit(v);
    v("model", model);
    v("task", task);
    v("prompt", prompt);
  }
  void validate() const;
  std::vector<int64_t> prompt_lengths() const {
    return task.lengths.empty() ? std::vector<int64_t>{prompt.length} : task.lengths;
  }
};

int run_prompt_task(const PromptTaskConfig& config, std::shared_ptr<dist::Communicator> comm);

}  // namespace kd::methods
