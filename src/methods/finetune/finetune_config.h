// `kdprune finetune` configuration: which models, tasks and seeds (every combination is one
// independent fine-tuning run; runs are spread over rank groups of the world) and how each run
// trains (the train section: optimizer, schedule, precision, checkpoints).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dist/communicator.h"
#include "train/train_config.h"

namespace kd::methods {

struct FinetuneSection {
  std::vector<std::string> models;  // model dirs; "random:DIR" = DIR's architecture, fresh init
  std::vector<std::string> labels;  // report names of the models (empty: from their paths)
  std::vector<std::string> tasks;   // task dirs (GLUE's own or with a task.json)
  std::vector<int64_t> seeds{1};
  double epochs = 3;
  int64_t batch_size = 32;  // examples per step and rank
  int64_t max_seq_length = 128;
  double dropout = 0.1;    // hidden, attention and classifier dropout
  int64_t eval_every = 0;  // steps between dev evaluations; 0 = once per epoch
  int64_t eval_batch_size = 128;
  template <class V>
  void visit(V& v) {
    v("models", models,
      "model directories to fine-tune; 'random:DIR' = DIR's architecture with fresh weights");
    v("labels", labels, "names of the models in the report (empty: from their paths)");
    v("tasks", tasks,
      "task directories: GLUE's own (CoLA/, MRPC/, ...) or with a task.json (kdprune-prep "
      "tasks)");
    v("seeds", seeds, "one run per seed (mean ± sd in the report)");
    v("epochs", epochs, "passes over the training set (steps follow); 0 = train.steps");
    v("batch_size", batch_size, "examples per step and rank");
    v("max_seq_length", max_seq_length,
      "tokens per example ([CLS] a [SEP] b [SEP]), longest first");
    v("dropout", dropout, "hidden, attention and classifier dropout");
    v("eval_every", eval_every, "steps between dev evaluations; 0 = once per epoch");
    v("eval_batch_size", eval_batch_size, "examples per evaluation batch and rank");
  }
  void validate() const;
};

struct FinetuneConfig : train::JobConfig {
  FinetuneSection finetune;
  template <class V>
  void visit(V& v) {
    train::JobConfig::visit(v);
    v("finetune", finetune);
  }
  void validate() const;
};

// The command as a library call on `comm` (the world, or a group of it).
int run_finetune(const FinetuneConfig& config, std::shared_ptr<dist::Communicator> comm);

}  // namespace kd::methods
