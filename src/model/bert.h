// BertForPreTraining with Hugging Face semantics and parameter names (named_parameters() keys
// equal the HF state-dict keys, decoder weight tied to the word embeddings), per-layer
// dimensions for schuBERT, and prunable encoder linears for LAMP/schuBERT.
//
// Numerics: the attention mask is added to the scores as (1 - mask) * finfo(float32).min, as
// Hugging Face transformers >= 4.21 does (older 4.x used -10000; both give exactly-zero
// probabilities in fp32). With compute dtype bf16, every matmul (encoder, pooler, heads,
// Q·Kᵀ and P·V) runs in bf16, while residual sums, LayerNorm, softmax and activations run in
// fp32 and all outputs (logits, hidden states, scores) are returned in fp32.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "model/bert_config.h"
#include "model/bert_embeddings.h"
#include "model/bert_layer.h"
#include "model/layer_norm.h"
#include "model/prunable_linear.h"

namespace kd::model {

struct BertOutput {
  torch::Tensor mlm_logits;  // [B, T, V], or [M, V] with ForwardOptions::mlm_positions (fp32)
  torch::Tensor nsp_logits;  // [B, 2] (fp32), undefined when compute_nsp is false
  std::vector<torch::Tensor> hidden_states;     // L+1 x [B, T, H]: embeddings, then each layer
  std::vector<torch::Tensor> attention_scores;  // L x [B, A_l, T, T] scaled Q·Kᵀ/√k, pre-mask
                                                //   and pre-softmax (exclude padded keys yourself)
  torch::Tensor sequence_output;                // [B, T, H] last layer (always set)
};

struct ForwardOptions {
  torch::Tensor mlm_positions;  // flat b*T+t indices (int64 [M]): logits only there
  bool output_hidden_states = false;
  bool output_attentions = false;
  bool compute_nsp = true;
  bool compute_mlm = true;  // false: no MLM head at all (e.g. hidden-state distillation only)
};

class BertForPreTrainingImpl : public torch::nn::Module {
 public:
  explicit BertForPreTrainingImpl(const BertConfig& cfg);

  // input_ids [B, T] int64; token_type_ids [B, T] int64 or undefined (zeros); attention_mask
  // [B, T] (1 = keep, 0 = padding) or undefined (all ones).
  BertOutput forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids,
                     const torch::Tensor& attention_mask, const ForwardOptions& opt = {});
  // Hugging Face inputs_embeds: [B, T, H] word-level embeddings replacing the word lookup
  // (positions and token types are still added). Prompt tuning writes soft prompts here.
  BertOutput forward_embeds(const torch::Tensor& inputs_embeds, const torch::Tensor& token_type_ids,
                            const torch::Tensor& attention_mask, const ForwardOptions& opt = {});
  // Starts after the embedding block: embedding_output [B, T, H] = hidden_states[0].
  BertOutput forward_encoder(const torch::Tensor& embedding_output,
                             const torch::Tensor& attention_mask, const ForwardOptions& opt = {});

  // Current configuration, re-derived from the module shapes (so it is right after surgery).
  const BertConfig& config() const;

  // HF init: N(0, initializer_range) for linears and embeddings, zero biases (and the pad row
  // of the word embeddings), LayerNorm 1/0. Deterministic for a seed.
  void init_weights(uint64_t seed);
  // kFloat, kBFloat16 (CPU/GPU) or kHalf (GPU) for every matmul; fp32 master weights.
  void set_compute_dtype(torch::ScalarType t);
  torch::ScalarType compute_dtype() const { return compute_dtype_; }

  // Every query/key/value/attention-output/intermediate/output linear, layer order (6 per layer).
  std::vector<PrunableLinear> encoder_linears();

  // Embedding block output (word + position + type, LayerNorm, dropout): [B, T, H] =
  // hidden_states[0]; feed it to forward_encoder.
  torch::Tensor input_embeddings(const torch::Tensor& input_ids,
                                 const torch::Tensor& token_type_ids);
  // Word lookup only: [B, T] -> [B, T, H] (build inputs_embeds for forward_embeds).
  torch::Tensor word_embeddings(const torch::Tensor& input_ids);

  // MLM head on hidden states [N.., H] -> logits [N.., V] fp32 (used by forward; public for
  // Tutor-KD-style heads on other hidden states).
  torch::Tensor mlm_head(const torch::Tensor& hidden);
  // BERT's pooled output: tanh(pooler(sequence_output[:, 0])) -> [B, H] fp32 (the input of the
  // NSP head and of sequence classification heads).
  torch::Tensor pooled_output(const torch::Tensor& sequence_output);
  // Pooler + NSP head on sequence output [B, T, H] -> [B, 2] fp32.
  torch::Tensor nsp_head(const torch::Tensor& sequence_output);

  // Structural surgery on the shared hidden size (schuBERT α_H): keeps residual features
  // `index` everywhere (embeddings, every layer, pooler, heads). Per-layer surgery:
  // layer(l)->keep_*.
  void keep_hidden(const torch::Tensor& index);
  // Removes whole layers, keeping `layers` (in that order).
  void keep_layers(const std::vector<int64_t>& layers);

  // Every LayerNorm on the residual stream (embeddings, two per layer, the MLM head's): the
  // ones schuBERT's α_H gates.
  std::vector<LayerNorm> hidden_layer_norms() const;

  int64_t num_layers() const { return static_cast<int64_t>(layers_.size()); }
  BertLayer layer(int64_t l) const { return layers_.at(static_cast<size_t>(l)); }

  BertEmbeddings embeddings{nullptr};
  PrunableLinear pooler{nullptr};         // bert.pooler.dense [H, H]
  PrunableLinear mlm_transform{nullptr};  // cls.predictions.transform.dense [H, H]
  LayerNorm mlm_norm{nullptr};            // cls.predictions.transform.LayerNorm
  torch::Tensor mlm_bias;                 // cls.predictions.bias [V]
  PrunableLinear nsp{nullptr};            // cls.seq_relationship [2, H]

 private:
  BertOutput run_encoder(const torch::Tensor& embedding_output, const torch::Tensor& mask,
                         const ForwardOptions& opt);

  mutable BertConfig config_;
  std::shared_ptr<torch::nn::Module> encoder_layers_;  // bert.encoder.layer
  std::shared_ptr<torch::nn::Module> predictions_;     // cls.predictions
  std::vector<BertLayer> layers_;
  torch::ScalarType compute_dtype_ = torch::kFloat;
};
TORCH_MODULE(BertForPreTraining);

}  // namespace kd::model
