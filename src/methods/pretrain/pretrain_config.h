// `kdprune pretrain` configuration: the common job sections plus model and data.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "dist/communicator.h"
#include "train/train_config.h"

namespace kd::methods {

struct ModelSection {
  std::string dir;  // a model directory to start from; empty = random init
  std::string vocab = "data/vocab/bert-base-uncased-vocab.txt";
  int64_t hidden_size = 256;
  int64_t num_layers = 4;
  int64_t num_heads = 4;
  int64_t intermediate_size = 1024;
  int64_t max_position_embeddings = 512;
  double hidden_dropout = 0.1;
  double attention_dropout = 0.1;
  template <class V>
  void visit(V& v) {
    v("dir", dir, "model directory to start from (empty: random init)");
    v("vocab", vocab, "vocab.txt (its line count is the vocabulary size)");
    v("hidden_size", hidden_size);
    v("num_layers", num_layers);
    v("num_heads", num_heads);
    v("intermediate_size", intermediate_size);
    v("max_position_embeddings", max_position_embeddings);
    v("hidden_dropout", hidden_dropout);
    v("attention_dropout", attention_dropout);
  }
};

struct DataSection {
  std::vector<std::string> train;  // HDF5 shard globs
  int64_t batch_size = 32;         // per rank and micro-step
  int prefetch = 4;                // batches prepared ahead by the loader thread
  template <class V>
  void visit(V& v) {
    v("train", train, "HDF5 shard globs (NVIDIA BERT layout)");
    v("batch_size", batch_size, "per rank and micro-step");
    v("prefetch", prefetch);
  }
};

// Training shards plus held-out shards a command scores (distill at the end, schuBERT per round).
struct DataWithHeldout : DataSection {
  std::vector<std::string> heldout;  // held-out shard globs; empty = no held-out score
  template <class V>
  void visit(V& v) {
    DataSection::visit(v);
    v("heldout", heldout, "held-out HDF5 shard globs (MLM accuracy, perplexity); empty: none");
  }
};

struct PretrainConfig : train::JobConfig {
  ModelSection model;
  DataSection data;
  template <class V>
  void visit(V& v) {
    train::JobConfig::visit(v);
    v("model", model);
    v("data", data);
  }
};

// The command as a library call on `comm` (the world, or a group of it).
int run_pretrain(const PretrainConfig& config, std::shared_ptr<dist::Communicator> comm);

}  // namespace kd::methods
