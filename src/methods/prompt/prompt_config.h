// `kdprune prompt` configuration: soft prompts (Lester prepend or OptiPrompt interleave) trained
// per relation over a frozen model; an ensemble of prompts per relation, one per init.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "dist/communicator.h"
#include "methods/probing/probe_sets.h"
#include "methods/prompt/soft_prompts.h"
#include "train/train_config.h"

namespace kd::methods {

struct PromptSection : prompt::PromptOptions {
  template <class V>
  void visit(V& v) {
    v("style", style, "interleave ([X] V1..Vn [MASK], OptiPrompt) | prepend (Lester)");
    v("length", length, "vectors per prompt");
    v("inits", inits,
      "one per prompt of the ensemble: manual | vocab | random | class_label (prompt-task)");
    v("orders", orders,
      "shared (all prompts see the same batches) | per_prompt (each its own order: members that "
      "differ by seed)");
    v("init_range", init_range, "random init: U(-r, r)");
    v("vocab_top", vocab_top, "vocab init: drawn from the N most frequent words");
    v("combine", combine, "ensemble: mean_prob (averaged probabilities) | vote");
  }
};

struct PromptConfig : train::JobConfig {
  FrozenModelSection model;
  ProbeSetSection probes;
  PromptSection prompt;
  template <class V>
  void visit(V& v) {
    train::JobConfig::visit(v);
    v("model", model);
    v("probes", probes);
    v("prompt", prompt);
  }
  void validate() const;
};

// The command as a library call on `comm` (the world, or a group of it).
int run_prompt(const PromptConfig& config, std::shared_ptr<dist::Communicator> comm);

}  // namespace kd::methods
