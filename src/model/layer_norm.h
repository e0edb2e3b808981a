// LayerNorm over the last dimension whose size is read from its weight, so structural surgery
// on the hidden size (schuBERT's α_H) just swaps the parameters.
#pragma once
#include <torch/torch.h>

#include <utility>
#include <vector>

namespace kd::model {

class LayerNormImpl : public torch::nn::Module {
 public:
  LayerNormImpl(int64_t size, double eps);
  // x [..., H] -> [..., H]; always computed in fp32 (bf16 input is upcast).
  torch::Tensor forward(const torch::Tensor& x);
  // Keeps features `index` (int64 [n]); new parameters under the same names (and the gate's
  // entries, when one is set).
  void keep(const torch::Tensor& index);

  // schuBERT's α_H: y = α ⊙ LN(x) with the mean and variance taken over the features whose α is
  // non-zero only, so that α_H[j] = 0 gives exactly the LayerNorm of a model without feature j
  // (plain LayerNorm would still count it). `gate` [H] is not registered (it belongs to the
  // method); undefined = plain LayerNorm.
  void set_gate(torch::Tensor gate) { gate_ = std::move(gate); }
  const torch::Tensor& gate() const { return gate_; }
  // Multiplies the gate into weight and bias and clears it. Exact only once the features with
  // α = 0 are gone (keep), since plain LayerNorm counts every feature.
  void fold_gate();
  int64_t size() const { return weight.size(0); }
  double eps() const { return eps_; }
  void pretty_print(std::ostream& stream) const override;

  torch::Tensor weight;  // [H] ("weight"; old checkpoints call it gamma)
  torch::Tensor bias;    // [H] ("bias"; old checkpoints call it beta)

 private:
  double eps_;
  torch::Tensor gate_;
};
TORCH_MODULE(LayerNorm);

// A lookup table with a single parameter "weight" [num, dim] (Hugging Face nn.Embedding names).
class EmbeddingTableImpl : public torch::nn::Module {
 public:
  // padding_idx >= 0: that row gets no gradient (nn.Embedding(padding_idx=...) semantics).
  EmbeddingTableImpl(int64_t num, int64_t dim, int64_t padding_idx = -1);
  torch::Tensor forward(const torch::Tensor& ids);  // [...] int64 -> [..., dim] fp32
  // Deferred lookup gradients (distributed training, dist::GradReducer): while on, a lookup
  // under grad mode reads a detached weight and its output becomes a leaf, so the weight's
  // own gradient holds only its other uses (a tied MLM decoder: complete at the start of
  // backward, so its all-reduce can overlap the rest) and the lookup's gradient stays as rows.
  // take_lookup_gradients() returns them, summed per row id over every lookup since the last
  // call (padding row dropped): (ids [U] int64 ascending, rows [U, dim]); the caller must add
  // them to the weight's gradient, or they are lost.
  void set_defer_lookup_gradients(bool on);
  std::pair<torch::Tensor, torch::Tensor> take_lookup_gradients();
  void keep_cols(const torch::Tensor& index);  // hidden-size surgery
  int64_t num() const { return weight.size(0); }
  int64_t dim() const { return weight.size(1); }
  void pretty_print(std::ostream& stream) const override;

  torch::Tensor weight;  // [num, dim]

 private:
  int64_t padding_idx_;
  bool defer_ = false;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> deferred_;  // (ids, output leaf)
};
TORCH_MODULE(EmbeddingTable);

}  // namespace kd::model
