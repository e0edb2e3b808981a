// Toy models and batches for distillation tests (unit and multi-rank): a 40-token vocabulary
// with [MASK] = 3, every token real, the same masked positions in every row (so per-rank means
// average to whole-batch means).
#pragma once
#include <torch/torch.h>

#include "data/loader_types.h"
#include "model/bert_config.h"

namespace kd::test {

inline model::BertConfig tiny_bert(int64_t hidden, int64_t layers) {
  auto c = model::BertConfig::uniform(40, hidden, layers, 2, 2 * hidden);
  c.max_position_embeddings = 16;
  c.hidden_dropout_prob = 0;
  c.attention_probs_dropout_prob = 0;
  return c;
}

inline data::PretrainBatch masked_batch(int64_t n, int64_t t, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  data::PretrainBatch b;
  b.input_ids = torch::randint(5, 40, {n, t}, gen);
  b.token_type_ids = torch::zeros({n, t}, torch::kLong);
  b.attention_mask = torch::ones({n, t}, torch::kLong);
  b.mlm_labels = torch::full({n, t}, -100, torch::kLong);
  b.nsp_labels = torch::zeros({n}, torch::kLong);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j : {1, 4, 6}) {
      b.mlm_labels[i][j] = b.input_ids[i][j].item<int64_t>();
      b.input_ids[i][j] = 3;
    }
  return b;
}

}  // namespace kd::test
