// BERT input embeddings: word + position + token type, LayerNorm, dropout (Hugging Face
// BertEmbeddings semantics and parameter names).
#pragma once
#include <torch/torch.h>

#include "model/bert_config.h"
#include "model/layer_norm.h"

namespace kd::model {

class BertEmbeddingsImpl : public torch::nn::Module {
 public:
  explicit BertEmbeddingsImpl(const BertConfig& cfg);

  // input_ids [B, T] int64, token_type_ids [B, T] int64 or undefined (zeros) -> [B, T, H].
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids);
  // inputs_embeds [B, T, H] replaces the word lookup (HF inputs_embeds; prompt tuning).
  torch::Tensor forward_embeds(const torch::Tensor& inputs_embeds,
                               const torch::Tensor& token_type_ids);
  void keep_hidden(const torch::Tensor& index);  // hidden-size surgery
  int64_t hidden_size() const { return word_embeddings->dim(); }

  EmbeddingTable word_embeddings{nullptr};        // [V, H]
  EmbeddingTable position_embeddings{nullptr};    // [P, H]
  EmbeddingTable token_type_embeddings{nullptr};  // [TV, H]
  LayerNorm layer_norm{nullptr};                  // "LayerNorm"

 private:
  double dropout_;
};
TORCH_MODULE(BertEmbeddings);

}  // namespace kd::model
