// One BERT encoder layer with Hugging Face BertLayer semantics and parameter names
// (attention.self.{query,key,value}, attention.output.{dense,LayerNorm}, intermediate.dense,
// output.{dense,LayerNorm}), generalised to schuBERT's per-layer dimensions: A heads with
// query/key size k and value size v, filter size F. A = 0 heads is allowed (the attention
// block then contributes only its output bias).
//
// Dimensions live in dims_ and are kept in step with the weight shapes by the surgery methods
// below; dims() checks them against the weights, so a shape change made behind the layer's
// back is caught instead of silently mis-splitting heads.
#pragma once
#include <torch/torch.h>

#include "model/bert_config.h"
#include "model/layer_norm.h"
#include "model/prunable_linear.h"

namespace kd::model {

struct LayerOutput {
  torch::Tensor hidden;  // [B, T, H] fp32
  torch::Tensor scores;  // [B, A, T, T] fp32 pre-softmax scaled scores (without the mask), or {}
};

class BertLayerImpl : public torch::nn::Module {
 public:
  BertLayerImpl(const BertConfig& cfg, const LayerDims& dims);

  // x [B, T, H]; ext_mask [B, 1, 1, T] additive fp32 (0 keep, dtype min masked).
  LayerOutput forward(const torch::Tensor& x, const torch::Tensor& ext_mask, bool want_scores);

  LayerDims dims() const;  // checked against the weight shapes
  int64_t hidden_size() const { return query->in_features(); }

  // Structural surgery (physically removes rows/columns; indices int64, kept in given order).
  void keep_heads(const torch::Tensor& heads);  // heads ⊂ [0, A)
  // Per-head query/key dims ⊂ [0, k), same dims in every head; the query is rescaled by
  // sqrt(k_new/k_old) so the 1/sqrt(k) score scaling keeps the kept dims' scores unchanged
  // (rescale_query = false only for index bookkeeping, e.g. slicing optimizer moments).
  void keep_qk_dims(const torch::Tensor& dims, bool rescale_query = true);
  void keep_v_dims(const torch::Tensor& dims);         // per-head value dims ⊂ [0, v), all heads
  void keep_intermediate(const torch::Tensor& units);  // filter units ⊂ [0, F)
  void keep_hidden(const torch::Tensor& index);        // residual features ⊂ [0, H)

  // The six prunable linears in HF order: query, key, value, attention.output.dense,
  // intermediate.dense, output.dense.
  std::vector<PrunableLinear> linears() const;

  PrunableLinear query{nullptr}, key{nullptr}, value{nullptr};  // [A*k, H], [A*k, H], [A*v, H]
  PrunableLinear attn_out{nullptr};                             // [H, A*v]
  LayerNorm attn_norm{nullptr};                                 // [H]
  PrunableLinear intermediate{nullptr};                         // [F, H]
  PrunableLinear ffn_out{nullptr};                              // [H, F]
  LayerNorm ffn_norm{nullptr};                                  // [H]

 private:
  torch::Tensor activation(const torch::Tensor& x) const;
  // Row indices of a [A*d, ...] weight for heads `heads` and per-head dims `dims`.
  static torch::Tensor head_rows(const torch::Tensor& heads, const torch::Tensor& dims, int64_t d);

  LayerDims dims_;
  std::string act_;
  double hidden_dropout_, attn_dropout_;
};
TORCH_MODULE(BertLayer);

// Applies the configured activation (erf "gelu", tanh "gelu_new", "relu") in fp32.
torch::Tensor apply_activation(const std::string& act, const torch::Tensor& x);

}  // namespace kd::model
