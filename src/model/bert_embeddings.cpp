#include "model/bert_embeddings.h"

#include "model/fast_dropout.h"

#include "common/check.h"
#include "model/shape_util.h"

namespace kd::model {

BertEmbeddingsImpl::BertEmbeddingsImpl(const BertConfig& cfg) : dropout_(cfg.hidden_dropout_prob) {
  const int64_t H = cfg.hidden_size;
  word_embeddings =
      register_module("word_embeddings", EmbeddingTable(cfg.vocab_size, H, cfg.pad_token_id));
  position_embeddings =
      register_module("position_embeddings", EmbeddingTable(cfg.max_position_embeddings, H));
  token_type_embeddings =
      register_module("token_type_embeddings", EmbeddingTable(cfg.type_vocab_size, H));
  layer_norm = register_module("LayerNorm", LayerNorm(H, cfg.layer_norm_eps));
}

torch::Tensor BertEmbeddingsImpl::forward(const torch::Tensor& input_ids,
                                          const torch::Tensor& token_type_ids) {
  KD_CHECK(input_ids.dim() == 2, "BertEmbeddings: input_ids must be [B, T], got {}",
           shape_str(input_ids.sizes()));
  return forward_embeds(word_embeddings(input_ids), token_type_ids);  // [B, T, H]
}

torch::Tensor BertEmbeddingsImpl::forward_embeds(const torch::Tensor& inputs_embeds,
                                                 const torch::Tensor& token_type_ids) {
  KD_CHECK(inputs_embeds.dim() == 3 && inputs_embeds.size(2) == hidden_size(),
           "BertEmbeddings: inputs_embeds must be [B, T, {}], got {}", hidden_size(),
           shape_str(inputs_embeds.sizes()));
  const int64_t B = inputs_embeds.size(0), T = inputs_embeds.size(1);
  KD_CHECK_HINT(T <= position_embeddings->num(), "truncate inputs to max_position_embeddings",
                "BertEmbeddings: sequence length {} exceeds max_position_embeddings {}", T,
                position_embeddings->num());
  auto pos =
      torch::arange(T, torch::TensorOptions().dtype(torch::kLong).device(inputs_embeds.device()));
  auto tt = token_type_ids.defined() ? token_type_ids : torch::zeros({B, T}, pos.options());
  KD_CHECK(tt.sizes() == inputs_embeds.sizes().slice(0, 2),
           "BertEmbeddings: token_type_ids {} does not match inputs [B, T] = [{}, {}]",
           shape_str(tt.sizes()), B, T);
  auto x = inputs_embeds.to(torch::kFloat) + position_embeddings(pos).unsqueeze(0) +
           token_type_embeddings(tt);  // [B, T, H]
  return fast_dropout(layer_norm(x), dropout_, is_training());
}

void BertEmbeddingsImpl::keep_hidden(const torch::Tensor& index) {
  word_embeddings->keep_cols(index);
  position_embeddings->keep_cols(index);
  token_type_embeddings->keep_cols(index);
  layer_norm->keep(index);
}

}  // namespace kd::model
