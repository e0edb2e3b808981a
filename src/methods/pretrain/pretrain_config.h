// `kdprune pretrain` configuration: the common job sections plus model and data.
#pragma once
#include <string>
#include <vector>

#include "train/train_config.h"

namespace kd::methods {

struct ModelSection {
  std::string init_from;  // a model directory to start from; empty = random init
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
    v("init_from", init_from, "model directory to start from (empty: random init)");
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

int run_pretrain(const std::string& config_path, const std::vector<std::string>& overrides);

}  // namespace kd::methods
