// `kdprune schubert` configuration: a pre-trained model (model.dir), pre-training shards,
// the fine-tuning recipe of each round (the `train` section: train.steps = fine-tune steps per
// round) and the pruning schedule (the `schubert` section).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "dist/communicator.h"
#include "methods/pretrain/pretrain_config.h"
#include "train/train_config.h"

namespace kd::methods {

// data.heldout is scored before the first round and after every round.
struct SchubertDataSection : DataWithHeldout {
  int64_t eval_batches = 20;  // per rank; 0 = every held-out row
  template <class V>
  void visit(V& v) {
    DataWithHeldout::visit(v);
    v("eval_batches", eval_batches, "held-out batches per rank per score; 0 = all rows");
  }
};

struct RegulariseSection {
  int64_t steps = 20;   // α-only steps per round (paper: ~1/1000 of pre-training)
  double lr = 0.01;     // AdamW on the α, constant, no weight decay
  double lambda = 1.0;  // λ of λ Σ c_α |α| / P (P = the round's parameter count)
  template <class V>
  void visit(V& v) {
    v("steps", steps, "steps training only the pruning vectors α, per round");
    v("lr", lr, "learning rate of the α (AdamW, constant)");
    v("lambda", lambda, "penalty weight: λ Σ c_α|α| / P, c_α = parameters α controls");
  }
};

struct SchubertSection {
  std::string variant = "all";  // all | h | F | A | uniform | layers
  int64_t target_params = 0;    // absolute budget; 0 = use target_fraction
  double target_fraction = 0.8;
  int64_t rounds = 3;
  std::string optimizer_state = "slice";  // slice | rebuild (fine-tune moments across rounds)
  RegulariseSection regularise;
  template <class V>
  void visit(V& v) {
    v("variant", variant,
      "all (heads, q/k, v, filter per layer + hidden) | h (hidden) | F (filter) | A (heads) | "
      "uniform (every dimension shrunk alike) | layers (drop top layers)");
    v("target_params", target_params, "parameter budget; 0 = target_fraction of the start model");
    v("target_fraction", target_fraction, "budget as a fraction of the start model's parameters");
    v("rounds", rounds, "prune rounds; each removes (P0 - target) / rounds parameters");
    v("optimizer_state", optimizer_state,
      "slice (carry the fine-tune moments of surviving weights) | rebuild (fresh each round)");
    v("regularise", regularise);
  }
};

struct SchubertConfig : train::JobConfig {
  ModelSection model;  // dir = the model to prune (required)
  SchubertDataSection data;
  SchubertSection schubert;
  template <class V>
  void visit(V& v) {
    train::JobConfig::visit(v);
    v("model", model);
    v("data", data);
    v("schubert", schubert);
  }
  void validate() const;
};

// The command as a library call on `comm` (the world, or a group of it).
int run_schubert(const SchubertConfig& config, std::shared_ptr<dist::Communicator> comm);

}  // namespace kd::methods
